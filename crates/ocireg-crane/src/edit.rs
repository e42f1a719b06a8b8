//! `edit config` and `edit manifest` (ggcr's hidden `crane edit`): the caller changes the
//! bytes (in an editor, or from stdin: `tools/crane` decides), and the result is pushed.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use ocireg_name::Reference;
use ocireg_v1::{Descriptor, Digest, Image as _, Manifest, Matcher, MediaType, StaticLayer};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// Where an edit is pushed: `dst`, else back to `src` (by the new digest when `src`
/// named a digest, as ggcr does).
fn destination(
    src: &Reference,
    dst: Option<&str>,
    digest: Digest,
    opts: &Options,
) -> Result<Reference> {
    match dst {
        Some(dst) => opts.parse_reference(dst),
        None => Ok(match src {
            Reference::Digest(d) => Reference::Digest(d.repository().digest(digest)),
            Reference::Tag(_) => src.clone(),
        }),
    }
}

fn invalid_edit(what: &str, reason: &'static str) -> Error {
    Error::InvalidArgument {
        doing: format!("reading the edited {what}"),
        reason,
    }
}

/// Replaces the config of the image `src` with what `edit` makes of it, uploads the new
/// config to the destination's repository and pushes the manifest pointing at it (to
/// `dst`, else back to `src`). The manifest is written through the Go JSON writer, its
/// config `data` updated when it held the old config. Returns the destination pushed.
pub async fn edit_config(
    src: &str,
    dst: Option<&str>,
    edit: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    opts: &Options,
) -> Result<String> {
    if crate::ocidir::is_ocidir(src) {
        return edit_in_layout(src, dst, None, true, edit).await;
    }
    let r = opts.parse_reference(src)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("fetching", &r);
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    let img = match opts.platform() {
        Some(p) if desc.is_index() => desc.image_for_platform(p).await,
        _ => desc.image().await,
    }
    .map_err(remote_err(doing.clone()))?;
    let media_type = img.media_type().await.map_err(view_err(doing.clone()))?;
    let mut manifest = img.manifest().await.map_err(view_err(doing.clone()))?;
    let raw = img.raw_config_file().await.map_err(view_err(doing))?;
    let edited = Bytes::from(edit(&raw)?);
    if u64::try_from(edited.len()).unwrap_or(u64::MAX) > ocireg_v1::CONFIG_LIMIT {
        return Err(invalid_edit(
            "config",
            "it is larger than a config may be (8 MiB)",
        ));
    }
    let raw_manifest = img
        .raw_manifest()
        .await
        .map_err(view_err(Doing::on("fetching", &r)))?;
    let body = with_config(&raw_manifest, &mut manifest, &edited, &r.to_string())?;
    let target = destination(&r, dst, ocireg_v1::sha256(&body), opts)?;
    let layer = Arc::new(StaticLayer::new(edited, manifest.config.media_type.clone()));
    ocireg_remote::write_layer(target.repository(), layer, &remote)
        .await
        .map_err(remote_err(Doing::on(
            "uploading the edited config to",
            &target,
        )))?;
    let raw = ocireg_remote::RawManifest::new(body, media_type);
    ocireg_remote::put(&target, &raw, &remote)
        .await
        .map_err(remote_err(Doing::on(
            "pushing the edited manifest to",
            &target,
        )))?;
    Ok(target.to_string())
}

/// Replaces the manifest `src` with what `edit` makes of it and pushes it (to `dst`, else
/// back to `src`) as `media_type`, else the edited document's own `mediaType`, else the
/// media type it had. Returns the destination pushed.
pub async fn edit_manifest(
    src: &str,
    dst: Option<&str>,
    media_type: Option<&str>,
    edit: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    opts: &Options,
) -> Result<String> {
    if crate::ocidir::is_ocidir(src) {
        return edit_in_layout(src, dst, media_type, false, edit).await;
    }
    let r = opts.parse_reference(src)?;
    let remote = remote_options(opts, None).await?;
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("fetching the manifest of", &r)))?;
    let edited = Bytes::from(edit(desc.raw_manifest())?);
    if u64::try_from(edited.len()).unwrap_or(u64::MAX) > ocireg_v1::MANIFEST_LIMIT {
        return Err(invalid_edit(
            "manifest",
            "it is larger than a manifest may be (8 MiB)",
        ));
    }
    let media_type = edited_media_type(media_type, &edited, desc.media_type());
    let target = destination(&r, dst, ocireg_v1::sha256(&edited), opts)?;
    let raw = ocireg_remote::RawManifest::new(edited, media_type);
    ocireg_remote::put(&target, &raw, &remote)
        .await
        .map_err(remote_err(Doing::on(
            "pushing the edited manifest to",
            &target,
        )))?;
    Ok(target.to_string())
}

/// The manifest `raw` (parsed as `manifest`) pointing at the config `edited`, as ggcr
/// v0.21.9 writes it: a generic JSON object (its keys come out sorted) whose `config` is the
/// new descriptor (in the descriptor's own field order), its embedded `data` replaced too
/// when that was correct (ggcr#1552).
fn with_config(raw: &[u8], manifest: &mut Manifest, edited: &Bytes, what: &str) -> Result<Bytes> {
    let serialising = || view_err(format!("serialising the manifest of {what}"));
    let doc: BTreeMap<String, serde_json::Value> = serde_json::from_slice(raw)
        .map_err(|e| serialising()(ocireg_v1::Error::backend(e, false)))?;
    if manifest.config.verified_data().is_ok_and(|d| d.is_some()) {
        manifest.config.data = Some(edited.clone());
    }
    manifest.config.digest = ocireg_v1::sha256(edited);
    manifest.config.size = edited.len() as u64;
    let mut fields = BTreeMap::new();
    for (key, value) in doc {
        let json = if key == "config" {
            ocireg_v1::to_go_json(&manifest.config)
        } else {
            ocireg_v1::to_go_json(&value)
        }
        .map_err(serialising())?;
        let raw = String::from_utf8(json)
            .ok()
            .and_then(|j| RawValue::from_string(j).ok())
            .ok_or_else(|| Error::InvalidArgument {
                doing: format!("serialising the manifest of {what}"),
                reason: "a field did not serialise as JSON",
            })?;
        fields.insert(key, raw);
    }
    Ok(Bytes::from(
        ocireg_v1::to_go_json(&fields).map_err(serialising())?,
    ))
}

/// The media type of an edited manifest: `given`, else the document's own `mediaType`,
/// else `had`.
fn edited_media_type(given: Option<&str>, edited: &[u8], had: &MediaType) -> MediaType {
    match given {
        Some(mt) => MediaType::from(mt),
        None => serde_json::from_slice::<serde_json::Value>(edited)
            .ok()
            .and_then(|v| v.get("mediaType")?.as_str().map(MediaType::from))
            .filter(|mt| !mt.as_str().is_empty())
            .unwrap_or_else(|| had.clone()),
    }
}

/// An edit of an image in an OCI layout: the new blobs are written into the layout and the
/// entry named by `dst` (else `src`) points at the new manifest. Both must name the same
/// layout: the image's other blobs are not copied.
async fn edit_in_layout(
    src: &str,
    dst: Option<&str>,
    media_type: Option<&str>,
    config: bool,
    edit: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
) -> Result<String> {
    let r = crate::ocidir::parse(src)?;
    let target = crate::ocidir::parse(dst.unwrap_or(src))?;
    if target.path != r.path {
        return Err(Error::InvalidArgument {
            doing: format!("editing {src} into {}", dst.unwrap_or(src)),
            reason: "an edit in an image layout stays in that layout",
        });
    }
    let layout = r.open().await?;
    let err = |doing| crate::local::layout_err(doing, &r.path);
    let _writing = layout
        .write_guard()
        .await
        .map_err(err("writing to the image layout"))?;
    let desc = r.descriptor(&layout).await?;
    let raw = layout
        .blob_bytes(desc.digest, Some(desc.size), ocireg_v1::MANIFEST_LIMIT)
        .await
        .map_err(err("reading a manifest of the image layout"))?;
    let (body, mt) = if config {
        let mut manifest =
            Manifest::parse(&raw).map_err(view_err(format!("reading the manifest of {src}")))?;
        let current = layout
            .blob_bytes(
                manifest.config.digest,
                Some(manifest.config.size),
                ocireg_v1::CONFIG_LIMIT,
            )
            .await
            .map_err(err("reading a config of the image layout"))?;
        let edited = Bytes::from(edit(&current)?);
        if edited.len() as u64 > ocireg_v1::CONFIG_LIMIT {
            return Err(invalid_edit(
                "config",
                "it is larger than a config may be (8 MiB)",
            ));
        }
        layout
            .write_blob(
                ocireg_v1::sha256(&edited),
                Some(edited.len() as u64),
                ocireg_v1::Blob::from_bytes(edited.clone()),
            )
            .await
            .map_err(err("writing the edited config to the image layout"))?;
        let body = with_config(&raw, &mut manifest, &edited, src)?;
        (body, desc.media_type.clone())
    } else {
        let edited = Bytes::from(edit(&raw)?);
        if edited.len() as u64 > ocireg_v1::MANIFEST_LIMIT {
            return Err(invalid_edit(
                "manifest",
                "it is larger than a manifest may be (8 MiB)",
            ));
        }
        let mt = edited_media_type(media_type, &edited, &desc.media_type);
        (edited, mt)
    };
    let digest = ocireg_v1::sha256(&body);
    layout
        .write_blob(
            digest,
            Some(body.len() as u64),
            ocireg_v1::Blob::from_bytes(body.clone()),
        )
        .await
        .map_err(err("writing the edited manifest to the image layout"))?;
    let mut entry = Descriptor::new(mt, body.len() as u64, digest);
    let written = match (&target.tag, target.digest) {
        (_, Some(_)) => layout.append_descriptor(entry).await,
        (tag, None) => {
            let tag = tag.clone().unwrap_or_else(|| "latest".to_owned());
            entry = entry.with_annotation(ocireg_v1::ANNOTATION_REF_NAME, tag.clone());
            layout.replace_descriptor(entry, Matcher::name(tag)).await
        }
    };
    written.map_err(err("updating the image layout's index.json"))?;
    Ok(format!("ocidir://{}@{digest}", r.path.display()))
}

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

/// The fields of a tar header that an edit keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Header {
    name: String,
    typeflag: u8,
    mode: i64,
    uid: i64,
    gid: i64,
    size: u64,
    mtime: i64,
    uname: String,
    gname: String,
}

impl Header {
    /// ggcr's `blankHeader`: a regular file, mode `0555` (fixed, so that it does not
    /// depend on the umask), everything else zero.
    fn blank(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            typeflag: b'0',
            mode: 0o555,
            ..Self::default()
        }
    }

    /// Whether the entry is a regular file (`0`, the old `\0`, or contiguous `7`).
    fn is_regular(&self) -> bool {
        matches!(self.typeflag, b'0' | 0 | b'7')
    }

    /// What kind of entry it is, for messages.
    fn kind(&self) -> &'static str {
        match self.typeflag {
            b'1' => "a hard link",
            b'2' => "a symbolic link",
            b'3' => "a character device",
            b'4' => "a block device",
            b'5' => "a directory",
            b'6' => "a FIFO",
            _ if self.is_regular() => "a regular file",
            _ => "not a regular file",
        }
    }
}

const BLOCK: usize = 512;
const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn octal(field: &[u8]) -> Option<i64> {
    let s = cstr(field);
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return Some(0);
    }
    i64::from_str_radix(s, 8).ok()
}

/// The records of a PAX extended header (`LEN key=value\n`...).
fn pax_records(mut data: &[u8]) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    while !data.is_empty() {
        let sp = data.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&data[..sp]).ok()?.parse().ok()?;
        if len <= sp + 1 || len > data.len() || data[len - 1] != b'\n' {
            return None;
        }
        let record = std::str::from_utf8(&data[sp + 1..len - 1]).ok()?;
        let (k, v) = record.split_once('=')?;
        out.insert(k.to_owned(), v.to_owned());
        data = &data[len..];
    }
    Some(out)
}

/// A tar stream read header by header, content skipped or taken, never more than one
/// chunk and one header buffered.
struct TarScan {
    stream: ocireg_v1::Blob,
    buf: bytes::BytesMut,
    doing: String,
}

impl TarScan {
    fn malformed(&self, reason: &'static str) -> Error {
        Error::InvalidArgument {
            doing: self.doing.clone(),
            reason,
        }
    }

    /// Buffers at least `n` bytes; false at the end of the stream.
    async fn fill(&mut self, n: usize) -> Result<bool> {
        use futures_util::StreamExt as _;
        while self.buf.len() < n {
            match self.stream.next().await {
                Some(Ok(chunk)) => self.buf.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    return Err(view_err(self.doing.clone())(ocireg_v1::Error::from_io(e)));
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    async fn take(&mut self, n: usize) -> Result<Bytes> {
        if !self.fill(n).await? {
            return Err(self.malformed("the flattened filesystem ended inside an entry"));
        }
        Ok(self.buf.split_to(n).freeze())
    }

    /// Skips `n` bytes without buffering them.
    async fn skip(&mut self, mut n: u64) -> Result<()> {
        while n > 0 {
            if self.buf.is_empty() && !self.fill(1).await? {
                return Err(self.malformed("the flattened filesystem ended inside an entry"));
            }
            let k = usize::try_from(n).unwrap_or(usize::MAX).min(self.buf.len());
            let _ = self.buf.split_to(k);
            n -= k as u64;
        }
        Ok(())
    }

    /// Reads the rest of the stream, so that every layer's digest is checked.
    async fn drain(&mut self) -> Result<()> {
        self.buf.clear();
        while self.fill(1).await? {
            self.buf.clear();
        }
        Ok(())
    }

    /// The next entry's header (its content is next in the stream), `None` at the end.
    async fn next(&mut self) -> Result<Option<Header>> {
        let mut pax = BTreeMap::new();
        loop {
            if !self.fill(BLOCK).await? {
                return Ok(None);
            }
            let h = self.buf.split_to(BLOCK);
            if h.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            let size = octal(&h[124..136]).ok_or_else(|| self.malformed("a bad size field"))?;
            let size = u64::try_from(size).map_err(|_| self.malformed("a negative size"))?;
            let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
            match h[156] {
                b'x' | b'g' | b'L' | b'K' => {
                    if size > 1 << 20 {
                        return Err(self.malformed("an extended header over 1 MiB"));
                    }
                    let data = self
                        .take(usize::try_from(padded).unwrap_or(usize::MAX))
                        .await?;
                    let data = &data[..usize::try_from(size).unwrap_or(0)];
                    match h[156] {
                        b'x' => pax.extend(
                            pax_records(data)
                                .ok_or_else(|| self.malformed("a malformed PAX header"))?,
                        ),
                        b'L' => {
                            pax.insert("path".to_owned(), cstr(data));
                        }
                        _ => {}
                    }
                    continue;
                }
                _ => {}
            }
            let mut name = cstr(&h[..100]);
            if &h[257..263] == b"ustar\0" {
                let prefix = cstr(&h[345..500]);
                if !prefix.is_empty() {
                    name = format!("{prefix}/{name}");
                }
            }
            let num = |k: &str, field: &[u8]| -> Option<i64> {
                match pax.get(k) {
                    Some(v) => v.split('.').next()?.parse().ok(),
                    None => octal(field),
                }
            };
            let bad = || self.malformed("a bad numeric field");
            let mut header = Header {
                name: pax.get("path").cloned().unwrap_or(name),
                typeflag: h[156],
                mode: octal(&h[100..108]).ok_or_else(bad)?,
                uid: num("uid", &h[108..116]).ok_or_else(bad)?,
                gid: num("gid", &h[116..124]).ok_or_else(bad)?,
                size: match pax.get("size") {
                    Some(v) => v.parse().map_err(|_| bad())?,
                    None => size,
                },
                mtime: num("mtime", &h[136..148]).ok_or_else(bad)?,
                uname: pax
                    .get("uname")
                    .cloned()
                    .unwrap_or_else(|| cstr(&h[265..297])),
                gname: pax
                    .get("gname")
                    .cloned()
                    .unwrap_or_else(|| cstr(&h[297..329])),
            };
            if matches!(header.typeflag, b'1'..=b'6') {
                header.size = 0;
            }
            return Ok(Some(header));
        }
    }
}

/// What the flattened filesystem holds at the edited path.
enum Found {
    /// A regular file: its header, and its content when asked for.
    File(Header, Option<Vec<u8>>),
    /// Nothing there.
    Missing,
}

/// Finds `name` in the flattened filesystem of `img` (ggcr's `findFile` over
/// `mutate.Extract`). Refuses a directory, anything but a regular file, and a path under
/// something that is not a directory. With `content`, the file's content is returned and
/// the rest of the filesystem read, so that every layer's digest is checked before the
/// content is used.
async fn find_file(
    img: Arc<dyn ocireg_v1::Image>,
    name: &str,
    src: &str,
    content: bool,
) -> Result<Found> {
    let doing = format!("reading the filesystem of {src}");
    let mut scan = TarScan {
        stream: ocireg_mutate::extract(img),
        buf: bytes::BytesMut::new(),
        doing,
    };
    while let Some(header) = scan.next().await? {
        let entry = entry_name(&header.name).unwrap_or_default();
        if entry == name {
            if !header.is_regular() {
                return Err(Error::InvalidArgument {
                    doing: format!("editing {name} in {src}: it is {}", header.kind()),
                    reason: "only a regular file can be edited",
                });
            }
            if !content {
                return Ok(Found::File(header, None));
            }
            if header.size > EDIT_FS_LIMIT {
                return Err(Error::InvalidArgument {
                    doing: format!("editing {name} in {src}"),
                    reason: "the file is larger than an edit may hold (64 MiB)",
                });
            }
            let data = scan
                .take(usize::try_from(header.size).unwrap_or(usize::MAX))
                .await?
                .to_vec();
            scan.drain().await?;
            return Ok(Found::File(header, Some(data)));
        }
        if header.typeflag != b'5'
            && name
                .strip_prefix(entry.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        {
            return Err(Error::InvalidArgument {
                doing: format!(
                    "editing {name} in {src}: its parent {entry} is {}",
                    header.kind()
                ),
                reason: "a file can only be written under a directory",
            });
        }
        scan.skip(header.size.div_ceil(BLOCK as u64) * BLOCK as u64)
            .await?;
    }
    Ok(Found::Missing)
}

fn put_str(field: &mut [u8], s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(field.len());
    field[..n].copy_from_slice(&b[..n]);
}

/// Go's `formatOctal`: zero-padded, leaving room for a NUL.
fn put_octal(field: &mut [u8], x: i64) {
    let s = format!("{x:o}");
    let s = format!("{s:0>width$}", width = field.len() - 1);
    put_str(field, &s);
}

fn fits_octal(width: usize, x: i64) -> bool {
    let bits = 3 * (width - 1);
    x >= 0 && (bits >= 63 || x < (1i64 << bits))
}

/// Go's `splitUSTARPath`.
fn split_ustar(name: &str) -> Option<(&str, &str)> {
    let mut length = name.len();
    if length <= NAME_SIZE || !name.is_ascii() {
        return None;
    } else if length > PREFIX_SIZE + 1 {
        length = PREFIX_SIZE + 1;
    } else if name.as_bytes()[length - 1] == b'/' {
        length -= 1;
    }
    let i = name[..length].rfind('/')?;
    let nlen = name.len() - i - 1;
    if i == 0 || nlen > NAME_SIZE || nlen == 0 || i > PREFIX_SIZE {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    loop {
        let total = len.to_string().len() + body.len();
        if total == len {
            return format!("{len}{body}");
        }
        len = total;
    }
}

fn checksum(h: &mut [u8; BLOCK]) {
    h[148..156].fill(b' ');
    let sum: i64 = h.iter().map(|&b| i64::from(b)).sum();
    h[148..156].fill(0);
    put_octal(&mut h[148..155], sum);
    h[155] = b' ';
}

/// The header blocks Go's `tar.Writer` writes for `h` (format left to the writer): one
/// ustar block (the name split into prefix and name when it is long), or, when a field
/// does not fit ustar, a PAX record block before it.
fn header_blocks(h: &Header) -> Vec<u8> {
    let mut records = BTreeMap::new();
    let split = split_ustar(&h.name);
    let long = |s: &str, width: usize| !s.is_ascii() || s.len() > width;
    if split.is_none() && long(&h.name, NAME_SIZE) {
        records.insert("path", h.name.clone());
    }
    if long(&h.uname, 32) {
        records.insert("uname", h.uname.clone());
    }
    if long(&h.gname, 32) {
        records.insert("gname", h.gname.clone());
    }
    if !fits_octal(8, h.uid) {
        records.insert("uid", h.uid.to_string());
    }
    if !fits_octal(8, h.gid) {
        records.insert("gid", h.gid.to_string());
    }
    if !fits_octal(12, h.mtime) {
        records.insert("mtime", h.mtime.to_string());
    }
    let ascii = |s: &str| s.chars().filter(char::is_ascii).collect::<String>();
    let mut out = Vec::with_capacity(3 * BLOCK);
    let (prefix, name) = if records.is_empty() {
        split.map_or(("", h.name.as_str()), |(p, n)| (p, n))
    } else {
        ("", h.name.as_str())
    };
    if !records.is_empty() {
        let data: String = records.iter().map(|(k, v)| pax_record(k, v)).collect();
        let (dir, file) = h
            .name
            .rsplit_once('/')
            .map_or(("", h.name.as_str()), |(d, f)| (d, f));
        let mut pax_name = if dir.is_empty() {
            format!("PaxHeaders.0/{file}")
        } else {
            format!("{dir}/PaxHeaders.0/{file}")
        };
        pax_name = ascii(&pax_name);
        pax_name.truncate(NAME_SIZE);
        let mut b = [0u8; BLOCK];
        put_str(&mut b[..NAME_SIZE], pax_name.trim_end_matches('/'));
        put_octal(&mut b[100..108], 0);
        put_octal(&mut b[108..116], 0);
        put_octal(&mut b[116..124], 0);
        put_octal(&mut b[124..136], i64::try_from(data.len()).unwrap_or(0));
        put_octal(&mut b[136..148], 0);
        b[156] = b'x';
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        checksum(&mut b);
        out.extend_from_slice(&b);
        out.extend_from_slice(data.as_bytes());
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    let mut b = [0u8; BLOCK];
    b[156] = h.typeflag;
    put_str(&mut b[..NAME_SIZE], &ascii(name));
    put_octal(&mut b[100..108], h.mode);
    if fits_octal(8, h.uid) {
        put_octal(&mut b[108..116], h.uid);
    } else {
        put_octal(&mut b[108..116], 0);
    }
    if fits_octal(8, h.gid) {
        put_octal(&mut b[116..124], h.gid);
    } else {
        put_octal(&mut b[116..124], 0);
    }
    put_octal(&mut b[124..136], i64::try_from(h.size).unwrap_or(0));
    put_octal(
        &mut b[136..148],
        if fits_octal(12, h.mtime) { h.mtime } else { 0 },
    );
    put_str(&mut b[265..297], &ascii(&h.uname));
    put_str(&mut b[297..329], &ascii(&h.gname));
    put_octal(&mut b[329..337], 0);
    put_octal(&mut b[337..345], 0);
    put_str(&mut b[345..500], prefix);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    checksum(&mut b);
    out.extend_from_slice(&b);
    out
}

/// The layer holding one file: its header, its content, the end of the archive (what
/// Go's `tar.Writer` writes for it, so the diff id matches ggcr's).
fn file_tar(header: &Header, content: Vec<u8>) -> Vec<Bytes> {
    let pad = content.len().div_ceil(BLOCK) * BLOCK - content.len();
    vec![
        Bytes::from(header_blocks(header)),
        Bytes::from(content),
        Bytes::from(vec![0u8; pad + 2 * BLOCK]),
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
    let (mut header, content) = match (edit, found) {
        (FileEdit::Replace(content), _) => (Header::blank(&name), content),
        (FileEdit::Edit(f), Found::File(mut header, current)) => {
            let edited = f(current.as_deref().unwrap_or_default(), extension(&name))?;
            header.name.clone_from(&name);
            header.typeflag = b'0';
            (header, edited)
        }
        (FileEdit::Edit(f), Found::Missing) => (Header::blank(&name), f(&[], extension(&name))?),
    };
    if content.len() as u64 > EDIT_FS_LIMIT {
        return Err(too_large());
    }
    header.size = content.len() as u64;
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

    #[test]
    fn long_names_use_the_ustar_prefix_then_pax() {
        let dir = "d".repeat(120);
        let h = Header::blank(&format!("{dir}/file"));
        let b = header_blocks(&h);
        assert_eq!(b.len(), BLOCK);
        assert_eq!(cstr(&b[..100]), "file");
        assert_eq!(cstr(&b[345..500]), dir);
        let h = Header::blank(&"n".repeat(200));
        let b = header_blocks(&h);
        assert_eq!(b[156], b'x');
        assert_eq!(b.len(), 3 * BLOCK);
        let records = pax_records(&b[BLOCK..BLOCK + 210]).expect("records");
        assert_eq!(records.get("path").map(String::len), Some(200));
        assert_eq!(pax_record("path", "x"), "9 path=x\n");
    }
}

#[cfg(test)]
mod compare_tests {
    use super::*;

    #[test]
    fn old_and_new_writer_agree() {
        let base = Header::blank("x");
        let d120 = "d".repeat(120);
        let names = vec![
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
        let mut headers = Vec::new();
        for n in &names {
            headers.push(Header {
                name: n.clone(),
                ..base.clone()
            });
        }
        let variants: Vec<Box<dyn Fn(&mut Header)>> = vec![
            Box::new(|h| h.uid = 0o7777777 + 1),
            Box::new(|h| h.gid = 123),
            Box::new(|h| h.uname = "u".repeat(33)),
            Box::new(|h| h.gname = "grüp".into()),
            Box::new(|h| h.mtime = -5),
            Box::new(|h| h.mtime = 1 << 40),
            Box::new(|h| h.mtime = 1_700_000_000),
            Box::new(|h| h.size = 12345),
            Box::new(|h| {
                h.mode = 0o644;
                h.uname = "root".into();
            }),
        ];
        for n in &names {
            for v in &variants {
                let mut h = Header {
                    name: n.clone(),
                    ..base.clone()
                };
                v(&mut h);
                headers.push(h);
            }
        }
        let mut all = Vec::new();
        let mut diffs = 0;
        for h in &headers {
            let e = ocireg_mutate::TarEntry::new(h.name.clone(), h.typeflag)
                .with_mode(h.mode)
                .with_uid(h.uid)
                .with_gid(h.gid)
                .with_size(h.size)
                .with_mtime(ocireg_mutate::TarTime::new(h.mtime, 0))
                .with_uname(h.uname.clone())
                .with_gname(h.gname.clone());
            let new = ocireg_mutate::tar_header(&e, ocireg_mutate::TarFormat::Default);
            let old = header_blocks(h);
            all.extend_from_slice(&new);
            let needs_pax = !fits_octal(8, h.uid)
                || h.uname.len() > 32
                || !h.gname.is_ascii()
                || !fits_octal(12, h.mtime);
            let trailing_slash = h.name.len() > 100
                && h.name.as_bytes()[99] == b'/'
                && split_ustar(&h.name).is_none();
            if old != new.to_vec() && split_ustar(&h.name).is_some() && needs_pax {
                // Old bug: the path record was dropped when the name could be split but
                // ustar could not be used; Go keeps it.
                assert!(
                    String::from_utf8_lossy(&new[512..1024])
                        .contains(&format!(" path={}\n", h.name))
                );
                assert!(!String::from_utf8_lossy(&old[512..1024]).contains(" path="));
                continue;
            }
            if old != new.to_vec() && trailing_slash {
                // Go's formatString drops the slash where it cuts the name.
                assert_eq!(new[1123], 0);
                assert_eq!(&old[..1123], &new[..1123]);
                continue;
            }
            if old != new.to_vec() {
                diffs += 1;
                eprintln!("DIFF {:?} old {} new {}", h, old.len(), new.len());
                for (i, (a, b)) in old.iter().zip(new.iter()).enumerate() {
                    if a != b {
                        eprintln!("  at {i}: {a} vs {b}");
                    }
                }
            }
        }
        eprintln!(
            "{} headers, {diffs} diffs, DIGEST {}",
            headers.len(),
            ocireg_v1::sha256(&all)
        );
        assert_eq!(diffs, 0);
    }
}
