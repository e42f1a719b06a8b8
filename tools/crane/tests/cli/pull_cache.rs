//! `pull -c/--cache_path`: layers kept by digest and reused by later pulls, each checked
//! for size and digest, written whole or not at all.

use std::path::Path;
use std::sync::Arc;

use ocireg_registry::{Registry, RunningRegistry};

use crate::support::{Crane, runtime};

/// The embedded registry with a random image of three layers at `team/app:v1`; returns
/// its digest, its layers' digests and their diff ids.
fn seeded(rt: &tokio::runtime::Runtime) -> (RunningRegistry, String, Vec<String>, Vec<String>) {
    rt.block_on(async {
        let server = Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn");
        let opts = ocireg_remote::Options::builder()
            .auth(Arc::new(ocireg_authn::Anonymous))
            .build()
            .expect("remote options");
        let image = ocireg_v1::random::image(4096, 3, 11).expect("random image");
        let manifest = ocireg_v1::Image::manifest(&*image).await.expect("manifest");
        let layers = manifest
            .layers
            .iter()
            .map(|l| l.digest.to_string())
            .collect();
        let config = ocireg_v1::Image::config_file(&*image)
            .await
            .expect("config");
        let diff_ids = config
            .rootfs
            .diff_ids
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        let at: ocireg_name::Reference = format!("{}/team/app:v1", server.host())
            .parse()
            .expect("ref");
        let digest = ocireg_remote::write_image(&at, image, &opts)
            .await
            .expect("seed")
            .to_string();
        (server, digest, layers, diff_ids)
    })
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn sha256(bytes: &[u8]) -> String {
    ocireg_v1::sha256(bytes).to_string()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// How many times the verbose log shows a request for the blob `digest`.
fn fetches(stderr: &str, digest: &str) -> usize {
    stderr
        .lines()
        .filter(|l| {
            l.contains("--> request method=GET") && l.contains(&format!("/blobs/{digest} "))
        })
        .count()
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one story: each pull uses the cache the previous one left"
)]
fn pulls_reuse_cached_layers_and_check_them() {
    let rt = runtime();
    let (server, digest, layers, _) = seeded(&rt);
    let src = format!("{}/team/app:v1", server.host());
    let crane = Crane::new();
    let cache = crane.home().join("cache");
    let mut sorted = layers.clone();
    sorted.sort();

    // First pull: every layer comes from the registry and lands in the cache, by digest.
    let first = crane.home().join("1.tar");
    let run = crane.run(&["pull", "-v", "-c", s(&cache), &src, s(&first)]);
    run.ok();
    for l in &layers {
        assert_eq!(fetches(&run.stderr, l), 1, "{l}: {}", run.stderr);
    }
    assert_eq!(
        names(&cache),
        sorted,
        "one file per layer, no temporary files"
    );
    for l in &layers {
        let bytes = fs_err::read(cache.join(l)).expect("cached");
        assert_eq!(&sha256(&bytes), l);
    }
    let d = crane
        .run(&["digest", "--tarball", s(&first)])
        .ok()
        .to_owned();
    assert_eq!(d.trim(), digest);

    // Second pull, into a layout: no layer is fetched.
    let layout = crane.home().join("oci");
    let run = crane.run(&[
        "pull",
        "-v",
        "--format",
        "oci",
        "--cache_path",
        s(&cache),
        &src,
        s(&layout),
    ]);
    run.ok();
    for l in &layers {
        assert_eq!(fetches(&run.stderr, l), 0, "{l}: {}", run.stderr);
    }
    let d = crane
        .run(&["digest", &format!("ocidir://{}@{digest}", s(&layout))])
        .ok()
        .to_owned();
    assert_eq!(d.trim(), digest);
    let out = crane.home().join("layer");
    crane
        .run(&[
            "blob",
            "-o",
            s(&out),
            &format!("ocidir://{}@{}", s(&layout), layers[0]),
        ])
        .ok();

    // A cached file with wrong bytes, a short one and a symlink are not used: the layer is
    // fetched again, the pull is right, and the cache holds the right bytes again.
    let wrong = cache.join(&layers[0]);
    let mut bytes = fs_err::read(&wrong).expect("read");
    bytes[10] ^= 0xff;
    fs_err::write(&wrong, &bytes).expect("sabotage");
    let short = cache.join(&layers[1]);
    let len = fs_err::metadata(&short).expect("stat").len();
    fs_err::OpenOptions::new()
        .write(true)
        .open(&short)
        .and_then(|f| f.set_len(len / 2))
        .expect("truncate");
    let link = cache.join(&layers[2]);
    let elsewhere = crane.home().join("elsewhere");
    fs_err::rename(&link, &elsewhere).expect("move");
    fs_err::os::unix::fs::symlink(&elsewhere, &link).expect("symlink");
    let third = crane.home().join("3.tar");
    let run = crane.run(&["pull", "-v", "-c", s(&cache), &src, s(&third)]);
    run.ok();
    for l in &layers {
        assert_eq!(fetches(&run.stderr, l), 1, "{l}: {}", run.stderr);
        let meta = fs_err::symlink_metadata(cache.join(l)).expect("stat");
        assert!(meta.is_file(), "{l}");
        assert_eq!(&sha256(&fs_err::read(cache.join(l)).expect("read")), l);
    }
    assert_eq!(
        fs_err::read(&first).expect("1"),
        fs_err::read(&third).expect("3"),
        "the same tarball"
    );
    // The legacy format reads layers uncompressed: through the cache, the same bytes.
    let (cached, direct) = (crane.home().join("c.tar"), crane.home().join("d.tar"));
    let run = crane.run(&[
        "pull",
        "-v",
        "--format",
        "legacy",
        "-c",
        s(&cache),
        &src,
        s(&cached),
    ]);
    run.ok();
    for l in &layers {
        assert_eq!(fetches(&run.stderr, l), 0, "{l}: {}", run.stderr);
    }
    crane
        .run(&["pull", "--format", "legacy", &src, s(&direct)])
        .ok();
    assert!(
        fs_err::read(&cached).expect("c") == fs_err::read(&direct).expect("d"),
        "the same legacy tarball"
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn tarball_pulls_show_each_blob_like_a_registry_pull() {
    let rt = runtime();
    let (server, _, layers, diff_ids) = seeded(&rt);
    let src = format!("{}/team/app:v1", server.host());
    let crane = Crane::new();
    for format in ["tarball", "legacy", "oci"] {
        let path = crane.home().join(format);
        let run = crane.run(&["pull", "--format", format, &src, s(&path)]);
        run.ok();
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some(format!("pulling {src} to {}", s(&path)).as_str()),
            "{run:?}"
        );
        let downloaded = lines.iter().filter(|l| l.ends_with(" downloaded")).count();
        assert_eq!(downloaded, 4, "config and 3 layers, each once: {run:?}");
        // Layers by digest; the legacy format writes them uncompressed: by diff id, as the
        // tarball writer reports them.
        let named = if format == "legacy" {
            &diff_ids
        } else {
            &layers
        };
        for l in named {
            let short = &l[..7 + 12];
            assert!(
                lines
                    .iter()
                    .any(|line| line.contains(short) && line.ends_with(" downloaded")),
                "{short}: {run:?}"
            );
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("done: 4 blobs (4 transferred)")),
            "{run:?}"
        );
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

/// The real ggcr crane (`OCIREG_GGCR_CRANE`); panics under CI when unset.
#[allow(clippy::print_stderr, reason = "the skip message is for the developer")]
fn ggcr_crane() -> Option<String> {
    let found = std::env::var("OCIREG_GGCR_CRANE")
        .ok()
        .filter(|p| !p.is_empty());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "OCIREG_GGCR_CRANE must name ggcr's crane under CI"
        );
        eprintln!("skipping: set OCIREG_GGCR_CRANE to ggcr's crane to compare with it");
    }
    found
}

#[test]
fn a_cache_ggcr_filled_is_reused_and_ggcr_reads_ours() {
    let Some(ggcr) = ggcr_crane() else {
        return;
    };
    let rt = runtime();
    let (server, _, layers, _) = seeded(&rt);
    let src = format!("{}/team/app:v1", server.host());
    let crane = Crane::new();
    let ggcr_pull = |cache: &Path, out: &Path| {
        let mut cmd = std::process::Command::new(&ggcr);
        cmd.args(["pull", "--insecure", "-c", s(cache), &src, s(out)]);
        crane.isolate(&mut cmd);
        let out = cmd.output().expect("ggcr crane runs");
        assert!(
            out.status.success(),
            "ggcr crane: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // ggcr fills a cache; we pull through it without fetching a layer, the same tarball.
    let cache = crane.home().join("theirs");
    let theirs = crane.home().join("theirs.tar");
    ggcr_pull(&cache, &theirs);
    for l in &layers {
        assert!(
            cache.join(l).is_file(),
            "ggcr names its files as we do: {l}"
        );
    }
    let ours = crane.home().join("ours.tar");
    let run = crane.run(&["pull", "-v", "-c", s(&cache), &src, s(&ours)]);
    run.ok();
    for l in &layers {
        assert_eq!(fetches(&run.stderr, l), 0, "{l}: {}", run.stderr);
    }
    assert!(
        fs_err::read(&ours).expect("ours") == fs_err::read(&theirs).expect("theirs"),
        "the tarballs differ"
    );
    // We fill one; ggcr pulls through it to the same tarball.
    let mine = crane.home().join("mine");
    crane
        .run(&["pull", "-c", s(&mine), &src, s(&crane.home().join("x.tar"))])
        .ok();
    let again = crane.home().join("again.tar");
    ggcr_pull(&mine, &again);
    assert!(
        fs_err::read(&again).expect("again") == fs_err::read(&theirs).expect("theirs"),
        "the tarballs differ"
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}
