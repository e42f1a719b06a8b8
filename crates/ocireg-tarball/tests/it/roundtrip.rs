//! Write then read: single and multi-image tarballs, tags, verification on read.

use std::sync::Arc;

use ocireg_name::{Reference, Tag};
use ocireg_tarball::{Error, Tarball};
use ocireg_v1::{Image, validate};

use super::support::{bytes, rt};

fn r(s: &str) -> Reference {
    Reference::parse(s).expect("reference")
}

fn t(s: &str) -> Tag {
    Tag::new(s).expect("tag")
}

#[test]
fn random_image_round_trips_with_several_tags() {
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("img.tar");
        let img = ocireg_v1::random::image(2048, 3, 1).expect("random");
        let digest_ref = format!("example.com/app@{}", img.digest().await.expect("d"));
        let refs = [
            (r("example.com/app:v1"), Arc::clone(&img)),
            (r("example.com/app"), Arc::clone(&img)),
            (r(&digest_ref), Arc::clone(&img)),
        ];
        let n = ocireg_tarball::write_to_file(&path, &refs)
            .await
            .expect("write");
        assert_eq!(n, fs_err::metadata(&path).expect("meta").len());
        assert_eq!(
            n,
            ocireg_tarball::calculate_size(&refs).await.expect("size")
        );

        let tarball = Tarball::open(&path).await.expect("open");
        let entries = tarball.manifest().await.expect("manifest.json");
        assert_eq!(entries.len(), 1, "one image, written once");
        assert_eq!(
            entries[0].repo_tags,
            Some(vec![
                "example.com/app:v1".into(),
                "example.com/app:latest".into()
            ]),
            "ggcr spells RepoTags as written, adding :latest when implied"
        );
        let mut names: Vec<_> = tarball.member_names().collect();
        names.sort_unstable();
        assert_eq!(names.len(), 5, "config, 3 layers, manifest.json: {names:?}");

        for tag in [
            None,
            Some(t("example.com/app:v1")),
            Some(t("example.com/app:latest")),
        ] {
            let back = tarball.image(tag.as_ref()).await.expect("image");
            assert_eq!(
                back.digest().await.expect("d"),
                img.digest().await.expect("d")
            );
            validate::image(&*back, validate::Options::default())
                .await
                .expect("validates");
        }
        let err = tarball
            .image(Some(&t("example.com/app:nope")))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("example.com/app:nope"), "{err}");
    });
}

#[test]
fn multi_image_tarball_picks_by_tag() {
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("multi.tar");
        let a = ocireg_v1::random::image(1024, 2, 10).expect("a");
        let b = ocireg_v1::random::image(1024, 1, 11).expect("b");
        let refs = [
            (r("b.example/x:2"), Arc::clone(&b)),
            (r("a.example/x:1"), Arc::clone(&a)),
            (r("a.example/x:one"), Arc::clone(&a)),
        ];
        ocireg_tarball::write_to_file(&path, &refs)
            .await
            .expect("write");
        let tarball = Tarball::open(&path).await.expect("open");
        let entries = tarball.manifest().await.expect("manifest.json");
        let tags: Vec<_> = entries.iter().map(|e| e.repo_tags.clone()).collect();
        assert_eq!(
            tags,
            vec![
                Some(vec!["a.example/x:1".into(), "a.example/x:one".into()]),
                Some(vec!["b.example/x:2".into()]),
            ],
            "sorted by joined RepoTags"
        );
        for (tag, want) in [("a.example/x:one", &a), ("b.example/x:2", &b)] {
            let img = tarball.image(Some(&t(tag))).await.expect(tag);
            assert_eq!(
                img.digest().await.expect("d"),
                want.digest().await.expect("d")
            );
            validate::image(&*img, validate::Options::default())
                .await
                .expect("validates");
        }
        let err = tarball.image(None).await.unwrap_err();
        assert!(matches!(err, Error::Manifest { .. }), "{err}");
    });
}

#[test]
fn a_layer_changed_after_opening_fails_its_digest() {
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("img.tar");
        let img = ocireg_v1::random::image(4096, 1, 3).expect("random");
        ocireg_tarball::write_to_file(&path, &[(r("x.example/a:1"), img)])
            .await
            .expect("write");
        let back = ocireg_tarball::image_from_path(&path, None)
            .await
            .expect("image");
        let layer = back.layers().await.expect("layers").remove(0);
        // Flip the last byte of the layer body (the second member's data).
        let mut raw = fs_err::read(&path).expect("read");
        let digest = layer.digest().await.expect("d");
        let name = format!("{}.tar.gz", digest.hex());
        let at = raw
            .windows(name.len())
            .position(|w| w == name.as_bytes())
            .expect("header");
        let size = usize::try_from(layer.size().await.expect("size")).expect("size");
        let last = at + 512 + size - 1;
        raw[last] ^= 0xff;
        fs_err::write(&path, raw).expect("write");
        let err = back
            .layers()
            .await
            .expect("layers")
            .remove(0)
            .compressed()
            .await
            .expect("open")
            .read_to_end(1 << 20)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ocireg_v1::Error::DigestMismatch { .. }),
            "{err:?}"
        );
        let _ = bytes;
    });
}

#[test]
fn progress_counts_every_byte_up_to_the_precomputed_total() {
    rt().block_on(async {
        let img = ocireg_v1::random::image(10_000, 2, 21).expect("random");
        let refs = [(r("example.com/p:1"), img)];
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let options = ocireg_tarball::WriteOptions::new().progress(move |p| {
            sink.lock().expect("lock").push(p);
        });
        let mut out = Vec::new();
        let n = ocireg_tarball::write_with(&refs, &mut out, options)
            .await
            .expect("write");
        let seen = seen.lock().expect("lock");
        let last = seen.last().expect("updates");
        assert_eq!((last.complete, last.total), (n, n));
        assert_eq!(n, out.len() as u64);
        assert!(seen.windows(2).all(|w| w[0].complete < w[1].complete));
        assert!(seen.len() > 4, "{} updates", seen.len());
    });
}

#[test]
fn the_same_image_as_two_objects_is_written_once() {
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("twice.tar");
        let a = ocireg_v1::random::image(1024, 2, 4).expect("a");
        let b = ocireg_v1::random::image(1024, 2, 4).expect("same content, another object");
        let refs = [
            (r("x.example/a:1"), a),
            (r("x.example/b:1"), Arc::clone(&b)),
        ];
        let n = ocireg_tarball::write_to_file(&path, &refs)
            .await
            .expect("write");
        assert_eq!(
            n,
            ocireg_tarball::calculate_size(&refs).await.expect("size")
        );
        let tarball = Tarball::open(&path).await.expect("no duplicate members");
        assert_eq!(
            tarball.member_names().count(),
            4,
            "config, 2 layers, manifest.json"
        );
        assert_eq!(tarball.manifest().await.expect("m").len(), 2);
        for tag in ["x.example/a:1", "x.example/b:1"] {
            let img = tarball.image(Some(&t(tag))).await.expect(tag);
            assert_eq!(img.digest().await.expect("d"), b.digest().await.expect("d"));
        }
    });
}

#[cfg(unix)]
#[test]
fn written_files_get_the_usual_mode_not_a_temp_files() {
    use std::os::unix::fs::PermissionsExt as _;
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mode.tar");
        let img = ocireg_v1::random::image(100, 1, 1).expect("random");
        ocireg_tarball::write_to_file(&path, &[(r("x.example/m:1"), img)])
            .await
            .expect("write");
        let mode = fs_err::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_ne!(
            mode & 0o044,
            0,
            "readable by others as with os.Create: {mode:o}"
        );
    });
}
