//! `RateLimit-*` and `Docker-RateLimit-Source` headers (ocireg-transport's
//! `parse_rate_limit`): what a registry reports of its rate limit. Each number is
//! exactly the plain decimal the header starts with (nothing else counts); the source
//! is printable ASCII taken from the input; the warning text is built without panics
//! and holds no control character.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use ocireg_transport::{MAX_RATE_LIMIT_HEADER_BYTES, parse_rate_limit};

/// The number `value` starts with, as the parser must read it.
fn expected_count(value: &str) -> Option<u64> {
    let first = value.split(',').next()?.split(';').next()?.trim();
    if first.is_empty() || first.len() > 19 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    first.parse().ok()
}

fuzz_target!(|data: &[u8]| {
    // Up to four header values, separated by NUL bytes: limit, remaining, reset, source.
    let mut parts = data.split(|b| *b == 0);
    let names = [
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "docker-ratelimit-source",
    ];
    let mut headers = HeaderMap::new();
    let mut texts: Vec<Option<String>> = Vec::new();
    for name in names {
        let text = parts.next().and_then(|p| HeaderValue::from_bytes(p).ok()).map(|v| {
            let t = (v.len() <= MAX_RATE_LIMIT_HEADER_BYTES)
                .then(|| v.to_str().ok().map(str::to_owned))
                .flatten();
            headers.insert(name, v);
            t
        });
        texts.push(text.flatten());
    }
    let rate = parse_rate_limit(&headers);
    assert_eq!(rate.limit, texts[0].as_deref().and_then(expected_count));
    assert_eq!(rate.remaining, texts[1].as_deref().and_then(expected_count));
    assert_eq!(rate.reset_seconds, texts[2].as_deref().and_then(expected_count));
    if let Some(source) = &rate.source {
        assert!(!source.is_empty());
        assert!(source.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
        assert!(texts[3].as_deref().is_some_and(|t| t.contains(source.as_str())));
    }
    if rate.is_low() {
        let text = rate.warning(Some("r.example")).expect("a low limit warns");
        assert!(!text.chars().any(char::is_control), "{text:?}");
    } else {
        assert!(rate.warning(None).is_none());
    }
});
