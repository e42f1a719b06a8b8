//! Integration tests for the value types and JSON: golden vectors through the
//! public API, byte-exact round trips, and property tests that parsers never
//! panic and that the Go-style encoder stays faithful.

use ocireg_v1::{
    AnyManifest, ConfigFile, Descriptor, Document, Error, History, IndexManifest, Manifest,
    MediaType, Platform, RootFs, Time, sha256, to_go_json,
};
use proptest::prelude::*;

const EMPTY_CONFIG_DIGEST: &str =
    "sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe";
const EMPTY_INDEX_DIGEST: &str =
    "sha256:dff9de10919148711140d349bf03f1a99eb06f94b03e51715ccebfa7cdc518e2";

fn empty_config() -> ConfigFile {
    ConfigFile::default().with_rootfs(RootFs::layers(None))
}

#[test]
fn golden_empty_image_config_and_manifest() {
    let config = Document::from_value(empty_config()).unwrap();
    assert_eq!(config.size(), 115);
    assert_eq!(config.digest().to_string(), EMPTY_CONFIG_DIGEST);

    // ggcr's empty.Image manifest: Docker schema 2, that config, no layers.
    let manifest = Manifest::new(
        MediaType::DockerManifestSchema2,
        config.descriptor(MediaType::DockerConfig),
    );
    let manifest = Document::from_value(manifest).unwrap();
    assert_eq!(
        std::str::from_utf8(manifest.bytes()).unwrap(),
        concat!(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","#,
            r#""config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":115,"#,
            r#""digest":"sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe"},"layers":[]}"#
        )
    );
    assert_eq!(manifest.size(), 264);
}

#[test]
fn golden_empty_index() {
    let index = Document::from_value(IndexManifest::new(MediaType::OciImageIndex)).unwrap();
    assert_eq!(index.size(), 88);
    assert_eq!(index.digest().to_string(), EMPTY_INDEX_DIGEST);
    match AnyManifest::parse(index.bytes().clone(), Some(&MediaType::OciImageIndex)).unwrap() {
        AnyManifest::Index(parsed) => assert_eq!(*parsed, index),
        other @ AnyManifest::Image(_) => panic!("{other:?}"),
    }
}

#[test]
fn ggcr_shaped_config_round_trips_byte_for_byte() {
    let raw = concat!(
        r#"{"architecture":"amd64","created":"2023-06-01T10:20:30.123Z","#,
        r#""history":[{"created":"2023-06-01T10:20:30.123Z","created_by":"/bin/sh -c apk add curl \u0026\u0026 rm -rf /var/cache","comment":"buildkit.dockerfile.v0"},"#,
        r#"{"created":"2023-06-01T10:20:31+02:00","created_by":"CMD [\"sh\"]","empty_layer":true}],"#,
        r#""os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]},"#,
        r#""config":{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"#,
        r#""Labels":{"org.opencontainers.image.source":"https://example.com/a?b=1\u0026c=\u003cd\u003e"},"#,
        r#""WorkingDir":"/","ExposedPorts":{"8080/tcp":{}}}}"#
    );
    let doc = Document::<ConfigFile>::parse(raw.as_bytes().to_vec()).unwrap();
    assert_eq!(doc.history.len(), 2);
    assert!(doc.history[1].empty_layer);
    assert_eq!(doc.history[1].created.offset_seconds(), 7200);
    assert_eq!(doc.rootfs.diff_ids().len(), 1);
    assert_eq!(
        doc.config.labels["org.opencontainers.image.source"],
        "https://example.com/a?b=1&c=<d>"
    );
    let again = Document::from_value(doc.value().clone()).unwrap();
    assert_eq!(again.bytes(), doc.bytes());
    assert_eq!(again.digest(), sha256(raw));
    assert_eq!(
        doc.platform().unwrap(),
        Platform::new("linux", "amd64"),
        "config platform"
    );
}

#[test]
fn mutation_writes_go_bytes() {
    // What mutate.ConfigFile would do: append history, re-serialise.
    let mut cfg = empty_config();
    let mut step = History::default();
    step.created = Time::from_unix(1_700_000_000, 5_000);
    step.created_by = "/bin/sh -c a && b <c>".into();
    cfg.history.push(step);
    let out = to_go_json(&cfg).unwrap();
    let s = std::str::from_utf8(&out).unwrap();
    assert!(
        s.contains(r#"{"created":"2023-11-14T22:13:20.000005Z","created_by":"/bin/sh -c a \u0026\u0026 b \u003cc\u003e"}"#),
        "{s}"
    );
}

type Check = fn(&Error) -> bool;

#[test]
fn hostile_documents_table() {
    let cfg = r#"{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}"#;
    let cases: Vec<(String, Check)> = vec![
        (
            format!(r#"{{"schemaVersion":2,"config":{cfg},"layers":[],"layers":[{cfg}]}}"#),
            |e| matches!(e, Error::DuplicateKey { key, .. } if key == "layers"),
        ),
        (
            format!(r#"{{"schemaVersion":2,"manifests":[],"config":{cfg},"layers":[]}}"#),
            |e| matches!(e, Error::AmbiguousDocument { .. }),
        ),
        (
            format!(
                r#"{{"schemaVersion":2,"config":{cfg},"layers":[{}]}}"#,
                cfg.replace(":2,", ":-5,")
            ),
            |e| {
                matches!(e, Error::Json { .. })
                    && format!("{:?}", std::error::Error::source(e)).contains("negative")
            },
        ),
        (
            format!(
                r#"{{"schemaVersion":2,"config":{},"layers":[]}}"#,
                cfg.replace("sha256:4", "sha256:/")
            ),
            |e| matches!(e, Error::Json { .. }),
        ),
    ];
    for (doc, check) in cases {
        let err = Manifest::parse(doc.as_bytes()).unwrap_err();
        assert!(check(&err), "{doc}: {err:?}");
        assert!(AnyManifest::parse(doc.into_bytes(), None).is_err());
    }
    assert!(matches!(
        Manifest::parse(b"{\"schemaVersion\":2,\"x\":\"\xed\xa0\x80\"}"),
        Err(Error::InvalidUtf8 { .. })
    ));
}

#[test]
fn descriptor_data_is_checked_on_request() {
    let mut d = Descriptor::empty_json();
    d.digest = sha256(b"[]");
    let json = to_go_json(&d).unwrap();
    let back: Descriptor = serde_json::from_slice(&json).unwrap();
    assert!(matches!(
        back.verified_data(),
        Err(Error::DigestMismatch { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn go_json_strings_round_trip_and_stay_html_safe(s in any::<String>()) {
        let out = to_go_json(&s).unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        let unsafe_chars = ['<', '>', '&', '\u{2028}', '\u{2029}'];
        prop_assert!(!text.contains(unsafe_chars), "{}", text);
        prop_assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), s);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Manifest::parse(&bytes);
        let _ = IndexManifest::parse(&bytes);
        let _ = ConfigFile::parse(&bytes);
        let _ = AnyManifest::parse(bytes.clone(), None);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = s.parse::<Platform>();
            let _ = s.parse::<Time>();
        }
    }

    #[test]
    fn times_round_trip(
        secs in -62_135_596_800i64..253_402_300_799,
        nanos in 0u32..1_000_000_000,
        offset in -1439i32..1439,
    ) {
        let t = Time::from_unix(secs, nanos).with_offset_minutes(offset).unwrap();
        let text = t.to_string();
        let back: Time = text.parse().unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn platforms_round_trip(
        os in "[a-z0-9]{1,8}",
        arch in "[a-z0-9]{1,8}",
        variant in "[a-z0-9]{0,3}",
        version in "[0-9.]{0,10}",
    ) {
        let p = Platform::new(os, arch).with_variant(variant).with_os_version(version);
        let back: Platform = p.to_string().parse().unwrap();
        prop_assert_eq!(&back, &p);
        prop_assert!(back.satisfies(&p) && p.matches_for_pull(&back));
    }
}
