//! The golden vectors of ggcr v0.21.9's crane (testdata/ggcr-v0.21.9, see its
//! README): the same mutations of the same inputs give the same bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ocireg_v1::{Image, ImageIndex, Layer, empty};

fn golden(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/ggcr-v0.21.9")
        .join(path)
}

fn read(path: &str) -> Vec<u8> {
    fs_err::read(golden(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

async fn layer(path: &str) -> Arc<dyn Layer> {
    Arc::new(
        ocireg_tarball::layer_from_file(golden(path), ocireg_tarball::LayerOptions::new())
            .await
            .expect("layer"),
    )
}

/// a1: `crane append -f layer.tar` on the empty Docker image, but with ggcr's own
/// gzip of the tar (its blob), so that every byte can match.
async fn a1() -> Arc<dyn Image> {
    let blob = "a1-append-docker/blobs/sha256-20a8c216bcf310e2511de2e198021313cacf988860a153ebd9fcab865be4c57e";
    ocireg_mutate::append_layers(empty::image(), [layer(blob).await])
}

#[tokio::test]
async fn a3_append_of_a_gzipped_tar_matches_byte_for_byte() {
    let img = ocireg_mutate::append_layers(empty::image(), [layer("inputs/layer.tar.gz").await]);
    assert_eq!(
        img.raw_config_file().await.expect("config"),
        read("a3-append-docker-gz/config.json")
    );
    assert_eq!(
        img.raw_manifest().await.expect("manifest"),
        read("a3-append-docker-gz/manifest.json")
    );
    assert_eq!(
        img.digest().await.expect("digest").to_string(),
        "sha256:da36292bf5956b18c8a2020b6cce222e9a3654d6754df93740d352ddb473ddb4"
    );
}

#[tokio::test]
async fn a1_append_of_a_plain_tar_matches_in_config_and_shape() {
    let img = ocireg_mutate::append_layers(empty::image(), [layer("inputs/layer.tar").await]);
    // The config holds only the diff id: byte for byte.
    assert_eq!(
        img.raw_config_file().await.expect("config"),
        read("a1-append-docker/config.json")
    );
    // The manifest differs only in the layer, which we gzip ourselves.
    let ours =
        String::from_utf8(img.raw_manifest().await.expect("manifest").to_vec()).expect("utf8");
    let desc = &img.manifest().await.expect("manifest").layers[0];
    let theirs = String::from_utf8(read("a1-append-docker/manifest.json"))
        .expect("utf8")
        .replace("\"size\":116,", &format!("\"size\":{},", desc.size))
        .replace(
            "sha256:20a8c216bcf310e2511de2e198021313cacf988860a153ebd9fcab865be4c57e",
            &desc.digest.to_string(),
        );
    assert_eq!(ours, theirs);
    // With ggcr's gzip of the same tar, every byte matches.
    let img = a1().await;
    assert_eq!(
        img.raw_manifest().await.expect("manifest"),
        read("a1-append-docker/manifest.json")
    );
}

#[tokio::test]
async fn b1_mutate_of_the_config_and_annotations_matches_byte_for_byte() {
    let img = a1().await;
    let mut config = img.config_file().await.expect("config");
    let c = &mut config.config;
    c.labels.insert("a".into(), "b".into());
    c.env.push("X=1".into());
    c.entrypoint = vec!["/bin/sh".into()];
    c.cmd = vec!["-c".into(), "true".into()];
    c.user = "1000".into();
    c.working_dir = "/w".into();
    c.exposed_ports = ["80/tcp".to_owned()].into();
    let img = ocireg_mutate::config_file(img, config);
    let img = ocireg_mutate::annotations(img, BTreeMap::from([("org.example".into(), "1".into())]));
    assert_eq!(
        img.raw_config_file().await.expect("config"),
        read("b1-mutate/config.json")
    );
    assert_eq!(
        img.raw_manifest().await.expect("manifest"),
        read("b1-mutate/manifest.json")
    );
    assert_eq!(
        img.digest().await.expect("digest").to_string(),
        "sha256:f678957f693f6fd8e62672d9ae52e0f7d31dcf8f948af0cf7f36f48b72563ab1"
    );
}

#[tokio::test]
async fn d1_extract_matches_byte_for_byte() {
    let tar = ocireg_mutate::extract(a1().await)
        .read_to_end(1 << 20)
        .await
        .expect("extract");
    assert_eq!(tar, read("d1-export/out.tar"));
    // And c1's flattened layer is this tar: its diff id is in c1's config.
    let config = String::from_utf8(read("c1-flatten/config.json")).expect("utf8");
    assert!(config.contains(&ocireg_v1::sha256(&tar).to_string()));
}

#[tokio::test]
async fn f1_index_append_of_two_platform_images_matches_byte_for_byte() {
    let mut adds = Vec::new();
    for arch in ["amd64", "arm64"] {
        // `crane mutate --set-platform linux/ARCH` of a1.
        let img = a1().await;
        let mut config = img.config_file().await.expect("config");
        config.os = "linux".into();
        config.architecture = arch.into();
        let img = ocireg_mutate::config_file(img, config);
        assert_eq!(
            img.raw_manifest().await.expect("manifest"),
            read(&format!("f1-index-append/plat-{arch}.manifest.json"))
        );
        // `crane index append -m`: the platform comes from the config.
        let platform = img.config_file().await.expect("config").platform();
        let mut add = ocireg_mutate::IndexAddendum::new(ocireg_mutate::Appendable::Image(img));
        add.platform = platform;
        adds.push(add);
    }
    let idx = ocireg_mutate::append_manifests(empty::index(), adds);
    assert_eq!(
        idx.raw_manifest().await.expect("index"),
        read("f1-index-append/manifest.json")
    );
    assert_eq!(
        idx.digest().await.expect("digest").to_string(),
        "sha256:1d04f8330723972e8db6eec1d55417a57a4946e6816c9795357f74b0ab0e956e"
    );
    // The children are served by the index.
    let first = idx.index_manifest().await.expect("m").manifests[0].digest;
    assert_eq!(
        idx.image(first)
            .await
            .expect("child")
            .digest()
            .await
            .expect("d"),
        first
    );
}
