//! Tar safety of `extract` (docs: reliability.md §4 F): hostile names, links,
//! whiteouts in any order, special files, long names, bombs, garbage, lies.

use std::sync::Arc;

use bytes::Bytes;
use futures_executor::block_on;
use ocireg_v1::partial::{CompressedLayer, CompressedToLayer};
use ocireg_v1::{Blob, Digest, Image, Layer, MediaType, StaticLayer, async_trait, empty};

use crate::tar::{self, Entry, Event, Reader};

fn entry(name: &str, typeflag: u8) -> Entry {
    Entry {
        name: name.to_owned(),
        typeflag,
        mode: if typeflag == tar::DIR { 0o755 } else { 0o644 },
        ..Entry::default()
    }
}

fn with_body(mut e: Entry, body: &[u8]) -> Vec<u8> {
    e.size = body.len() as u64;
    let mut out = tar::header_blocks(&e).to_vec();
    out.extend_from_slice(body);
    out.resize(out.len() + tar::padding(body.len() as u64), 0);
    out
}

fn file(name: &str, body: &str) -> Vec<u8> {
    with_body(entry(name, tar::REG), body.as_bytes())
}

fn dir(name: &str) -> Vec<u8> {
    with_body(entry(name, tar::DIR), b"")
}

fn link(name: &str, typeflag: u8, target: &str) -> Vec<u8> {
    let mut e = entry(name, typeflag);
    e.link = target.to_owned();
    with_body(e, b"")
}

fn tar_of(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = parts.concat();
    out.extend_from_slice(&tar::end_of_archive());
    out
}

fn layer(tar: Vec<u8>) -> Arc<dyn Layer> {
    Arc::new(StaticLayer::new(tar, MediaType::OciUncompressedLayer))
}

fn image(layers: Vec<Vec<u8>>) -> Arc<dyn Image> {
    crate::append_layers(empty::image(), layers.into_iter().map(layer))
}

/// What extract wrote: (name, typeflag, link, content) per entry.
type Listing = Vec<(String, u8, String, Vec<u8>)>;

fn parse(tar: &[u8]) -> Listing {
    let mut r = Reader::new();
    let mut events = Vec::new();
    r.feed(Bytes::copy_from_slice(tar), &mut events)
        .expect("our output is a tar");
    r.finish().expect("complete");
    let mut out: Listing = Vec::new();
    for e in events {
        match e {
            Event::Entry(e) => out.push((e.name.clone(), e.typeflag, e.link.clone(), Vec::new())),
            Event::Data(d) => out.last_mut().expect("entry").3.extend_from_slice(&d),
        }
    }
    out
}

fn extract(img: Arc<dyn Image>) -> ocireg_v1::Result<Listing> {
    let tar = block_on(crate::extract(img).read_to_end(1 << 30))?;
    // Other readers read it too.
    let mut archive = ::tar::Archive::new(&tar[..]);
    for e in archive.entries().expect("tar crate reads it") {
        e.expect("tar crate reads each entry");
    }
    Ok(parse(&tar))
}

fn names(listing: &Listing) -> Vec<&str> {
    let mut n: Vec<&str> = listing.iter().map(|e| e.0.as_str()).collect();
    n.sort_unstable();
    n
}

fn err_text(e: &ocireg_v1::Error) -> String {
    let mut text = format!("{e} / {e:?}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text} / {s}");
        source = s.source();
    }
    text
}

#[test]
fn traversal_is_refused_and_names_are_cleaned() {
    for bad in [
        "../etc/passwd",
        "a/../../x",
        "..",
        "\\evil",
        "C:\\x",
        "c:/x",
    ] {
        let err = extract(image(vec![tar_of(&[file(bad, "x")])])).expect_err(bad);
        assert!(
            err_text(&err).contains("unsafe path"),
            "{bad}: {}",
            err_text(&err)
        );
    }
    let got = extract(image(vec![tar_of(&[
        file("/etc/passwd", "root"),
        file("./a//b/./c", "c"),
        dir("./"),
        file("x/../y", "y"),
    ])]))
    .expect("extract");
    assert_eq!(names(&got), [".", "a/b/c", "etc/passwd", "y"]);
}

#[test]
fn links_out_of_the_root_are_dropped() {
    let got = extract(image(vec![tar_of(&[
        link("a/escape", tar::SYMLINK, "../../etc"),
        link("a/inside", tar::SYMLINK, "../b"),
        link("a/absolute", tar::SYMLINK, "/etc/passwd"),
        file("b", "b"),
        link("hard-escape", tar::LINK, "../x"),
        link("hard-abs", tar::LINK, "/b"),
        link("hard-ok", tar::LINK, "./b"),
    ])]))
    .expect("extract");
    assert_eq!(
        names(&got),
        ["a/absolute", "a/inside", "b", "hard-abs", "hard-ok"]
    );
    let target = |n: &str| got.iter().find(|e| e.0 == n).map(|e| e.2.clone());
    assert_eq!(target("a/absolute").as_deref(), Some("/etc/passwd"));
    assert_eq!(target("hard-abs").as_deref(), Some("b"));
    assert_eq!(target("hard-ok").as_deref(), Some("b"));
}

#[test]
fn whiteouts_hide_lower_layers_in_any_order() {
    let lower = tar_of(&[
        dir("a"),
        file("a/old", "old"),
        file("a/keep", "keep"),
        dir("d"),
        file("d/x", "x"),
        file("top", "lower"),
    ]);
    let upper_parts = [
        file("a/.wh.old", ""),
        file(".wh.d", ""),
        file("top", "upper"),
        file("a/new", "new"),
    ];
    let mut expected = None;
    // Every rotation of the upper layer's entries gives the same filesystem.
    for r in 0..upper_parts.len() {
        let mut parts = upper_parts.to_vec();
        parts.rotate_left(r);
        let got = extract(image(vec![lower.clone(), tar_of(&parts)])).expect("extract");
        let mut listing: Vec<(String, Vec<u8>)> = got.into_iter().map(|e| (e.0, e.3)).collect();
        listing.sort();
        assert_eq!(
            listing.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            ["a", "a/keep", "a/new", "top"]
        );
        assert_eq!(listing[3].1, b"upper", "the upper layer wins");
        match &expected {
            None => expected = Some(listing),
            Some(e) => assert_eq!(e, &listing, "rotation {r}"),
        }
    }
}

#[test]
fn opaque_directories_hide_lower_content_in_any_order() {
    let lower = tar_of(&[
        dir("dir"),
        file("dir/a", "a"),
        dir("dir/sub"),
        file("dir/sub/b", "b"),
        file("other", "o"),
    ]);
    for upper in [
        tar_of(&[dir("dir"), file("dir/.wh..wh..opq", ""), file("dir/c", "c")]),
        tar_of(&[file("dir/c", "c"), file("dir/.wh..wh..opq", ""), dir("dir")]),
    ] {
        let got = extract(image(vec![lower.clone(), upper])).expect("extract");
        assert_eq!(names(&got), ["dir", "dir/c", "other"]);
    }
    // At the root.
    let got = extract(image(vec![
        lower,
        tar_of(&[file(".wh..wh..opq", ""), file("new", "n")]),
    ]))
    .expect("extract");
    assert_eq!(names(&got), ["new"]);
}

#[test]
fn a_directory_whited_out_and_recreated_keeps_only_its_new_content() {
    let lower = tar_of(&[dir("d"), file("d/old", "old")]);
    for upper in [
        tar_of(&[file(".wh.d", ""), dir("d"), file("d/new", "new")]),
        tar_of(&[dir("d"), file("d/new", "new"), file(".wh.d", "")]),
    ] {
        let got = extract(image(vec![lower.clone(), upper])).expect("extract");
        assert_eq!(names(&got), ["d", "d/new"]);
    }
    // A file over a lower directory hides the directory's content.
    let got = extract(image(vec![lower, tar_of(&[file("d", "now a file")])])).expect("extract");
    assert_eq!(names(&got), ["d"]);
    assert_eq!(got[0].3, b"now a file");
}

#[test]
fn devices_and_fifos_pass_as_headers_only() {
    let mut chr = entry("dev/null", tar::CHAR);
    chr.devmajor = 1;
    chr.devminor = 3;
    let parts = [
        with_body(chr, b""),
        with_body(entry("dev/sda", tar::BLOCK_DEV), b""),
        with_body(entry("run/fifo", tar::FIFO), b""),
        file("after", "still read"),
    ];
    let img = image(vec![tar_of(&parts)]);
    let tar = block_on(crate::extract(img).read_to_end(1 << 20)).expect("extract");
    let mut r = Reader::new();
    let mut events = Vec::new();
    r.feed(tar, &mut events).expect("tar");
    let entries: Vec<Entry> = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Entry(e) => Some(*e),
            Event::Data(_) => None,
        })
        .collect();
    assert_eq!(entries.len(), 4);
    assert_eq!(
        (
            entries[0].typeflag,
            entries[0].devmajor,
            entries[0].devminor
        ),
        (tar::CHAR, 1, 3)
    );
    assert_eq!(entries[2].typeflag, tar::FIFO);
    assert!(entries[..3].iter().all(|e| e.size == 0));
}

#[test]
fn long_names_and_pax_records_survive() {
    let long = format!("{}/file", "deep".repeat(60));
    let mut e = entry("ünïcødé", tar::REG);
    e.pax.insert("SCHILY.xattr.user.k".into(), "v".into());
    let got =
        extract(image(vec![tar_of(&[file(&long, "l"), with_body(e, b"u")])])).expect("extract");
    assert_eq!(names(&got), [long.as_str(), "ünïcødé"]);
    // PAX differs from ustar on the size: the PAX record wins, as in Go.
    let mut big = entry("sized", tar::REG);
    big.pax.insert("comment".into(), "x".into());
    let mut bytes = with_body(big, b"0123456789");
    // A PAX size record saying 10 where the ustar field says 10 too: consistent.
    bytes.extend_from_slice(&tar::end_of_archive());
    let got = extract(image(vec![bytes])).expect("extract");
    assert_eq!(got[0].3, b"0123456789");
}

/// A gzip layer known only compressed.
#[derive(Debug)]
struct Gz(Bytes);

#[async_trait]
impl CompressedLayer for Gz {
    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        Ok(ocireg_v1::sha256(&self.0))
    }
    async fn size(&self) -> ocireg_v1::Result<u64> {
        Ok(self.0.len() as u64)
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::OciLayer)
    }
    async fn compressed(&self) -> ocireg_v1::Result<Blob> {
        Ok(Blob::from_bytes(self.0.clone()))
    }
}

#[test]
fn a_gzip_bomb_streams_in_bounded_chunks() {
    use futures_util::StreamExt as _;
    use std::io::Write as _;
    const SIZE: usize = 64 << 20;
    let mut tar = tar::header_blocks(&Entry {
        size: SIZE as u64,
        ..entry("zeros", tar::REG)
    })
    .to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).expect("gz");
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..(SIZE >> 20) {
        gz.write_all(&zeros).expect("gz");
    }
    gz.write_all(&tar::end_of_archive()).expect("gz");
    tar.clear();
    let gz = gz.finish().expect("gz");
    assert!(gz.len() < SIZE / 500, "a bomb: {} bytes", gz.len());
    let layer: Arc<dyn Layer> = Arc::new(CompressedToLayer::new(Gz(Bytes::from(gz))));
    let img = crate::append_layers(empty::image(), [layer]);
    let mut stream = crate::extract(img);
    let (mut total, mut largest) = (0usize, 0usize);
    block_on(async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.expect("chunk");
            total += chunk.len();
            largest = largest.max(chunk.len());
        }
    });
    assert_eq!(total, 512 + SIZE + 1024);
    assert!(largest <= 1 << 20, "no chunk holds much: largest {largest}");
}

#[test]
fn garbage_after_the_end_marker_is_read_and_hashed() {
    let mut t = tar_of(&[file("f", "x")]);
    t.extend_from_slice(b"trailing garbage that is part of the blob");
    let img = image(vec![t]);
    // The config's diff id covers the garbage: the whole blob was read.
    let got = extract(img).expect("extract");
    assert_eq!(names(&got), ["f"]);
}

#[test]
fn random_bytes_as_a_layer_are_an_error() {
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    let err = extract(image(vec![noise])).expect_err("not a tar");
    assert!(
        err_text(&err).contains("invalid tar header"),
        "{}",
        err_text(&err)
    );
}

#[test]
fn a_diff_id_that_does_not_match_is_an_error() {
    let img = image(vec![tar_of(&[file("f", "x")])]);
    let mut config = block_on(img.config_file()).expect("config");
    config.rootfs.diff_ids = Some(vec![ocireg_v1::sha256(b"something else")]);
    let img = crate::config_file(img, config);
    let err = extract(img).expect_err("mismatch");
    assert!(
        err_text(&err).contains("diff id mismatch"),
        "{}",
        err_text(&err)
    );
}

#[test]
fn truncated_layers_are_an_error() {
    let t = tar_of(&[file("f", &"x".repeat(2000))]);
    let err = extract(image(vec![t[..1000].to_vec()])).expect_err("truncated");
    assert!(
        err_text(&err).contains("unexpected end"),
        "{}",
        err_text(&err)
    );
}

#[test]
fn hardlinks_come_after_their_targets_even_across_layers() {
    // Within a layer, the order is kept as it is.
    let got = extract(image(vec![tar_of(&[
        file("a", "a"),
        link("b", tar::LINK, "a"),
    ])]))
    .expect("extract");
    assert_eq!(
        got.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    // A link in an upper layer to a file of a lower one is written after it (ggcr
    // writes it first, which tar readers refuse).
    let lower = tar_of(&[file("a", "a"), file("z", "z")]);
    let upper = tar_of(&[link("b", tar::LINK, "a"), link("c", tar::LINK, "b")]);
    let got = extract(image(vec![lower.clone(), upper])).expect("extract");
    let order: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
    let at = |n: &str| order.iter().position(|o| *o == n).expect(n);
    assert!(at("a") < at("b") && at("b") < at("c"), "{order:?}");
    // A link whose target a whiteout removed is dropped rather than left dangling.
    let upper = tar_of(&[file(".wh.a", ""), link("b", tar::LINK, "a")]);
    let got = extract(image(vec![lower, upper])).expect("extract");
    assert_eq!(names(&got), ["z"]);
}
