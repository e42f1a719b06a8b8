//! `edit fs` (ggcr's hidden `crane edit fs`): one file of an image replaced by what the
//! caller gives (from `$EDITOR` or stdin: `tools/crane` decides), appended as a new layer.
//! The file is found and the layer written with `ocireg_mutate`'s tar reader and writer.

use std::sync::Arc;

use bytes::Bytes;
use ocireg_mutate::{TarEntry, TarEvent, TarFormat, TarReader, TarTime};
use ocireg_v1::Image as _;

use crate::edit::{destination, invalid_edit};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// The most an edited file may hold: it is held in memory (64 MiB).
pub const EDIT_FS_LIMIT: u64 = 64 * 1024 * 1024;

/// What becomes of the file in [`edit_fs`].
#[derive(Debug)]
pub enum FileEdit<F> {
    /// The new content, as given (ggcr reads stdin when it is not a terminal): the file is
    /// written with ggcr's blank header (a regular file, mode `0555`, owned by 0:0, the
    /// zero time), whatever the file had.
    Replace(Vec<u8>),
    /// `F` is given the file's current content (empty when the image has no such file)
    /// and its extension (`.conf`, or empty), and returns the new content (ggcr runs
    /// `$EDITOR`); an existing file keeps its header (mode, owner, time).
    Edit(F),
}

/// The path `file` as a tar entry name: Go's `path.Clean` of `/FILE`, made relative
/// (`/etc/motd`, `./etc/motd` and `etc//motd` all name `etc/motd`). Refuses a path with a
/// `..` element, the root, a NUL, and a whiteout name (`.wh.*`).
fn entry_name(file: &str) -> Result<String> {
    let bad = |reason: &'static str| Error::InvalidArgument {
        doing: format!("choosing the file to edit ({file:?})"),
        reason,
    };
    if file.split('/').any(|part| part == "..") {
        return Err(bad("it has a .. element"));
    }
    if file.contains('\0') {
        return Err(bad("it has a NUL byte"));
    }
    let name = file
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/");
    if name.is_empty() {
        return Err(bad("it names the root directory"));
    }
    if name
        .rsplit('/')
        .next()
        .is_some_and(|b| b.starts_with(".wh."))
    {
        return Err(bad("a .wh. name is a whiteout, not a file"));
    }
    Ok(name)
}

/// The extension of `name` as Go's `filepath.Ext`: from the last `.` of the last element.
fn extension(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.rfind('.').map_or("", |i| &base[i..])
}

/// ggcr's `blankHeader`: a regular file, mode `0555` (fixed, so that it does not depend on
/// the umask), everything else zero.
fn blank_header(name: &str) -> TarEntry {
    TarEntry::new(name, b'0').with_mode(0o555)
}

/// The header an edit writes for a file that had `found`: its mode, owner and
/// modification time (in whole seconds, the fraction cut off) kept, the rest dropped.
fn kept_header(name: &str, found: &TarEntry) -> TarEntry {
    let mut secs = found.mtime.secs;
    if secs < 0 && found.mtime.nanos > 0 {
        secs += 1;
    }
    TarEntry::new(name, b'0')
        .with_mode(found.mode)
        .with_uid(found.uid)
        .with_gid(found.gid)
        .with_mtime(TarTime::new(secs, 0))
        .with_uname(found.uname.clone())
        .with_gname(found.gname.clone())
}

/// What kind of entry a typeflag is, for messages.
fn kind(typeflag: u8) -> &'static str {
    match typeflag {
        b'0' => "a regular file",
        b'1' => "a hard link",
        b'2' => "a symbolic link",
        b'3' => "a character device",
        b'4' => "a block device",
        b'5' => "a directory",
        b'6' => "a FIFO",
        _ => "not a regular file",
    }
}

/// What the flattened filesystem holds at the edited path.
enum Found {
    /// A regular file: its header, and its content when asked for.
    File(Box<TarEntry>, Option<Vec<u8>>),
    /// Nothing there.
    Missing,
}

/// Finds `name` in the flattened filesystem of `img` (ggcr's `findFile` over
/// `mutate.Extract`), fed chunk by chunk to a [`TarReader`]. Refuses a directory, anything
/// but a regular file, and a path under something that is not a directory. With
/// `content`, the file's content is returned and the rest of the filesystem read, so that
/// every layer's digest is checked before the content is used; without, the search stops
/// at the file.
async fn find_file(
    img: Arc<dyn ocireg_v1::Image>,
    name: &str,
    src: &str,
    content: bool,
) -> Result<Found> {
    use futures_util::StreamExt as _;
    let doing = format!("reading the filesystem of {src}");
    let malformed =
        |e: ocireg_mutate::TarError| view_err(doing.clone())(ocireg_v1::Error::backend(e, false));
    let mut stream = ocireg_mutate::extract(img);
    let mut reader = TarReader::new();
    let mut events = Vec::new();
    // The file found, its content so far, and whether that is all of it.
    let mut found: Option<(Box<TarEntry>, Vec<u8>)> = None;
    let mut complete = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| view_err(doing.clone())(ocireg_v1::Error::from_io(e)))?;
        reader.feed(chunk, &mut events).map_err(malformed)?;
        for event in events.drain(..) {
            let entry = match event {
                TarEvent::Data(data) => {
                    if let Some((_, held)) = &mut found
                        && !complete
                    {
                        held.extend_from_slice(&data);
                    }
                    continue;
                }
                TarEvent::Entry(entry) => entry,
            };
            if found.is_some() {
                complete = true;
                continue;
            }
            let path = entry_name(&entry.name).unwrap_or_default();
            if path == name {
                if entry.typeflag != b'0' {
                    return Err(Error::InvalidArgument {
                        doing: format!("editing {name} in {src}: it is {}", kind(entry.typeflag)),
                        reason: "only a regular file can be edited",
                    });
                }
                if !content {
                    return Ok(Found::File(entry, None));
                }
                if entry.size > EDIT_FS_LIMIT {
                    return Err(Error::InvalidArgument {
                        doing: format!("editing {name} in {src}"),
                        reason: "the file is larger than an edit may hold (64 MiB)",
                    });
                }
                let held = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
                found = Some((entry, held));
                continue;
            }
            if entry.typeflag != b'5'
                && name
                    .strip_prefix(path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            {
                return Err(Error::InvalidArgument {
                    doing: format!(
                        "editing {name} in {src}: its parent {path} is {}",
                        kind(entry.typeflag)
                    ),
                    reason: "a file can only be written under a directory",
                });
            }
        }
    }
    reader.finish().map_err(malformed)?;
    Ok(match found {
        Some((entry, data)) => Found::File(entry, Some(data)),
        None => Found::Missing,
    })
}

/// The layer holding one file: its header, its content, the end of the archive (what
/// Go's `tar.Writer` writes for it, its format left to the writer, so the diff id matches
/// ggcr's).
fn file_tar(header: &TarEntry, content: Vec<u8>) -> Vec<Bytes> {
    let pad = ocireg_mutate::tar_padding(content.len() as u64);
    vec![
        ocireg_mutate::tar_header(header, TarFormat::Default),
        Bytes::from(content),
        Bytes::from(vec![0u8; pad]),
        ocireg_mutate::tar_end_of_archive(),
    ]
}

/// Writes the file `file` of the image `src` (ggcr's hidden `crane edit fs`): the new
/// content is appended as one layer holding only that file (a Docker gzip layer, as
/// ggcr's `tarball.LayerFromOpener`), with the history entry `{author: crane,
/// created_by: CREATED_BY}` (ggcr: `os.Args` joined by spaces; `created` left zero), and
/// the image is pushed to `dst`, else back to `src` (by the new digest when `src` named a
/// digest). `ocidir://` images are edited in their layout (`dst` may name another entry or
/// layout). Returns the destination pushed, as ggcr prints it.
///
/// The path is cleaned and made relative (see [`FileEdit`] for the header). Unlike ggcr,
/// editing a directory, a symlink or another non-regular file, a path under one, or a
/// path with a `..` element is refused, and the content is bounded by [`EDIT_FS_LIMIT`].
pub async fn edit_fs<F>(
    src: &str,
    file: &str,
    dst: Option<&str>,
    created_by: &str,
    edit: FileEdit<F>,
    opts: &Options,
) -> Result<String>
where
    F: FnOnce(&[u8], &str) -> Result<Vec<u8>>,
{
    let name = entry_name(file)?;
    let too_large = || invalid_edit("file", "it is larger than an edit may hold (64 MiB)");
    if let FileEdit::Replace(content) = &edit
        && content.len() as u64 > EDIT_FS_LIMIT
    {
        return Err(too_large());
    }
    let remote = remote_options(opts, None).await?;
    let img: Arc<dyn ocireg_v1::Image> = if crate::ocidir::is_ocidir(src) {
        crate::ocidir::image(&crate::ocidir::parse(src)?).await?
    } else {
        let r = opts.parse_reference(src)?;
        ocireg_remote::image(&r, &remote)
            .await
            .map_err(remote_err(Doing::on("pulling", &r)))?
    };
    let interactive = matches!(edit, FileEdit::Edit(_));
    let found = find_file(Arc::clone(&img), &name, src, interactive).await?;
    let (header, content) = match (edit, found) {
        (FileEdit::Replace(content), _) => (blank_header(&name), content),
        (FileEdit::Edit(f), Found::File(found, current)) => {
            let edited = f(current.as_deref().unwrap_or_default(), extension(&name))?;
            (kept_header(&name, &found), edited)
        }
        (FileEdit::Edit(f), Found::Missing) => (blank_header(&name), f(&[], extension(&name))?),
    };
    if content.len() as u64 > EDIT_FS_LIMIT {
        return Err(too_large());
    }
    let header = header.with_size(content.len() as u64);
    let chunks = file_tar(&header, content);
    let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    let layer = ocireg_tarball::layer_from_stream(stream, ocireg_tarball::LayerOptions::new())
        .await
        .map_err(|source| Error::Tarball {
            doing: "making the layer of the edited file",
            path: std::path::PathBuf::from(&name),
            source: Box::new(source),
        })?;
    let mut history = ocireg_v1::History::default();
    "crane".clone_into(&mut history.author);
    created_by.clone_into(&mut history.created_by);
    let adds = vec![ocireg_mutate::Addendum::new(Arc::new(layer)).with_history(history)];
    let img = ocireg_mutate::append(img, adds)
        .map_err(|e| view_err(format!("appending the edited file to {src}"))(e.into()))?;
    let digest = img.digest().await.map_err(view_err(format!(
        "computing the digest of the edited {src}"
    )))?;
    let target = dst.unwrap_or(src);
    if crate::ocidir::is_ocidir(target) {
        let dir = crate::ocidir::parse(target)?;
        let written = crate::ocidir::write_to_dir(&dir, crate::ocidir::Content::Image(img)).await?;
        return Ok(format!("ocidir://{}@{written}", dir.path.display()));
    }
    let target = if crate::ocidir::is_ocidir(src) {
        opts.parse_reference(target)?
    } else {
        destination(&opts.parse_reference(src)?, dst, digest, opts)?
    };
    ocireg_remote::write_image(&target, img, &remote)
        .await
        .map_err(remote_err(Doing::on("pushing", &target)))?;
    Ok(target.to_string())
}

#[cfg(test)]
mod fs_tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_escapes_refused() {
        assert_eq!(entry_name("/etc/motd").ok().as_deref(), Some("etc/motd"));
        assert_eq!(entry_name("./etc//motd/").ok().as_deref(), Some("etc/motd"));
        assert!(entry_name("../x").is_err());
        assert!(entry_name("a/../../x").is_err());
        assert!(entry_name("/").is_err());
        assert!(entry_name("./.").is_err());
        assert!(entry_name("a/.wh.b").is_err());
        assert!(entry_name("a\u{0}b").is_err());
        assert_eq!(extension("etc/a.b/motd"), "");
        assert_eq!(extension("etc/x.tar.gz"), ".gz");
    }

    /// A NUL-terminated header field.
    fn cstr(field: &[u8]) -> String {
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).into_owned()
    }

    /// Reads `tar` back: each entry with its content.
    fn read_back(tar: &[u8]) -> Vec<(TarEntry, Vec<u8>)> {
        let mut reader = TarReader::new();
        let mut events = Vec::new();
        reader
            .feed(Bytes::copy_from_slice(tar), &mut events)
            .expect("a valid tar");
        reader.finish().expect("a complete tar");
        let mut out: Vec<(TarEntry, Vec<u8>)> = Vec::new();
        for event in events {
            match event {
                TarEvent::Entry(e) => out.push((*e, Vec::new())),
                TarEvent::Data(d) => out.last_mut().expect("entry first").1.extend_from_slice(&d),
            }
        }
        out
    }

    fn header(h: &TarEntry) -> Bytes {
        ocireg_mutate::tar_header(h, TarFormat::Default)
    }

    #[test]
    fn long_names_use_the_ustar_prefix_then_pax() {
        let dir = "d".repeat(120);
        let b = header(&blank_header(&format!("{dir}/file")));
        assert_eq!(b.len(), 512);
        assert_eq!(cstr(&b[..100]), "file");
        assert_eq!(cstr(&b[345..500]), dir);
        let b = header(&blank_header(&"n".repeat(200)));
        assert_eq!(b[156], b'x');
        assert_eq!(b.len(), 3 * 512);
        assert!(b[512..].starts_with(b"210 path=nnn"));
        let mut tar = b.to_vec();
        tar.extend_from_slice(&ocireg_mutate::tar_end_of_archive());
        assert_eq!(read_back(&tar)[0].0.name, "n".repeat(200));
        let b = header(&blank_header("x").with_uid(1 << 21));
        assert!(b[512..].starts_with(b"15 uid=2097152\n"));
    }

    /// The blank header and a kept one, as ggcr writes them: the bytes Go's `tar.Writer`
    /// writes for `crane edit fs`, checked against the writer edit fs had before it used
    /// `ocireg_mutate`'s (identical but for two bugs of that one, below) and pinned.
    #[test]
    fn headers_as_go_writes_them() {
        let d120 = "d".repeat(120);
        let names = [
            "etc/motd".to_owned(),
            "a".repeat(100),
            "a".repeat(101),
            format!("{d120}/file"),
            "n".repeat(200),
            "é/ünï".to_owned(),
            format!("{}/ü", "x".repeat(120)),
            format!("{}/{}", "p".repeat(155), "n".repeat(100)),
            format!("{}/{}", "p".repeat(156), "n".repeat(10)),
            format!("{}/{}", "p".repeat(10), "n".repeat(101)),
            format!("{}/{}/{}", "a".repeat(60), "b".repeat(60), "c".repeat(90)),
            format!("{}/{}", "a".repeat(99), "b".repeat(101)),
        ];
        let variants: [fn(TarEntry) -> TarEntry; 9] = [
            |h| h.with_uid(0o777_7777 + 1),
            |h| h.with_gid(123),
            |h| h.with_uname("u".repeat(33)),
            |h| h.with_gname("grüp"),
            |h| h.with_mtime(TarTime::new(-5, 0)),
            |h| h.with_mtime(TarTime::new(1 << 40, 0)),
            |h| h.with_mtime(TarTime::new(1_700_000_000, 0)),
            |h| h.with_size(12345),
            |h| h.with_mode(0o644).with_uname("root"),
        ];
        let mut all = Vec::new();
        for name in &names {
            all.extend_from_slice(&header(&blank_header(name)));
        }
        for name in &names {
            for v in variants {
                all.extend_from_slice(&header(&v(blank_header(name))));
            }
        }
        assert_eq!(
            ocireg_v1::sha256(&all).to_string(),
            "sha256:c106ebdfe8200f762db013f9935949643817a1f2802582a49931b510f51a2b55"
        );
        // The old writer's two bugs, fixed as Go writes: a name that could be split for
        // ustar but written as PAX (for another field) keeps its `path` record, and a
        // name cut at a slash loses the slash.
        let h = header(&blank_header(&format!("{d120}/file")).with_uid(1 << 21));
        assert!(String::from_utf8_lossy(&h[512..1024]).contains(&format!(" path={d120}/file\n")));
        let cut = format!("{}/{}", "a".repeat(99), "b".repeat(101));
        let h = header(&blank_header(&cut));
        assert_eq!(cstr(&h[1024..1124]), "a".repeat(99));
    }

    #[test]
    fn a_kept_header_keeps_owner_mode_and_whole_seconds() {
        let found = TarEntry::new("old/name", b'0')
            .with_mode(0o640)
            .with_uid(7)
            .with_gid(8)
            .with_uname("u")
            .with_gname("g")
            .with_size(99)
            .with_link("l")
            .with_mtime(TarTime::new(-2, 500_000_000))
            .with_pax_record("SCHILY.xattr.user.x", "y");
        let kept = kept_header("etc/motd", &found);
        assert_eq!(
            kept,
            TarEntry::new("etc/motd", b'0')
                .with_mode(0o640)
                .with_uid(7)
                .with_gid(8)
                .with_uname("u")
                .with_gname("g")
                .with_mtime(TarTime::new(-1, 0))
        );
        let kept = kept_header("a", &found.with_mtime(TarTime::new(5, 900_000_000)));
        assert_eq!(kept.mtime, TarTime::new(5, 0));
    }

    #[test]
    fn the_layer_is_header_content_padding_and_end() {
        let tar: Vec<u8> =
            file_tar(&blank_header("etc/motd").with_size(3), b"abc".to_vec()).concat();
        assert_eq!(tar.len(), 4 * 512);
        let back = read_back(&tar);
        assert_eq!(back.len(), 1);
        assert_eq!((back[0].0.mode, back[0].1.as_slice()), (0o555, &b"abc"[..]));
        assert!(tar[512 + 3..].iter().all(|&b| b == 0));
    }
}
