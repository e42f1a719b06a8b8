//! ggcr v0.21.9's `crane pull --format tarball` output (testdata/e1-pull-tarball).

use std::sync::Arc;

use bytes::Bytes;
use ocireg_name::{Reference, Tag};
use ocireg_v1::{Image, validate};

use super::support::{RawImage, rt, testdata};

const REF: &str = "127.0.0.1:5055/golden/append:1";

fn golden_image() -> Arc<dyn Image> {
    let read =
        |f: &str| Bytes::from(fs_err::read(testdata(&format!("e1-pull-tarball/{f}"))).expect(f));
    Arc::new(RawImage {
        manifest: read("manifest.json"),
        config: read("config.json"),
        layers: vec![read("layer.tar.gz")],
    })
}

#[test]
fn write_matches_ggcr_byte_for_byte() {
    rt().block_on(async {
        let refs = [(Reference::parse(REF).expect("ref"), golden_image())];
        let mut out = Vec::new();
        let n = ocireg_tarball::write(&refs, &mut out).await.expect("write");
        let want = fs_err::read(testdata("e1-pull-tarball/out.tar")).expect("golden");
        assert_eq!(n, want.len() as u64);
        assert!(out == want, "tarball differs from ggcr's out.tar");
        assert_eq!(
            ocireg_tarball::calculate_size(&refs).await.expect("size"),
            want.len() as u64
        );
        // The same through a file.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.tar");
        ocireg_tarball::write_to_file(&path, &refs)
            .await
            .expect("write file");
        assert!(fs_err::read(&path).expect("read") == want);
    });
}

#[test]
fn reads_ggcr_tarball_as_the_same_image() {
    rt().block_on(async {
        let path = testdata("e1-pull-tarball/out.tar");
        let want = golden_image();
        let tarball = ocireg_tarball::Tarball::open(&path).await.expect("open");
        for tag in [None, Some(Tag::new(REF).expect("tag"))] {
            let img = tarball.image(tag.as_ref()).await.expect("image");
            assert_eq!(
                img.raw_manifest().await.expect("m"),
                want.raw_manifest().await.expect("m"),
                "the manifest synthesised from ggcr's tarball is ggcr's"
            );
            assert_eq!(
                img.raw_config_file().await.expect("c"),
                want.raw_config_file().await.expect("c")
            );
            validate::image(&*img, validate::Options::default())
                .await
                .expect("validates");
        }
        let entries = tarball.manifest().await.expect("manifest.json");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].repo_tags, Some(vec![REF.to_owned()]));
    });
}

#[test]
fn legacy_write_matches_ggcr_byte_for_byte() {
    rt().block_on(async {
        let img = ocireg_tarball::image_from_path(testdata("e1-pull-tarball/out.tar"), None)
            .await
            .expect("image");
        let refs = [(
            Reference::parse("127.0.0.1:5077/golden/app:1").expect("ref"),
            img,
        )];
        let mut out = Vec::new();
        ocireg_tarball::legacy::write(&refs, &mut out)
            .await
            .expect("write");
        let want = fs_err::read(testdata("legacy/out.tar")).expect("golden");
        assert!(out == want, "legacy tarball differs from ggcr's");
    });
}

#[test]
fn uncompressed_layers_are_named_dot_tar_as_ggcr_does() {
    rt().block_on(async {
        let read = |f: &str| {
            Bytes::from(fs_err::read(testdata(&format!("oci-uncompressed/{f}"))).expect(f))
        };
        let img: Arc<dyn Image> = Arc::new(RawImage {
            manifest: read("manifest.json"),
            config: read("config.json"),
            layers: vec![Bytes::from(
                fs_err::read(testdata("layer.tar")).expect("layer"),
            )],
        });
        let refs = [(
            Reference::parse("127.0.0.1:5079/golden/unc:1").expect("ref"),
            img,
        )];
        let mut out = Vec::new();
        ocireg_tarball::write(&refs, &mut out).await.expect("write");
        assert!(out == read("out.tar"), "tarball differs from ggcr's");
    });
}
