//! Media types, from a document field or a `Content-Type` header: parsing
//! never fails, keeps the text, and the predicates are consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_v1::MediaType;

fn check(mt: &MediaType) {
    if mt.is_image() || mt.is_index() || mt.is_schema1() {
        assert!(mt.is_manifest());
    }
    assert!(!(mt.is_image() && mt.is_index()));
    if mt.is_image() || mt.is_index() || mt.is_config() || mt.is_layer() {
        assert!(mt.is_known());
    }
    if !mt.is_layer() {
        assert!(mt.is_distributable());
    }
    assert!(!(mt.is_oci() && mt.is_docker()));
    assert_eq!(mt.is_known(), MediaType::KNOWN.contains(mt));
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mt: MediaType = input.parse().expect("parsing a media type is infallible");
    assert_eq!(mt.as_str(), input);
    assert_eq!(mt.to_string(), input);
    assert_eq!(MediaType::from(input.to_owned()), mt);
    assert_eq!(String::from(mt.clone()), input);
    check(&mt);
    let json = serde_json::to_string(&mt).expect("a media type serialises");
    assert_eq!(
        serde_json::from_str::<MediaType>(&json).expect("own JSON"),
        mt
    );

    // A Content-Type header value: parameters are dropped.
    let header = ocireg_remote::fuzzing::media_type_of(input);
    assert!(!header.as_str().contains(';'));
    assert_eq!(header.as_str(), header.as_str().trim());
    assert!(input.contains(header.as_str()));
    check(&header);
});
