//! Interop with real peers: skopeo reads and copies layouts we write (keeping
//! digests), umoci unpacks them, and we read what skopeo writes.
//!
//! Under `CI=true` a missing skopeo or umoci fails the test; elsewhere the
//! test is skipped with a message.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test set-up and checks: a failed file operation fails the test at its own line"
)]

use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use ocireg_layout::{AppendOptions, Layout};
use ocireg_v1::{
    Blob, ConfigFile, Descriptor, Digest, Image as _, IndexManifest, Layer as _, Manifest,
    MediaType, Platform, RootFs, validate,
};

/// Whether `tool` can be run; panics under CI when it cannot.
#[allow(clippy::print_stderr, reason = "the skip message is for the developer")]
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required under CI (scripts/install-deps.sh installs it)"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    ok
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Writes an OCI image (two random gzip layers, linux/amd64) through the
/// crate's blob API and tags it; returns the manifest descriptor and its layers.
async fn write_oci_image(
    layout: &Layout,
    seed: u64,
    tag: &str,
    arch: &str,
) -> (Descriptor, Vec<Digest>) {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for i in 0..2 {
        let l = ocireg_v1::random::layer(4096, MediaType::OciLayer, seed * 10 + i).expect("layer");
        let bytes = l
            .compressed()
            .await
            .expect("blob")
            .read_to_end(1 << 20)
            .await
            .expect("bytes");
        let d = Descriptor::for_bytes(MediaType::OciLayer, &bytes);
        layout
            .write_blob(d.digest, Some(d.size), Blob::from_bytes(bytes))
            .await
            .expect("write layer");
        diff_ids.push(l.diff_id().await.expect("diff id"));
        layers.push(d);
    }
    let config = ConfigFile::new("linux", arch).with_rootfs(RootFs::layers(Some(diff_ids)));
    let raw_config = Bytes::from(ocireg_v1::to_go_json(&config).expect("json"));
    let cd = Descriptor::for_bytes(MediaType::OciConfig, &raw_config);
    layout
        .write_blob(cd.digest, Some(cd.size), Blob::from_bytes(raw_config))
        .await
        .expect("write config");
    let mut m = Manifest::new(MediaType::OciManifest, cd);
    m.layers.clone_from(&layers);
    let raw = Bytes::from(ocireg_v1::to_go_json(&m).expect("json"));
    let mut desc = Descriptor::for_bytes(MediaType::OciManifest, &raw);
    layout
        .write_blob(desc.digest, Some(desc.size), Blob::from_bytes(raw))
        .await
        .expect("write manifest");
    desc.platform = Some(
        format!("linux/{arch}")
            .parse::<Platform>()
            .expect("platform"),
    );
    desc.annotations
        .insert(ocireg_v1::ANNOTATION_REF_NAME.to_owned(), tag.to_owned());
    layout
        .append_descriptor(desc.clone())
        .await
        .expect("append");
    (desc, layers.iter().map(|l| l.digest).collect())
}

fn oci(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.display())
}

#[tokio::test]
async fn skopeo_reads_and_copies_what_we_write_and_we_read_what_it_writes() {
    if !have("skopeo") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let ours = tmp.path().join("ours");
    let layout = Layout::create(&ours).await.expect("create");
    let (desc, layers) = write_oci_image(&layout, 1, "v1", "amd64").await;
    // Then copy it into a second tag through a view (write_image path).
    let img = layout.image_by_ref_name("v1").await.expect("img");
    layout
        .append_image(&*img, &AppendOptions::new().ref_name("again"))
        .await
        .expect("append view");

    let raw = run("skopeo", &["inspect", "--raw", &oci(&ours, "v1")]);
    assert_eq!(ocireg_v1::sha256(raw.as_bytes()), desc.digest);
    let info: serde_json::Value =
        serde_json::from_str(&run("skopeo", &["inspect", &oci(&ours, "again")])).expect("json");
    assert_eq!(info["Digest"], desc.digest.to_string());

    // skopeo writes a layout from ours; we read it with the same digests.
    let theirs = tmp.path().join("theirs");
    run(
        "skopeo",
        &[
            "copy",
            "--preserve-digests",
            &oci(&ours, "v1"),
            &oci(&theirs, "copied"),
        ],
    );
    let back = Layout::open(&theirs).await.expect("open skopeo's layout");
    let img = back.image_by_ref_name("copied").await.expect("image");
    assert_eq!(img.digest().await.expect("d"), desc.digest);
    let got: Vec<Digest> = img
        .manifest()
        .await
        .expect("m")
        .layers
        .iter()
        .map(|l| l.digest)
        .collect();
    assert_eq!(got, layers);
    validate::image(&*img, validate::Options::default())
        .await
        .expect("validate");
    let root = back.image_index_root().await.expect("root");
    validate::index(&*root, validate::Options::default())
        .await
        .expect("validate root");

    // And skopeo appends a second tag into our layout; our index stays readable.
    run(
        "skopeo",
        &[
            "copy",
            "--preserve-digests",
            &oci(&theirs, "copied"),
            &oci(&ours, "from-skopeo"),
        ],
    );
    let again = Layout::open(&ours).await.expect("open");
    let img = again.image_by_ref_name("from-skopeo").await.expect("tag");
    assert_eq!(img.digest().await.expect("d"), desc.digest);
}

#[tokio::test]
async fn skopeo_copies_an_index_we_write() {
    if !have("skopeo") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    let layout = Layout::create(&src).await.expect("create");
    let (a, _) = write_oci_image(&layout, 2, "a", "amd64").await;
    let (b, _) = write_oci_image(&layout, 3, "b", "arm64").await;
    // An index of both, written as a blob and tagged.
    let mut index = IndexManifest::new(MediaType::OciImageIndex);
    for (d, arch) in [(a, "amd64"), (b, "arm64")] {
        let mut d = Descriptor::new(d.media_type, d.size, d.digest);
        d.platform = Some(format!("linux/{arch}").parse().expect("platform"));
        index.manifests.push(d);
    }
    let raw = Bytes::from(ocireg_v1::to_go_json(&index).expect("json"));
    let mut desc = Descriptor::for_bytes(MediaType::OciImageIndex, &raw);
    layout
        .write_blob(desc.digest, Some(desc.size), Blob::from_bytes(raw))
        .await
        .expect("write");
    desc.annotations.insert(
        ocireg_v1::ANNOTATION_REF_NAME.to_owned(),
        "multi".to_owned(),
    );
    layout
        .append_descriptor(desc.clone())
        .await
        .expect("append");

    let dst = tmp.path().join("dst");
    run(
        "skopeo",
        &[
            "copy",
            "--all",
            "--preserve-digests",
            &oci(&src, "multi"),
            &oci(&dst, "multi"),
        ],
    );
    let back = Layout::open(&dst).await.expect("open");
    let idx = back.image_index_by_ref_name("multi").await.expect("index");
    assert_eq!(
        ocireg_v1::ImageIndex::digest(&*idx).await.expect("d"),
        desc.digest
    );
    validate::index(&*idx, validate::Options::default())
        .await
        .expect("validate");
}

#[tokio::test]
async fn umoci_unpacks_what_we_write() {
    if !have("umoci") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("layout");
    let layout = Layout::create(&dir).await.expect("create");
    write_oci_image(&layout, 4, "v1", "amd64").await;
    let bundle = tmp.path().join("bundle");
    let image = format!("{}:v1", dir.display());
    run(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &image,
            &bundle.display().to_string(),
        ],
    );
    assert!(bundle.join("config.json").is_file());
    let files: Vec<String> = std::fs::read_dir(bundle.join("rootfs"))
        .expect("rootfs")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("random_file_"))
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    // umoci left the layout readable for us.
    let back = Layout::open(&dir).await.expect("open");
    validate::index(
        &*back.image_index_root().await.expect("root"),
        validate::Options::default(),
    )
    .await
    .expect("validate");
}
