//! A push-fed tar reader and a tar header writer, both sans-IO.
//!
//! The reader ([`Reader`]) is fed a layer's uncompressed bytes chunk by chunk
//! and yields [`Event`]s: each entry's header, then its content as slices of
//! the chunks fed (never copied, never buffered beyond one 512-byte header or
//! one bounded PAX or GNU long-name record). It reads what Go's
//! `archive/tar` reads: V7, ustar (with the name prefix), GNU (long names and
//! links, access and change times) and PAX (local records; global ones are
//! skipped), and treats the size of header-only entries (links, directories,
//! devices, FIFOs) as zero as Go does.
//!
//! The writer ([`header_blocks`]) writes a header the way Go's `tar.Writer`
//! writes one whose format is forced to PAX (what ggcr's `mutate.Extract`
//! does): a ustar block, preceded by a `PaxHeaders.0` record block only when
//! a field does not fit (a long or non-ASCII name, a large id or size, a
//! sub-second or out-of-range time, access and change times, other records).
//! [`tar_header`] with [`TarFormat::Default`] writes one whose format is left
//! to the writer (`crane edit fs`): ustar, the name split into prefix and
//! name when it is long, and the PAX form only when ustar cannot hold it.
//!
//! The public names are re-exported at the crate root: [`TarEntry`](Entry),
//! [`TarTime`], [`TarReader`](Reader), [`TarEvent`](Event), [`TarFormat`],
//! [`tar_header`], [`tar_padding`] and [`tar_end_of_archive`].

use std::collections::BTreeMap;

use bytes::Bytes;

/// Size of a tar block.
pub(crate) const BLOCK: usize = 512;

/// The most bytes a PAX record block or a GNU long name may have (Go's
/// `maxSpecialFileSize` is 1 MiB too).
pub(crate) const MAX_META: u64 = 1 << 20;

/// Typeflags.
pub(crate) const REG: u8 = b'0';
pub(crate) const LINK: u8 = b'1';
pub(crate) const SYMLINK: u8 = b'2';
pub(crate) const CHAR: u8 = b'3';
pub(crate) const BLOCK_DEV: u8 = b'4';
pub(crate) const DIR: u8 = b'5';
pub(crate) const FIFO: u8 = b'6';
const CONT: u8 = b'7';
const PAX_LOCAL: u8 = b'x';
const PAX_GLOBAL: u8 = b'g';
const GNU_LONG_NAME: u8 = b'L';
const GNU_LONG_LINK: u8 = b'K';
const GNU_SPARSE: u8 = b'S';

/// PAX keys whose values live in header fields (Go's `basicKeys`).
const BASIC_KEYS: &[&str] = &[
    "path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime", "atime", "ctime",
];

/// A time in a tar header: seconds since the Unix epoch and nanoseconds
/// (`0..1_000_000_000`, counted forwards from `secs` also before the epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TarTime {
    /// Whole seconds since the epoch (negative before it).
    pub secs: i64,
    /// Nanoseconds after `secs`.
    pub nanos: u32,
}

impl TarTime {
    /// The time `secs` seconds and `nanos` nanoseconds after the epoch.
    #[must_use]
    pub fn new(secs: i64, nanos: u32) -> Self {
        Self { secs, nanos }
    }
}

/// One entry's header, as Go's `tar.Reader` gives it and `tar.Writer`
/// takes it (ggcr's `*tar.Header`).
///
/// Build one with [`new`](Self::new) and the `with_*` setters; the
/// typeflag is the byte of the format (`b'0'` a regular file, `b'5'` a
/// directory...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The path of the entry.
    pub name: String,
    /// The target of a link (hard or symbolic).
    pub link: String,
    /// The type: `b'0'` regular file, `b'1'` hard link, `b'2'` symlink,
    /// `b'3'` and `b'4'` devices, `b'5'` directory, `b'6'` FIFO. The reader
    /// gives the old `\0` and contiguous `b'7'` as `b'0'` (or `b'5'` for a
    /// name ending in `/`), as Go does.
    pub typeflag: u8,
    /// Permission and mode bits.
    pub mode: i64,
    /// Owner id.
    pub uid: i64,
    /// Group id.
    pub gid: i64,
    /// Content bytes that follow the header (0 for header-only types).
    pub size: u64,
    /// Modification time.
    pub mtime: TarTime,
    /// Access time, when the header has one.
    pub atime: Option<TarTime>,
    /// Change time, when the header has one.
    pub ctime: Option<TarTime>,
    /// Owner name.
    pub uname: String,
    /// Group name.
    pub gname: String,
    /// Major number of a device.
    pub devmajor: i64,
    /// Minor number of a device.
    pub devminor: i64,
    /// PAX records other than the basic ones (xattrs...), sorted.
    pub pax: BTreeMap<String, String>,
}

impl Entry {
    /// An entry named `name` of type `typeflag`, everything else zero or
    /// empty.
    #[must_use]
    pub fn new(name: impl Into<String>, typeflag: u8) -> Self {
        Self {
            name: name.into(),
            typeflag,
            ..Self::default()
        }
    }

    /// With the link target `link`.
    #[must_use]
    pub fn with_link(mut self, link: impl Into<String>) -> Self {
        self.link = link.into();
        self
    }

    /// With the mode bits `mode`.
    #[must_use]
    pub fn with_mode(mut self, mode: i64) -> Self {
        self.mode = mode;
        self
    }

    /// With the owner id `uid`.
    #[must_use]
    pub fn with_uid(mut self, uid: i64) -> Self {
        self.uid = uid;
        self
    }

    /// With the group id `gid`.
    #[must_use]
    pub fn with_gid(mut self, gid: i64) -> Self {
        self.gid = gid;
        self
    }

    /// With the content size `size`.
    #[must_use]
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = size;
        self
    }

    /// With the modification time `mtime`.
    #[must_use]
    pub fn with_mtime(mut self, mtime: TarTime) -> Self {
        self.mtime = mtime;
        self
    }

    /// With the owner name `uname`.
    #[must_use]
    pub fn with_uname(mut self, uname: impl Into<String>) -> Self {
        self.uname = uname.into();
        self
    }

    /// With the group name `gname`.
    #[must_use]
    pub fn with_gname(mut self, gname: impl Into<String>) -> Self {
        self.gname = gname.into();
        self
    }

    /// With the PAX record `key=value` (an xattr, say) added.
    #[must_use]
    pub fn with_pax_record(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.pax.insert(key.into(), value.into());
        self
    }

    /// Whether the entry is a directory.
    pub fn is_dir(&self) -> bool {
        self.typeflag == DIR
    }
}

/// Whether entries of this type carry no content (Go's `isHeaderOnlyType`).
pub(crate) fn is_header_only(typeflag: u8) -> bool {
    matches!(typeflag, LINK | SYMLINK | CHAR | BLOCK_DEV | DIR | FIFO)
}

/// What the reader found.
#[derive(Debug)]
pub enum Event {
    /// The header of the next entry; its content follows as `Data` events
    /// totalling `entry.size` bytes.
    Entry(Box<Entry>),
    /// Content of the current entry.
    Data(Bytes),
}

/// A malformed tar: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at byte {offset} of the tar)")]
pub struct TarError {
    /// Byte offset in the uncompressed tar.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug)]
enum State {
    Header,
    Content {
        remaining: u64,
        pad: u64,
    },
    Skip {
        remaining: u64,
    },
    Meta {
        kind: u8,
        len: u64,
        pad: u64,
    },
    /// One zero block seen: the next block must be zero too.
    Zero,
    /// End of archive: the rest is ignored (but still read, so it is hashed).
    Done,
    Failed,
}

/// The push-fed tar reader, sans-IO: [`feed`](Self::feed) it a tar's bytes
/// in chunks of any size, then call [`finish`](Self::finish) at the end of
/// the input. It reads what Go's `archive/tar` reads (V7, ustar, GNU long
/// names and times, PAX); sparse files are refused. Content is handed back
/// as slices of the chunks fed, never copied; at most one header or one
/// metadata record (bounded by 1 MiB) is buffered.
///
/// After the end-of-archive marker (two zero blocks) the rest of the input
/// is accepted and ignored. After an error, every call fails.
///
/// ```
/// use bytes::Bytes;
/// use ocireg_mutate::{TarEntry, TarEvent, TarFormat, TarReader, tar_end_of_archive, tar_header};
///
/// let mut tar = tar_header(&TarEntry::new("a.txt", b'0').with_size(2), TarFormat::Default).to_vec();
/// tar.extend_from_slice(b"hi");
/// tar.resize(1024, 0);
/// tar.extend_from_slice(&tar_end_of_archive());
///
/// let mut reader = TarReader::new();
/// let mut events = Vec::new();
/// for chunk in tar.chunks(100) {
///     reader.feed(Bytes::copy_from_slice(chunk), &mut events)?;
/// }
/// reader.finish()?;
/// let mut content = Vec::new();
/// for event in events {
///     match event {
///         TarEvent::Entry(entry) => assert_eq!((entry.name.as_str(), entry.size), ("a.txt", 2)),
///         TarEvent::Data(data) => content.extend_from_slice(&data),
///     }
/// }
/// assert_eq!(content, b"hi");
///
/// // A tar cut inside an entry is an error at the end of the input.
/// let mut reader = TarReader::new();
/// reader.feed(Bytes::copy_from_slice(&tar[..600]), &mut Vec::new())?;
/// assert!(reader.finish().is_err());
/// # Ok::<(), ocireg_mutate::TarError>(())
/// ```
#[derive(Debug)]
pub struct Reader {
    state: State,
    buf: Vec<u8>,
    offset: u64,
    next_name: Option<String>,
    next_link: Option<String>,
    next_pax: BTreeMap<String, String>,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    /// A reader at the start of a tar.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: State::Header,
            buf: Vec::with_capacity(BLOCK),
            offset: 0,
            next_name: None,
            next_link: None,
            next_pax: BTreeMap::new(),
        }
    }

    fn fail(&mut self, reason: impl Into<String>) -> TarError {
        self.state = State::Failed;
        TarError {
            offset: self.offset,
            reason: reason.into(),
        }
    }

    /// Feeds the next chunk, pushing what it completes onto `out`: an
    /// [`Event::Entry`] for each header, then [`Event::Data`] slices of its
    /// content. Fails on a malformed tar, naming the byte offset.
    pub fn feed(&mut self, mut data: Bytes, out: &mut Vec<Event>) -> Result<(), TarError> {
        while !data.is_empty() {
            match &mut self.state {
                State::Failed => return Err(self.fail("reading past an error")),
                State::Done => {
                    self.offset += data.len() as u64;
                    return Ok(());
                }
                State::Content { remaining, pad } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    *remaining -= n as u64;
                    let pad = *pad;
                    let done = *remaining == 0;
                    out.push(Event::Data(data.split_to(n)));
                    self.offset += n as u64;
                    if done {
                        self.state = if pad == 0 {
                            State::Header
                        } else {
                            State::Skip { remaining: pad }
                        };
                    }
                }
                State::Skip { remaining } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        self.state = State::Header;
                    }
                    let _ = data.split_to(n);
                    self.offset += n as u64;
                }
                State::Header | State::Zero => {
                    let n = (BLOCK - self.buf.len()).min(data.len());
                    self.buf.extend_from_slice(&data.split_to(n));
                    if self.buf.len() == BLOCK {
                        let block = std::mem::take(&mut self.buf);
                        self.block(&block, out)?;
                        self.offset += BLOCK as u64;
                        self.buf = block;
                        self.buf.clear();
                    }
                }
                State::Meta { kind, len, pad } => {
                    let (kind, len, pad) = (*kind, *len, *pad);
                    let want = usize::try_from(len).unwrap_or(usize::MAX) - self.buf.len();
                    let n = want.min(data.len());
                    self.buf.extend_from_slice(&data.split_to(n));
                    self.offset += n as u64;
                    if self.buf.len() as u64 == len {
                        let meta = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
                        self.meta(kind, &meta)?;
                        self.state = if pad == 0 {
                            State::Header
                        } else {
                            State::Skip { remaining: pad }
                        };
                    }
                }
            }
        }
        Ok(())
    }

    /// The input ended: an error (a truncated tar) unless it ended between
    /// entries (with or without the end-of-archive marker, as Go accepts).
    pub fn finish(&mut self) -> Result<(), TarError> {
        match self.state {
            State::Done | State::Zero => Ok(()),
            State::Header if self.buf.is_empty() => Ok(()),
            _ => Err(self.fail("unexpected end of the tar")),
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one header, field by field, in the order of the format"
    )]
    fn block(&mut self, h: &[u8], out: &mut Vec<Event>) -> Result<(), TarError> {
        let zero = h.iter().all(|&b| b == 0);
        if matches!(self.state, State::Zero) {
            if zero {
                self.state = State::Done;
                return Ok(());
            }
            return Err(self.fail("a zero block followed by a non-zero block"));
        }
        if zero {
            self.state = State::Zero;
            return Ok(());
        }
        if !checksum_ok(h) {
            return Err(self.fail("invalid tar header (bad checksum)"));
        }
        let magic = &h[257..265];
        let ustar = &magic[..6] == b"ustar\0";
        let gnu = magic == b"ustar  \0";
        let mut typeflag = h[156];
        let mut name = cstr(&h[..100]);
        if ustar {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        let size = self.numeric(&h[124..136], "size")?;
        let size = u64::try_from(size).map_err(|_| self.fail("negative size"))?;
        match typeflag {
            PAX_LOCAL | GNU_LONG_NAME | GNU_LONG_LINK => {
                if size > MAX_META {
                    return Err(self.fail(format!(
                        "a metadata entry of {size} bytes (limit {MAX_META})"
                    )));
                }
                let pad = pad_of(size);
                self.state = if size == 0 {
                    State::Header
                } else {
                    State::Meta {
                        kind: typeflag,
                        len: size,
                        pad,
                    }
                };
                if size == 0 && typeflag == PAX_LOCAL {
                    self.next_pax.clear();
                }
                return Ok(());
            }
            PAX_GLOBAL => {
                // Global records apply to the archive, not to an entry: skipped.
                let skip = size + pad_of(size);
                self.state = if skip == 0 {
                    State::Header
                } else {
                    State::Skip { remaining: skip }
                };
                return Ok(());
            }
            GNU_SPARSE => return Err(self.fail("sparse file entries are not supported")),
            0 | CONT => {
                typeflag = if name.ends_with('/') { DIR } else { REG };
            }
            _ => {}
        }
        let mut entry = Entry {
            name,
            link: cstr(&h[157..257]),
            typeflag,
            mode: self.numeric(&h[100..108], "mode")?,
            uid: self.numeric(&h[108..116], "uid")?,
            gid: self.numeric(&h[116..124], "gid")?,
            size,
            mtime: TarTime {
                secs: self.numeric(&h[136..148], "mtime")?,
                nanos: 0,
            },
            ..Entry::default()
        };
        if ustar || gnu {
            entry.uname = cstr(&h[265..297]);
            entry.gname = cstr(&h[297..329]);
            entry.devmajor = self.numeric(&h[329..337], "devmajor")?;
            entry.devminor = self.numeric(&h[337..345], "devminor")?;
        }
        if gnu {
            if h[345] != 0 {
                entry.atime = Some(TarTime {
                    secs: self.numeric(&h[345..357], "atime")?,
                    nanos: 0,
                });
            }
            if h[357] != 0 {
                entry.ctime = Some(TarTime {
                    secs: self.numeric(&h[357..369], "ctime")?,
                    nanos: 0,
                });
            }
        }
        if let Some(n) = self.next_name.take() {
            entry.name = n;
        }
        if let Some(l) = self.next_link.take() {
            entry.link = l;
        }
        let pax = std::mem::take(&mut self.next_pax);
        self.apply_pax(&mut entry, pax)?;
        if is_header_only(entry.typeflag) {
            entry.size = 0;
        }
        let size = entry.size;
        out.push(Event::Entry(Box::new(entry)));
        self.state = if size == 0 {
            State::Header
        } else {
            State::Content {
                remaining: size,
                pad: pad_of(size),
            }
        };
        Ok(())
    }

    fn apply_pax(
        &mut self,
        entry: &mut Entry,
        pax: BTreeMap<String, String>,
    ) -> Result<(), TarError> {
        for (k, v) in pax {
            match k.as_str() {
                "path" => entry.name = v,
                "linkpath" => entry.link = v,
                "uname" => entry.uname = v,
                "gname" => entry.gname = v,
                "size" => {
                    entry.size = v
                        .parse()
                        .map_err(|_| self.fail(format!("invalid PAX size {v:?}")))?;
                }
                "uid" | "gid" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| self.fail(format!("invalid PAX {k} {v:?}")))?;
                    if k == "uid" {
                        entry.uid = n;
                    } else {
                        entry.gid = n;
                    }
                }
                "mtime" => entry.mtime = self.pax_time(&v)?,
                "atime" => entry.atime = Some(self.pax_time(&v)?),
                "ctime" => entry.ctime = Some(self.pax_time(&v)?),
                _ if k.starts_with("GNU.sparse.") => {
                    return Err(self.fail("sparse file entries are not supported"));
                }
                _ => {
                    entry.pax.insert(k, v);
                }
            }
        }
        Ok(())
    }

    fn pax_time(&mut self, v: &str) -> Result<TarTime, TarError> {
        parse_pax_time(v).ok_or_else(|| self.fail(format!("invalid PAX time {v:?}")))
    }

    fn meta(&mut self, kind: u8, data: &[u8]) -> Result<(), TarError> {
        match kind {
            GNU_LONG_NAME => self.next_name = Some(cstr(data)),
            GNU_LONG_LINK => self.next_link = Some(cstr(data)),
            _ => {
                let records = parse_pax(data).ok_or_else(|| self.fail("invalid PAX records"))?;
                self.next_pax = records;
            }
        }
        Ok(())
    }

    fn numeric(&mut self, field: &[u8], what: &str) -> Result<i64, TarError> {
        parse_numeric(field).ok_or_else(|| self.fail(format!("invalid {what} field")))
    }
}

fn pad_of(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// Bytes of zero padding after content of `size` bytes.
pub(crate) fn padding(size: u64) -> usize {
    usize::try_from(pad_of(size)).unwrap_or(0)
}

fn checksum_ok(h: &[u8]) -> bool {
    let Some(stored) = parse_octal(&h[148..156]) else {
        return false;
    };
    let mut unsigned: i64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += i64::from(b);
        signed += i64::from(b.cast_signed());
    }
    stored == unsigned || stored == signed
}

/// A NUL-terminated string field (lossy for non-UTF-8 bytes).
fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn parse_octal(field: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Some(0);
    }
    i64::from_str_radix(text, 8).ok()
}

/// An octal or base-256 numeric field, as Go's `parseNumeric`.
fn parse_numeric(field: &[u8]) -> Option<i64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // Base-256: two's complement big endian, the marker bit cleared.
        let negative = field[0] & 0x40 != 0;
        let mut n: i128 = if negative { -1 } else { 0 };
        for (i, &b) in field.iter().enumerate() {
            let b = if i == 0 { b & 0x7f } else { b };
            let b = if i == 0 && negative { b | 0x80 } else { b };
            n = (n << 8) | i128::from(b);
            if n > i128::from(i64::MAX) || n < i128::from(i64::MIN) {
                return None;
            }
        }
        return i64::try_from(n).ok();
    }
    parse_octal(field)
}

fn parse_pax_time(v: &str) -> Option<TarTime> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let negative = int.starts_with('-');
    let secs: i64 = int.parse().ok()?;
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut digits: String = frac.chars().take(9).collect();
    while digits.len() < 9 {
        digits.push('0');
    }
    let nanos: u32 = digits.parse().ok()?;
    if negative && nanos != 0 {
        Some(TarTime {
            secs: secs - 1,
            nanos: 1_000_000_000 - nanos,
        })
    } else {
        Some(TarTime { secs, nanos })
    }
}

/// Parses PAX records (`"%d %s=%s\n"`).
fn parse_pax(mut data: &[u8]) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    while !data.is_empty() {
        // Trailing NULs pad some writers' record blocks.
        if data.iter().all(|&b| b == 0) {
            break;
        }
        let sp = data.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&data[..sp]).ok()?.parse().ok()?;
        if len <= sp + 1 || len > data.len() || data[len - 1] != b'\n' {
            return None;
        }
        let record = &data[sp + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=')?;
        let key = String::from_utf8_lossy(&record[..eq]).into_owned();
        let value = String::from_utf8_lossy(&record[eq + 1..]).into_owned();
        if key.is_empty() {
            return None;
        }
        out.insert(key, value);
        data = &data[len..];
    }
    Some(out)
}

#[path = "tar_write.rs"]
mod write;
#[cfg(test)]
#[allow(
    clippy::wildcard_imports,
    reason = "the writer's helpers, for the reader and writer tests"
)]
use write::*;
pub use write::{TarFormat, tar_end_of_archive, tar_header, tar_padding};
pub(crate) use write::{end_of_archive, header_blocks};

#[cfg(test)]
#[path = "tar_tests.rs"]
mod tests;
