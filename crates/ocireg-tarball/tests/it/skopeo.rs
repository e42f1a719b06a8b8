//! Interop with skopeo's `docker-archive:` transport, both directions.

use std::path::Path;
use std::sync::Arc;

use ocireg_name::Reference;
use ocireg_v1::{ConfigFile, Image, IndexManifest, Manifest, validate};

use super::support::{have, rt};

fn skopeo(args: &[&str]) {
    let out = std::process::Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo runs");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The config digest and manifest of the only image in an OCI layout.
fn layout_image(dir: &Path) -> Manifest {
    let index =
        IndexManifest::parse(&fs_err::read(dir.join("index.json")).expect("index")).expect("index");
    let desc = &index.manifests[0];
    let raw = fs_err::read(dir.join("blobs/sha256").join(desc.digest.hex())).expect("manifest");
    Manifest::parse(&raw).expect("manifest")
}

#[test]
fn skopeo_reads_what_we_write_and_we_read_what_it_writes() {
    if !have("skopeo") {
        return;
    }
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let ours = dir.path().join("ours.tar");
        let img = ocireg_v1::random::image(4096, 2, 99).expect("random");
        let refs = [(
            Reference::parse("example.com/interop:v1").expect("r"),
            Arc::clone(&img),
        )];
        ocireg_tarball::write_to_file(&ours, &refs)
            .await
            .expect("write");

        // Ours → skopeo → dir: the config digest is kept.
        let plain = dir.path().join("plain");
        skopeo(&[
            "copy",
            "--quiet",
            &format!("docker-archive:{}", ours.display()),
            &format!("dir:{}", plain.display()),
        ]);
        let m = Manifest::parse(&fs_err::read(plain.join("manifest.json")).expect("m")).expect("m");
        assert_eq!(
            m.config.digest,
            img.config_name().await.expect("config name")
        );

        // Ours → skopeo → OCI layout: skopeo 1.9 re-serialises the config
        // when it converts to OCI (it does so for ggcr's tarballs too), so
        // compare the config's content.
        let layout = dir.path().join("layout");
        skopeo(&[
            "copy",
            "--quiet",
            &format!("docker-archive:{}", ours.display()),
            &format!("oci:{}:v1", layout.display()),
        ]);
        let m = layout_image(&layout);
        let raw = fs_err::read(layout.join("blobs/sha256").join(m.config.digest.hex())).expect("c");
        let oci_config = ConfigFile::parse(&raw).expect("config");
        assert_eq!(oci_config, img.config_file().await.expect("config"));

        // OCI layout → skopeo → docker-archive → ours: same config and diff ids.
        let theirs = dir.path().join("theirs.tar");
        skopeo(&[
            "copy",
            "--quiet",
            &format!("oci:{}:v1", layout.display()),
            &format!("docker-archive:{}:example.com/back:v2", theirs.display()),
        ]);
        let tag = ocireg_name::Tag::new("example.com/back:v2").expect("tag");
        let back = ocireg_tarball::image_from_path(&theirs, Some(&tag))
            .await
            .expect("read skopeo's archive");
        assert_eq!(
            back.config_file().await.expect("c").rootfs.diff_ids,
            img.config_file().await.expect("c").rootfs.diff_ids
        );
        assert_eq!(back.config_name().await.expect("c"), m.config.digest);
        validate::image(&*back, validate::Options::default())
            .await
            .expect("validates");
    });
}
