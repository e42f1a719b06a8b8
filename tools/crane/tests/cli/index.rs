//! `index list|filter|append`, `validate`, `edit` and `pull --format oci` against the
//! embedded registry, checked byte for byte against ggcr v0.21.9's outputs
//! (`testdata/golden/`) and, where its binary is at hand, against ggcr's crane itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use ocireg_name::Reference;
use ocireg_registry::{Registry, RunningRegistry};
use ocireg_v1::{MediaType, StaticLayer};

use crate::support::{Crane, runtime};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/golden/f1-index-append")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    fs_err::read(golden(name)).expect("golden file")
}

fn remote_options() -> ocireg_remote::Options {
    ocireg_remote::Options::builder()
        .auth(Arc::new(ocireg_authn::Anonymous))
        .build()
        .expect("remote options")
}

/// The embedded registry holding ggcr's two single-platform images of case f1 at
/// `golden/plat-amd64:1` and `golden/plat-arm64:1`, byte for byte.
pub(crate) fn seeded(rt: &tokio::runtime::Runtime) -> RunningRegistry {
    rt.block_on(async {
        let server = Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn");
        seed(&server.host()).await;
        server
    })
}

/// Pushes ggcr's two single-platform images of case f1 to the registry at `host`, at
/// `golden/plat-amd64:1` and `golden/plat-arm64:1`, byte for byte.
async fn seed(host: &str) {
    let opts = remote_options();
    for arch in ["amd64", "arm64"] {
        let at: Reference = format!("{host}/golden/plat-{arch}:1").parse().expect("ref");
        let repo = at.repository().clone();
        let mut blobs = vec![read(&format!("plat-{arch}.config.json"))];
        for entry in fs_err::read_dir(golden("blobs")).expect("blobs") {
            blobs.push(fs_err::read(entry.expect("entry").path()).expect("blob"));
        }
        for blob in blobs {
            let layer = Arc::new(StaticLayer::new(Bytes::from(blob), MediaType::DockerLayer));
            ocireg_remote::write_layer(&repo, layer, &opts)
                .await
                .expect("seed blob");
        }
        let raw = ocireg_remote::RawManifest::new(
            read(&format!("plat-{arch}.manifest.json")),
            MediaType::DockerManifestSchema2,
        );
        ocireg_remote::put(&at, &raw, &opts)
            .await
            .expect("seed manifest");
    }
}

/// The index and edit commands against real distribution: the same bytes as against the
/// embedded registry.
#[test]
fn index_validate_and_edit_against_distribution() {
    let rt = runtime();
    let d = rt
        .block_on(ocireg_testsupport::Distribution::start())
        .expect("distribution");
    let host = d.host().to_owned();
    rt.block_on(seed(&host));
    let crane = Crane::new();
    let amd = format!("{host}/golden/plat-amd64:1");
    let arm = format!("{host}/golden/plat-arm64:1");
    let tag = format!("{host}/golden/index:1");
    let want_stdout = String::from_utf8(read("stdout"))
        .expect("utf-8")
        .replace("127.0.0.1:5055", &host);
    assert_eq!(
        crane
            .run(&["index", "append", "-m", &amd, "-m", &arm, "-t", &tag])
            .ok(),
        want_stdout
    );
    assert_eq!(
        crane.run(&["manifest", &tag]).ok().as_bytes(),
        read("manifest.json")
    );
    assert_eq!(
        crane.run(&["index", "list", &tag]).ok().as_bytes(),
        read("index-list.txt")
    );
    let slim = format!("{host}/golden/index:arm");
    crane
        .run(&[
            "index",
            "filter",
            &tag,
            "--platform",
            "linux/arm64",
            "-t",
            &slim,
        ])
        .ok();
    assert_eq!(crane.run(&["index", "list", &slim]).ok().lines().count(), 2);
    assert_eq!(
        crane.run(&["validate", "--remote", &tag]).ok(),
        format!("PASS: {tag}\n")
    );
    let manifest = crane.run(&["manifest", &amd]).ok().to_owned();
    let annotated = manifest.replacen('{', "{\"annotations\":{\"a\":\"b\"},", 1);
    let edited = format!("{host}/golden/plat-amd64:annotated");
    run_with_stdin(
        &crane,
        None,
        &["edit", "manifest", &amd, "-t", &edited],
        annotated.as_bytes(),
    );
    assert_eq!(crane.run(&["manifest", &edited]).ok(), annotated);
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one index taken through append, list, filter and append again, in order"
)]
fn index_append_writes_the_index_ggcr_writes() {
    let rt = runtime();
    let server = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let amd = format!("{host}/golden/plat-amd64:1");
    let arm = format!("{host}/golden/plat-arm64:1");
    let tag = format!("{host}/golden/index:1");
    let run = crane.run(&["index", "append", "-m", &amd, "-m", &arm, "-t", &tag]);
    let manifest = crane.run(&["manifest", &tag]);
    assert_eq!(
        manifest.ok(),
        String::from_utf8(read("manifest.json")).expect("utf-8")
    );
    let want_stdout = String::from_utf8(read("stdout"))
        .expect("utf-8")
        .replace("127.0.0.1:5055", &host);
    assert_eq!(run.ok(), want_stdout);
    assert!(
        run.stderr.contains("base unspecified, using empty index"),
        "{}",
        run.stderr
    );

    // `index list` prints ggcr's table for it.
    let list = crane.run(&["index", "list", &tag]);
    assert_eq!(
        list.ok().as_bytes(),
        read("index-list.txt"),
        "{}",
        list.stdout
    );

    // Filtering keeps what satisfies a platform; several platforms as ggcr takes them.
    let slim = format!("{host}/golden/index:amd");
    let filtered = crane.run(&[
        "index",
        "filter",
        &tag,
        "--platform",
        "linux/amd64",
        "-t",
        &slim,
    ]);
    let pushed = filtered.ok().trim().to_owned();
    assert!(
        pushed.starts_with(&format!("{host}/golden/index@sha256:")),
        "{pushed}"
    );
    let list = crane.run(&["index", "list", &slim]);
    let lines: Vec<&str> = list.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].ends_with(" linux/amd64"), "{lines:?}");
    let both = crane.run(&[
        "index",
        "filter",
        &tag,
        "--platform",
        "linux/amd64",
        "--platform",
        "linux/arm64",
        "-t",
        &slim,
    ]);
    assert_eq!(
        both.ok(),
        want_stdout,
        "keeping every child gives back the same index"
    );
    // Two platforms anywhere else is a usage error.
    let run = crane.run(&["manifest", &tag, "--platform", "linux/amd64,linux/arm64"]);
    assert!(
        run.failed_with(2)
            .contains("only `crane index filter` takes several platforms")
    );

    // Appending in place onto an existing index, and to an OCI image layout path.
    let layout = crane.home().join("layout");
    let layout = layout.to_str().expect("utf-8");
    crane
        .run(&["index", "append", layout, "-m", &amd, "-m", &arm])
        .ok();
    let list = crane.run(&["index", "list", layout]);
    let want_rows: Vec<String> = String::from_utf8(read("index-list.txt"))
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect();
    let got_rows: Vec<&str> = list.ok().lines().collect();
    assert_eq!(got_rows, want_rows, "a layout lists as ggcr's index");
    crane
        .run(&[
            "validate",
            "--remote",
            &format!("ocidir://{layout}@{}", &want_rows[1][..71]),
        ])
        .ok();

    // Filter and append work on an index in a layout too, in place.
    let dir = crane.home().join("ocidir");
    let idx = format!("ocidir://{}:idx", dir.to_str().expect("utf-8"));
    crane.run(&["copy", &tag, &idx]).ok();
    let filtered = crane
        .run(&["index", "filter", &idx, "--platform", "linux/arm64"])
        .ok()
        .to_owned();
    assert!(
        filtered.starts_with(&format!("ocidir://{}@sha256:", dir.display())),
        "{filtered}"
    );
    let list = crane.run(&["index", "list", &idx]);
    let rows: Vec<&str> = list.ok().lines().collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[1].ends_with(" linux/arm64"), "{rows:?}");
    crane.run(&["index", "append", &idx, "-m", &amd]).ok();
    let list = crane.run(&["index", "list", &idx]);
    assert_eq!(list.ok().lines().count(), 3, "{}", list.stdout);
}

#[test]
fn validate_passes_good_images_and_fails_broken_ones() {
    let rt = runtime();
    let server = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let amd = format!("{host}/golden/plat-amd64:1");
    let run = crane.run(&["validate", "--remote", &amd]);
    assert_eq!(run.ok(), format!("PASS: {amd}\n"));
    let run = crane.run(&["validate", "--fast", "--remote", &amd]);
    assert_eq!(run.ok(), format!("PASS: {amd}\n"));

    // A manifest whose config is not in the registry fails, naming it.
    let broken = format!("{host}/golden/plat-amd64:broken");
    rt.block_on(async {
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&read("plat-amd64.manifest.json")).expect("json");
        manifest["config"]["size"] = 244.into();
        let raw = ocireg_remote::RawManifest::new(
            serde_json::to_vec(&manifest).expect("json"),
            MediaType::DockerManifestSchema2,
        );
        let at: Reference = broken.parse().expect("ref");
        ocireg_remote::put(&at, &raw, &remote_options())
            .await
            .expect("put");
    });
    let run = crane.run(&["validate", "--remote", &broken]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(&format!("FAIL: {broken}: ")),
        "{run:?}"
    );
    assert!(run.stdout.contains("the descriptor says 244"), "{run:?}");
    assert!(run.stderr.starts_with("Error: validating"), "{run:?}");

    // A tarball ggcr's way: pull one, validate it, then cut it short.
    let tar = crane.home().join("img.tar");
    let tar = tar.to_str().expect("utf-8");
    crane.run(&["pull", &amd, tar]).ok();
    assert_eq!(
        crane.run(&["validate", "--tarball", tar]).ok(),
        format!("PASS: {tar}\n")
    );
}

/// ggcr v0.21.9's `crane pull --format oci` of golden case a1 (`testdata/golden/e3-pull-oci`):
/// the same `index.json` (an `artifactType` from the config's media type included),
/// `oci-layout` and blobs, byte for byte.
#[test]
fn pull_oci_writes_the_layout_ggcr_writes() {
    let want = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/golden/e3-pull-oci/out-oci");
    let blob = |hex: &str| fs_err::read(want.join("blobs/sha256").join(hex)).expect("blob");
    let index: serde_json::Value =
        serde_json::from_slice(&fs_err::read(want.join("index.json")).expect("index"))
            .expect("json");
    let manifest_hex = index["manifests"][0]["digest"]
        .as_str()
        .expect("digest")
        .trim_start_matches("sha256:")
        .to_owned();
    let rt = runtime();
    let server = rt.block_on(async {
        Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn")
    });
    let host = server.host();
    let at: Reference = format!("{host}/golden/append:1").parse().expect("ref");
    rt.block_on(async {
        let opts = remote_options();
        for entry in fs_err::read_dir(want.join("blobs/sha256")).expect("blobs") {
            let entry = entry.expect("entry");
            if entry.file_name().to_str() == Some(manifest_hex.as_str()) {
                continue;
            }
            let bytes = Bytes::from(fs_err::read(entry.path()).expect("blob"));
            let layer = Arc::new(StaticLayer::new(bytes, MediaType::DockerLayer));
            ocireg_remote::write_layer(at.repository(), layer, &opts)
                .await
                .expect("seed blob");
        }
        let raw =
            ocireg_remote::RawManifest::new(blob(&manifest_hex), MediaType::DockerManifestSchema2);
        ocireg_remote::put(&at, &raw, &opts)
            .await
            .expect("seed manifest");
    });
    let crane = Crane::new();
    let out = crane.home().join("out-oci");
    crane
        .run(&[
            "pull",
            "--format",
            "oci",
            &at.to_string(),
            out.to_str().expect("utf-8"),
        ])
        .ok();
    for file in ["index.json", "oci-layout"] {
        assert_eq!(
            String::from_utf8(fs_err::read(out.join(file)).expect("ours")).expect("utf-8"),
            String::from_utf8(fs_err::read(want.join(file)).expect("ggcr's")).expect("utf-8"),
            "{file}"
        );
    }
    for entry in fs_err::read_dir(want.join("blobs/sha256")).expect("blobs") {
        let entry = entry.expect("entry");
        let ours = fs_err::read(out.join("blobs/sha256").join(entry.file_name())).expect("blob");
        assert_eq!(ours, fs_err::read(entry.path()).expect("ggcr's"));
    }
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

/// Runs `crane` (ours, or ggcr's at `ggcr`) with `stdin`; returns stdout.
fn run_with_stdin(crane: &Crane, ggcr: Option<&str>, args: &[&str], stdin: &[u8]) -> String {
    use std::io::Write as _;
    let mut cmd = match ggcr {
        Some(path) => {
            let mut cmd = std::process::Command::new(path);
            crane.isolate(&mut cmd);
            cmd.args(args);
            cmd
        }
        None => crane.command(args),
    };
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("crane runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("stdin written");
    let out = child.wait_with_output().expect("crane ends");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `edit config` and `edit manifest` with the new bytes on stdin: pushed where ggcr's
/// crane pushes them, with the manifest ggcr writes, byte for byte.
#[test]
fn edit_from_stdin_writes_what_ggcr_writes() {
    let rt = runtime();
    let server = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let src = format!("{host}/golden/plat-amd64:1");
    let config = String::from_utf8(read("plat-amd64.config.json")).expect("utf-8");
    let edited_config = config.replace(
        "\"os\":\"linux\"",
        "\"os\":\"linux\",\"os.version\":\"edited\"",
    );
    assert_ne!(config, edited_config);
    let ours = format!("{host}/golden/plat-amd64:edited");
    let out = run_with_stdin(
        &crane,
        None,
        &["edit", "config", &src, "-t", &ours],
        edited_config.as_bytes(),
    );
    assert_eq!(out, format!("{ours}\n"));
    assert_eq!(crane.run(&["config", &ours]).ok(), edited_config);
    let manifest = crane.run(&["manifest", &ours]).ok().to_owned();
    assert!(
        manifest.contains(&format!("\"size\":{}", edited_config.len())),
        "{manifest}"
    );

    // A manifest edit keeps the bytes given, under the media type they declare.
    let annotated = manifest.replacen('{', "{\"annotations\":{\"a\":\"b\"},", 1);
    let tagged = format!("{host}/golden/plat-amd64:annotated");
    run_with_stdin(
        &crane,
        None,
        &["edit", "manifest", &ours, "-t", &tagged],
        annotated.as_bytes(),
    );
    assert_eq!(crane.run(&["manifest", &tagged]).ok(), annotated);

    // The same edits in an OCI image layout, in place.
    let dir = crane.home().join("edits");
    let in_layout = format!("ocidir://{}:x", dir.to_str().expect("utf-8"));
    crane.run(&["copy", &src, &in_layout]).ok();
    let out = run_with_stdin(
        &crane,
        None,
        &["edit", "config", &in_layout],
        edited_config.as_bytes(),
    );
    assert!(
        out.starts_with(&format!("ocidir://{}@sha256:", dir.display())),
        "{out}"
    );
    assert_eq!(crane.run(&["config", &in_layout]).ok(), edited_config);
    assert_eq!(
        crane.run(&["manifest", &in_layout]).ok(),
        manifest,
        "the same bytes as pushed"
    );
    run_with_stdin(
        &crane,
        None,
        &["edit", "manifest", &in_layout],
        annotated.as_bytes(),
    );
    assert_eq!(crane.run(&["manifest", &in_layout]).ok(), annotated);
    crane.run(&["validate", "--remote", &in_layout]).ok();

    let Some(ggcr) = ggcr_crane() else {
        return;
    };
    let theirs = format!("{host}/golden/plat-amd64:ggcr");
    run_with_stdin(
        &crane,
        Some(&ggcr),
        &["edit", "config", &src, "-t", &theirs],
        edited_config.as_bytes(),
    );
    assert_eq!(
        crane.run(&["manifest", &theirs]).ok(),
        manifest,
        "the manifest ggcr writes"
    );
}
