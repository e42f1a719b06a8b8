//! Token responses of the docker token protocol (ocireg-transport
//! token.rs): decoding never panics and agrees with a plain reading of the
//! JSON (`access_token` wins over `token`; `expires_in` a positive number or
//! numeric string).
#![no_main]

use http::Uri;
use libfuzzer_sys::fuzz_target;
use ocireg_transport::fuzzing::decode_token_response;
use serde_json::Value;

fn non_empty_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fuzz_target!(|data: &[u8]| {
    let realm: Uri = "https://auth.example/token?secret=hunter2"
        .parse()
        .expect("valid URI");
    match decode_token_response(data, "registry.example", &realm) {
        Ok(reply) => {
            // Invalid UTF-8 in a field we do not read is skipped by the decoder
            // (as by Go's), so read the plain form from the repaired text.
            let text = String::from_utf8_lossy(data);
            let v: Value = serde_json::from_str(&text).expect("a decoded response is JSON");
            let want = non_empty_str(&v, "access_token")
                .or_else(|| non_empty_str(&v, "token"))
                .expect("a decoded response has a token");
            assert_eq!(reply.token, want);
            assert_eq!(
                reply.refresh_token.as_deref(),
                non_empty_str(&v, "refresh_token")
            );
            let expires = match v.get("expires_in") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.parse().ok(),
                _ => None,
            }
            .filter(|s| *s > 0);
            assert_eq!(reply.expires_in, expires);
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains("hunter2"), "the realm's query leaks: {text}");
        }
    }
});
