//! Canary test: with every log level on, no password, token or encoded
//! `auth` appears in the logs or in error messages.

use std::io::Write;
use std::sync::{Arc, Mutex};

use ocireg_authn::{AuthConfig, DefaultKeychain, Keychain, Resource, login, logout};

use crate::common::encode;
use crate::helper::HelperSandbox;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_never_show_secrets() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests in this binary may have registered the callsites below while no
    // subscriber was interested, caching "never"; re-evaluate them now that ours is set.
    // (CI runs each test in its own process with nextest, where this cannot happen.)
    tracing::callsite::rebuild_interest_cache();

    let hs = HelperSandbox::new();
    hs.config(r#"{"credHelpers": {"helper.io": "test", "fail.io": "test"}}"#);
    std::fs::set_permissions(
        hs.sb.path("docker/config.json"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .expect("loosen mode");
    let env = hs
        .env()
        .with_var("OCIREG_REGISTRY_HOSTNAME", "env.io")
        .with_var("OCIREG_REGISTRY_USERNAME", "env-user")
        .with_var("OCIREG_REGISTRY_PASSWORD", "env-pw-canary")
        .with_var("OCIREG_REGISTRY_TOKEN_1", "env-token-canary")
        .with_var("OCIREG_REGISTRY_HOSTNAME_1", "token.env.io");

    let mut outputs = Vec::new();
    login(&env, "file.io", &AuthConfig::basic("u", "file-pw-canary"))
        .await
        .expect("file login");
    login(
        &env,
        "helper.io",
        &AuthConfig::basic("u", "helper-pw-canary"),
    )
    .await
    .expect("helper login");
    login(
        &env,
        "id.io",
        &AuthConfig::identity_token("<token>", "id-token-canary"),
    )
    .await
    .expect("identity token login");
    let kc = DefaultKeychain::new(env.clone()).expect("keychain");
    for registry in [
        "file.io",
        "helper.io",
        "id.io",
        "env.io",
        "token.env.io",
        "fail.io",
        "none.io",
    ] {
        match kc
            .resolve(&Resource::repository(registry, "team/app"))
            .await
        {
            Ok(auth) => {
                let cfg = auth.authorization().await.expect("authorization");
                outputs.push(format!("{auth:?} {cfg:?}"));
            }
            Err(e) => outputs.push(format!("{e} {e:?}")),
        }
    }
    logout(&env, "file.io").await.expect("logout");
    logout(&env, "helper.io").await.expect("logout");
    outputs.push(format!("{env:?} {kc:?}"));

    let logs = String::from_utf8(buffer.0.lock().expect("log buffer").clone()).expect("utf8 logs");
    assert!(
        logs.contains("docker-credential") || logs.contains("credential helper"),
        "{logs}"
    );
    assert!(logs.contains("found credentials"), "{logs}");
    assert!(logs.contains("readable by others"), "{logs}");
    let everything = format!("{logs}\n{}", outputs.join("\n"));
    assert!(!everything.contains("canary"), "{everything}");
    assert!(
        !everything.contains(&encode("u", "file-pw-canary")),
        "{everything}"
    );
}
