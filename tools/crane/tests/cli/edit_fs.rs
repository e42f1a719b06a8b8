//! `edit fs` (ggcr's hidden `crane edit fs`): a file of an image replaced or created by an
//! appended layer, against the embedded registry, CNCF distribution and `ocidir://`, and
//! live against ggcr's crane when `OCIREG_GGCR_CRANE` names it.

use std::path::Path;
use std::process::{Command, Stdio};

use ocireg_registry::{Registry, RunningRegistry};
use ocireg_testsupport::Distribution;

use crate::support::{Crane, runtime};

/// The diff id ggcr v0.21.9's `echo 'edited' | crane edit fs IMG -f etc/motd` appends
/// (checked with ggcr's crane): the tar of `etc/motd`, mode 0555, 0:0, the zero time.
const EDITED_MOTD_DIFF_ID: &str =
    "sha256:8b8b97e879fa680819c81e3dc05a3d718c5c1d90c39595fa58f395b7f2ce8c23";

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

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn sh(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("command runs");
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    out.stdout
}

/// A base layer (a tar made by GNU tar, its names starting with `./`): `etc/motd` (0644,
/// uid 7), the directory `etc/dir`, the symlink `etc/link`, `keep.txt`.
fn base_tar(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("root");
    fs_err::create_dir_all(root.join("etc/dir")).expect("mkdir");
    fs_err::write(root.join("etc/motd"), "old motd\n").expect("write");
    fs_err::write(root.join("keep.txt"), "kept\n").expect("write");
    fs_err::os::unix::fs::symlink("motd", root.join("etc/link")).expect("symlink");
    sh(Command::new("chmod").args(["0644", s(&root.join("etc/motd"))]));
    let tar = dir.join("base.tar");
    sh(Command::new("tar").args([
        "--numeric-owner",
        "--owner=7",
        "--group=0",
        "--mtime=@0",
        "--sort=name",
        "-cf",
        s(&tar),
        "-C",
        s(&root),
        ".",
    ]));
    tar
}

/// Pushes the base image to `at`.
fn push_base(crane: &Crane, dir: &Path, at: &str) {
    crane
        .run(&["append", "-f", s(&base_tar(dir)), "-t", at])
        .ok();
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("json")
}

/// The uncompressed bytes of the image's last layer.
fn last_layer(crane: &Crane, img: &str) -> Vec<u8> {
    let manifest = json(crane.run(&["manifest", img]).ok());
    let layers = manifest["layers"].as_array().expect("layers");
    let digest = layers.last().expect("a layer")["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    let repo = img.rsplit_once([':', '@']).map_or(img, |(r, _)| r);
    let repo = if repo.contains('/') { repo } else { img };
    let mut cmd = crane.command(&["blob", &format!("{repo}@{digest}")]);
    cmd.stdout(Stdio::piped());
    let blob = cmd.output().expect("crane blob");
    assert!(blob.status.success(), "{blob:?}");
    let mut gunzip = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    {
        use std::io::Write as _;
        let mut stdin = gunzip.stdin.take().expect("stdin");
        stdin.write_all(&blob.stdout).expect("write to gzip");
    }
    let out = gunzip.wait_with_output().expect("gzip");
    assert!(out.status.success());
    out.stdout
}

/// `tar -tv` of `tar` (the listing of one layer).
fn listing(dir: &Path, tar: &[u8]) -> String {
    let path = dir.join("layer.tar");
    fs_err::write(&path, tar).expect("write");
    String::from_utf8(sh(Command::new("tar").args([
        "--numeric-owner",
        "-tvf",
        s(&path),
    ])))
    .expect("utf-8")
}

/// The files of the image's flattened filesystem (`crane export`), extracted into `to`.
fn export(crane: &Crane, img: &str, to: &Path) {
    fs_err::create_dir_all(to).expect("mkdir");
    let out = to.with_extension("tar");
    crane.run(&["export", img, s(&out)]).ok();
    sh(Command::new("tar").args(["-xf", s(&out), "-C", s(to)]));
}

fn read(path: &Path) -> String {
    fs_err::read_to_string(path).expect("read")
}

/// Every check of an edit from stdin against the registry at `host`.
fn edits_against(host: &str) {
    let crane = Crane::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let base = format!("{host}/edit/fs:base");
    push_base(&crane, dir.path(), &base);
    let before = json(crane.run(&["config", &base]).ok());

    // An existing file, named with a leading slash, pushed to -t.
    let edited = format!("{host}/edit/fs:edited");
    let out = crane.run_with_stdin(
        &["edit", "fs", &base, "-f", "/etc/motd", "-t", &edited],
        "edited\n",
    );
    assert_eq!(out.ok(), format!("{edited}\n"));
    let config = json(crane.run(&["config", &edited]).ok());
    let diff_ids = config["rootfs"]["diff_ids"].as_array().expect("diff ids");
    assert_eq!(diff_ids.len(), 2);
    assert_eq!(diff_ids[0], before["rootfs"]["diff_ids"][0]);
    let layer = last_layer(&crane, &edited);
    assert_eq!(
        diff_ids[1].as_str(),
        Some(ocireg_v1::sha256(&layer).to_string().as_str())
    );
    // The bytes ggcr writes for the same edit (the name is cleaned: see the ggcr test).
    assert_eq!(diff_ids[1].as_str(), Some(EDITED_MOTD_DIFF_ID));
    assert_eq!(
        listing(dir.path(), &layer),
        "-r-xr-xr-x 0/0               7 1970-01-01 00:00 etc/motd\n"
    );
    let history = config["history"].as_array().expect("history");
    let last = history.last().expect("an entry");
    assert_eq!(last["author"], "crane");
    assert_eq!(last["created"], "0001-01-01T00:00:00Z");
    let created_by = last["created_by"].as_str().expect("created_by");
    assert!(
        created_by.ends_with(&format!(" edit fs {base} -f /etc/motd -t {edited}")),
        "{created_by}"
    );
    let manifest = json(crane.run(&["manifest", &edited]).ok());
    assert_eq!(
        manifest["layers"][1]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    let files = dir.path().join("edited");
    export(&crane, &edited, &files);
    assert_eq!(read(&files.join("etc/motd")), "edited\n");
    assert_eq!(read(&files.join("keep.txt")), "kept\n");
    assert!(files.join("etc/dir").is_dir());
    // The base is untouched.
    assert_eq!(json(crane.run(&["config", &base]).ok()), before);

    // A missing file is created; in place (no -t) the tag moves.
    let created = format!("{host}/edit/fs:created");
    crane.run(&["copy", &base, &created]).ok();
    let out = crane.run_with_stdin(&["edit", "fs", &created, "-f", "./new/file.txt"], "new\n");
    assert_eq!(out.ok(), format!("{created}\n"));
    let files = dir.path().join("created");
    export(&crane, &created, &files);
    assert_eq!(read(&files.join("new/file.txt")), "new\n");
    assert_eq!(read(&files.join("etc/motd")), "old motd\n");

    // By digest: pushed by the new digest.
    let digest = crane.run(&["digest", &base]).ok().trim().to_owned();
    let by_digest = format!("{host}/edit/fs@{digest}");
    let out = crane.run_with_stdin(&["edit", "fs", &by_digest, "-f", "etc/motd"], "x\n");
    let pushed = out.ok().trim().to_owned();
    let new_digest = crane.run(&["digest", &pushed]).ok().trim().to_owned();
    assert_eq!(pushed, format!("{host}/edit/fs@{new_digest}"));
    assert_ne!(new_digest, digest);

    // Refused: a directory, a symlink, a path under a file, a `..` element, a whiteout.
    for (file, says) in [
        (
            "etc/dir",
            "it is a directory: only a regular file can be edited",
        ),
        (
            "/etc",
            "it is a directory: only a regular file can be edited",
        ),
        (
            "etc/link",
            "it is a symbolic link: only a regular file can be edited",
        ),
        (
            "keep.txt/x",
            "its parent keep.txt is a regular file: a file can only be written under a directory",
        ),
        ("../etc/motd", "it has a .. element"),
        ("etc/.wh.motd", "a .wh. name is a whiteout, not a file"),
        ("/", "it names the root directory"),
    ] {
        let out = crane.run_with_stdin(&["edit", "fs", &base, "-f", file, "-t", &edited], "x");
        let line = out.failed_with(2).to_owned();
        assert!(line.contains(says), "{file}: {line}");
    }
    // More than 64 MiB is refused before anything is read or pushed.
    let big = "x".repeat(64 * 1024 * 1024 + 1);
    let out = crane.run_with_stdin(&["edit", "fs", &base, "-f", "big", "-t", &edited], &big);
    assert!(
        out.failed_with(2)
            .contains("larger than an edit may hold (64 MiB)"),
        "{out:?}"
    );
    // Nothing was pushed by the refusals.
    assert_eq!(
        json(crane.run(&["config", &edited]).ok())["rootfs"]["diff_ids"][1].as_str(),
        Some(EDITED_MOTD_DIFF_ID)
    );
}

#[test]
fn edit_fs_against_the_embedded_registry() {
    let rt = runtime();
    let server = ours(&rt);
    edits_against(&server.host());
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn edit_fs_against_distribution() {
    let rt = runtime();
    let d = rt.block_on(Distribution::start()).expect("distribution");
    edits_against(d.host());
}

#[test]
fn edit_fs_in_an_oci_layout() {
    let crane = Crane::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = dir.path().join("layout");
    let at = format!("ocidir://{}:v1", s(&layout));
    push_base(&crane, dir.path(), &at);
    let out = crane.run_with_stdin(&["edit", "fs", &at, "-f", "etc/motd"], "edited\n");
    let pushed = out.ok().trim().to_owned();
    assert!(
        pushed.starts_with(&format!("ocidir://{}@sha256:", s(&layout))),
        "{pushed}"
    );
    let config = json(crane.run(&["config", &at]).ok());
    assert_eq!(
        config["rootfs"]["diff_ids"][1].as_str(),
        Some(EDITED_MOTD_DIFF_ID)
    );
    let files = dir.path().join("files");
    export(&crane, &at, &files);
    assert_eq!(read(&files.join("etc/motd")), "edited\n");
    assert_eq!(read(&files.join("keep.txt")), "kept\n");
    // -t to another entry of the layout: v1 stays as it was.
    let v2 = format!("ocidir://{}:v2", s(&layout));
    crane
        .run_with_stdin(
            &["edit", "fs", &at, "-f", "keep.txt", "-t", &v2],
            "changed\n",
        )
        .ok();
    let files = dir.path().join("v2");
    export(&crane, &v2, &files);
    assert_eq!(read(&files.join("keep.txt")), "changed\n");
    assert_eq!(read(&files.join("etc/motd")), "edited\n");
    let files = dir.path().join("v1");
    export(&crane, &at, &files);
    assert_eq!(read(&files.join("keep.txt")), "kept\n");
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

/// Runs `program` as `crane ARGS` (the same argv[0] for both, as it lands in the
/// history) with `stdin`; returns stdout.
fn run_as_crane(crane: &Crane, program: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write as _;
    use std::os::unix::process::CommandExt as _;
    let mut cmd = Command::new(program);
    cmd.arg0("crane").args(args);
    crane.isolate(&mut cmd);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start crane");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("crane runs");
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The same edit by both cranes on the same base: the same stdout, the same new layer
/// (its uncompressed bytes: the gzip differs, Go's compressor is not ours) and the same
/// config, byte for byte (ggcr leaves `created` zero, so nothing in it depends on time).
/// A name without `./` or a leading `/` is used: ggcr writes the name as given, we write
/// it cleaned (`/etc/motd` as `etc/motd`).
#[test]
fn edit_fs_matches_ggcr() {
    let Some(theirs) = ggcr_crane() else {
        return;
    };
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let crane = Crane::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let base = format!("{host}/g/fs:base");
    push_base(&crane, dir.path(), &base);
    for file in ["etc/motd", "new/file.txt", "keep.txt"] {
        let mine = format!("{host}/g/fs:ours");
        let ggcr = format!("{host}/g/fs:ggcr");
        let ours_out = run_as_crane(
            &crane,
            env!("CARGO_BIN_EXE_crane"),
            &["edit", "fs", &base, "-f", file, "-t", &mine],
            "edited\n",
        );
        let ggcr_out = run_as_crane(
            &crane,
            &theirs,
            &["edit", "fs", &base, "-f", file, "-t", &ggcr],
            "edited\n",
        );
        assert_eq!(ours_out.replace(":ours", ":ggcr"), ggcr_out);
        assert_eq!(
            ocireg_v1::sha256(last_layer(&crane, &mine)),
            ocireg_v1::sha256(last_layer(&crane, &ggcr)),
            "{file}"
        );
        let config = |img: &str| crane.run(&["config", img]).ok().to_owned();
        let mine_config = config(&mine).replace(":ours", ":ggcr");
        assert_eq!(mine_config, config(&ggcr), "{file}");
        if file == "etc/motd" {
            assert_eq!(
                json(&mine_config)["rootfs"]["diff_ids"][1].as_str(),
                Some(EDITED_MOTD_DIFF_ID)
            );
        }
    }
    // The one difference: a leading `/` (or `./`) is written as given by ggcr, cleaned by us.
    let mine = format!("{host}/g/fs:ours-abs");
    let ggcr = format!("{host}/g/fs:ggcr-abs");
    for (program, to) in [
        (env!("CARGO_BIN_EXE_crane"), &mine),
        (theirs.as_str(), &ggcr),
    ] {
        let args = ["edit", "fs", &base, "-f", "/etc/motd", "-t", to];
        run_as_crane(&crane, program, &args, "edited\n");
    }
    assert!(last_layer(&crane, &mine).starts_with(b"etc/motd\0"));
    assert!(last_layer(&crane, &ggcr).starts_with(b"/etc/motd\0"));
    rt.block_on(server.shutdown()).expect("shutdown");
}

/// At a terminal the file goes through `$EDITOR` (a script here, run in a pseudo-terminal):
/// it is given the current content in a file named with the same extension, an existing
/// file keeps its header (mode 0644, uid 7), a missing one starts empty with ggcr's blank
/// header.
#[test]
fn edit_fs_in_the_editor_at_a_terminal() {
    let rt = runtime();
    let server = ours(&rt);
    let host = server.host();
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = dir.path().join("seen");
    let editor = dir.path().join("editor.sh");
    fs_err::write(
        &editor,
        format!(
            "#!/bin/sh\ncat \"$1\" > '{seen}'\necho \"$1\" > '{seen}.name'\nprintf 'from editor\\n' > \"$1\"\n",
            seen = s(&seen)
        ),
    )
    .expect("write");
    sh(Command::new("chmod").args(["0755", s(&editor)]));
    let crane = Crane::new().env("EDITOR", s(&editor));
    let base = format!("{host}/edit/tty:base");
    push_base(&crane, dir.path(), &base);
    let name = |p: &Path| read(&p.with_extension("name"));

    let edited = format!("{host}/edit/tty:edited");
    let term = crate::terminal::Terminal::start(
        &crane,
        &["edit", "fs", &base, "-f", "keep.txt", "-t", &edited],
    );
    let (code, transcript) = term.finish(std::time::Duration::from_secs(60));
    assert_eq!(code, 0, "{transcript}");
    assert!(transcript.contains(&edited), "{transcript}");
    assert_eq!(read(&seen), "kept\n");
    assert_eq!(
        Path::new(name(&seen).trim_end())
            .extension()
            .and_then(|e| e.to_str()),
        Some("txt")
    );
    let layer = last_layer(&crane, &edited);
    assert_eq!(
        listing(dir.path(), &layer),
        "-rw-r--r-- 7/0              12 1970-01-01 00:00 keep.txt\n"
    );
    let files = dir.path().join("tty");
    export(&crane, &edited, &files);
    assert_eq!(read(&files.join("keep.txt")), "from editor\n");

    let term = crate::terminal::Terminal::start(
        &crane,
        &["edit", "fs", &base, "-f", "/new.conf", "-t", &edited],
    );
    let (code, transcript) = term.finish(std::time::Duration::from_secs(60));
    assert_eq!(code, 0, "{transcript}");
    assert_eq!(read(&seen), "");
    assert_eq!(
        Path::new(name(&seen).trim_end())
            .extension()
            .and_then(|e| e.to_str()),
        Some("conf")
    );
    assert_eq!(
        listing(dir.path(), &last_layer(&crane, &edited)),
        "-r-xr-xr-x 0/0              12 1970-01-01 00:00 new.conf\n"
    );

    // A file whited out by a later layer is missing: the editor starts empty.
    let wh = dir.path().join("wh");
    fs_err::create_dir_all(wh.join("etc")).expect("mkdir");
    fs_err::write(wh.join("etc/.wh.motd"), "").expect("write");
    let wh_tar = dir.path().join("wh.tar");
    sh(Command::new("tar").args(["-cf", s(&wh_tar), "-C", s(&wh), "etc"]));
    let deleted = format!("{host}/edit/tty:deleted");
    crane
        .run(&["append", "-b", &base, "-f", s(&wh_tar), "-t", &deleted])
        .ok();
    let term =
        crate::terminal::Terminal::start(&crane, &["edit", "fs", &deleted, "-f", "etc/motd"]);
    let (code, transcript) = term.finish(std::time::Duration::from_secs(60));
    assert_eq!(code, 0, "{transcript}");
    assert_eq!(read(&seen), "");
    let files = dir.path().join("deleted");
    export(&crane, &deleted, &files);
    assert_eq!(read(&files.join("etc/motd")), "from editor\n");
    rt.block_on(server.shutdown()).expect("shutdown");
}
