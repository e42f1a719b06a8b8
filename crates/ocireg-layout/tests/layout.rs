//! Integration tests: round trips, lookups, index changes, hostile layouts,
//! concurrent writers and resumed writes.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test set-up and checks: a failed file operation fails the test at its own line"
)]

use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use ocireg_layout::{AppendOptions, BlobWrite, Error, Layout};
use ocireg_v1::{
    Blob, Descriptor, Image, ImageIndex, Layer as _, Matcher, MediaType, random, validate,
};

fn opts() -> validate::Options {
    validate::Options::default()
}

async fn layout_with(dir: &Path, img: &dyn Image, tag: &str) -> Layout {
    let layout = Layout::create(dir).await.expect("create");
    layout
        .append_image(img, &AppendOptions::new().ref_name(tag))
        .await
        .expect("append");
    layout
}

/// The first layer's digest, size and compressed bytes.
async fn first_layer(img: &dyn Image) -> (Descriptor, Bytes) {
    let m = img.manifest().await.expect("manifest");
    let d = m.layers[0].clone();
    let layer = img.layer_by_digest(d.digest).await.expect("layer");
    let bytes = layer
        .compressed()
        .await
        .expect("blob")
        .read_to_end(1 << 24)
        .await
        .expect("bytes");
    (d, bytes)
}

#[tokio::test]
async fn random_image_round_trip() {
    let dir = tempfile::tempdir().expect("tmp");
    let img = random::image(2048, 3, 1).expect("random");
    let layout = layout_with(dir.path(), &*img, "v1").await;

    let by_tag = layout.image_by_ref_name("v1").await.expect("by tag");
    let by_digest = layout
        .image(img.digest().await.expect("digest"))
        .await
        .expect("by digest");
    for back in [&by_tag, &by_digest] {
        assert_eq!(
            back.digest().await.expect("d"),
            img.digest().await.expect("d")
        );
        assert_eq!(
            back.raw_manifest().await.expect("m"),
            img.raw_manifest().await.expect("m")
        );
        assert_eq!(
            back.raw_config_file().await.expect("c"),
            img.raw_config_file().await.expect("c")
        );
        validate::image(&**back, opts()).await.expect("validate");
    }
    let root = layout.image_index_root().await.expect("root");
    validate::index(&*root, opts())
        .await
        .expect("validate root");
    let desc = &root.manifests()[0];
    assert_eq!(desc.ref_name(), Some("v1"));
    // Through the trait, from the root view.
    let child = ImageIndex::image(&*root, desc.digest).await.expect("child");
    assert_eq!(child.digest().await.expect("d"), desc.digest);
    // oci-layout is ggcr's bytes.
    let marker = std::fs::read_to_string(dir.path().join("oci-layout")).expect("read");
    assert_eq!(marker, "{\n    \"imageLayoutVersion\": \"1.0.0\"\n}");
}

#[tokio::test]
async fn random_index_and_nested_indexes() {
    let dir = tempfile::tempdir().expect("tmp");
    let idx = random::index(1024, 2, 3, 9).expect("random index");
    // ggcr layout.Write: index.json is exactly the index's bytes.
    let layout = Layout::write(dir.path().join("a"), &*idx)
        .await
        .expect("write");
    assert_eq!(
        layout.raw_index().await.expect("raw"),
        idx.raw_manifest().await.expect("raw")
    );
    let root = layout.image_index_root().await.expect("root");
    assert_eq!(
        root.digest().await.expect("d"),
        idx.digest().await.expect("d")
    );
    validate::index(&*root, opts()).await.expect("validate");

    // Nest it: a second layout whose root holds the first's root index, tagged.
    let nested = Layout::create(dir.path().join("b")).await.expect("create");
    nested
        .append_index(&*root, &AppendOptions::new().ref_name("all"))
        .await
        .expect("append index");
    let back = nested.image_index_by_ref_name("all").await.expect("by tag");
    assert_eq!(
        back.digest().await.expect("d"),
        idx.digest().await.expect("d")
    );
    let outer = nested.image_index_root().await.expect("root");
    validate::index(&*outer, opts())
        .await
        .expect("validate nested");
    // Down two levels through the trait.
    let inner = ImageIndex::image_index(&*outer, back.digest().await.expect("d"))
        .await
        .expect("inner");
    let first = inner.index_manifest().await.expect("m").manifests[0].clone();
    let img = inner.image(first.digest).await.expect("image");
    validate::image(&*img, opts())
        .await
        .expect("validate image");
    // An image asked for as an index is refused with a clear error.
    let err = nested
        .image(back.digest().await.expect("d"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WrongMediaType { .. }), "{err}");
}

#[tokio::test]
async fn ref_name_lookups() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = random::image(512, 1, 2).expect("a");
    let b = random::image(512, 1, 3).expect("b");
    let layout = layout_with(dir.path(), &*a, "a").await;
    layout
        .append_image(
            &*b,
            &AppendOptions::new()
                .ref_name("b")
                .annotation("k", "v")
                .urls(["https://example.com/b".to_owned()]),
        )
        .await
        .expect("append");
    let got = layout.image_by_ref_name("b").await.expect("b");
    assert_eq!(got.digest().await.expect("d"), b.digest().await.expect("d"));
    assert_eq!(
        got.layout_descriptor()
            .annotations
            .get("k")
            .map(String::as_str),
        Some("v")
    );
    assert_eq!(got.layout_descriptor().urls, ["https://example.com/b"]);
    let err = layout.image_by_ref_name("nope").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
    // Two different images under one tag are ambiguous.
    layout
        .append_image(&*b, &AppendOptions::new().ref_name("a"))
        .await
        .expect("append");
    let err = layout.image_by_ref_name("a").await.unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
}

#[tokio::test]
async fn replace_remove_and_gc() {
    let dir = tempfile::tempdir().expect("tmp");
    let one = random::image(512, 2, 11).expect("1");
    let two = random::image(512, 2, 12).expect("2");
    let three = random::image(512, 2, 13).expect("3");
    let layout = layout_with(dir.path(), &*one, "a").await;
    layout
        .append_image(&*two, &AppendOptions::new().ref_name("b"))
        .await
        .expect("append");
    layout
        .replace_image(
            &*three,
            Matcher::name("a"),
            &AppendOptions::new().ref_name("a"),
        )
        .await
        .expect("replace");
    let a = layout.image_by_ref_name("a").await.expect("a");
    assert_eq!(
        a.digest().await.expect("d"),
        three.digest().await.expect("d")
    );
    assert_eq!(
        layout
            .remove_descriptors(Matcher::name("b"))
            .await
            .expect("rm"),
        1
    );
    assert_eq!(layout.index_manifest().await.expect("i").manifests.len(), 1);

    let garbage: BTreeSet<_> = layout
        .garbage_collect()
        .await
        .expect("gc")
        .into_iter()
        .collect();
    let mut want = BTreeSet::new();
    for img in [&one, &two] {
        let m = img.manifest().await.expect("m");
        want.insert(img.digest().await.expect("d"));
        want.insert(m.config.digest);
        want.extend(m.layers.iter().map(|l| l.digest));
    }
    assert_eq!(garbage, want);
    assert!(layout.unreferenced_blobs().await.expect("again").is_empty());
    let a = layout.image_by_ref_name("a").await.expect("a");
    validate::image(&*a, opts()).await.expect("still valid");
}

#[tokio::test]
async fn platform_and_annotations_on_append() {
    let dir = tempfile::tempdir().expect("tmp");
    let img = random::image(256, 1, 5).expect("img");
    let layout = Layout::create(dir.path()).await.expect("create");
    let platform: ocireg_v1::Platform = "linux/arm64/v8".parse().expect("platform");
    layout
        .append_image(&*img, &AppendOptions::new().platform(platform.clone()))
        .await
        .expect("append");
    let found = layout
        .find(&Matcher::platforms([platform]))
        .await
        .expect("find");
    assert_eq!(found.len(), 1);
    // index.json is ggcr's 3-space-indented JSON.
    let raw = std::fs::read_to_string(dir.path().join("index.json")).expect("read");
    assert!(raw.contains("\n   \"manifests\": [\n      {"), "{raw}");
}

// ---- hostile layouts ----

#[tokio::test]
async fn missing_or_wrong_oci_layout() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = Layout::open(dir.path()).await.unwrap_err();
    assert!(matches!(err, Error::NotALayout { .. }), "{err}");
    assert!(err.to_string().contains("oci-layout"), "{err}");

    std::fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"2.0.0"}"#,
    )
    .expect("write");
    std::fs::write(
        dir.path().join("index.json"),
        r#"{"schemaVersion":2,"manifests":[]}"#,
    )
    .expect("write");
    let err = Layout::open(dir.path()).await.unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { .. }), "{err}");
    assert!(err.to_string().contains("2.0.0"), "{err}");

    std::fs::write(dir.path().join("oci-layout"), "not json").expect("write");
    let err = Layout::open(dir.path()).await.unwrap_err();
    assert!(matches!(err, Error::NotALayout { .. }), "{err}");

    std::fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write");
    std::fs::remove_file(dir.path().join("index.json")).expect("rm");
    let err = Layout::open(dir.path()).await.unwrap_err();
    assert!(err.to_string().contains("index.json"), "{err}");
}

/// Replaces the file of `digest` by what `make` puts at its path.
fn sabotage(layout: &Layout, digest: &ocireg_v1::Digest, make: impl FnOnce(&Path)) {
    let path = layout.blob_path(digest);
    std::fs::remove_file(&path).expect("rm");
    make(&path);
}

async fn read_layer_err(layout: &Layout, tag: &str, digest: ocireg_v1::Digest) -> Error {
    let img = layout.image_by_ref_name(tag).await.expect("image");
    let layer = img.layer_by_digest(digest).await.expect("layer");
    let result = match layer.compressed().await {
        Ok(blob) => blob.drain().await.map(|_| ()),
        Err(e) => Err(e),
    };
    let err = result.expect_err("reading must fail");
    match err {
        ocireg_v1::Error::Backend(b) => {
            let ours = b.get_ref().downcast_ref::<Error>().expect("a layout error");
            assert!(ours.path().is_some(), "{ours}");
            // Rebuild a comparable value through its message.
            Error::Task(ours.to_string())
        }
        other => Error::Task(other.to_string()),
    }
}

#[tokio::test]
async fn blobs_read_are_marked_verified_and_their_mismatch_names_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let img = random::image(4096, 1, 44).expect("img");
    let layout = layout_with(dir.path(), &*img, "v1").await;
    let (d, bytes) = first_layer(&*img).await;
    // Marked verified for its digest: an upload of it need not hash it again.
    let blob = layout.blob(d.digest, Some(d.size)).await.expect("blob");
    assert_eq!(blob.verified_digest(), Some(d.digest));
    assert_eq!(blob.read_to_end(1 << 20).await.expect("read"), bytes);

    let path = layout.blob_path(&d.digest);
    let mut wrong = bytes.to_vec();
    wrong[0] ^= 0xff;
    std::fs::write(&path, &wrong).expect("write");
    let blob = layout.blob(d.digest, Some(d.size)).await.expect("blob");
    assert_eq!(blob.verified_digest(), Some(d.digest));
    let err = blob.drain().await.unwrap_err();
    let msg = match &err {
        ocireg_v1::Error::Backend(b) => b.to_string(),
        other => panic!("expected the layout's error, got {other}"),
    };
    assert!(msg.contains("digest mismatch"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[tokio::test]
async fn hostile_blob_files_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let img = random::image(4096, 1, 21).expect("img");
    let layout = layout_with(&dir.path().join("l"), &*img, "v1").await;
    let (d, bytes) = first_layer(&*img).await;
    let path = layout.blob_path(&d.digest);

    // A symlink to a file with the right bytes.
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, &bytes).expect("write");
    sabotage(&layout, &d.digest, |p| {
        std::os::unix::fs::symlink(&target, p).expect("symlink");
    });
    let msg = read_layer_err(&layout, "v1", d.digest).await.to_string();
    assert!(
        msg.contains("symlink") && msg.contains(&d.digest.hex()),
        "{msg}"
    );

    // A FIFO: refused at once, never blocks.
    sabotage(&layout, &d.digest, |p| {
        let st = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .expect("mkfifo");
        assert!(st.success());
    });
    let msg = read_layer_err(&layout, "v1", d.digest).await.to_string();
    assert!(msg.contains("FIFO"), "{msg}");

    // A directory.
    std::fs::remove_file(&path).expect("rm fifo");
    std::fs::create_dir(&path).expect("mkdir");
    let msg = read_layer_err(&layout, "v1", d.digest).await.to_string();
    assert!(msg.contains("directory"), "{msg}");
    std::fs::remove_dir(&path).expect("rmdir");

    // Truncated.
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    let msg = read_layer_err(&layout, "v1", d.digest).await.to_string();
    assert!(msg.contains("size mismatch"), "{msg}");

    // Right size, wrong bytes.
    let mut wrong = bytes.to_vec();
    let last = wrong.len() - 1;
    wrong[last] ^= 0xff;
    std::fs::write(&path, &wrong).expect("write");
    let msg = read_layer_err(&layout, "v1", d.digest).await.to_string();
    assert!(msg.contains("digest mismatch"), "{msg}");
    assert!(
        validate::image(&*layout.image_by_ref_name("v1").await.expect("img"), opts())
            .await
            .is_err()
    );

    // Writing the image again checks the file in place and replaces it.
    layout.write_image(&*img).await.expect("rewrite");
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
    validate::image(&*layout.image_by_ref_name("v1").await.expect("img"), opts())
        .await
        .expect("repaired");
}

#[tokio::test]
async fn hostile_index_and_manifests() {
    let dir = tempfile::tempdir().expect("tmp");
    let img = random::image(256, 1, 22).expect("img");
    let layout = layout_with(dir.path(), &*img, "v1").await;
    let index = dir.path().join("index.json");
    let good = std::fs::read(&index).expect("read");

    // A huge index.json is refused before it is read.
    let f = std::fs::File::create(&index).expect("create");
    f.set_len(ocireg_v1::MANIFEST_LIMIT + 1).expect("grow");
    let err = layout.image_index_root().await.unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("index.json"), "{err}");
    let err = layout
        .append_descriptor(Descriptor::empty_json())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");

    // A symlinked index.json is refused.
    std::fs::remove_file(&index).expect("rm");
    let real = dir.path().join("real.json");
    std::fs::write(&real, &good).expect("write");
    std::os::unix::fs::symlink(&real, &index).expect("symlink");
    let err = layout.image_index_root().await.unwrap_err();
    assert!(matches!(err, Error::NotRegularFile { .. }), "{err}");
    std::fs::remove_file(&index).expect("rm");
    std::fs::write(&index, &good).expect("write");

    // A descriptor announcing a huge manifest is refused before reading.
    let mut big = Descriptor::for_bytes(MediaType::OciManifest, b"{}");
    big.size = ocireg_v1::MANIFEST_LIMIT + 1;
    big.annotations
        .insert(ocireg_v1::ANNOTATION_REF_NAME.to_owned(), "big".to_owned());
    layout.append_descriptor(big).await.expect("append");
    let err = layout.image_by_ref_name("big").await.unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");

    // A manifest blob with wrong bytes.
    let digest = img.digest().await.expect("d");
    let mpath = layout.blob_path(&digest);
    let mut raw = std::fs::read(&mpath).expect("read");
    raw[0] = b' ';
    std::fs::write(&mpath, &raw).expect("write");
    let err = layout.image(digest).await.unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    assert!(err.to_string().contains(&digest.hex()), "{err}");
}

// ---- concurrency ----

fn tag_desc(name: &str) -> Descriptor {
    let mut d = Descriptor::for_bytes(MediaType::OciManifest, name.as_bytes());
    d.annotations
        .insert(ocireg_v1::ANNOTATION_REF_NAME.to_owned(), name.to_owned());
    d
}

fn ref_names(raw: &[u8]) -> Vec<String> {
    ocireg_v1::IndexManifest::parse(raw)
        .expect("index")
        .manifests
        .iter()
        .filter_map(|d| d.ref_name().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_appending_lose_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    Layout::create(dir.path()).await.expect("create");
    let mut tasks = Vec::new();
    for who in ["x", "y"] {
        let path = dir.path().to_owned();
        tasks.push(tokio::spawn(async move {
            let layout = Layout::open(&path).await.expect("open");
            for i in 0..100 {
                layout
                    .append_descriptor(tag_desc(&format!("{who}-{i}")))
                    .await
                    .expect("append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let names = ref_names(&std::fs::read(dir.path().join("index.json")).expect("read"));
    assert_eq!(names.len(), 200);
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 200);
}

/// Child half of [`two_processes_appending_lose_nothing`]: does nothing unless
/// run by it.
#[test]
fn child_appender() {
    let (Ok(dir), Ok(who)) = (
        std::env::var("OCIREG_LAYOUT_TEST_DIR"),
        std::env::var("OCIREG_LAYOUT_TEST_WHO"),
    ) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let layout = Layout::open(&dir).await.expect("open");
        for i in 0..100 {
            layout
                .append_descriptor(tag_desc(&format!("{who}-{i}")))
                .await
                .expect("append");
        }
    });
}

#[tokio::test]
async fn two_processes_appending_lose_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    Layout::create(dir.path()).await.expect("create");
    let exe = std::env::current_exe().expect("exe");
    let children: Vec<_> = ["p", "q"]
        .iter()
        .map(|who| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_appender", "--nocapture"])
                .env("OCIREG_LAYOUT_TEST_DIR", dir.path())
                .env("OCIREG_LAYOUT_TEST_WHO", who)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    let names = ref_names(&std::fs::read(dir.path().join("index.json")).expect("read"));
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        200,
        "{names:?}"
    );
}

// ---- resumed writes ----

#[tokio::test]
async fn interrupted_write_resumes_from_partial_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = Layout::create(dir.path()).await.expect("create");
    let data = Bytes::from((0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    let digest = ocireg_v1::sha256(&data);
    let size = Some(data.len() as u64);

    // The source fails after 150 000 bytes.
    let cut = data.slice(..150_000);
    let failing = Blob::new(
        futures_util::stream::iter(vec![
            Ok(cut.slice(..100_000)),
            Ok(cut.slice(100_000..)),
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "cut")),
        ]),
        size,
    );
    let err = layout.write_blob(digest, size, failing).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    let partial = layout
        .blob_path(&digest)
        .with_file_name(format!(".{}.partial", digest.hex()));
    assert_eq!(std::fs::metadata(&partial).expect("partial").len(), 150_000);
    assert!(!layout.has_blob(&digest).await.expect("has"));

    // Next run: the partial file is checked against the source and completed.
    let got = layout
        .write_blob(digest, size, Blob::from_bytes(data.clone()))
        .await
        .expect("resume");
    assert_eq!(got, BlobWrite::Resumed { reused: 150_000 });
    assert_eq!(
        std::fs::read(layout.blob_path(&digest)).expect("read"),
        data
    );
    assert!(!partial.exists());

    // Again: present and checked.
    let got = layout
        .write_blob(digest, size, Blob::from_bytes(data.clone()))
        .await
        .expect("again");
    assert_eq!(got, BlobWrite::Present);
}

/// A stream of `data` in chunks of `chunk` bytes, failing after `cut` bytes when given.
fn chunked(data: &Bytes, chunk: usize, cut: Option<usize>) -> Blob {
    let end = cut.unwrap_or(data.len());
    let mut items: Vec<io::Result<Bytes>> = (0..end)
        .step_by(chunk)
        .map(|at| Ok(data.slice(at..(at + chunk).min(end))))
        .collect();
    if cut.is_some() {
        items.push(Err(io::Error::new(io::ErrorKind::ConnectionReset, "cut")));
    }
    Blob::new(futures_util::stream::iter(items), Some(data.len() as u64))
}

#[tokio::test]
async fn many_small_chunks_are_written_in_order_and_kept_on_failure() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = Layout::create(dir.path()).await.expect("create");
    // Several write batches' worth, in odd-sized chunks.
    let data = Bytes::from(
        (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(7) % 253) as u8)
            .collect::<Vec<_>>(),
    );
    let digest = ocireg_v1::sha256(&data);
    let size = Some(data.len() as u64);
    let partial = layout
        .blob_path(&digest)
        .with_file_name(format!(".{}.partial", digest.hex()));

    // Cut mid-batch: every byte received is in the partial file, none lost in a buffer.
    let err = layout
        .write_blob(digest, size, chunked(&data, 7_001, Some(1_300_000)))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(
        std::fs::read(&partial).expect("partial"),
        data.slice(..1_300_000)
    );

    // Resumed from there in other chunks, then the whole file is right.
    let got = layout
        .write_blob(digest, size, chunked(&data, 65_536, None))
        .await
        .expect("resume");
    assert_eq!(got, BlobWrite::Resumed { reused: 1_300_000 });
    assert_eq!(
        std::fs::read(layout.blob_path(&digest)).expect("read"),
        data
    );

    // A fresh write of the same in small chunks.
    layout.remove_blob(&digest).await.expect("rm");
    let got = layout
        .write_blob(digest, size, chunked(&data, 4_093, None))
        .await
        .expect("write");
    assert_eq!(got, BlobWrite::Written);
    assert_eq!(
        std::fs::read(layout.blob_path(&digest)).expect("read"),
        data
    );
}

#[tokio::test]
async fn an_already_verified_source_with_wrong_bytes_leaves_nothing() {
    // A source verified upstream (as a registry blob is) is not hashed again: its
    // own check must still keep wrong bytes out.
    let dir = tempfile::tempdir().expect("tmp");
    let layout = Layout::create(dir.path()).await.expect("create");
    let data = Bytes::from(vec![3u8; 600_000]);
    let digest = ocireg_v1::sha256(b"something else entirely");
    let size = Some(data.len() as u64);
    let source = chunked(&data, 65_536, None).verified(digest, size);
    assert_eq!(source.verified_digest(), Some(digest));
    let err = layout.write_blob(digest, size, source).await.unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    assert!(!layout.has_blob(&digest).await.expect("has"));
    let leftovers: Vec<_> = std::fs::read_dir(layout.blob_path(&digest).parent().expect("dir"))
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| n.to_string_lossy().contains(&digest.hex()))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn partial_file_with_wrong_bytes_is_not_trusted() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = Layout::create(dir.path()).await.expect("create");
    let data = Bytes::from(vec![7u8; 100_000]);
    let digest = ocireg_v1::sha256(&data);
    let partial = layout
        .blob_path(&digest)
        .with_file_name(format!(".{}.partial", digest.hex()));
    // 1000 good bytes, then garbage, and longer than the blob.
    let mut junk = vec![7u8; 1000];
    junk.extend(vec![9u8; 200_000]);
    std::fs::write(&partial, &junk).expect("write");
    let got = layout
        .write_blob(digest, Some(100_000), Blob::from_bytes(data.clone()))
        .await
        .expect("write");
    assert_eq!(got, BlobWrite::Resumed { reused: 1000 });
    assert_eq!(
        std::fs::read(layout.blob_path(&digest)).expect("read"),
        data
    );

    // A source with wrong content leaves nothing behind.
    let other = ocireg_v1::sha256(b"something else");
    let err = layout
        .write_blob(other, None, Blob::from_bytes("not it"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    assert!(!layout.has_blob(&other).await.expect("has"));
    let leftovers: Vec<_> = std::fs::read_dir(layout.blob_path(&other).parent().expect("dir"))
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn resumed_image_write_after_interrupted_layer() {
    let dir = tempfile::tempdir().expect("tmp");
    let img: Arc<dyn Image> = random::image(100_000, 2, 31).expect("img");
    let layout = Layout::create(dir.path()).await.expect("create");
    let (d, bytes) = first_layer(&*img).await;
    let partial = layout
        .blob_path(&d.digest)
        .with_file_name(format!(".{}.partial", d.digest.hex()));
    std::fs::write(&partial, &bytes[..bytes.len() / 3]).expect("write partial");
    layout
        .append_image(&*img, &AppendOptions::new().ref_name("v1"))
        .await
        .expect("append");
    assert!(!partial.exists());
    let back = layout.image_by_ref_name("v1").await.expect("back");
    validate::image(&*back, opts()).await.expect("validate");
}

/// Child half of [`read_only_layout_gives_clear_errors`]: runs inside a mount
/// namespace where the layout is a read-only bind mount.
#[test]
fn child_read_only() {
    let Ok(dir) = std::env::var("OCIREG_LAYOUT_RO_DIR") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(check_read_only(Path::new(&dir)));
}

async fn check_read_only(dir: &Path) {
    let layout = Layout::open(dir).await.expect("open read-only");
    layout.image_by_ref_name("v1").await.expect("reading works");
    let other = random::image(256, 1, 42).expect("img");
    let err = layout
        .append_image(&*other, &AppendOptions::new().ref_name("v2"))
        .await
        .expect_err("writing a read-only layout must fail");
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
    let err = layout
        .remove_descriptors(Matcher::any())
        .await
        .expect_err("writing a read-only layout must fail");
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
    layout.image_by_ref_name("v1").await.expect("still there");
}

#[tokio::test]
#[allow(clippy::print_stderr, reason = "the skip message is for the developer")]
async fn read_only_layout_gives_clear_errors() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tmp");
    let img = random::image(256, 1, 41).expect("img");
    let _layout = layout_with(dir.path(), &*img, "v1").await;
    let set = |mode| {
        for p in [dir.path().to_owned(), dir.path().join("blobs/sha256")] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    };
    set(0o555);
    let root = std::fs::File::create(dir.path().join("probe")).is_ok();
    let _ = std::fs::remove_file(dir.path().join("probe"));
    if !root {
        check_read_only(dir.path()).await;
        set(0o755);
        return;
    }
    set(0o755);
    // Root ignores permissions: make the layout a read-only bind mount in a
    // private mount namespace, and check from a child process there.
    let exe = std::env::current_exe().expect("exe");
    let script = r#"mount --bind "$D" "$D" && mount -o remount,ro,bind "$D" "$D" && exec "$EXE" --exact child_read_only --nocapture"#;
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .env("D", dir.path())
        .env("EXE", &exe)
        .env("OCIREG_LAYOUT_RO_DIR", dir.path())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            // The child really ran the check (not filtered away).
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("1 passed"), "{stdout}");
        }
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("panicked") => {
            panic!("child failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        other => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "unshare/mount needed under CI: {other:?}"
            );
            eprintln!("skipping: cannot make a read-only mount here: {other:?}");
        }
    }
}

#[tokio::test]
async fn symlinked_blob_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let img = random::image(256, 1, 43).expect("img");
    let l = dir.path().join("l");
    layout_with(&l, &*img, "v1").await;
    let moved = dir.path().join("moved");
    std::fs::rename(l.join("blobs/sha256"), &moved).expect("mv");
    std::os::unix::fs::symlink(&moved, l.join("blobs/sha256")).expect("symlink");
    let err = Layout::open(&l).await.unwrap_err();
    assert!(matches!(err, Error::NotRegularFile { .. }), "{err}");
    assert!(err.to_string().contains("blobs/sha256"), "{err}");
}

/// An image that counts how often its layers are fetched.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Image>,
    fetches: Arc<std::sync::atomic::AtomicUsize>,
}

#[ocireg_v1::async_trait]
impl Image for Counting {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        self.inner.raw_manifest().await
    }
    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        self.inner.raw_config_file().await
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        self.inner.media_type().await
    }
    async fn layer_by_digest(
        &self,
        digest: ocireg_v1::Digest,
    ) -> ocireg_v1::Result<Arc<dyn ocireg_v1::Layer>> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.layer_by_digest(digest).await
    }
}

#[tokio::test]
async fn present_blobs_are_checked_and_skipped() {
    let dir = tempfile::tempdir().expect("tmp");
    let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let img = Counting {
        inner: random::image(1024, 3, 51).expect("img"),
        fetches: fetches.clone(),
    };
    let layout = layout_with(dir.path(), &img, "v1").await;
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 3);
    layout
        .append_image(&img, &AppendOptions::new().ref_name("v2"))
        .await
        .expect("again");
    assert_eq!(
        fetches.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "no layer fetched twice"
    );
    // One layer damaged: only that one is fetched again.
    let d = img.manifest().await.expect("m").layers[1].digest;
    std::fs::write(layout.blob_path(&d), b"junk").expect("write");
    layout.write_image(&img).await.expect("repair");
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 4);
    validate::image(&*layout.image_by_ref_name("v2").await.expect("v2"), opts())
        .await
        .expect("valid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_of_the_same_image() {
    let dir = tempfile::tempdir().expect("tmp");
    Layout::create(dir.path()).await.expect("create");
    let img = random::image(200_000, 3, 61).expect("img");
    let mut tasks = Vec::new();
    for i in 0..4 {
        let path = dir.path().to_owned();
        let img = img.clone();
        tasks.push(tokio::spawn(async move {
            let layout = Layout::open(&path).await.expect("open");
            layout
                .append_image(&*img, &AppendOptions::new().ref_name(format!("t{i}")))
                .await
                .expect("append");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let layout = Layout::open(dir.path()).await.expect("open");
    for i in 0..4 {
        let back = layout
            .image_by_ref_name(&format!("t{i}"))
            .await
            .expect("tag");
        validate::image(&*back, opts()).await.expect("valid");
    }
    let names: Vec<_> = std::fs::read_dir(dir.path().join("blobs/sha256"))
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        5,
        "3 layers, config, manifest and no leftovers: {names:?}"
    );
}
