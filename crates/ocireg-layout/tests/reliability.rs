//! Reliability (docs: reliability §4 E): a garbage collection during appends, a full disk
//! while a blob or `index.json` is written, the writer killed at random points, a
//! truncated file at a final blob path. After each, the layout validates (every entry of
//! `index.json` reads back and verifies) and doing the work again completes.
//!
//! (A symlink blob, a missing `oci-layout` and a read-only layout are in `layout.rs`.)
//!
//! Some tests re-run this test binary as a child process (`child_*` tests, which do
//! nothing unless their environment variable is set).

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test set-up and checks: a failed file operation fails the test at its own line"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ocireg_layout::{AppendOptions, Error, Layout};
use ocireg_v1::{Blob, Descriptor, Image as _, Matcher, random, validate};

/// Every entry of the layout's `index.json` reads back and verifies (manifests, configs,
/// layers: sizes and digests); returns the ref.names.
async fn layout_validates(path: &Path) -> Vec<String> {
    let layout = Layout::open(path).await.expect("the layout opens");
    let index = layout.index_manifest().await.expect("index.json parses");
    let mut names = Vec::new();
    for desc in &index.manifests {
        if desc.media_type.is_index() {
            let idx = layout.index_from(desc).await.expect("index");
            validate::index(&*idx, validate::Options::default())
                .await
                .unwrap_or_else(|e| panic!("{} does not validate: {e}", desc.digest));
        } else {
            let img = layout.image_from(desc).await.expect("image");
            validate::image(&*img, validate::Options::default())
                .await
                .unwrap_or_else(|e| panic!("{} does not validate: {e}", desc.digest));
        }
        names.extend(desc.ref_name().map(str::to_owned));
    }
    names
}

/// A small xorshift generator (no dependency; the seed is printed on failure).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n.div_ceil(8))
            .flat_map(|_| self.next().to_le_bytes())
            .take(n)
            .collect()
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::from(d.subsec_nanos()) ^ d.as_secs())
        | 1
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs this test binary's test `name` as a child process with `env` set.
fn child(name: &str, env: &[(&str, &Path)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("exe"));
    cmd.args(["--exact", name, "--nocapture"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

// ---- garbage collection during appends ----

/// The images the appender writes: distinct, deterministic.
const APPENDS: usize = 40;

async fn append_images(path: &Path) {
    let layout = Layout::open(path).await.expect("open");
    for i in 0..APPENDS {
        let img = random::image(2048, 2, 1000 + i as u64).expect("img");
        layout
            .append_image(&*img, &AppendOptions::new().ref_name(format!("img-{i}")))
            .await
            .expect("append");
    }
}

/// Child half of [`gc_in_another_process_during_appends_loses_nothing`].
#[test]
fn child_gc_appender() {
    let Ok(dir) = std::env::var("OCIREG_LAYOUT_GC_DIR") else {
        return;
    };
    runtime().block_on(append_images(Path::new(&dir)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_during_appends_loses_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    Layout::create(dir.path()).await.expect("create");
    let path = dir.path().to_owned();
    let appender = tokio::spawn(async move { append_images(&path).await });
    let layout = Layout::open(dir.path()).await.expect("open");
    let mut collections = 0;
    while !appender.is_finished() {
        layout.garbage_collect().await.expect("gc");
        collections += 1;
    }
    appender.await.expect("appender");
    assert!(collections > 1, "the collections ran during the appends");
    let names = layout_validates(dir.path()).await;
    assert_eq!(names.len(), APPENDS, "{names:?}");
    assert!(layout.garbage_collect().await.expect("gc").is_empty());
}

#[tokio::test]
async fn gc_in_another_process_during_appends_loses_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    Layout::create(dir.path()).await.expect("create");
    let mut appender = child("child_gc_appender", &[("OCIREG_LAYOUT_GC_DIR", dir.path())])
        .spawn()
        .expect("spawn");
    let layout = Layout::open(dir.path()).await.expect("open");
    let mut collections = 0;
    let status = loop {
        if let Some(status) = appender.try_wait().expect("wait") {
            break status;
        }
        layout.garbage_collect().await.expect("gc");
        collections += 1;
    };
    assert!(status.success(), "the appender failed");
    assert!(collections > 1, "the collections ran during the appends");
    let names = layout_validates(dir.path()).await;
    assert_eq!(names.len(), APPENDS, "{names:?}");
}

// ---- a full disk ----

/// A tmpfs mounted on a directory, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(Self(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A blob of `n` incompressible bytes and its descriptor.
fn big_blob(rng: &mut Rng, n: usize) -> (Descriptor, Vec<u8>) {
    let bytes = rng.bytes(n);
    let desc = Descriptor::for_bytes(ocireg_v1::MediaType::OciLayer, &bytes);
    (desc, bytes)
}

/// Writes the blob where it does not fit: a clear error naming the path, nothing at the
/// blob's final path, and the layout still validates.
async fn write_fails_cleanly(layout_dir: &Path, desc: &Descriptor, bytes: &[u8]) {
    let layout = Layout::open(layout_dir).await.expect("open");
    let err = layout
        .write_blob(
            desc.digest,
            Some(desc.size),
            Blob::from_bytes(bytes.to_vec()),
        )
        .await
        .expect_err("the blob does not fit");
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&layout_dir.join("blobs/sha256").display().to_string()),
        "the error names the path: {msg}"
    );
    assert!(
        msg.contains("No space left on device") || msg.contains("File too large"),
        "{msg}"
    );
    assert!(
        !layout.blob_path(&desc.digest).exists(),
        "no file at the final blob path"
    );
    assert_eq!(layout_validates(layout_dir).await, ["small"]);
}

/// Child half of [`disk_full_while_writing`] where no tmpfs can be mounted: the blob
/// write runs under a file size limit (`ulimit -f`).
#[test]
fn child_disk_full() {
    let Ok(dir) = std::env::var("OCIREG_LAYOUT_FULL_DIR") else {
        return;
    };
    let seed: u64 = std::env::var("OCIREG_LAYOUT_FULL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("seed");
    let (desc, bytes) = big_blob(&mut Rng(seed), 768 << 10);
    runtime().block_on(write_fails_cleanly(Path::new(&dir), &desc, &bytes));
}

#[tokio::test]
#[allow(clippy::print_stderr, reason = "says which way the disk was filled")]
async fn disk_full_while_writing() {
    let dir = tempfile::tempdir().expect("tmp");
    let mnt = dir.path().join("mnt");
    let seed = seed();
    let mut rng = Rng(seed);
    let (desc, bytes) = big_blob(&mut rng, 768 << 10);
    // OCIREG_LAYOUT_TEST_NO_TMPFS=1 tries the fallback where mounting works.
    let tmpfs = if std::env::var_os("OCIREG_LAYOUT_TEST_NO_TMPFS").is_some() {
        std::fs::create_dir_all(&mnt).expect("mkdir");
        Err("OCIREG_LAYOUT_TEST_NO_TMPFS is set".to_owned())
    } else {
        Tmpfs::mount(&mnt, "1m")
    };
    let layout_dir = mnt.join("layout");
    let layout = Layout::create(&layout_dir).await.expect("create");
    let small = random::image(1024, 1, 5).expect("img");
    layout
        .append_image(&*small, &AppendOptions::new().ref_name("small"))
        .await
        .expect("append");
    match &tmpfs {
        Ok(_) => {
            // 1 MiB in all: a 512 KiB file leaves too little for the 768 KiB blob.
            let filler = mnt.join("filler");
            std::fs::write(&filler, rng.bytes(512 << 10)).expect("filler");
            write_fails_cleanly(&layout_dir, &desc, &bytes).await;

            // A full disk while index.json changes: a clear error, index.json intact.
            let mut fill = std::fs::OpenOptions::new()
                .append(true)
                .open(&filler)
                .expect("filler");
            while std::io::Write::write_all(&mut fill, &[7u8; 4096]).is_ok() {}
            drop(fill);
            let entry = layout.descriptor_by_ref_name("small").await.expect("entry");
            let err = layout
                .update_index(move |index| {
                    for i in 0..200 {
                        let mut d = entry.clone();
                        d.annotations.insert(
                            ocireg_v1::ANNOTATION_REF_NAME.to_owned(),
                            format!("tag-{i}-{}", "x".repeat(64)),
                        );
                        index.manifests.push(d);
                    }
                    Ok(())
                })
                .await
                .expect_err("index.json does not fit");
            assert!(err.to_string().contains("index.json"), "{err}");
            assert_eq!(layout_validates(&layout_dir).await, ["small"]);

            // Space freed: the same writes complete.
            std::fs::remove_file(&filler).expect("free");
        }
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "a tmpfs must mount under CI (the tests run as root): {why}"
            );
            eprintln!(
                "cannot mount a tmpfs ({why}): falling back to a file size limit (ulimit -f)"
            );
            let script =
                r#"trap "" XFSZ; ulimit -f 1024; exec "$EXE" --exact child_disk_full --nocapture"#;
            let out = Command::new("sh")
                .args(["-c", script])
                .env("EXE", std::env::current_exe().expect("exe"))
                .env("OCIREG_LAYOUT_FULL_DIR", &layout_dir)
                .env("OCIREG_LAYOUT_FULL_SEED", seed.to_string())
                .output()
                .expect("child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "seed {seed}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let write = layout
        .write_blob(desc.digest, Some(desc.size), Blob::from_bytes(bytes))
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: the re-run completes: {e}"));
    assert!(
        matches!(
            write,
            ocireg_layout::BlobWrite::Written | ocireg_layout::BlobWrite::Resumed { .. }
        ),
        "{write:?}"
    );
    let blob = layout
        .blob(desc.digest, Some(desc.size))
        .await
        .expect("blob");
    assert_eq!(blob.drain().await.expect("verifies"), desc.size);
    let big = random::image(64 << 10, 1, 6).expect("img");
    layout
        .append_image(&*big, &AppendOptions::new().ref_name("big"))
        .await
        .expect("append after freeing space");
    assert_eq!(layout_validates(&layout_dir).await, ["small", "big"]);
    drop(tmpfs);
}

// ---- killed at random points ----

/// What the killed writer does: images (blobs, then an `index.json` change each) and
/// extra tags (`index.json` changes only), each replacing what an earlier run left, so
/// running it again after a kill converges on the same layout.
async fn kill_workload(path: &Path) {
    let layout = Layout::open(path).await.expect("open");
    for i in 0..2u64 {
        let img = random::image(64 << 10, 2, 2000 + i).expect("img");
        let tag = format!("img-{i}");
        let desc = layout
            .replace_image(
                &*img,
                Matcher::name(tag.clone()),
                &AppendOptions::new().ref_name(tag.clone()),
            )
            .await
            .expect("write image");
        for j in 0..3 {
            let tag = format!("img-{i}-{j}");
            let mut d = desc.clone();
            d.annotations
                .insert(ocireg_v1::ANNOTATION_REF_NAME.to_owned(), tag.clone());
            layout
                .replace_descriptor(d, Matcher::name(tag))
                .await
                .expect("tag");
        }
    }
}

/// Every ref.name the workload leaves.
fn workload_names() -> Vec<String> {
    let mut names = Vec::new();
    for i in 0..2 {
        names.push(format!("img-{i}"));
        names.extend((0..3).map(|j| format!("img-{i}-{j}")));
    }
    names.sort();
    names
}

/// Child half of [`killed_at_random_points_the_layout_validates_and_a_rerun_completes`].
#[test]
fn child_killed_writer() {
    let Ok(dir) = std::env::var("OCIREG_LAYOUT_KILL_DIR") else {
        return;
    };
    runtime().block_on(kill_workload(Path::new(&dir)));
}

/// Whether a temporary `index.json` (`.index.json.<pid>.<n>.tmp`) is in the layout: the
/// kill came while `index.json` was being replaced.
fn has_index_temp(layout: &Path) -> bool {
    std::fs::read_dir(layout).expect("ls").any(|e| {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        name.starts_with(".index.json.") && Path::new(&name).extension().is_some_and(|x| x == "tmp")
    })
}

/// Whether a partial blob file (`.<hex>.partial`) is in the layout.
fn has_partial(layout: &Path) -> bool {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .expect("ls")
        .any(|e| {
            e.expect("entry")
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        })
}

#[tokio::test]
#[allow(clippy::print_stderr, reason = "the seed and the counts, to reproduce")]
async fn killed_at_random_points_the_layout_validates_and_a_rerun_completes() {
    const RUNS: usize = 100;
    let dir = tempfile::tempdir().expect("tmp");
    let seed = seed();
    let mut rng = Rng(seed);
    // How long the whole workload takes in a child, to spread the kills over it.
    let calibrate = dir.path().join("calibrate");
    Layout::create(&calibrate).await.expect("create");
    let started = Instant::now();
    let out = child(
        "child_killed_writer",
        &[("OCIREG_LAYOUT_KILL_DIR", &calibrate)],
    )
    .output()
    .expect("calibrate");
    assert!(out.status.success(), "{out:?}");
    // Kills spread over the first three quarters of it: a loaded machine makes one run
    // slower or faster than the calibration, and a kill after the end tests nothing.
    let span =
        u64::try_from((started.elapsed().as_micros() * 3 / 4).max(1_000)).unwrap_or(u64::MAX);
    let (mut unfinished, mut partial, mut index_temp) = (0, 0, 0);
    let budget = Instant::now();
    for run in 0..RUNS {
        let layout_dir = dir.path().join(format!("run-{run}"));
        Layout::create(&layout_dir).await.expect("create");
        let mut writer = child(
            "child_killed_writer",
            &[("OCIREG_LAYOUT_KILL_DIR", &layout_dir)],
        )
        .spawn()
        .expect("spawn");
        std::thread::sleep(Duration::from_micros(rng.next() % span));
        writer.kill().expect("SIGKILL");
        let status = writer.wait().expect("wait");
        if !status.success() {
            unfinished += 1;
        }
        if has_partial(&layout_dir) {
            partial += 1;
        }
        if has_index_temp(&layout_dir) {
            index_temp += 1;
        }
        // Whatever the kill interrupted, the layout validates...
        let before = layout_validates(&layout_dir).await;
        assert!(
            before.iter().all(|n| workload_names().contains(n)),
            "seed {seed}, run {run}: {before:?}"
        );
        // ... a garbage collection clears what the kill left but a partial blob...
        if run % 2 == 0 {
            Layout::open(&layout_dir)
                .await
                .expect("open")
                .garbage_collect()
                .await
                .expect("gc");
            assert!(!has_index_temp(&layout_dir), "seed {seed}, run {run}");
            layout_validates(&layout_dir).await;
        }
        // ... and running the work again completes, with everything in place.
        kill_workload(&layout_dir).await;
        let mut after = layout_validates(&layout_dir).await;
        after.sort();
        assert_eq!(after, workload_names(), "seed {seed}, run {run}");
        std::fs::remove_dir_all(&layout_dir).expect("clean up");
    }
    eprintln!(
        "seed {seed}: {RUNS} runs over {span} µs each, {unfinished} killed before the end, \
         {partial} left a partial blob, {index_temp} a temporary index.json; {:?} in all",
        budget.elapsed()
    );
    // Timing on a shared machine varies; what must hold is that a good share of the
    // kills interrupted the work, some of them inside a blob write or an index update.
    assert!(
        unfinished >= RUNS / 4,
        "seed {seed}: a quarter of the kills land during the work ({unfinished} of {RUNS})"
    );
    assert!(
        partial + index_temp > 0,
        "seed {seed}: some kills land inside a blob write or an index.json update"
    );
}

// ---- a truncated file at a final blob path ----

#[tokio::test]
async fn a_truncated_file_at_a_final_blob_path_is_replaced_on_write() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = Layout::create(dir.path()).await.expect("create");
    let img = random::image(64 << 10, 1, 77).expect("img");
    layout
        .append_image(&*img, &AppendOptions::new().ref_name("v1"))
        .await
        .expect("append");
    let layer = img.manifest().await.expect("manifest").layers[0].clone();
    let path = layout.blob_path(&layer.digest);
    let good = std::fs::read(&path).expect("read");
    std::fs::write(&path, &good[..good.len() / 3]).expect("truncate");
    // Reading refuses it...
    let img_back = layout.image_by_ref_name("v1").await.expect("image");
    let err = validate::image(&*img_back, validate::Options::default())
        .await
        .expect_err("a truncated layer does not validate");
    assert!(err.to_string().contains(&layer.digest.hex()), "{err}");
    // ... and writing the image again checks the file and replaces it.
    let write = layout
        .write_blob(
            layer.digest,
            Some(layer.size),
            Blob::from_bytes(good.clone()),
        )
        .await
        .expect("rewrite");
    assert_eq!(write, ocireg_layout::BlobWrite::Written);
    assert_eq!(std::fs::read(&path).expect("read"), good);
    assert_eq!(layout_validates(dir.path()).await, ["v1"]);
}
