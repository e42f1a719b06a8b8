//! Token responses of the docker token protocol (ocireg-transport
//! token.rs): decoding never panics and agrees with a plain reading of the
//! JSON (`access_token` wins over `token`; `expires_in` a positive number or
//! numeric string).
#![no_main]

use http::Uri;
use libfuzzer_sys::fuzz_target;
use ocireg_transport::fuzzing::decode_token_response;
use serde::Deserialize;
use serde_json::Value;

/// The fields the decoder reads, as plain JSON values. (Fields it does not
/// read are skipped as Go skips them: numbers out of range and invalid UTF-8
/// there are no error, so the whole document need not be a `Value`.)
#[derive(Deserialize)]
struct Plain {
    #[serde(default)]
    token: Option<Value>,
    #[serde(default)]
    access_token: Option<Value>,
    #[serde(default)]
    refresh_token: Option<Value>,
    #[serde(default)]
    expires_in: Option<Value>,
}

fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

fuzz_target!(|data: &[u8]| {
    let realm: Uri = "https://auth.example/token?secret=hunter2"
        .parse()
        .expect("valid URI");
    match decode_token_response(data, "registry.example", &realm) {
        Ok(reply) => {
            let v: Plain = serde_json::from_slice(data).expect("a decoded response is JSON");
            let want = non_empty_str(v.access_token.as_ref())
                .or_else(|| non_empty_str(v.token.as_ref()))
                .expect("a decoded response has a token");
            assert_eq!(reply.token, want);
            assert_eq!(
                reply.refresh_token.as_deref(),
                non_empty_str(v.refresh_token.as_ref())
            );
            let expires = match v.expires_in {
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
