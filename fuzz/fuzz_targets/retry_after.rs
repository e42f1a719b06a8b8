//! `Retry-After` (ocireg-transport): delay-seconds give that many seconds,
//! HTTP dates the wait until them; zero, a date not in the future and anything
//! else give nothing (the normal backoff applies).
#![no_main]

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use ocireg_transport::{RetryPolicy, parse_retry_after};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    // Only visible ASCII is header text.
    let text = value.to_str().ok().map(|t| t.trim().to_owned());
    let text = text.as_deref();
    let mut headers = HeaderMap::new();
    headers.insert(http::header::RETRY_AFTER, value);
    let nows = [
        SystemTime::UNIX_EPOCH,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799), // 9999-12-31
    ];
    for now in nows {
        let parsed = parse_retry_after(&headers, now);
        if let Some(secs) = text.and_then(|t| t.parse::<u64>().ok()) {
            let want = Some(Duration::from_secs(secs)).filter(|d| !d.is_zero());
            assert_eq!(parsed, want);
            continue;
        }
        match (parsed, text.map(httpdate::parse_http_date)) {
            (None, None | Some(Err(_))) => {}
            (None, Some(Ok(when))) => {
                // Not in the future: no wait of its own.
                assert!(when.duration_since(now).map_or(true, |d| d.is_zero()));
            }
            (Some(wait), Some(Ok(when))) => {
                assert!(!wait.is_zero());
                assert_eq!(wait, when.duration_since(now).unwrap_or(Duration::ZERO));
                // What the transport then does with it: compare and sleep.
                let policy = RetryPolicy::default();
                let _ = wait > policy.max_retry_after;
            }
            (parsed, date) => panic!("{text:?}: parsed {parsed:?}, date {date:?}"),
        }
    }
    // A header that is not ASCII text is ignored.
    if text.is_none() {
        assert_eq!(parse_retry_after(&headers, nows[1]), None);
    }
});
