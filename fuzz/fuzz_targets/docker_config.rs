//! docker `config.json` / podman `auth.json` files (ocireg-authn): what
//! parses is written back in a form that parses to the same credentials,
//! writing is stable, and lookups never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_authn::{AuthConfig, ConfigKind, DockerConfigFile, auth_key_for_registry};

fuzz_target!(|data: &[u8]| {
    let Ok(cfg) = DockerConfigFile::parse("/fuzz/config.json", ConfigKind::Docker, data) else {
        return;
    };
    let written = cfg.to_bytes();
    let again = DockerConfigFile::parse("/fuzz/config.json", ConfigKind::Docker, &written)
        .unwrap_or_else(|e| {
            panic!(
                "re-parsing our own output failed: {e}\n{}",
                String::from_utf8_lossy(&written)
            )
        });
    let keys: Vec<&str> = cfg.auth_keys().collect();
    assert_eq!(again.auth_keys().collect::<Vec<_>>(), keys);
    assert_eq!(again.creds_store(), cfg.creds_store());
    assert_eq!(again.cred_helpers(), cfg.cred_helpers());
    assert_eq!(again.http_headers(), cfg.http_headers());
    assert_eq!(again.to_bytes(), written, "writing is not stable");

    let lookups = keys
        .iter()
        .map(|k| (*k).to_owned())
        .chain(keys.iter().map(|k| auth_key_for_registry(k)))
        .chain(
            [
                "index.docker.io",
                "https://index.docker.io/v1/",
                "r.example",
            ]
            .map(String::from),
        );
    for key in lookups {
        let found = cfg.file_auth(&key);
        assert_eq!(again.file_auth(&key), found, "{key:?}");
        let _ = cfg.helper_for(&key);
        if let Some(auth) = found {
            auth_round_trip(auth);
        }
    }
});

/// An entry's credentials written as docker does and read back are stable.
fn auth_round_trip(auth: &AuthConfig) {
    let json = serde_json::to_string(auth).expect("credentials serialise");
    let back: AuthConfig = serde_json::from_str(&json).expect("own JSON parses");
    // A password without a user name comes back with an empty user name
    // (the `auth` field written for it decodes so); empty means absent.
    // A user name with a `:` cannot be told from the password once encoded
    // in `auth` (docker's format splits at the first colon).
    let present = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    if !auth.username.as_deref().unwrap_or_default().contains(':') {
        assert_eq!(
            present(back.username.as_deref()),
            present(auth.username.as_deref())
        );
        assert_eq!(
            present(back.password.as_ref().map(|p| p.expose())),
            present(auth.password.as_ref().map(|p| p.expose()))
        );
        assert_eq!(serde_json::to_string(&back).expect("serialises"), json);
    }
    assert_eq!(back.identity_token, auth.identity_token);
    assert_eq!(back.registry_token, auth.registry_token);
    if let (Some(user), Some(password)) = (&auth.username, &auth.password)
        && !user.contains(':')
    {
        let encoded = AuthConfig::encode_auth(user, password.expose());
        let (u, p) = AuthConfig::decode_auth(encoded.expose()).expect("own encoding decodes");
        assert_eq!(&u, user);
        assert_eq!(&p, password);
    }
}
