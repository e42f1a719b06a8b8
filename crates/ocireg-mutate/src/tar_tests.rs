//! Unit tests of the tar reader and writer.

use super::*;

fn read_all(tar: &[u8], chunk: usize) -> Result<Vec<(Entry, Vec<u8>)>, TarError> {
    let mut r = Reader::new();
    let mut events = Vec::new();
    for c in tar.chunks(chunk.max(1)) {
        r.feed(Bytes::copy_from_slice(c), &mut events)?;
    }
    r.finish()?;
    let mut out: Vec<(Entry, Vec<u8>)> = Vec::new();
    for e in events {
        match e {
            Event::Entry(e) => out.push((*e, Vec::new())),
            Event::Data(d) => out.last_mut().expect("entry first").1.extend_from_slice(&d),
        }
    }
    Ok(out)
}

fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().expect("tar")
}

#[test]
fn reads_what_the_tar_crate_writes_in_any_chunking() {
    let long = "d/".repeat(80) + "file.txt";
    let tar = tar_of(|b| {
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o600);
        h.set_mtime(1234);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, &long, &b"hello"[..]).expect("append");
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "link", "target").expect("link");
    });
    for chunk in [1, 7, 512, 100_000] {
        let got = read_all(&tar, chunk).expect("reads");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.name, long);
        assert_eq!(got[0].0.mode, 0o600);
        assert_eq!(got[0].0.mtime.secs, 1234);
        assert_eq!(got[0].1, b"hello");
        assert_eq!(got[1].0.typeflag, SYMLINK);
        assert_eq!(got[1].0.link, "target");
    }
}

#[test]
fn written_headers_read_back() {
    let mut entry = Entry {
        name: "a/".repeat(70) + "é.txt",
        typeflag: REG,
        mode: 0o644,
        uid: 3_000_000,
        size: 3,
        mtime: TarTime {
            secs: 10,
            nanos: 500,
        },
        atime: Some(TarTime { secs: -5, nanos: 1 }),
        ..Entry::default()
    };
    entry.pax.insert("SCHILY.xattr.user.k".into(), "v".into());
    let mut tar = header_blocks(&entry).to_vec();
    tar.extend_from_slice(b"abc");
    tar.resize(tar.len() + padding(3), 0);
    tar.extend_from_slice(&end_of_archive());
    let got = read_all(&tar, 13).expect("reads");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, entry);
    assert_eq!(got[0].1, b"abc");
    // Other readers agree.
    let mut archive = tar::Archive::new(&tar[..]);
    let names: Vec<String> = archive
        .entries()
        .expect("entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(names, [entry.name.clone()]);
}

#[test]
fn pax_records_and_times_are_formatted_as_go_does() {
    assert_eq!(pax_record("path", "x"), "9 path=x\n");
    // The size field's own length pushes the record over a power of ten.
    let v = "y".repeat(93);
    assert_eq!(pax_record("path", &v).len(), 103);
    assert!(pax_record("path", &v).starts_with("103 "));
    assert_eq!(
        format_pax_time(TarTime {
            secs: 1,
            nanos: 500_000_000
        }),
        "1.5"
    );
    assert_eq!(
        format_pax_time(TarTime {
            secs: -2,
            nanos: 500_000_000
        }),
        "-1.5"
    );
    assert_eq!(
        parse_pax_time("-1.5"),
        Some(TarTime {
            secs: -2,
            nanos: 500_000_000
        })
    );
    assert_eq!(pax_name("a/b/c"), "a/b/PaxHeaders.0/c");
    assert_eq!(pax_name("c"), "PaxHeaders.0/c");
}

#[test]
fn garbage_and_truncation_are_errors() {
    let random: Vec<u8> = (0..2048u32)
        .map(|i| (i * 7919 % 251).to_le_bytes()[0])
        .collect();
    assert!(read_all(&random, 512).is_err());
    let tar = tar_of(|b| {
        let mut h = tar::Header::new_ustar();
        h.set_size(1000);
        b.append_data(&mut h, "f", &vec![1u8; 1000][..])
            .expect("append");
    });
    assert!(read_all(&tar[..800], 512).is_err(), "cut in the content");
    assert!(read_all(&tar[..100], 512).is_err(), "cut in the header");
    // Without the end blocks, a stream that ends between entries is fine (as in Go).
    assert!(read_all(&tar[..1536], 512).is_ok());
    // Zero then non-zero block.
    let mut bad = tar[..1536].to_vec();
    bad.extend_from_slice(&[0u8; 512]);
    bad.extend_from_slice(&tar[..512]);
    assert!(read_all(&bad, 512).is_err());
    // Garbage after the end marker is read and ignored.
    let mut trailing = tar.clone();
    trailing.extend_from_slice(b"garbage");
    assert_eq!(read_all(&trailing, 512).expect("reads").len(), 1);
}

#[test]
fn a_pax_size_wins_over_the_ustar_size_as_in_go() {
    let records = pax_record("size", "10");
    let mut tar = header_blocks(&Entry {
        name: "PaxHeaders.0/f".into(),
        typeflag: PAX_LOCAL,
        size: records.len() as u64,
        ..Entry::default()
    })
    .to_vec();
    tar.extend_from_slice(records.as_bytes());
    tar.resize(tar.len() + padding(records.len() as u64), 0);
    // The ustar header says 0 bytes; the PAX record says 10.
    tar.extend_from_slice(&header_blocks(&Entry {
        name: "f".into(),
        typeflag: REG,
        ..Entry::default()
    }));
    tar.extend_from_slice(b"0123456789");
    tar.resize(tar.len() + padding(10), 0);
    tar.extend_from_slice(&end_of_archive());
    let got = read_all(&tar, 100).expect("reads");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.size, 10);
    assert_eq!(got[0].1, b"0123456789");
    // Written back, the size is in the ustar field: no differential left.
    let again = header_blocks(&got[0].0);
    assert_eq!(again.len(), BLOCK);
    assert_eq!(&again[124..136], b"00000000012\0");
}

#[test]
fn header_only_types_have_no_content_whatever_the_size_field_says() {
    // A directory header claiming 512 bytes, followed directly by the next header.
    let mut dir = Entry {
        name: "d".into(),
        typeflag: DIR,
        mode: 0o755,
        ..Entry::default()
    };
    let mut h = header_blocks(&dir).to_vec();
    put_octal(&mut h[124..136], 512);
    h[148..156].copy_from_slice(b"        ");
    let sum: i64 = h.iter().map(|&b| i64::from(b)).sum();
    put_octal(&mut h[148..155], sum);
    let file = Entry {
        name: "f".into(),
        typeflag: REG,
        ..Entry::default()
    };
    h.extend_from_slice(&header_blocks(&file));
    h.extend_from_slice(&end_of_archive());
    let got = read_all(&h, 512).expect("reads");
    dir.size = 0;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, dir);
    assert_eq!(got[1].0.name, "f");
}

#[test]
fn the_default_format_rounds_times_and_prefers_ustar() {
    let t = |secs, nanos| TarTime::new(secs, nanos);
    let mut e = Entry::new("f", REG).with_mtime(t(1, 500_000_000));
    e.atime = Some(t(3, 0));
    let h = tar_header(&e, TarFormat::Default);
    assert_eq!(h.len(), BLOCK);
    assert_eq!(
        read_all(&[&h[..], &end_of_archive()].concat(), 7).expect("tar")[0]
            .0
            .mtime,
        t(2, 0)
    );
    let h = tar_header(&e.clone().with_mtime(t(1, 499_999_999)), TarFormat::Default);
    assert_eq!(&h[136..148], b"00000000001\0");
    // Forced PAX keeps the fraction and the access time.
    let h = tar_header(&e, TarFormat::Pax);
    assert_eq!(h[156], b'x');
    let back = read_all(&[&h[..], &end_of_archive()].concat(), 512).expect("tar");
    assert_eq!(
        (back[0].0.mtime, back[0].0.atime),
        (t(1, 500_000_000), Some(t(3, 0)))
    );
    // A PAX record is PAX only; a name ustar can split is split.
    let h = tar_header(
        &e.clone().with_pax_record("SCHILY.xattr.user.a", "b"),
        TarFormat::Default,
    );
    assert_eq!(h[156], b'x');
    let long = format!("{}/{}", "p".repeat(150), "n".repeat(100));
    let h = tar_header(&Entry::new(long.clone(), REG), TarFormat::Default);
    assert_eq!(h.len(), BLOCK);
    let back = read_all(&[&h[..], &end_of_archive()].concat(), 512).expect("tar");
    assert_eq!(back[0].0.name, long);
    assert_eq!(split_ustar(&format!("/{}", "n".repeat(100))), None);
    assert_eq!(tar_padding(513), 511);
    assert_eq!(tar_end_of_archive().len(), 1024);
}
