//! Small helpers: free ports, timeouts, finding programs.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// A generous limit for a whole test: far above what a healthy test needs,
/// far below what makes CI look stuck.
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Finds a free TCP port on 127.0.0.1.
///
/// It binds `127.0.0.1:0`, reads the port the kernel chose and releases it.
/// Another process may take the port before you bind it again, so callers
/// that start servers on it must retry on "address already in use"
/// ([`Distribution`](crate::Distribution) does).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::io("binding 127.0.0.1:0 to find a free port", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("reading the address of a bound socket", e))?;
    Ok(addr.port())
}

/// Runs `fut` and panics with a clear message when it takes longer than `limit`.
///
/// Wrap the body of a `#[tokio::test]` in it so that a hang fails the test
/// instead of blocking CI:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// use std::time::Duration;
/// let answer = ocireg_testsupport::with_timeout(Duration::from_secs(5), async { 42 }).await;
/// assert_eq!(answer, 42);
/// # });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Panics
///
/// When `limit` passes before `fut` completes; that is the point.
pub async fn with_timeout<F: Future>(limit: Duration, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(out) => out,
        Err(tokio::time::error::Elapsed { .. }) => {
            panic!("test did not finish within {limit:?}: something hangs")
        }
    }
}

/// Looks a program up on `PATH` the way a shell would.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Now as seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Formats seconds since the epoch as RFC 3339 UTC (`2024-01-02T03:04:05Z`).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hour, min, sec) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm), for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02}T{hour:02}:{min:02}:{sec:02}Z")
}

/// Base64 (standard alphabet, padded) of `bytes`.
pub(crate) fn b64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes `application/x-www-form-urlencoded` text (also query strings)
/// into name/value pairs, in order.
pub(crate) fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_704_164_645), "2024-01-02T03:04:05Z");
    }

    #[test]
    fn form_decoding() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            ("a=b", &[("a", "b")]),
            (
                "scope=repository%3Afoo%3Apull%2Cpush&x",
                &[("scope", "repository:foo:pull,push"), ("x", "")],
            ),
            ("a=b+c&d=%zz", &[("a", "b c"), ("d", "%zz")]),
            ("a=%4", &[("a", "%4")]),
        ];
        for (input, want) in cases {
            let got = parse_form(input);
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(got, want, "input {input:?}");
        }
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().expect("free port");
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("port is free again");
    }
}
