//! Credential helper output (ocireg-authn helper.rs): `get` and `list`
//! answers never panic, and the message quoted from a failed run is one
//! short line with the secret scrubbed.
//!
//! Input: `<secret>\0<output>`, or just `<output>` (no secret).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_authn::TOKEN_USERNAME;
use ocireg_authn::fuzzing::{failure_message, parse_get_output, parse_list_output};

const SERVER: &str = "https://index.docker.io/v1/";

fuzz_target!(|data: &[u8]| {
    let (secret, out) = match data.iter().position(|b| *b == 0) {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };

    match parse_get_output(SERVER, out) {
        Ok(Some(creds)) => {
            assert!(!creds.username.is_empty() || !creds.secret.is_empty());
            assert!(!creds.server_url.is_empty());
            let auth = creds.to_auth_config();
            if creds.username == TOKEN_USERNAME {
                assert_eq!(auth.identity_token.as_ref(), Some(&creds.secret));
                assert!(auth.password.is_none());
            } else {
                assert_eq!(auth.password.as_ref(), Some(&creds.secret));
            }
            // Debug output never shows the secret.
            let secret = creds.secret.expose();
            if secret.len() >= 8
                && !creds.server_url.contains(secret)
                && !creds.username.contains(secret)
            {
                assert!(!format!("{creds:?}").contains(secret));
            }
        }
        Ok(None) => {}
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    let _ = parse_list_output(out);

    if let Some(message) = failure_message(out, secret) {
        assert!(!message.contains('\n'), "{message:?}");
        assert!(
            message.chars().count() <= 257,
            "{} characters",
            message.chars().count()
        );
        assert_eq!(message.trim_start(), message, "leading whitespace");
        // Scrubbing: no occurrence of the secret can survive (a secret with
        // `*` or `…` could be rebuilt from the mask or the ellipsis).
        if let Some(secret) = secret.filter(|s| !s.is_empty() && !s.contains(['*', '…'])) {
            assert!(!message.contains(secret), "{secret:?} leaks in {message:?}");
        }
    } else {
        assert_eq!(
            String::from_utf8_lossy(out).trim(),
            "credentials not found in native keychain"
        );
    }
});
