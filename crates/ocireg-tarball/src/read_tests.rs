//! Hostile tarballs: every refusal names the member and the file.

use super::*;
use crate::write::{padding, ustar_header};

/// A raw tar of `(name, typeflag, link, body)` members, names written as given.
fn raw_tar(members: &[(&str, u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, link, body) in members {
        out.extend_from_slice(&ustar_header(name, body.len() as u64, *kind, link).expect("header"));
        out.extend_from_slice(body);
        out.resize(out.len() + padding(body.len() as u64), 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Writes `tar` to a file and opens it, then reads `manifest.json` and the only image.
fn open(tar: &[u8]) -> (tempfile::TempDir, PathBuf, Result<Arc<dyn Image>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hostile.tar");
    fs_err::write(&path, tar).expect("write");
    let got = rt().block_on(async {
        let t = Tarball::open(&path).await?;
        t.image(None).await
    });
    (dir, path, got)
}

fn expect_err(tar: &[u8], member: &str, words: &str) -> Error {
    let (_dir, path, got) = open(tar);
    let err = got.expect_err("a hostile tarball is refused");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "names the file: {text}"
    );
    assert!(text.contains(member), "names the member {member:?}: {text}");
    let chain = format!("{text}: {:?}", std::error::Error::source(&err));
    assert!(chain.contains(words), "says {words:?}: {chain}");
    err
}

#[test]
fn clean_follows_go_path_clean_and_refuses_escapes() {
    assert_eq!(clean("./a//b/./c/").as_deref(), Ok("a/b/c"));
    assert_eq!(clean("a/b/../c").as_deref(), Ok("a/c"));
    assert!(clean("../a").is_err());
    assert!(clean("a/../../b").is_err());
    assert!(clean("/etc/passwd").is_err());
}

#[test]
fn dot_dot_and_absolute_member_names_are_refused() {
    let err = expect_err(&raw_tar(&[("../evil", b'0', "", b"x")]), "../evil", "`..`");
    assert!(matches!(err, Error::BadMember { .. }), "{err:?}");
    let err = expect_err(
        &raw_tar(&[("/etc/evil", b'0', "", b"x")]),
        "/etc/evil",
        "absolute",
    );
    assert!(matches!(err, Error::BadMember { .. }), "{err:?}");
}

#[test]
fn duplicate_member_names_are_refused() {
    let tar = raw_tar(&[
        ("manifest.json", b'0', "", b"[]"),
        ("./manifest.json", b'0', "", b"[]"),
    ]);
    let err = expect_err(&tar, "manifest.json", "twice");
    assert!(matches!(err, Error::BadMember { .. }), "{err:?}");
}

#[test]
fn symlink_loops_are_refused() {
    let tar = raw_tar(&[
        ("manifest.json", b'2', "a", b""),
        ("a", b'2', "dir/../b", b""),
        ("b", b'2', "a", b""),
    ]);
    let err = expect_err(&tar, "manifest.json", "link loop");
    assert!(matches!(err, Error::BadMember { .. }), "{err:?}");
    // A link out of the archive is refused too.
    let tar = raw_tar(&[("manifest.json", b'2', "../../etc/passwd", b"")]);
    expect_err(&tar, "manifest.json", "climbs out");
}

#[test]
fn a_huge_manifest_json_is_not_read() {
    let big = vec![b' '; usize::try_from(MANIFEST_JSON_LIMIT).expect("fits") + 1];
    let err = expect_err(
        &raw_tar(&[("manifest.json", b'0', "", &big)]),
        "manifest.json",
        "TooLarge",
    );
    assert!(matches!(err, Error::Member { .. }), "{err:?}");
}

#[test]
fn a_member_running_past_the_end_is_refused() {
    let mut tar = raw_tar(&[("manifest.json", b'0', "", &[b' '; 2000])]);
    tar.truncate(1024);
    let (_dir, _path, got) = open(&tar);
    let err = got.expect_err("truncated");
    assert!(
        err.to_string().contains("manifest.json") || matches!(err, Error::Io { .. }),
        "{err}"
    );
}

#[test]
fn content_that_does_not_match_its_digest_is_refused() {
    // A config whose name is not its digest.
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let wrong = format!("sha256:{}", ocireg_v1::sha256(b"other").hex());
    let manifest = format!(r#"[{{"Config":"{wrong}","RepoTags":null,"Layers":[]}}]"#);
    let tar = raw_tar(&[
        (&wrong, b'0', "", config),
        ("manifest.json", b'0', "", manifest.as_bytes()),
    ]);
    expect_err(&tar, &wrong, "DigestMismatch");

    // A gzip layer under blobs/sha256/<hex> whose bytes are not that digest.
    let gz = [
        0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let diff_id = ocireg_v1::sha256(b"");
    let config = format!(r#"{{"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#);
    let config_name = format!("sha256:{}", ocireg_v1::sha256(config.as_bytes()).hex());
    let layer_name = format!("blobs/sha256/{}", ocireg_v1::sha256(b"not it").hex());
    let manifest =
        format!(r#"[{{"Config":"{config_name}","RepoTags":null,"Layers":["{layer_name}"]}}]"#);
    let tar = raw_tar(&[
        (&config_name, b'0', "", config.as_bytes()),
        (&layer_name, b'0', "", &gz),
        ("manifest.json", b'0', "", manifest.as_bytes()),
    ]);
    let (_dir, _path, got) = open(&tar);
    let img = got.expect("the image opens; its layers are hashed lazily");
    let err = rt()
        .block_on(img.raw_manifest())
        .expect_err("layer digest mismatch");
    let text = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(
        text.contains(&layer_name) && text.contains("DigestMismatch"),
        "{text}"
    );
}

#[test]
fn missing_members_and_bad_manifests_are_named() {
    let (_d, _p, got) = open(&raw_tar(&[("x", b'0', "", b"")]));
    assert!(matches!(got, Err(Error::NotFound { .. })), "{got:?}");
    let (_d, _p, got) = open(&raw_tar(&[("manifest.json", b'0', "", b"null")]));
    assert!(matches!(got, Err(Error::Manifest { .. })), "{got:?}");
    let (_d, _p, got) = open(&raw_tar(&[("manifest.json", b'0', "", b"{")]));
    assert!(matches!(got, Err(Error::Manifest { .. })), "{got:?}");
}

#[test]
fn a_config_that_does_not_match_the_layer_list_is_an_error_not_a_panic() {
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_name = format!("sha256:{}", ocireg_v1::sha256(config).hex());
    let manifest = format!(
        r#"[{{"Config":"{config_name}","RepoTags":["a.example/b:c"],"Layers":["l.tar"]}}]"#
    );
    let tar = raw_tar(&[
        (&config_name, b'0', "", config),
        ("l.tar", b'0', "", b"plain"),
        ("manifest.json", b'0', "", manifest.as_bytes()),
    ]);
    let (_dir, _path, got) = open(&tar);
    let err = got.expect_err("mismatch");
    assert!(matches!(err, Error::Manifest { .. }), "{err:?}");
    assert!(err.to_string().contains("0 diff ids"), "{err}");
}

#[test]
fn file_errors_name_the_path_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.tar");
    fs_err::write(&garbage, vec![b'x'; 1024]).expect("write");
    for (path, starts) in [
        (
            dir.path().join("missing.tar"),
            "opening the tarball: failed to open file `",
        ),
        (
            garbage,
            "reading tar headers: failed to read tar headers from `",
        ),
    ] {
        let Err(err) = rt().block_on(Tarball::open(&path)) else {
            panic!("{} is not a tarball", path.display());
        };
        assert!(
            matches!(&err, Error::Io { path: p, .. } if *p == path),
            "{err:?}"
        );
        let mut shown = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            shown = format!("{shown}: {c}");
            cause = c.source();
        }
        assert_eq!(
            shown.matches(&*path.display().to_string()).count(),
            1,
            "{shown}"
        );
        assert!(shown.starts_with(starts), "{shown}");
    }
}
