//! `pull`, `push` and `digest --tarball` against the embedded registry.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ocireg_registry::{Registry, RunningRegistry};

use crate::support::{Crane, runtime};

fn remote_options() -> ocireg_remote::Options {
    ocireg_remote::Options::builder()
        .auth(Arc::new(ocireg_authn::Anonymous))
        .build()
        .expect("remote options")
}

/// The embedded registry with a random image at `team/app:v1` and a random index of
/// three images at `team/multi:v1`; returns the two digests.
fn seeded(rt: &tokio::runtime::Runtime) -> (RunningRegistry, String, String) {
    rt.block_on(async {
        let server = Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn");
        let host = server.host();
        let opts = remote_options();
        let image = ocireg_v1::random::image(2048, 2, 7).expect("random image");
        let at: ocireg_name::Reference = format!("{host}/team/app:v1").parse().expect("ref");
        let image = ocireg_remote::write_image(&at, image, &opts)
            .await
            .expect("seed image")
            .to_string();
        let index = ocireg_v1::random::index(1024, 1, 3, 9).expect("random index");
        let at: ocireg_name::Reference = format!("{host}/team/multi:v1").parse().expect("ref");
        let index = ocireg_remote::write_index(&at, index, &opts)
            .await
            .expect("seed index")
            .to_string();
        (server, image, index)
    })
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

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

#[test]
fn pull_then_push_keeps_the_digest_in_every_format() {
    let rt = runtime();
    let (server, digest, _) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let src = format!("{host}/team/app:v1");
    for format in ["tarball", "legacy", "oci"] {
        let path = crane.home().join(format!("out-{format}"));
        crane
            .run(&["pull", "--format", format, &src, s(&path)])
            .ok();
        let dst = format!("{host}/back/{format}:v1");
        let pushed = crane.run(&["push", s(&path), &dst]).ok().to_owned();
        assert_eq!(
            pushed.trim(),
            format!("{host}/back/{format}@{digest}"),
            "{format}"
        );
        let back = crane.run(&["digest", &dst]).ok().to_owned();
        assert_eq!(back.trim(), digest, "{format}");
        if format == "tarball" {
            let d = crane
                .run(&["digest", "--tarball", s(&path)])
                .ok()
                .to_owned();
            assert_eq!(d.trim(), digest);
            let d = crane
                .run(&["digest", "--tarball", s(&path), "--tag", &src])
                .ok()
                .to_owned();
            assert_eq!(d.trim(), digest);
        }
    }
    // --image-refs writes what was pushed.
    let refs = crane.home().join("refs.txt");
    let tarball = crane.home().join("out-tarball");
    let dst = format!("{host}/refs/app:v1");
    let pushed = crane
        .run(&["push", "--image-refs", s(&refs), s(&tarball), &dst])
        .ok()
        .to_owned();
    let written = fs_err::read_to_string(&refs).expect("image refs");
    assert_eq!(written, pushed.trim());
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn pull_writes_several_images_into_one_tarball() {
    let rt = runtime();
    let (server, digest, _) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let by_tag = format!("{host}/team/app:v1");
    let by_digest = format!("{host}/team/app@{digest}");
    let path = crane.home().join("two.tar");
    crane.run(&["pull", &by_tag, &by_digest, s(&path)]).ok();
    for tag in [by_tag, format!("{host}/team/app:i-was-a-digest")] {
        let d = crane
            .run(&["digest", "--tarball", s(&path), "--tag", &tag])
            .ok()
            .to_owned();
        assert_eq!(d.trim(), digest, "{tag}");
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn pull_of_an_index_into_a_layout_keeps_the_whole_index() {
    let rt = runtime();
    let (server, image, index) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let layout = crane.home().join("layout");
    let multi = format!("{host}/team/multi:v1");
    let app = format!("{host}/team/app:v1");
    crane
        .run(&[
            "pull",
            "--format",
            "oci",
            "--annotate-ref",
            &multi,
            &app,
            s(&layout),
        ])
        .ok();
    let raw = fs_err::read(layout.join("index.json")).expect("index.json");
    let root: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    let entries = root["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 2, "{root}");
    assert_eq!(entries[0]["digest"], index.as_str());
    assert_eq!(
        entries[0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        entries[0]["annotations"]["org.opencontainers.image.ref.name"],
        multi.as_str()
    );
    assert_eq!(entries[1]["digest"], image.as_str());
    // Every child of the index is in the layout.
    let children = fs_err::read(
        layout
            .join("blobs/sha256")
            .join(index.trim_start_matches("sha256:")),
    )
    .expect("index blob");
    let children: serde_json::Value = serde_json::from_slice(&children).expect("json");
    for child in children["manifests"].as_array().expect("children") {
        let d = child["digest"].as_str().expect("digest");
        assert!(
            layout
                .join("blobs/sha256")
                .join(d.trim_start_matches("sha256:"))
                .is_file(),
            "{d}"
        );
    }
    // The whole index pushes back with --index... as an index of the two entries; and a
    // layout of two entries needs --index.
    let run = crane.run(&["push", s(&layout), &format!("{host}/back/both:v1")]);
    let stderr = run.failed_with(2);
    assert!(stderr.contains("--index"), "{stderr}");
    let pushed = crane
        .run(&[
            "push",
            "--index",
            s(&layout),
            &format!("{host}/back/both:v1"),
        ])
        .ok()
        .to_owned();
    assert!(
        pushed.starts_with(&format!("{host}/back/both@sha256:")),
        "{pushed}"
    );
    // skopeo reads it (by the ref.name of the OCI index: skopeo skips entries of docker
    // media types).
    if have("skopeo") {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", &format!("oci:{}:{multi}", s(&layout))])
            .output()
            .expect("skopeo runs");
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let raw = String::from_utf8(out.stdout).expect("utf-8");
        assert_eq!(
            format!("sha256:{}", sha256_hex(raw.as_bytes())),
            index,
            "{raw}"
        );
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

fn sha256_hex(bytes: &[u8]) -> String {
    ocireg_v1::sha256(bytes)
        .to_string()
        .trim_start_matches("sha256:")
        .to_owned()
}

#[test]
fn pull_and_push_fail_clearly() {
    let crane = Crane::new();
    let missing = crane.home().join("missing.tar");
    let run = crane.run(&["push", s(&missing), "127.0.0.1:9/app:v1"]);
    let stderr = run.failed_with(1);
    assert!(stderr.contains(s(&missing)), "{stderr}");
    let run = crane.run(&["pull", "127.0.0.1:9/app:v1"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn copy_through_ocidir_keeps_digests() {
    let rt = runtime();
    let (server, image, index) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let dir = crane.home().join("oci");
    let other = crane.home().join("oci2");
    for (repo, digest) in [("team/app", &image), ("team/multi", &index)] {
        let tag = repo.trim_start_matches("team/");
        let local = format!("ocidir://{}:{tag}", s(&dir));
        // registry → layout → layout → registry.
        crane
            .run(&["copy", &format!("{host}/{repo}:v1"), &local])
            .ok();
        let copy = format!("ocidir://{}:{tag}", s(&other));
        crane.run(&["copy", &local, &copy]).ok();
        let back = format!("{host}/back/{tag}:v1");
        crane.run(&["copy", &copy, &back]).ok();
        for r in [&local, &copy, &back] {
            let d = crane.run(&["digest", r]).ok().to_owned();
            assert_eq!(d.trim(), digest.as_str(), "{r}");
        }
        let m = crane.run(&["manifest", &local]).ok().to_owned();
        assert_eq!(
            format!("sha256:{}", sha256_hex(m.as_bytes())),
            digest.as_str()
        );
        let by_digest = format!("ocidir://{}@{digest}", s(&dir));
        let d = crane.run(&["digest", &by_digest]).ok().to_owned();
        assert_eq!(d.trim(), digest.as_str());
    }
    // Copying again replaces the tag rather than adding an entry.
    let local = format!("ocidir://{}:app", s(&dir));
    crane
        .run(&["copy", &format!("{host}/team/app:v1"), &local])
        .ok();
    let tags = crane
        .run(&["ls", &format!("ocidir://{}", s(&dir))])
        .ok()
        .to_owned();
    assert_eq!(tags.lines().collect::<Vec<_>>(), ["multi", "app"]);
    let config = crane.run(&["config", &local]).ok().to_owned();
    let remote_config = crane
        .run(&["config", &format!("{host}/team/app:v1")])
        .ok()
        .to_owned();
    assert_eq!(config, remote_config);
    // A missing tag is "not found".
    let run = crane.run(&["digest", &format!("ocidir://{}:nope", s(&dir))]);
    run.failed_with(3);
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
fn pull_writes_the_same_tarball_as_ggcr() {
    let Some(ggcr) = ggcr_crane() else {
        return;
    };
    let rt = runtime();
    let (server, _, _) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let src = format!("{host}/team/app:v1");
    let ours = crane.home().join("ours.tar");
    let theirs = crane.home().join("theirs.tar");
    crane.run(&["pull", &src, s(&ours)]).ok();
    let mut cmd = Command::new(&ggcr);
    cmd.args(["pull", "--insecure", &src, s(&theirs)]);
    crane.isolate(&mut cmd);
    let out = cmd.output().expect("ggcr crane runs");
    assert!(
        out.status.success(),
        "ggcr crane: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ours, theirs) = (
        fs_err::read(&ours).expect("ours"),
        fs_err::read(&theirs).expect("theirs"),
    );
    assert!(ours == theirs, "the tarballs differ");
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn layout_gc_removes_what_no_entry_refers_to() {
    let rt = runtime();
    let (server, image, index) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let dir = crane.home().join("gc");
    let local = format!("ocidir://{}:x", s(&dir));
    crane
        .run(&["copy", &format!("{host}/team/app:v1"), &local])
        .ok();
    // The tag now names the index: the image's four blobs are garbage.
    crane
        .run(&["copy", &format!("{host}/team/multi:v1"), &local])
        .ok();
    let run = crane.run(&["layout", "gc", s(&dir)]);
    run.ok();
    let removed: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("garbage collecting: "))
        .collect();
    assert_eq!(removed.len(), 4, "{}", run.stderr);
    assert!(removed.contains(&image.as_str()), "{}", run.stderr);
    let d = crane.run(&["digest", &local]).ok().to_owned();
    assert_eq!(d.trim(), index);
    let again = crane.run(&["layout", "gc", s(&dir)]);
    again.ok();
    assert!(!again.stderr.contains("garbage collecting"), "{again:?}");
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn pull_and_push_show_progress_like_copy() {
    let rt = runtime();
    let (server, _, _) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let src = format!("{host}/team/app:v1");
    let path = crane.home().join("p.tar");
    let run = crane.run(&["pull", &src, s(&path)]);
    run.ok();
    let first = run.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, format!("pulling {src} to {}", s(&path)), "{run:?}");
    assert!(
        run.stderr.lines().any(|l| l.starts_with("done: ")),
        "{run:?}"
    );
    let dst = format!("{host}/pushed/app:v1");
    let run = crane.run(&["push", s(&path), &dst]);
    run.ok();
    let first = run.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, format!("pushing {} to {dst}", s(&path)), "{run:?}");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("done: 3 blobs (3 transferred)")),
        "{run:?}"
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}
