//! Interop: what skopeo pushes, we pull and validate.

use std::path::Path;

use bytes::Bytes;
use ocireg_v1::{ConfigFile, Descriptor, Image, Layer, Manifest, MediaType, RootFs, validate};

use super::support::{self, Target};

fn write_blob(dir: &Path, bytes: &[u8]) -> Descriptor {
    let d = ocireg_v1::sha256(bytes);
    fs_err::write(dir.join("blobs/sha256").join(d.hex()), bytes).expect("write blob");
    Descriptor::for_bytes(MediaType::OciManifest, bytes)
}

/// Writes an OCI layout holding one random OCI image tagged `v1`; returns its layers'
/// digests and its manifest digest.
async fn write_layout(dir: &Path) -> (Vec<ocireg_v1::Digest>, ocireg_v1::Digest) {
    fs_err::create_dir_all(dir.join("blobs/sha256")).expect("mkdir");
    fs_err::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("oci-layout");
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    let mut descs = Vec::new();
    for seed in 0..2 {
        let l = ocireg_v1::random::layer(4096, MediaType::OciLayer, 40 + seed).expect("layer");
        let bytes = l
            .compressed()
            .await
            .expect("c")
            .read_to_end(1 << 20)
            .await
            .expect("bytes");
        write_blob(dir, &bytes);
        descs.push(Descriptor::for_bytes(MediaType::OciLayer, &bytes));
        layers.push(l.digest().await.expect("d"));
        diff_ids.push(l.diff_id().await.expect("diff id"));
    }
    let config = ConfigFile::new("linux", "amd64").with_rootfs(RootFs::layers(Some(diff_ids)));
    let raw_config = Bytes::from(ocireg_v1::to_go_json(&config).expect("json"));
    write_blob(dir, &raw_config);
    let mut m = Manifest::new(
        MediaType::OciManifest,
        Descriptor::for_bytes(MediaType::OciConfig, &raw_config),
    );
    m.layers = descs;
    let raw = ocireg_v1::to_go_json(&m).expect("json");
    let mut desc = write_blob(dir, &raw);
    desc.annotations
        .insert(ocireg_v1::ANNOTATION_REF_NAME.to_owned(), "v1".to_owned());
    let mut index = ocireg_v1::IndexManifest::new(MediaType::OciImageIndex);
    index.manifests.push(desc.clone());
    fs_err::write(
        dir.join("index.json"),
        ocireg_v1::to_go_json(&index).expect("json"),
    )
    .expect("index");
    (layers, desc.digest)
}

async fn skopeo_pushes_we_pull(t: &Target) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (layers, digest) = write_layout(dir.path()).await;
    let status = tokio::process::Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            &format!("oci:{}:v1", dir.path().display()),
            &format!("docker://{}/interop/app:v1", t.host),
        ])
        .status()
        .await
        .expect("skopeo runs");
    assert!(status.success(), "skopeo copy to {}", t.name);
    let img = ocireg_remote::image(&t.reference("interop/app:v1"), &support::options())
        .await
        .expect("pull what skopeo pushed");
    assert_eq!(
        img.digest().await.expect("digest"),
        digest,
        "skopeo kept the manifest bytes"
    );
    let pulled: Vec<_> = img
        .manifest()
        .await
        .expect("m")
        .layers
        .iter()
        .map(|l| l.digest)
        .collect();
    assert_eq!(pulled, layers);
    validate::image(&*img, validate::Options::default())
        .await
        .expect("validates");
}

#[tokio::test]
async fn skopeo_to_distribution() {
    skopeo_pushes_we_pull(&support::distribution().await).await;
}

#[tokio::test]
async fn skopeo_to_ocireg_registry() {
    skopeo_pushes_we_pull(&support::in_process(false).await).await;
}
