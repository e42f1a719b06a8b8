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
fn progress_reports_every_blob_as_the_registry_client_does() {
    use ocireg_v1::progress::{BlobOutcome, Direction, ProgressEvent, ProgressTracker};
    rt().block_on(async {
        let img = ocireg_v1::random::image(10_000, 2, 21).expect("random");
        let manifest = img.manifest().await.expect("manifest");
        let refs = [(r("example.com/p:1"), Arc::clone(&img))];
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        let tracker = Arc::new(ProgressTracker::forwarding(Arc::new(
            move |e: &ProgressEvent| seen.lock().expect("lock").push(e.clone()),
        )));
        let options = ocireg_tarball::WriteOptions::new().progress(tracker.clone());
        let mut out = Vec::new();
        ocireg_tarball::write_with(&refs, &mut out, options)
            .await
            .expect("write");
        let snap = tracker.snapshot();
        let blobs: u64 = manifest.config.size + manifest.layers.iter().map(|l| l.size).sum::<u64>();
        assert_eq!((snap.blobs_total, snap.blobs_done), (3, 3));
        assert_eq!((snap.bytes_done, snap.bytes_total), (blobs, blobs));
        assert_eq!(
            snap.blobs.iter().map(|b| b.digest).collect::<Vec<_>>(),
            [
                manifest.config.digest,
                manifest.layers[0].digest,
                manifest.layers[1].digest
            ]
        );
        assert!(snap.blobs.iter().all(|b| b.outcome == Some(BlobOutcome::Uploaded)
            && b.direction == Direction::Push));
        // Per blob: started, growing byte counts, done.
        let events = events.lock().expect("lock").clone();
        let layer = manifest.layers[0].digest;
        let mine: Vec<&ProgressEvent> = events
            .iter()
            .filter(|e| match e {
                ProgressEvent::BlobStarted { digest, .. }
                | ProgressEvent::BlobBytes { digest, .. }
                | ProgressEvent::BlobDone { digest, .. } => *digest == layer,
                _ => false,
            })
            .collect();
        assert!(matches!(
            mine.first(),
            Some(ProgressEvent::BlobStarted { .. })
        ));
        assert!(matches!(mine.last(), Some(ProgressEvent::BlobDone { .. })));
        assert!(mine.len() >= 3, "{mine:?}");

        // The legacy format reports its layers by diff id, as it writes them uncompressed.
        let tracker = Arc::new(ProgressTracker::new());
        let options = ocireg_tarball::WriteOptions::new().progress(tracker.clone());
        ocireg_tarball::legacy::write_with(&refs, Vec::new(), options)
            .await
            .expect("legacy");
        let config = img.config_file().await.expect("config");
        let mut want = vec![manifest.config.digest];
        want.extend(config.rootfs.diff_ids.clone().unwrap_or_default());
        let snap = tracker.snapshot();
        assert_eq!(
            snap.blobs.iter().map(|b| b.digest).collect::<Vec<_>>(),
            want
        );
        assert_eq!(snap.blobs_done, 3);
    });
}

#[test]
fn reads_report_each_layer_as_the_registry_client_does() {
    use ocireg_v1::progress::{BlobOutcome, Direction, ProgressTracker};
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("img.tar");
        let img = ocireg_v1::random::image(8192, 2, 31).expect("random");
        ocireg_tarball::write_to_file(&path, &[(r("example.com/p:1"), Arc::clone(&img))])
            .await
            .expect("write");
        let tracker = Arc::new(ProgressTracker::new());
        let tarball = Tarball::open(&path)
            .await
            .expect("open")
            .with_progress(tracker.clone());
        let back = tarball.image(None).await.expect("image");
        assert_eq!(tracker.snapshot().blobs_total, 0, "opening reads no layer");
        let manifest = back.manifest().await.expect("manifest");
        for l in &manifest.layers {
            let layer = back.layer_by_digest(l.digest).await.expect("layer");
            assert_eq!(
                layer
                    .compressed()
                    .await
                    .expect("blob")
                    .drain()
                    .await
                    .expect("read"),
                l.size
            );
        }
        let snap = tracker.snapshot();
        assert_eq!(
            snap.blobs.iter().map(|b| b.digest).collect::<Vec<_>>(),
            manifest.layers.iter().map(|l| l.digest).collect::<Vec<_>>()
        );
        assert!(
            snap.blobs
                .iter()
                .all(|b| b.direction == Direction::Pull
                    && b.outcome == Some(BlobOutcome::Downloaded))
        );
        let sizes: u64 = manifest.layers.iter().map(|l| l.size).sum();
        assert_eq!((snap.bytes_done, snap.bytes_total), (sizes, sizes));
        // The uncompressed stream is reported by diff id; a bad read is a failure.
        let diff_ids = back
            .config_file()
            .await
            .expect("config")
            .rootfs
            .diff_ids
            .unwrap_or_default();
        let layer = back
            .layer_by_digest(manifest.layers[0].digest)
            .await
            .expect("layer");
        layer
            .uncompressed()
            .await
            .expect("blob")
            .drain()
            .await
            .expect("read");
        let b = tracker.blob(&diff_ids[0]).expect("reported by diff id");
        assert_eq!(b.outcome, Some(BlobOutcome::Downloaded));
        validate::image(&*back, validate::Options::default())
            .await
            .expect("the reporting view validates");
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
