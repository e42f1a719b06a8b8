//! Redaction of URLs and headers before they reach logs or error messages.

use http::HeaderName;
use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, SET_COOKIE};

/// Query parameters whose values are safe to show (they name registry objects, not secrets).
///
/// Everything else (`X-Amz-Signature`, `X-Amz-Credential`, `sig`, `token`, `_state`, ...) is
/// replaced by `REDACTED`: signed blob URLs and upload session state must not reach logs.
const SAFE_QUERY_KEYS: &[&str] = &["scope", "service", "mount", "from", "digest", "n", "last"];

/// The text that replaces a secret.
pub(crate) const REDACTED: &str = "REDACTED";

/// Returns `url` fit for logs and error messages.
///
/// - `user:password@` userinfo is removed;
/// - query values are replaced by `REDACTED` unless the key is one of `scope`, `service`,
///   `mount`, `from`, `digest`, `n` or `last` (as ggcr's `redact.URL`);
/// - a fragment is dropped.
///
/// The input need not be a valid URL: relative references and garbage are handled the same way
/// (a `?` starts the query), so a registry-supplied `Location` header can be logged safely.
///
/// ```
/// use ocireg_transport::redact_url;
/// assert_eq!(
///     redact_url("https://u:p@cdn.example/blob?X-Amz-Signature=abc&digest=sha256:1"),
///     "https://cdn.example/blob?X-Amz-Signature=REDACTED&digest=sha256:1",
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let url = url.split('#').next().unwrap_or_default();
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    // Strip userinfo from `scheme://userinfo@host/...`.
    if let Some((scheme, rest)) = before_query.split_once("://") {
        out.push_str(scheme);
        out.push_str("://");
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        out.push_str(host);
        out.push_str(path);
    } else {
        out.push_str(before_query);
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) if SAFE_QUERY_KEYS.contains(&key) => out.push_str(pair),
                Some((key, _)) => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                None => out.push_str(pair),
            }
        }
    }
    out
}

/// Whether a header carries secrets and must never be logged verbatim.
pub(crate) fn is_sensitive_header(name: &HeaderName) -> bool {
    name == AUTHORIZATION
        || name == PROXY_AUTHORIZATION
        || name == COOKIE
        || name == SET_COOKIE
        || name.as_str().eq_ignore_ascii_case("x-registry-auth")
}

/// A loggable rendering of a header value: sensitive headers show their scheme only
/// (`Bearer <redacted>`), `Location` is URL-redacted, others are shown as is.
pub(crate) fn redact_header(name: &HeaderName, value: &http::HeaderValue) -> String {
    let text = String::from_utf8_lossy(value.as_bytes());
    if is_sensitive_header(name) {
        if (name == AUTHORIZATION || name == PROXY_AUTHORIZATION)
            && let Some((scheme, _)) = text.split_once(' ')
        {
            return format!("{scheme} <redacted>");
        }
        "<redacted>".to_owned()
    } else if name == http::header::LOCATION || name == http::header::LINK {
        redact_url(&text)
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn redact_url_table() {
        let cases = [
            ("https://r.example/v2/", "https://r.example/v2/"),
            (
                "https://user:secret@r.example/v2/x?scope=repository:x:pull&service=r",
                "https://r.example/v2/x?scope=repository:x:pull&service=r",
            ),
            (
                "https://s3.example/b?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA&digest=sha256:ab",
                "https://s3.example/b?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&digest=sha256:ab",
            ),
            (
                "/v2/x/blobs/uploads/abc?_state=SECRETSTATE&n=1",
                "/v2/x/blobs/uploads/abc?_state=REDACTED&n=1",
            ),
            (
                "https://cdn.example/b?sig=zzz#frag",
                "https://cdn.example/b?sig=REDACTED",
            ),
            ("https://cdn.example/b?flag", "https://cdn.example/b?flag"),
            ("https://a@b@host/p", "https://host/p"),
            (
                "https://r.example/v2/?token=t0k&last=a",
                "https://r.example/v2/?token=REDACTED&last=a",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(input), want, "input {input}");
        }
    }

    #[test]
    fn sensitive_headers_show_scheme_only() {
        let v = HeaderValue::from_static("Bearer sekrit-token");
        assert_eq!(redact_header(&AUTHORIZATION, &v), "Bearer <redacted>");
        let v = HeaderValue::from_static("session=abc");
        assert_eq!(redact_header(&SET_COOKIE, &v), "<redacted>");
        let v = HeaderValue::from_static("https://x/y?sig=1");
        assert_eq!(
            redact_header(&http::header::LOCATION, &v),
            "https://x/y?sig=REDACTED"
        );
        let v = HeaderValue::from_static("application/json");
        assert_eq!(
            redact_header(&http::header::CONTENT_TYPE, &v),
            "application/json"
        );
    }
}
