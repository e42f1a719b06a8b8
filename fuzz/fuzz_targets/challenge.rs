//! `WWW-Authenticate` challenges (ocireg-transport): parsing never panics,
//! names are lower-case tokens, a challenge written back in canonical form
//! parses to itself, and a Bearer realm leads to a token URL on the realm's
//! own host.
#![no_main]

use http::{HeaderMap, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use ocireg_transport::fuzzing::{check_target, pick, token_url};
use ocireg_transport::{Challenge, parse_challenges, parse_www_authenticate};

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The canonical form: every value quoted, token68 parameters as written.
fn write(challenges: &[Challenge]) -> String {
    let mut out = String::new();
    for (i, c) in challenges.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(c.scheme());
        for (j, (name, value)) in c.params().iter().enumerate() {
            out.push_str(if j == 0 { " " } else { ", " });
            if name.is_empty() {
                out.push_str(value);
            } else {
                out.push_str(name);
                out.push_str("=\"");
                for ch in value.chars() {
                    if ch == '"' || ch == '\\' {
                        out.push('\\');
                    }
                    out.push(ch);
                }
                out.push('"');
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let challenges = parse_challenges(header);
    for c in &challenges {
        assert!(!c.scheme().is_empty());
        assert!(c.scheme().chars().all(is_tchar), "scheme {:?}", c.scheme());
        assert_eq!(c.scheme(), c.scheme().to_ascii_lowercase());
        for (name, value) in c.params() {
            assert!(name.chars().all(is_tchar), "parameter name {name:?}");
            assert_eq!(*name, name.to_ascii_lowercase());
            if name.is_empty() {
                // token68: a token and its `=` padding.
                assert!(value.ends_with('='), "token68 {value:?}");
            } else {
                assert_eq!(
                    c.param(name),
                    c.params()
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.as_str())
                );
            }
        }
        let _ = c.scopes();
    }
    // Canonical form round trip.
    let canonical = write(&challenges);
    assert_eq!(
        parse_challenges(&canonical),
        challenges,
        "canonical form {canonical:?}"
    );

    // As a header, the same challenges (when the value is a valid header value).
    // (Header values that are not visible ASCII are skipped, as `to_str` fails.)
    if let Ok(value) = HeaderValue::from_bytes(data)
        && value.to_str().is_ok()
    {
        let mut headers = HeaderMap::new();
        headers.append(http::header::WWW_AUTHENTICATE, value.clone());
        headers.append(http::header::WWW_AUTHENTICATE, value);
        let both = parse_www_authenticate(&headers);
        assert_eq!(both.len(), challenges.len() * 2);
    }

    let Some(picked) = pick(&challenges) else {
        assert!(challenges.is_empty());
        return;
    };
    assert!(challenges.contains(picked));
    if !picked.is_bearer() {
        return;
    }
    // The token flow: the realm must be a URL, and the token URL stays on it.
    let Some(realm) = picked.realm().and_then(|r| r.parse::<Uri>().ok()) else {
        return;
    };
    let registry: Uri = "https://registry.example/v2/".parse().expect("valid URI");
    let _ = check_target(&registry, &realm);
    let scopes = picked.scopes();
    if let Ok(url) = token_url(&realm, picked.service().unwrap_or_default(), &scopes) {
        assert_eq!(url.scheme(), realm.scheme());
        assert_eq!(url.authority(), realm.authority());
        assert_eq!(url.path(), realm.path());
        let query = url.query().expect("a token URL has a query");
        assert!(query.contains("service="));
        // Each distinct scope once (a scope set), after the realm's own query.
        let mut distinct = scopes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            query.matches("scope=").count(),
            distinct.len() + realm.query().map_or(0, |q| q.matches("scope=").count()),
        );
    }
});
