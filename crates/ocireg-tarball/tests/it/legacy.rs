//! The legacy v1.2 format: we read back what we write, and so does skopeo.

use std::sync::Arc;

use ocireg_name::Reference;
use ocireg_tarball::Tarball;
use ocireg_v1::{Image, Manifest, validate};

use super::support::{have, rt};

#[test]
fn legacy_tarballs_read_back_with_the_same_config_and_diff_ids() {
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("legacy.tar");
        let img = ocireg_v1::random::image(2000, 3, 77).expect("random");
        let refs = [
            (
                Reference::parse("example.com/old:1").expect("r"),
                Arc::clone(&img),
            ),
            (
                Reference::parse("example.com/old:2").expect("r"),
                Arc::clone(&img),
            ),
        ];
        let n = ocireg_tarball::legacy::write_to_file(&path, &refs)
            .await
            .expect("write");
        assert_eq!(n, fs_err::metadata(&path).expect("meta").len());
        let tarball = Tarball::open(&path).await.expect("open");
        let mut names: Vec<_> = tarball.member_names().map(str::to_owned).collect();
        names.sort();
        assert_eq!(names.len(), 1 + 3 * 3 + 2, "{names:?}");
        assert!(names.iter().any(|n| n == "repositories"));
        assert_eq!(names.iter().filter(|n| n.ends_with("/VERSION")).count(), 3);

        let back = tarball
            .image(Some(
                &ocireg_name::Tag::new("example.com/old:2").expect("tag"),
            ))
            .await
            .expect("image");
        assert_eq!(
            back.raw_config_file().await.expect("c"),
            img.raw_config_file().await.expect("c")
        );
        validate::image(&*back, validate::Options::default())
            .await
            .expect("validates");
        let repositories = tarball
            .member("repositories")
            .expect("repositories")
            .read_to_end(4096)
            .await
            .expect("read");
        let repositories: serde_json::Value = serde_json::from_slice(&repositories).expect("json");
        let top = tarball.manifest().await.expect("m")[0].layers[2]
            .trim_end_matches("/layer.tar")
            .to_owned();
        assert_eq!(repositories["example.com/old"]["1"], top.as_str());
        assert_eq!(repositories["example.com/old"]["2"], top.as_str());

        if have("skopeo") {
            let out = dir.path().join("plain");
            let status = std::process::Command::new("skopeo")
                .args([
                    "copy",
                    "--quiet",
                    &format!("docker-archive:{}:example.com/old:1", path.display()),
                    &format!("dir:{}", out.display()),
                ])
                .status()
                .expect("skopeo runs");
            assert!(status.success(), "skopeo reads the legacy tarball");
            let m = Manifest::parse(&fs_err::read(out.join("manifest.json")).expect("m"))
                .expect("manifest");
            assert_eq!(m.config.digest, img.config_name().await.expect("c"));
        }
    });
}
