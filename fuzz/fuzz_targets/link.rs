//! `Link` headers of tag and catalog pages (ocireg-remote): the `rel="next"`
//! target is text between `<` and `>` of the input, a canonical link gives
//! its target back, and resolving the target against the page URL gives an
//! http(s) URL with a host.
#![no_main]

use http::Uri;
use libfuzzer_sys::fuzz_target;
use ocireg_remote::fuzzing::next_link;
use ocireg_transport::fuzzing::{check_target, resolve_url};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(target) = next_link(header) {
        assert!(!target.contains('>'));
        assert!(
            header.contains(&format!("<{target}>")),
            "{header:?} -> {target:?}"
        );
        let bases = [
            "https://registry.example/v2/library/app/tags/list?n=100",
            "http://127.0.0.1:5000/v2/_catalog",
        ];
        for base in bases {
            let base: Uri = base.parse().expect("valid URI");
            if let Some(next) = resolve_url(&base, &target) {
                assert!(
                    matches!(next.scheme_str(), Some("http" | "https")),
                    "{next}"
                );
                assert!(next.host().is_some_and(|h| !h.is_empty()), "{next}");
                let again: Uri = next.to_string().parse().expect("a resolved URL re-parses");
                assert_eq!(again, next);
                let _ = check_target(&base, &next);
                if target.starts_with('/') && !target.starts_with("//") {
                    assert_eq!(next.authority(), base.authority());
                }
            }
        }
    }
    // The canonical form of a link to `header` (when it can be one).
    if !header.contains('>') {
        let canonical = format!("<{header}>; rel=\"next\"");
        assert_eq!(next_link(&canonical).as_deref(), Some(header));
        let other = format!("</prev>; rel=\"prev\", <{header}>; rel=\"next\"");
        if !header.contains('<') {
            assert_eq!(next_link(&other).as_deref(), Some(header));
        }
    }
});
