//! Unit tests of the Windows layer rewrite, and its bytes against ggcr's.

use std::io::Read as _;
use std::path::PathBuf;

use ocireg_v1::StaticLayer;

use super::*;

fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/windows")
        .join(name);
    fs_err::read(path).expect("test vector")
}

/// The rewrite of `input`, fed `chunk` bytes at a time.
fn rewrite(input: &[u8], chunk: usize) -> Result<Vec<u8>> {
    let mut r = Rewriter::new();
    let mut out = VecDeque::new();
    for c in input.chunks(chunk.max(1)) {
        r.feed(Bytes::copy_from_slice(c), &mut out)?;
    }
    r.finish(&mut out)?;
    Ok(out.into_iter().flat_map(|b| b.to_vec()).collect())
}

fn tar_of(build: impl FnOnce(&mut ::tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = ::tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().expect("tar")
}

fn header(kind: ::tar::EntryType, size: u64) -> ::tar::Header {
    let mut h = ::tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(1_600_000_000);
    h
}

/// An entry of the output: name, typeflag, mode, link name, PAX records, content.
type Listed = (String, u8, u32, String, Vec<(String, String)>, Vec<u8>);

fn list(tar: &[u8]) -> Vec<Listed> {
    let mut archive = ::tar::Archive::new(tar);
    let mut out = Vec::new();
    for e in archive.entries().expect("entries") {
        let mut e = e.expect("entry");
        let pax = e
            .pax_extensions()
            .expect("pax")
            .map(|exts| {
                exts.map(|x| {
                    let x = x.expect("record");
                    (
                        x.key().expect("key").to_owned(),
                        x.value().expect("value").to_owned(),
                    )
                })
                .collect()
            })
            .unwrap_or_default();
        let name = String::from_utf8(e.path_bytes().to_vec()).expect("utf-8");
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8(l.to_vec()).expect("utf-8"))
            .unwrap_or_default();
        let kind = e.header().entry_type().as_byte();
        let mode = e.header().mode().expect("mode");
        let mut content = Vec::new();
        e.read_to_end(&mut content).expect("content");
        out.push((name, kind, mode, link, pax, content));
    }
    out
}

fn rawsd() -> (String, String) {
    (RAWSD.to_owned(), USER_OWNER_AND_GROUP_SID.to_owned())
}

/// The vectors of testdata/windows: each `X.tar` appended by ggcr v0.21.9's
/// crane onto a Windows base gave the layer whose tar is `X.windows.tar`.
#[test]
fn matches_ggcr_byte_for_byte_in_any_chunking() {
    for name in ["layer", "l2", "l3"] {
        let input = testdata(&format!("{name}.tar"));
        let expected = testdata(&format!("{name}.windows.tar"));
        for chunk in [1, 7, 511, 512, 4096, input.len()] {
            let got = rewrite(&input, chunk).expect("rewrite");
            assert!(
                got == expected,
                "{name} in chunks of {chunk}: {} bytes, ggcr wrote {}",
                got.len(),
                expected.len()
            );
        }
    }
}

#[test]
fn files_and_hives_come_first_then_every_entry_under_files() {
    let tar = tar_of(|b| {
        let mut h = header(::tar::EntryType::Directory, 0);
        h.set_mode(0o755);
        b.append_data(&mut h, "./", &[][..]).expect("dir");
        let mut h = header(::tar::EntryType::Regular, 5);
        b.append_data(&mut h, "./app/run.exe", &b"hello"[..])
            .expect("file");
        let mut h = header(::tar::EntryType::Symlink, 0);
        b.append_link(&mut h, "app/sym", "run.exe")
            .expect("symlink");
        let mut h = header(::tar::EntryType::Link, 0);
        b.append_link(&mut h, "app/hard", "./app/run.exe")
            .expect("hard link");
    });
    let entries = list(&rewrite(&tar, 4096).expect("rewrite"));
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "Files",
            "Hives",
            "Files",
            "Files/app/run.exe",
            "Files/app/sym",
            "Files/app/hard"
        ]
    );
    // The two made-up directories: read-only, no records.
    for e in &entries[..2] {
        assert_eq!((e.1, e.2, e.4.len()), (b'5', 0o555, 0), "{e:?}");
    }
    // Every original entry keeps its mode and gets the security descriptor.
    for e in &entries[2..] {
        assert_eq!(e.4, [rawsd()], "{e:?}");
    }
    assert_eq!(entries[2].2, 0o755);
    assert_eq!(entries[3].5, b"hello");
    assert_eq!(entries[3].2, 0o644);
    // Link targets are kept as they were (ggcr does not rename them).
    assert_eq!((entries[4].1, entries[4].3.as_str()), (b'2', "run.exe"));
    assert_eq!(
        (entries[5].1, entries[5].3.as_str()),
        (b'1', "./app/run.exe")
    );
}

#[test]
fn absolute_names_and_other_records_are_kept_with_the_descriptor() {
    let tar = tar_of(|b| {
        let mut h = ::tar::Header::new_ustar();
        h.set_entry_type(::tar::EntryType::Regular);
        h.set_size(1);
        h.set_mode(0o600);
        b.append_pax_extensions([("SCHILY.xattr.user.k", &b"v"[..])])
            .expect("pax");
        // The tar crate refuses absolute names: write the field by hand.
        h.as_old_mut().name[..6].copy_from_slice(b"/abs/x");
        h.set_cksum();
        b.append(&h, &b"x"[..]).expect("file");
    });
    let entries = list(&rewrite(&tar, 100).expect("rewrite"));
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2].0, "Files/abs/x");
    assert_eq!(
        entries[2].4,
        [rawsd(), ("SCHILY.xattr.user.k".to_owned(), "v".to_owned())]
    );
}

#[test]
fn names_already_under_files_or_leaving_it_are_refused() {
    for name in ["Files/x", "../x", "a/../../x"] {
        let tar = tar_of(|b| {
            let mut h = header(::tar::EntryType::Regular, 0);
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, &[][..]).expect("entry");
        });
        let err = rewrite(&tar, 512).expect_err(name);
        assert!(
            matches!(&err, Error::UnsafePath { path, .. } if path == name),
            "{name}: {err:?}"
        );
    }
    // `Files` alone, or `./Files/x`, is not refused (nor is it by ggcr): it goes under Files/.
    for (name, renamed) in [("Files", "Files/Files"), ("./Files/x", "Files/Files/x")] {
        let tar = tar_of(|b| {
            let mut h = header(::tar::EntryType::Regular, 0);
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, &[][..]).expect("entry");
        });
        let entries = list(&rewrite(&tar, 512).expect(name));
        assert_eq!(entries[2].0, renamed, "{name}");
    }
}

#[test]
fn a_truncated_or_empty_input() {
    let input = testdata("layer.tar");
    let err = rewrite(&input[..1000], 512).expect_err("truncated");
    assert!(matches!(err, Error::Tar { .. }), "{err:?}");
    // An empty tar still gets its two directories.
    let out = rewrite(&[], 512).expect("empty");
    let names: Vec<String> = list(&out).into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["Files", "Hives"]);
    assert_eq!(out.len(), 4 * 512);
}

#[test]
fn the_layer_is_a_docker_gzip_layer_with_ggcr_diff_id() {
    futures_executor::block_on(async {
        let input = testdata("l2.tar");
        let expected = testdata("l2.windows.tar");
        let layer: Arc<dyn Layer> =
            Arc::new(StaticLayer::new(input, MediaType::OciUncompressedLayer));
        let win = windows(layer);
        assert_eq!(
            win.media_type().await.expect("media type"),
            MediaType::DockerLayer
        );
        assert_eq!(
            win.diff_id().await.expect("diff id"),
            ocireg_v1::sha256(&expected)
        );
        // The compressed form is the same tar, gzipped.
        let gz = win
            .compressed()
            .await
            .expect("compressed")
            .read_to_end(1 << 20)
            .await
            .expect("read");
        assert_eq!(ocireg_v1::sha256(&gz), win.digest().await.expect("digest"));
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut tar)
            .expect("gunzip");
        assert!(tar == expected, "the gzip holds the rewritten tar");
        // Read twice: the same bytes, now verified against the diff id.
        let again = win
            .uncompressed()
            .await
            .expect("uncompressed")
            .read_to_end(1 << 20)
            .await
            .expect("read");
        assert!(again == expected);
    });
}

#[test]
fn a_bad_tar_fails_the_layer_read() {
    futures_executor::block_on(async {
        let layer: Arc<dyn Layer> = Arc::new(StaticLayer::new(
            vec![1u8; 1024],
            MediaType::DockerUncompressedLayer,
        ));
        let err = windows(layer).diff_id().await.expect_err("not a tar");
        assert!(format!("{err:?}").contains("checksum"), "{err:?}");
    });
}
