//! `append`, `mutate`, `flatten` and `export` against the embedded registry, CNCF
//! distribution and `ocidir://`, checked byte for byte against the golden vectors of
//! ggcr v0.21.9's crane (crates/ocireg-mutate/testdata/ggcr-v0.21.9, see its README), and
//! live against ggcr's crane when `OCIREG_GGCR_CRANE` names it.

use std::path::{Path, PathBuf};
use std::process::Command;

use ocireg_registry::{Registry, RunningRegistry};
use ocireg_testsupport::Distribution;

use crate::support::{Crane, Run, runtime};

/// ggcr's blob of `layer.tar` (its gzip), so that every byte of a1 can match.
const A1_BLOB: &str = "a1-append-docker/blobs/sha256-20a8c216bcf310e2511de2e198021313cacf988860a153ebd9fcab865be4c57e";
const A1: &str = "sha256:cf85b05f4bedce22cb42d9ecbdd3469e8c981d0bda88b8077049c3c10fd940ee";
const A3: &str = "sha256:da36292bf5956b18c8a2020b6cce222e9a3654d6754df93740d352ddb473ddb4";
const B1: &str = "sha256:f678957f693f6fd8e62672d9ae52e0f7d31dcf8f948af0cf7f36f48b72563ab1";
/// The diff id of the flattened layer of c1: the sha256 of d1's out.tar.
const C1_DIFF_ID: &str = "sha256:fa01e42d19005c93c2a6fc09347768cc08a524c9a3d7cc27b5b992321e01474a";

fn golden(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/ocireg-mutate/testdata/ggcr-v0.21.9")
        .join(path)
}

fn read(path: &str) -> String {
    String::from_utf8(fs_err::read(golden(path)).expect("golden file")).expect("utf-8")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// b1's flags.
const B1_FLAGS: &[&str] = &[
    "--label",
    "a=b",
    "--env",
    "X=1",
    "--entrypoint",
    "/bin/sh",
    "--cmd",
    "-c,true",
    "--user",
    "1000",
    "--workdir",
    "/w",
    "--exposed-ports",
    "80/tcp",
    "-a",
    "org.example=1",
];

fn run(crane: &Crane, args: &[&str]) -> Run {
    crane.run(args)
}

/// The golden cases a1, a3, b1, c1, d1 and h1 against the registry at `host`.
#[expect(
    clippy::too_many_lines,
    reason = "one case after another, in the README's order"
)]
fn golden_cases(host: &str) {
    let crane = Crane::new();
    let file = |p: &str| golden(p).to_str().expect("utf-8").to_owned();

    // a3: a gzipped tar passes through: every byte matches.
    let out = run(
        &crane,
        &[
            "append",
            "-f",
            &file("inputs/layer.tar.gz"),
            "-t",
            &format!("{host}/golden/append-gz:1"),
        ],
    );
    assert_eq!(out.ok(), format!("{host}/golden/append-gz@{A3}\n"));
    assert!(
        out.stderr.contains("base unspecified, using empty image"),
        "{out:?}"
    );
    let manifest = run(&crane, &["manifest", &format!("{host}/golden/append-gz:1")]);
    assert_eq!(manifest.ok(), read("a3-append-docker-gz/manifest.json"));

    // a1: a plain tar, gzipped by us: the config matches, and the manifest but for the layer.
    let out = run(
        &crane,
        &[
            "append",
            "-f",
            &file("inputs/layer.tar"),
            "-t",
            &format!("{host}/golden/plain:1"),
        ],
    );
    out.ok();
    let config = run(&crane, &["config", &format!("{host}/golden/plain:1")]);
    assert_eq!(config.ok(), read("a1-append-docker/config.json"));
    let manifest = run(&crane, &["manifest", &format!("{host}/golden/plain:1")]);
    let ours: serde_json::Value = serde_json::from_str(manifest.ok()).expect("json");
    let theirs: serde_json::Value =
        serde_json::from_str(&read("a1-append-docker/manifest.json")).expect("json");
    assert_eq!(ours["config"], theirs["config"]);
    assert_eq!(ours["mediaType"], theirs["mediaType"]);
    assert_eq!(
        ours["layers"][0]["mediaType"],
        theirs["layers"][0]["mediaType"]
    );

    // a1 with ggcr's own gzip of the tar: byte for byte.
    let out = run(
        &crane,
        &[
            "append",
            "-f",
            &file(A1_BLOB),
            "-t",
            &format!("{host}/golden/append:1"),
        ],
    );
    assert_eq!(out.ok(), format!("{host}/golden/append@{A1}\n"));

    // b1: mutate of a1.
    let mut args = vec!["mutate".to_owned(), format!("{host}/golden/append:1")];
    args.extend(B1_FLAGS.iter().map(|f| (*f).to_owned()));
    args.extend(["-t".to_owned(), format!("{host}/golden/mutate:1")]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        run(&crane, &args).ok(),
        format!("{host}/golden/mutate@{B1}\n")
    );
    let config = run(&crane, &["config", &format!("{host}/golden/mutate:1")]);
    assert_eq!(config.ok(), read("b1-mutate/config.json"));
    let manifest = run(&crane, &["manifest", &format!("{host}/golden/mutate:1")]);
    assert_eq!(manifest.ok(), read("b1-mutate/manifest.json"));

    // d1: export of a1, to a file and to stdout.
    let out_tar = crane.home().join("out.tar");
    run(
        &crane,
        &["export", &format!("{host}/golden/append:1"), s(&out_tar)],
    )
    .ok();
    assert_eq!(
        fs_err::read(&out_tar).expect("out.tar"),
        fs_err::read(golden("d1-export/out.tar")).expect("golden")
    );
    let stdout = run(&crane, &["export", &format!("{host}/golden/append:1"), "-"]);
    assert_eq!(stdout.ok(), read("d1-export/out.tar"));

    // c1: flatten of b1. `created` is the time of the run, and our gzip is not Go's:
    // the shape, the diff id, the history and the annotations match.
    let out = run(
        &crane,
        &[
            "flatten",
            &format!("{host}/golden/mutate:1"),
            "-t",
            &format!("{host}/golden/flat:1"),
        ],
    );
    assert!(
        out.ok().starts_with(&format!("{host}/golden/flat@sha256:")),
        "{out:?}"
    );
    let config = run(&crane, &["config", &format!("{host}/golden/flat:1")]);
    let ours: serde_json::Value = serde_json::from_str(config.ok()).expect("json");
    let theirs: serde_json::Value =
        serde_json::from_str(&read("c1-flatten/config.json")).expect("json");
    assert_eq!(ours["rootfs"]["diff_ids"][0], C1_DIFF_ID);
    assert_eq!(ours["config"], theirs["config"]);
    assert_eq!(
        ours["history"][0]["created_by"],
        theirs["history"][0]["created_by"]
    );
    assert_eq!(
        ours["history"][0]["comment"],
        theirs["history"][0]["comment"]
    );
    assert_eq!(ours["created"], ours["history"][0]["created"]);
    let keys = |v: &serde_json::Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(&ours), keys(&theirs));
    let manifest = run(&crane, &["manifest", &format!("{host}/golden/flat:1")]);
    let ours: serde_json::Value = serde_json::from_str(manifest.ok()).expect("json");
    let theirs: serde_json::Value =
        serde_json::from_str(&read("c1-flatten/manifest.json")).expect("json");
    assert_eq!(ours["annotations"], theirs["annotations"]);
    assert_eq!(
        ours["layers"][0]["mediaType"],
        theirs["layers"][0]["mediaType"]
    );

    // h1: append without a layer is refused.
    let out = run(&crane, &["append", "-t", &format!("{host}/golden/empty:1")]);
    assert_ne!(out.code, 0);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("new_layer"), "{out:?}");
}

fn ours(rt: &tokio::runtime::Runtime) -> RunningRegistry {
    rt.block_on(async {
        Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn")
    })
}

#[test]
fn golden_vectors_match_against_the_embedded_registry() {
    let rt = runtime();
    let server = ours(&rt);
    golden_cases(&server.host());
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn golden_vectors_match_against_distribution() {
    let rt = runtime();
    let d = rt.block_on(Distribution::start()).expect("distribution");
    golden_cases(d.host());
}

#[test]
fn mutate_moves_no_layer_and_pushes_by_digest_to_repo() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let base = format!("{host}/team/base:1");
    run(
        &crane,
        &[
            "append",
            "-f",
            golden("inputs/layer.tar.gz").to_str().expect("utf-8"),
            "-t",
            &base,
        ],
    )
    .ok();
    let out = run(
        &crane,
        &[
            "mutate",
            &base,
            "-l",
            "x=y",
            "--repo",
            &format!("{host}/other"),
        ],
    );
    let printed = out.ok().trim().to_owned();
    assert!(
        printed.starts_with(&format!("{host}/other@sha256:")),
        "{out:?}"
    );
    // The layer was mounted, not moved, and the result is there by digest.
    assert!(
        out.stderr.contains("1e93cf090ac7 107 B mounted"),
        "the layer is mounted, neither downloaded nor uploaded: {out:?}"
    );
    assert!(
        !out.stderr.contains("1e93cf090ac7 107 B downloaded"),
        "{out:?}"
    );
    let config = run(&crane, &["config", &printed]);
    assert!(config.ok().contains(r#""Labels":{"x":"y"}"#));
    // Pushing back to a digest reference pushes by digest.
    let again = run(&crane, &["mutate", &printed, "-e", "A=1"]);
    assert!(
        !again.stderr.contains("1e93cf090ac7 107 B downloaded")
            && !again.stderr.contains("1e93cf090ac7 107 B uploaded"),
        "pushing back to the same repository moves no layer byte: {again:?}"
    );
    assert!(
        again.ok().starts_with(&format!("{host}/other@sha256:")),
        "{again:?}"
    );
    // Bad input is a usage error.
    run(&crane, &["mutate", &base, "-l", "x="]).failed_with(2);
    run(&crane, &["mutate", &base, "--set-platform", "a/b/c/d"]).failed_with(2);
    run(&crane, &["mutate", &base, "-t", "x", "--repo", "y"]).failed_with(2);
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn ocidir_and_tarball_and_stdin() {
    let crane = Crane::new();
    let dir = crane.home().join("layout");
    let at = format!("ocidir://{}:v1", s(&dir));
    let layer = read("inputs/layer.tar");
    // The layer from stdin, into a layout.
    let out = crane.run_with_stdin(&["append", "-f", "-", "-t", &at], &layer);
    assert!(
        out.ok()
            .starts_with(&format!("ocidir://{}@sha256:", s(&dir))),
        "{out:?}"
    );
    let config = run(&crane, &["config", &at]);
    assert_eq!(config.ok(), read("a1-append-docker/config.json"));
    // Mutate from the layout into another tag of it, then export from there.
    let v2 = format!("ocidir://{}:v2", s(&dir));
    let mut args = vec!["mutate", at.as_str()];
    args.extend(B1_FLAGS);
    args.extend(["-t", v2.as_str()]);
    run(&crane, &args).ok();
    assert_eq!(
        run(&crane, &["config", &v2]).ok(),
        read("b1-mutate/config.json")
    );
    let out_tar = crane.home().join("fs.tar");
    run(&crane, &["export", &v2, s(&out_tar)]).ok();
    assert_eq!(
        fs_err::read(&out_tar).expect("fs.tar"),
        fs_err::read(golden("d1-export/out.tar")).expect("golden")
    );
    // -o writes a docker tarball, which export reads from stdin.
    let tarball = crane.home().join("img.tar");
    let out = run(
        &crane,
        &[
            "append",
            "-f",
            golden("inputs/layer.tar.gz").to_str().expect("utf-8"),
            "-t",
            "golden/append-gz:1",
            "-o",
            s(&tarball),
        ],
    );
    assert_eq!(out.ok(), "");
    let digest = run(&crane, &["digest", "--tarball", s(&tarball)]);
    assert_eq!(digest.ok().trim(), A3);
    let mut cmd = crane.command(&["export", "-", "-"]);
    cmd.stdin(fs_err::File::open(&tarball).expect("tarball").into_file());
    let out = cmd.output().expect("export");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        out.stdout,
        fs_err::read(golden("d1-export/out.tar")).expect("golden")
    );
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

fn ggcr(crane: &Crane, ggcr: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(ggcr);
    cmd.args(args);
    crane.isolate(&mut cmd);
    let out = cmd.output().expect("ggcr crane runs");
    assert!(out.status.success(), "ggcr crane {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn the_same_commands_give_the_same_digests_as_ggcr() {
    let Some(theirs) = ggcr_crane() else {
        return;
    };
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let gz = golden("inputs/layer.tar.gz");
    let gz = gz.to_str().expect("utf-8");
    // Two layers on an OCI empty base, with base annotations on a second append.
    let a = ggcr(
        &crane,
        &theirs,
        &[
            "append",
            "--oci-empty-base",
            "-f",
            gz,
            "-f",
            gz,
            "-t",
            &format!("{host}/g/a:1"),
        ],
    );
    let b = run(
        &crane,
        &[
            "append",
            "--oci-empty-base",
            "-f",
            gz,
            "-f",
            gz,
            "-t",
            &format!("{host}/o/a:1"),
        ],
    );
    assert_eq!(a.replace("/g/", "/o/"), b.ok());
    let a2 = ggcr(
        &crane,
        &theirs,
        &[
            "append",
            "-b",
            &format!("{host}/g/a:1"),
            "--set-base-image-annotations",
            "-f",
            gz,
            "-t",
            &format!("{host}/g/a:2"),
        ],
    );
    let b2 = run(
        &crane,
        &[
            "append",
            "-b",
            &format!("{host}/o/a:1"),
            "--set-base-image-annotations",
            "-f",
            gz,
            "-t",
            &format!("{host}/o/a:2"),
        ],
    );
    assert_eq!(
        run(&crane, &["manifest", a2.trim()])
            .ok()
            .replace("/g/", "/o/"),
        run(&crane, &["manifest", b2.ok().trim()]).ok()
    );
    // Mutate with every config flag, and a platform.
    let mut flags: Vec<&str> = B1_FLAGS.to_vec();
    flags.extend(["--set-platform", "linux/arm64/v8", "-e", "X=2", "-e", "Y=3"]);
    let mut g = vec!["mutate", a.trim()];
    g.extend(&flags);
    let t1 = format!("{host}/g/m:1");
    g.extend(["-t", &t1]);
    let mut o = vec!["mutate", b.stdout.trim()];
    o.extend(&flags);
    let t2 = format!("{host}/o/m:1");
    o.extend(["-t", &t2]);
    assert_eq!(
        ggcr(&crane, &theirs, &g).replace("/g/", "/o/"),
        run(&crane, &o).ok()
    );
    // Export gives the same tar.
    assert_eq!(
        ggcr(&crane, &theirs, &["export", &t1, "-"]),
        run(&crane, &["export", &t2, "-"]).ok()
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn flatten_of_an_index_flattens_every_image() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    rt.block_on(async {
        let opts = ocireg_remote::Options::builder()
            .auth(std::sync::Arc::new(ocireg_authn::Anonymous))
            .build()
            .expect("remote options");
        let index = ocireg_v1::random::index(512, 2, 3, 11).expect("random index");
        let at: ocireg_name::Reference = format!("{host}/team/multi:v1").parse().expect("ref");
        ocireg_remote::write_index(&at, index, &opts)
            .await
            .expect("seed");
    });
    let crane = Crane::new();
    let out = run(
        &crane,
        &[
            "flatten",
            &format!("{host}/team/multi:v1"),
            "-t",
            &format!("{host}/team/multi:flat"),
        ],
    );
    assert!(
        out.ok().starts_with(&format!("{host}/team/multi@sha256:")),
        "{out:?}"
    );
    let index = run(&crane, &["manifest", &format!("{host}/team/multi:flat")]);
    let index: serde_json::Value = serde_json::from_str(index.ok()).expect("json");
    let children = index["manifests"].as_array().expect("manifests");
    assert_eq!(children.len(), 3);
    for child in children {
        let digest = child["digest"].as_str().expect("digest");
        let config = run(&crane, &["config", &format!("{host}/team/multi@{digest}")]);
        let config: serde_json::Value = serde_json::from_str(config.ok()).expect("json");
        assert_eq!(
            config["rootfs"]["diff_ids"].as_array().map(Vec::len),
            Some(1)
        );
        assert!(
            config["history"][0]["created_by"]
                .as_str()
                .expect("created_by")
                .starts_with("crane flatten sha256:")
        );
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

/// Whether `tool` runs; panics under CI when it does not.
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
fn skopeo_and_umoci_read_what_append_and_mutate_write() {
    if !have("skopeo") || !have("umoci") {
        return;
    }
    let crane = Crane::new();
    let dir = crane.home().join("layout");
    let gz = golden("inputs/layer.tar.gz");
    let at = format!("ocidir://{}:v1", s(&dir));
    run(
        &crane,
        &["append", "--oci-empty-base", "-f", s(&gz), "-t", &at],
    )
    .ok();
    let v2 = format!("ocidir://{}:v2", s(&dir));
    run(
        &crane,
        &[
            "mutate",
            &at,
            "--set-platform",
            "linux/amd64",
            "-l",
            "a=b",
            "-t",
            &v2,
        ],
    )
    .ok();
    let out = Command::new("skopeo")
        .args(["inspect", &format!("oci:{}:v2", s(&dir))])
        .output()
        .expect("skopeo");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r#""a": "b""#) && text.contains(r#""Architecture": "amd64""#),
        "{text}"
    );
    // umoci unpacks it (rootless), and the file is there.
    let bundle = crane.home().join("bundle");
    let out = Command::new("umoci")
        .args([
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:v2", s(&dir)),
            s(&bundle),
        ])
        .output()
        .expect("umoci");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        fs_err::read(bundle.join("rootfs/hello.txt")).expect("hello.txt"),
        b"hello\n"
    );
    // A docker tarball written with -o reads in skopeo.
    let tarball = crane.home().join("img.tar");
    run(
        &crane,
        &["append", "-f", s(&gz), "-t", "app:v1", "-o", s(&tarball)],
    )
    .ok();
    let out = Command::new("skopeo")
        .args(["inspect", &format!("docker-archive:{}", s(&tarball))])
        .output()
        .expect("skopeo");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn rebase_moves_an_image_onto_a_new_base() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let f = |p: &str| golden(p).to_str().expect("utf-8").to_owned();
    let (old, new) = (format!("{host}/base:old"), format!("{host}/base:new"));
    run(
        &crane,
        &["append", "-f", &f("inputs/base-old.tar"), "-t", &old],
    )
    .ok();
    run(
        &crane,
        &["append", "-f", &f("inputs/base-new.tar"), "-t", &new],
    )
    .ok();
    let app = format!("{host}/app:1");
    run(
        &crane,
        &[
            "append",
            "-b",
            &old,
            "--set-base-image-annotations",
            "-f",
            &f("inputs/layer.tar.gz"),
            "-t",
            &app,
        ],
    )
    .ok();
    // The old base comes from the annotations.
    let out = run(
        &crane,
        &[
            "rebase",
            &app,
            "--new_base",
            &new,
            "-t",
            &format!("{host}/app:2"),
        ],
    );
    let pushed = out.ok().trim().to_owned();
    assert!(
        pushed.starts_with(&format!("{host}/app@sha256:")),
        "{out:?}"
    );
    let config: serde_json::Value =
        serde_json::from_str(run(&crane, &["config", &pushed]).ok()).expect("json");
    assert_eq!(
        config["rootfs"]["diff_ids"],
        serde_json::json!([
            "sha256:d386f9b44fd2af122a879d0ffd105865cb122f76e19a5a7b75f562598b7b1f6e",
            "sha256:a32826ad161414ebdd8b3ab0c346437284f32d8a9cd48dee9d718213c6ece577"
        ]),
        "base-new's layer, then the app's"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(run(&crane, &["manifest", &pushed]).ok()).expect("json");
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.name"],
        new.as_str()
    );
    // Not based on it: refused.
    let out = run(
        &crane,
        &["rebase", &new, "--old_base", &old, "--new_base", &new],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("not based on"), "{out:?}");
    // Without annotations or flags: a usage error.
    run(&crane, &["rebase", &old]).failed_with(2);
    if let Some(theirs) = ggcr_crane() {
        let g = ggcr(
            &crane,
            &theirs,
            &[
                "rebase",
                &app,
                "--new_base",
                &new,
                "-t",
                &format!("{host}/app:3"),
            ],
        );
        assert_eq!(g.trim(), pushed, "the same digest as ggcr's rebase");
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "the golden case, then its variations"
)]
fn f1_index_append_matches_golden() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let blob = golden(A1_BLOB);
    let mut refs = Vec::new();
    for arch in ["amd64", "arm64"] {
        let zero = format!("{host}/golden/plat-{arch}:0");
        let one = format!("{host}/golden/plat-{arch}:1");
        run(&crane, &["append", "-f", s(&blob), "-t", &zero]).ok();
        run(
            &crane,
            &[
                "mutate",
                &zero,
                "--set-platform",
                &format!("linux/{arch}"),
                "-t",
                &one,
            ],
        )
        .ok();
        assert_eq!(
            run(&crane, &["manifest", &one]).ok(),
            read(&format!("f1-index-append/plat-{arch}.manifest.json"))
        );
        refs.push(one);
    }
    let out = run(
        &crane,
        &[
            "index",
            "append",
            "-m",
            &refs[0],
            "-m",
            &refs[1],
            "-t",
            &format!("{host}/golden/index:1"),
        ],
    );
    assert_eq!(
        out.ok(),
        format!(
            "{host}/golden/index@sha256:1d04f8330723972e8db6eec1d55417a57a4946e6816c9795357f74b0ab0e956e\n"
        )
    );
    assert_eq!(
        run(&crane, &["manifest", &format!("{host}/golden/index:1")]).ok(),
        read("f1-index-append/manifest.json")
    );
    assert_eq!(
        run(
            &crane,
            &["index", "list", &format!("{host}/golden/index:1")]
        )
        .ok(),
        read("f1-index-append/index-list.txt")
    );
    // Appending the index to a Docker list flattens it into its children.
    let out = run(
        &crane,
        &[
            "index",
            "append",
            "--docker-empty-base",
            "-m",
            &format!("{host}/golden/index:1"),
            "-t",
            &format!("{host}/golden/list:1"),
        ],
    );
    out.ok();
    let list: serde_json::Value =
        serde_json::from_str(run(&crane, &["manifest", &format!("{host}/golden/list:1")]).ok())
            .expect("json");
    assert_eq!(
        list["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    assert_eq!(list["manifests"].as_array().map(Vec::len), Some(2));
    // Not an index: refused.
    let out = run(&crane, &["index", "list", &refs[0]]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("to be an index"), "{out:?}");
    run(&crane, &["index", "append", "-m", &refs[0]]).failed_with(2);
    if let Some(theirs) = ggcr_crane() {
        let g = ggcr(
            &crane,
            &theirs,
            &[
                "index",
                "append",
                "--docker-empty-base",
                "-m",
                &format!("{host}/golden/index:1"),
                "-t",
                &format!("{host}/golden/list:2"),
            ],
        );
        let o = run(&crane, &["digest", &format!("{host}/golden/list:1")]);
        assert_eq!(g.trim().rsplit('@').next(), Some(o.ok().trim()));
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn edit_config_and_manifest_from_stdin() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let img = format!("{host}/e/img:1");
    run(
        &crane,
        &[
            "append",
            "-f",
            golden("inputs/layer.tar.gz").to_str().expect("utf-8"),
            "-t",
            &img,
        ],
    )
    .ok();
    let config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:a32826ad161414ebdd8b3ab0c346437284f32d8a9cd48dee9d718213c6ece577\"]},\"config\":{}}\n";
    let out = crane.run_with_stdin(
        &["edit", "config", &img, "-t", &format!("{host}/e/img:2")],
        config,
    );
    assert_eq!(out.ok(), format!("{host}/e/img:2\n"));
    // The bytes are kept as given, and the manifest is written as ggcr writes it
    // (checked against ggcr's crane v0.21.9 for this input).
    assert_eq!(
        run(&crane, &["config", &format!("{host}/e/img:2")]).ok(),
        config
    );
    assert_eq!(
        run(&crane, &["digest", &format!("{host}/e/img:2")])
            .ok()
            .trim(),
        "sha256:063809d2e7edf8dc5915b7d26038bcc540ee1b573b2f8fc08a197178dc8d9391"
    );
    // A manifest edited: put as given.
    let manifest = read("a3-append-docker-gz/manifest.json").replace(
        "\"layers\"",
        "\"annotations\":{\"edited\":\"yes\"},\"layers\"",
    );
    let out = crane.run_with_stdin(
        &["edit", "manifest", &img, "-t", &format!("{host}/e/img:m")],
        &manifest,
    );
    out.ok();
    assert_eq!(
        run(&crane, &["manifest", &format!("{host}/e/img:m")]).ok(),
        manifest
    );
    // By digest: pushed by the new digest.
    let digest = run(&crane, &["digest", &img]).ok().trim().to_owned();
    let by_digest = format!("{host}/e/img@{digest}");
    let out = crane.run_with_stdin(&["edit", "manifest", &by_digest], &manifest);
    assert_eq!(
        out.ok().trim(),
        format!("{host}/e/img@{}", ocireg_v1::sha256(manifest.as_bytes()))
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}

/// `append --compression zstd`: a plain tar becomes an OCI zstd layer that validates and
/// exports back to the same files; the default stays gzip.
#[test]
fn append_compresses_with_zstd_when_asked() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let layer = golden("inputs/layer.tar");
    let zstd = format!("{host}/zstd/app:1");
    run(
        &crane,
        &[
            "append",
            "-f",
            s(&layer),
            "--compression",
            "zstd",
            "--oci-empty-base",
            "-t",
            &zstd,
        ],
    )
    .ok();
    let manifest: serde_json::Value =
        serde_json::from_str(run(&crane, &["manifest", &zstd]).ok()).expect("json");
    assert_eq!(
        manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd",
        "{manifest}"
    );
    let digest = manifest["layers"][0]["digest"].as_str().expect("digest");
    let blob = crane.home().join("blob");
    run(
        &crane,
        &["blob", &format!("{host}/zstd/app@{digest}"), "-o", s(&blob)],
    )
    .ok();
    let bytes = fs_err::read(&blob).expect("blob");
    assert_eq!(&bytes[..4], &ocireg_v1::ZSTD_MAGIC[..], "a zstd frame");
    assert_eq!(
        run(&crane, &["validate", "--remote", &zstd]).ok(),
        format!("PASS: {zstd}\n")
    );
    let exported = crane.home().join("out.tar");
    run(&crane, &["export", &zstd, s(&exported)]).ok();
    let listing = Command::new("tar")
        .args(["-tf", s(&exported)])
        .output()
        .expect("tar");
    assert_eq!(String::from_utf8_lossy(&listing.stdout).trim(), "hello.txt");

    let gzip = format!("{host}/zstd/app:gzip");
    run(
        &crane,
        &["append", "-f", s(&layer), "--oci-empty-base", "-t", &gzip],
    )
    .ok();
    let manifest = run(&crane, &["manifest", &gzip]).ok().to_owned();
    assert!(
        manifest.contains("application/vnd.oci.image.layer.v1.tar+gzip"),
        "{manifest}"
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}

/// A vector of crates/ocireg-mutate/testdata/windows (see its README).
fn windows_vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/ocireg-mutate/testdata/windows")
        .join(name)
}

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("json")
}

/// Windows bases on the registry at `host`, Docker and OCI (`layer.tar` on the empty
/// image, platform `windows/amd64`).
fn windows_bases(crane: &Crane, host: &str) -> (String, String) {
    let base_layer = windows_vector("layer.tar");
    let docker = format!("{host}/win/base:docker");
    let oci = format!("{host}/win/base:oci");
    for (tag, extra) in [(&docker, None), (&oci, Some("--oci-empty-base"))] {
        let mut args = vec!["append", "-f", s(&base_layer), "-t", tag];
        args.extend(extra);
        run(crane, &args).ok();
        run(
            crane,
            &["mutate", tag, "--set-platform", "windows/amd64", "-t", tag],
        )
        .ok();
        assert_eq!(json_of(run(crane, &["config", tag]).ok())["os"], "windows");
    }
    (docker, oci)
}

/// `append` onto a Windows base rewrites each new layer as ggcr does: the layer's tar is
/// the one ggcr v0.21.9 wrote for the same file (its diff id), byte for byte, and is a gzip
/// Docker layer even on an OCI base; live against ggcr's crane when it is there, the
/// configs are byte-identical too.
#[test]
fn append_onto_a_windows_base_matches_ggcr() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let (docker, oci) = windows_bases(&crane, &host);
    let theirs = ggcr_crane();
    for name in ["layer", "l2", "l3"] {
        let file = windows_vector(&format!("{name}.tar"));
        let expected =
            fs_err::read(windows_vector(&format!("{name}.windows.tar"))).expect("vector");
        let diff_id = ocireg_v1::sha256(&expected).to_string();
        for base in [&docker, &oci] {
            let dst = format!("{host}/win/o-{name}:1");
            run(&crane, &["append", "-b", base, "-f", s(&file), "-t", &dst]).ok();
            let config = run(&crane, &["config", &dst]).ok().to_owned();
            let parsed = json_of(&config);
            let diff_ids = parsed["rootfs"]["diff_ids"].as_array().expect("diff ids");
            assert_eq!(diff_ids.len(), 2, "{config}");
            assert_eq!(diff_ids[1], diff_id.as_str(), "{name} on {base}");
            assert_eq!(parsed["history"].as_array().map(Vec::len), Some(2));
            let manifest = json_of(run(&crane, &["manifest", &dst]).ok());
            assert_eq!(
                manifest["layers"][1]["mediaType"],
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "{name} on {base}: {manifest}"
            );
            // The gzip holds that tar. (Not `validate`: it refuses the second `Files`
            // entry that ggcr writes for a tar starting with `./`.)
            let digest = manifest["layers"][1]["digest"].as_str().expect("digest");
            let blob = crane.home().join("windows-layer.gz");
            run(
                &crane,
                &[
                    "blob",
                    &format!("{host}/win/o-{name}@{digest}"),
                    "-o",
                    s(&blob),
                ],
            )
            .ok();
            let gunzip = Command::new("gzip")
                .args(["-dc", s(&blob)])
                .output()
                .expect("gzip");
            assert!(gunzip.status.success(), "{gunzip:?}");
            assert!(
                gunzip.stdout == expected,
                "{name} on {base}: the gzip holds another tar"
            );
            let Some(theirs) = &theirs else { continue };
            let g = format!("{host}/win/g-{name}:1");
            ggcr(
                &crane,
                theirs,
                &["append", "-b", base, "-f", s(&file), "-t", &g],
            );
            assert_eq!(
                ggcr(&crane, theirs, &["config", &g]),
                config,
                "{name} on {base}"
            );
            let their_manifest = json_of(&ggcr(&crane, theirs, &["manifest", &g]));
            for key in ["mediaType", "size"] {
                assert_eq!(their_manifest["config"][key], manifest["config"][key]);
            }
            assert_eq!(
                their_manifest["layers"][1]["mediaType"],
                manifest["layers"][1]["mediaType"]
            );
        }
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

/// `append` onto a Windows base of a tar already laid out for Windows is refused, naming
/// the file, as in ggcr.
#[test]
fn append_onto_a_windows_base_refuses_a_tar_already_under_files() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let (docker, _) = windows_bases(&crane, &host);
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.tar");
    let mut tar = fs_err::read(windows_vector("l3.windows.tar")).expect("vector");
    tar.truncate(tar.len() - 1024);
    fs_err::write(&bad, &tar).expect("write");
    let out = run(
        &crane,
        &[
            "append",
            "-b",
            &docker,
            "-f",
            s(&bad),
            "-t",
            &format!("{host}/win/bad:1"),
        ],
    );
    let err = out.failed_with(1);
    assert!(
        err.contains("for Windows") && err.contains("bad.tar"),
        "{out:?}"
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}

/// `mutate --append` onto a Windows image rewrites the layer too (ggcr's `mutate` appends
/// through `crane.Append`).
#[test]
fn mutate_append_onto_a_windows_image_rewrites_the_layer() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let (docker, _) = windows_bases(&crane, &host);
    let expected = fs_err::read(windows_vector("l3.windows.tar")).expect("vector");
    let dst = format!("{host}/win/mutated:1");
    run(
        &crane,
        &[
            "mutate",
            &docker,
            "--append",
            s(&windows_vector("l3.tar")),
            "-t",
            &dst,
        ],
    )
    .ok();
    let config = json_of(run(&crane, &["config", &dst]).ok());
    assert_eq!(
        config["rootfs"]["diff_ids"][1],
        ocireg_v1::sha256(&expected).to_string().as_str(),
        "{config}"
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}
