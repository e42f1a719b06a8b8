//! Images on disk (`ocidir://`, paths) where a command does not take them: a clear usage
//! error, never a DNS lookup of a "host" named after a directory. (`ocidir://` works with
//! `copy`, `manifest`, `digest`, `config`, `blob`, `ls`, `tag`, `delete`, `refs` and
//! `attach`: see `pull_push.rs` and `ocidir.rs`.)

use crate::support::Crane;

const NOT_HERE: &str = "images on disk (OCI image layouts) are not supported here";

#[test]
fn images_on_disk_are_refused_with_a_clear_usage_error() {
    let crane = Crane::new();
    let file = crane.home().join("file.txt");
    fs_err::write(&file, b"x").expect("write");
    let file = file.to_str().expect("utf-8").to_owned();
    let remote = "r.example/app:v1";
    for local in [
        "ocidir://dir:tag",
        "./dir",
        "/abs/path",
        "dir/",
        "../dir:v1",
    ] {
        let digest_ref = format!("{local}@sha256:{}", "0".repeat(64));
        let commands: Vec<Vec<&str>> = vec![
            vec!["manifest", local],
            vec!["digest", local],
            vec!["config", local],
            vec!["blob", &digest_ref],
            vec!["ls", local],
            vec!["tag", local, "v2"],
            vec!["delete", local],
            vec!["refs", local],
            vec!["copy", local, remote],
            vec!["copy", remote, local],
            vec!["copy", "--all-tags", local, "r.example/app"],
            vec!["attach", &file, "text/plain", "text/plain", local],
            vec!["auth", "token", local],
            vec!["catalog", local],
        ];
        for args in commands {
            if local.starts_with("ocidir://") && !["auth", "catalog"].contains(&args[0]) {
                continue;
            }
            if args[0] == "catalog" && !local.starts_with("ocidir://") {
                // A path is no host name either, but catalog takes a registry: its own error.
                continue;
            }
            let run = crane.run(&args);
            let stderr = run.failed_with(2);
            let line = stderr.lines().next().unwrap_or_default();
            assert!(
                line.starts_with("Error: ") && line.ends_with(NOT_HERE),
                "{args:?}: {stderr}"
            );
            assert!(!stderr.contains("--insecure"), "{args:?}: {stderr}");
            assert!(
                stderr.contains("\nhint: name an image on disk as ocidir://DIR[:TAG|@DIGEST]"),
                "{args:?}: {stderr}"
            );
        }
    }
}
