//! Manifests and indexes from untrusted bytes (what a registry sends us):
//! whatever parses has the SHA-256 of the input as its digest, keeps the
//! exact bytes, and survives a Go-JSON round trip; the kind-agnostic parser
//! agrees with the typed ones; a pull's description of it is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_name::Reference;
use ocireg_v1::bytes::Bytes;
use ocireg_v1::{AnyManifest, Document, IndexManifest, Manifest, MediaType, sha256};

fuzz_target!(|data: &[u8]| {
    let digest = sha256(data);
    let image = Document::<Manifest>::parse(Bytes::copy_from_slice(data));
    let index = Document::<IndexManifest>::parse(Bytes::copy_from_slice(data));
    assert!(
        !(image.is_ok() && index.is_ok()),
        "a document parses as both an image manifest and an index"
    );
    assert_eq!(image.is_ok(), Manifest::parse(data).is_ok());
    assert_eq!(index.is_ok(), IndexManifest::parse(data).is_ok());
    if let Ok(doc) = &image {
        assert_eq!(doc.digest(), digest);
        assert_eq!(doc.bytes().as_ref(), data);
        assert_eq!(doc.size(), data.len() as u64);
        let verified = Document::<Manifest>::parse_verified(Bytes::copy_from_slice(data), digest)
            .expect("parse_verified accepts what parse accepts");
        assert_eq!(verified.value(), doc.value());
        round_trip(doc.value());
    }
    if let Ok(doc) = &index {
        assert_eq!(doc.digest(), digest);
        assert_eq!(doc.bytes().as_ref(), data);
        round_trip(doc.value());
        for child in &doc.manifests {
            // Platform selection must not panic on any child list.
            if let Some(p) = &child.platform {
                let _ = doc.child_for_platform(p);
            }
        }
    }

    let content_types = [
        None,
        Some(MediaType::OciManifest),
        Some(MediaType::DockerManifestSchema2),
        Some(MediaType::OciImageIndex),
        Some(MediaType::DockerManifestList),
        Some(MediaType::DockerManifestSchema1Signed),
        Some(MediaType::from("application/octet-stream")),
    ];
    let reference = Reference::parse("registry.example/fuzz/app:latest").expect("valid reference");
    for content_type in content_types {
        if let Ok(any) = AnyManifest::parse(Bytes::copy_from_slice(data), content_type.as_ref()) {
            assert_eq!(any.digest(), digest);
            assert_eq!(any.bytes().as_ref(), data);
            match &any {
                AnyManifest::Image(doc) => {
                    assert!(
                        image.is_ok(),
                        "AnyManifest took an image that Manifest refuses"
                    );
                    assert_eq!(doc.value(), image.as_ref().expect("checked").value());
                }
                AnyManifest::Index(doc) => {
                    assert!(
                        index.is_ok(),
                        "AnyManifest took an index that IndexManifest refuses"
                    );
                    assert_eq!(doc.value(), index.as_ref().expect("checked").value());
                }
            }
            if let Some(mt) = any.media_type() {
                assert!(mt.is_image() || mt.is_index());
            }
        }
        // What a pull makes of the response.
        if let Ok((descriptor, parsed)) = ocireg_remote::fuzzing::describe_manifest(
            &reference,
            Bytes::copy_from_slice(data),
            content_type.clone(),
            digest,
        ) {
            assert_eq!(descriptor.digest, digest);
            assert_eq!(descriptor.size, data.len() as u64);
            if let Some(parsed) = parsed {
                assert_eq!(parsed.digest(), digest);
                match parsed {
                    AnyManifest::Image(_) => assert!(!descriptor.media_type.is_index()),
                    AnyManifest::Index(_) => assert!(!descriptor.media_type.is_image()),
                }
            }
        }
    }
});

/// Writing a parsed document as Go would and parsing that gives the same
/// value, and writing is stable.
fn round_trip<T>(value: &T)
where
    T: ocireg_v1::JsonDocument + PartialEq + std::fmt::Debug,
{
    let written = ocireg_v1::to_go_json(value).expect("a parsed document serialises");
    let again = T::parse_json(&written).unwrap_or_else(|e| {
        panic!(
            "re-parsing our own output failed: {e}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(&again, value);
    let rewritten = ocireg_v1::to_go_json(&again).expect("serialises");
    assert_eq!(written, rewritten, "Go JSON output is not stable");
}
