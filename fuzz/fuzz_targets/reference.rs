//! Image references (ocireg-name): whatever parses must give back the input
//! as written, and its fully qualified `name()` must parse to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_name::{Digest, DigestReference, Options, Reference, Registry, Repository, Tag};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let weak = Options::default();
    let strict = Options::new().strict(true);
    let insecure = Options::new().insecure(true);
    for opts in [&weak, &strict, &insecure] {
        check_reference(input, opts);
        // The narrower parsers must not panic either, and agree with their names.
        if let Ok(tag) = Tag::with_options(input, opts) {
            assert_eq!(tag.to_string(), input);
            let again = Tag::with_options(tag.name(), opts).expect("a tag's name() re-parses");
            assert_eq!(again, tag);
        }
        if let Ok(digest) = DigestReference::with_options(input, opts) {
            assert_eq!(digest.to_string(), input);
            let again = DigestReference::with_options(digest.name(), opts)
                .expect("a digest reference's name() re-parses");
            assert_eq!(again, digest);
        }
        if let Ok(repo) = Repository::with_options(input, opts) {
            let again = Repository::with_options(repo.name(), opts)
                .expect("a repository's name() re-parses");
            assert_eq!(again, repo);
            assert_eq!(again.name(), repo.name());
        }
        if let Ok(registry) = Registry::with_options(input, opts) {
            let again = Registry::with_options(registry.name(), opts)
                .expect("a registry's name() re-parses");
            assert_eq!(again, registry);
        }
    }
    // Strict parsing only refuses defaults: what it accepts, weak parsing
    // accepts and reads the same way.
    if let Ok(r) = Reference::with_options(input, &strict) {
        let w = Reference::with_options(input, &weak).expect("strict implies weak");
        assert_eq!(r, w);
    }
});

fn check_reference(input: &str, opts: &Options) {
    let Ok(r) = Reference::with_options(input, opts) else {
        return;
    };
    assert_eq!(r.to_string(), input, "Display is the input as written");
    let by_name = Reference::with_options(r.name(), opts).expect("name() re-parses");
    assert_eq!(by_name, r);
    assert_eq!(by_name.name(), r.name());
    let by_display = Reference::with_options(&r.to_string(), opts).expect("Display re-parses");
    assert_eq!(by_display, r);
    assert!(r.name().starts_with(r.repository().name()));
    assert!(r.name().ends_with(r.identifier()));
    assert!(r.repository().name().starts_with(r.registry().name()));
    match &r {
        Reference::Tag(t) => {
            assert!(r.digest().is_none());
            assert_eq!(t.identifier(), t.tag_str());
        }
        Reference::Digest(d) => {
            let digest = r.digest().expect("a digest reference has a digest");
            assert_eq!(digest, d.digest());
            let text = digest.to_string();
            assert!(input.ends_with(&text), "{input:?} ends with {text}");
            assert_eq!(text.parse::<Digest>().expect("digest re-parses"), digest);
        }
    }
}
