//! The tar header writer: Go's `tar.Writer`, its format forced to PAX (what
//! ggcr's `mutate.Extract` writes) or left to it (ustar when it fits).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bytes::{Bytes, BytesMut};

use super::{BASIC_KEYS, BLOCK, Entry, PAX_LOCAL, TarTime, padding};

// ---- writing, as Go's tar.Writer with Format = FormatPAX ----

pub(super) fn is_ascii(s: &str) -> bool {
    s.bytes().all(|b| b != 0 && b < 0x80)
}

pub(super) fn to_ascii(s: &str) -> String {
    s.chars().filter(|&c| c != '\0' && c.is_ascii()).collect()
}

pub(super) fn fits_octal(width: usize, x: i64) -> bool {
    let bits = (width - 1) * 3;
    x >= 0 && (width >= 22 || x < (1i64 << bits))
}

/// Go's `formatString`: truncates, NUL-terminates when there is room, and
/// does not leave a trailing slash where the name was cut.
pub(super) fn put_str(field: &mut [u8], s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(field.len());
    field[..n].copy_from_slice(&b[..n]);
    if b.len() < field.len() {
        field[b.len()] = 0;
    }
    if b.len() > field.len() && field[field.len() - 1] == b'/' {
        let kept = s[..field.len() - 1].trim_end_matches('/').len();
        field[kept] = 0;
    }
}

/// Go's `formatOctal`: zero-padded octal and a NUL; 0 when it does not fit.
pub(super) fn put_octal(field: &mut [u8], x: i64) {
    let x = if fits_octal(field.len(), x) { x } else { 0 };
    let s = format!("{x:o}");
    let width = field.len() - 1;
    let s = if s.len() < width {
        format!("{}{s}", "0".repeat(width - s.len()))
    } else {
        s
    };
    put_str(field, &s);
}

pub(super) fn set_pax_format(h: &mut [u8; BLOCK]) {
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: i64 = h.iter().map(|&b| i64::from(b)).sum();
    put_octal(&mut h[148..155], sum);
    h[155] = b' ';
}

pub(super) fn format_pax_time(t: TarTime) -> String {
    if t.nanos == 0 {
        return t.secs.to_string();
    }
    let (sign, secs, nanos) = if t.secs < 0 {
        ("-", -(t.secs + 1), 1_000_000_000 - t.nanos)
    } else {
        ("", t.secs, t.nanos)
    };
    format!("{sign}{secs}.{nanos:09}")
        .trim_end_matches('0')
        .to_owned()
}

pub(super) fn pax_record(key: &str, value: &str) -> String {
    let base = key.len() + value.len() + 3;
    let mut size = base + base.to_string().len();
    let mut record = format!("{size} {key}={value}\n");
    if record.len() != size {
        size = record.len();
        record = format!("{size} {key}={value}\n");
    }
    record
}

/// The name of the PAX record entry for `name` (Go: `PaxHeaders.0` beside it).
pub(super) fn pax_name(name: &str) -> String {
    let (dir, file) = match name.rfind('/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    let joined = if dir.is_empty() {
        format!("PaxHeaders.0/{file}")
    } else {
        format!("{dir}PaxHeaders.0/{file}")
    };
    clean_slashes(&joined)
}

/// `path.Join`'s cleaning for the simple names built above.
pub(super) fn clean_slashes(p: &str) -> String {
    crate::extract::clean(p)
}

/// The header blocks Go writes for `entry` with the PAX format forced: an
/// optional PAX record entry, then the ustar header. `entry.size` is what is
/// written as the size (0 for header-only types).
pub(crate) fn header_blocks(entry: &Entry) -> Bytes {
    let mut records: BTreeMap<String, String> = BTreeMap::new();
    let long = |s: &str, width: usize| !is_ascii(s) || s.len() > width;
    if long(&entry.name, 100) {
        records.insert("path".into(), entry.name.clone());
    }
    if long(&entry.link, 100) {
        records.insert("linkpath".into(), entry.link.clone());
    }
    if long(&entry.uname, 32) {
        records.insert("uname".into(), entry.uname.clone());
    }
    if long(&entry.gname, 32) {
        records.insert("gname".into(), entry.gname.clone());
    }
    if !fits_octal(8, entry.uid) {
        records.insert("uid".into(), entry.uid.to_string());
    }
    if !fits_octal(8, entry.gid) {
        records.insert("gid".into(), entry.gid.to_string());
    }
    let size = i64::try_from(entry.size).unwrap_or(i64::MAX);
    if !fits_octal(12, size) {
        records.insert("size".into(), entry.size.to_string());
    }
    if !fits_octal(12, entry.mtime.secs) || entry.mtime.nanos != 0 {
        records.insert("mtime".into(), format_pax_time(entry.mtime));
    }
    if let Some(t) = entry.atime {
        records.insert("atime".into(), format_pax_time(t));
    }
    if let Some(t) = entry.ctime {
        records.insert("ctime".into(), format_pax_time(t));
    }
    for (k, v) in &entry.pax {
        if !BASIC_KEYS.contains(&k.as_str()) && !records.contains_key(k) {
            records.insert(k.clone(), v.clone());
        }
    }
    let mut out = BytesMut::with_capacity(2 * BLOCK);
    if !records.is_empty() {
        let mut data = String::new();
        for (k, v) in &records {
            let _ = write!(data, "{}", pax_record(k, v));
        }
        let mut h = [0u8; BLOCK];
        let mut name = to_ascii(&pax_name(&entry.name));
        name.truncate(100);
        let name = name.trim_end_matches('/');
        put_str(&mut h[..100], name);
        put_octal(&mut h[100..108], 0);
        put_octal(&mut h[108..116], 0);
        put_octal(&mut h[116..124], 0);
        put_octal(&mut h[124..136], i64::try_from(data.len()).unwrap_or(0));
        put_octal(&mut h[136..148], 0);
        h[156] = PAX_LOCAL;
        set_pax_format(&mut h);
        out.extend_from_slice(&h);
        out.extend_from_slice(data.as_bytes());
        out.extend_from_slice(&[0u8; BLOCK][..padding(data.len() as u64)]);
    }
    let mut h = [0u8; BLOCK];
    h[156] = entry.typeflag;
    put_str(&mut h[..100], &to_ascii(&entry.name));
    put_str(&mut h[157..257], &to_ascii(&entry.link));
    put_octal(&mut h[100..108], entry.mode);
    put_octal(&mut h[108..116], entry.uid);
    put_octal(&mut h[116..124], entry.gid);
    put_octal(&mut h[124..136], size);
    put_octal(&mut h[136..148], entry.mtime.secs);
    put_str(&mut h[265..297], &to_ascii(&entry.uname));
    put_str(&mut h[297..329], &to_ascii(&entry.gname));
    put_octal(&mut h[329..337], entry.devmajor);
    put_octal(&mut h[337..345], entry.devminor);
    set_pax_format(&mut h);
    out.extend_from_slice(&h);
    out.freeze()
}

/// The end of an archive: two zero blocks.
pub(crate) fn end_of_archive() -> Bytes {
    Bytes::from_static(&[0u8; 2 * BLOCK])
}

/// Which of Go's tar formats a header is written in (Go's `Header.Format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TarFormat {
    /// Left to the writer (Go's `FormatUnknown`): the modification time is
    /// rounded to the second, access and change times are dropped, and the
    /// header is ustar (a long ASCII name split into prefix and name) when
    /// ustar can hold it, else PAX.
    #[default]
    Default,
    /// PAX forced (Go's `FormatPAX`, what ggcr's `mutate.Extract` writes):
    /// never a prefix split; every field ustar cannot hold, sub-second
    /// times, access and change times and other records go in a PAX record
    /// block.
    Pax,
}

/// The header blocks Go's `tar.Writer` writes for `entry` in `format`: a
/// `PaxHeaders.0` record entry when one is needed, then the ustar header
/// block. The content (`entry.size` bytes), its padding to a block
/// ([`tar_padding`]) and, after the last entry, [`tar_end_of_archive`]
/// follow. Fields that no format can hold (a negative mode, device numbers
/// over 21 bits) are written as 0.
///
/// ```
/// use ocireg_mutate::{TarEntry, TarFormat, tar_end_of_archive, tar_header, tar_padding};
///
/// let content = b"hello\n";
/// let entry = TarEntry::new("etc/motd", b'0').with_mode(0o644).with_size(content.len() as u64);
/// let mut tar = tar_header(&entry, TarFormat::Default).to_vec();
/// tar.extend_from_slice(content);
/// tar.resize(tar.len() + tar_padding(content.len() as u64), 0);
/// tar.extend_from_slice(&tar_end_of_archive());
/// assert_eq!(tar.len(), 4 * 512);
/// assert_eq!(&tar[..8], b"etc/motd");
/// assert_eq!(&tar[257..265], b"ustar\x0000");
///
/// // A name over 100 bytes is split into the ustar prefix, or forced into PAX.
/// let long = TarEntry::new(format!("{}/motd", "d".repeat(120)), b'0');
/// assert_eq!(tar_header(&long, TarFormat::Default).len(), 512);
/// assert_eq!(tar_header(&long, TarFormat::Pax)[156], b'x');
/// ```
pub fn tar_header(entry: &Entry, format: TarFormat) -> Bytes {
    match format {
        TarFormat::Pax => header_blocks(entry),
        TarFormat::Default => {
            let mut entry = entry.clone();
            // Go's WriteHeader with no format: `ModTime.Round(time.Second)`
            // (halfway rounds up), no access or change time.
            if entry.mtime.nanos >= 500_000_000 {
                entry.mtime.secs = entry.mtime.secs.saturating_add(1);
            }
            entry.mtime.nanos = 0;
            entry.atime = None;
            entry.ctime = None;
            match ustar_split(&entry) {
                Some((prefix, name)) => ustar_block(&entry, prefix, name),
                None => header_blocks(&entry),
            }
        }
    }
}

/// Bytes of zero padding after content of `size` bytes, to the next
/// 512-byte block.
pub fn tar_padding(size: u64) -> usize {
    padding(size)
}

/// The end of a tar archive: two zero blocks (1024 bytes).
pub fn tar_end_of_archive() -> Bytes {
    end_of_archive()
}

/// Go's `splitUSTARPath`: a long ASCII name cut at a slash into a prefix of
/// at most 155 bytes and a name of at most 100.
pub(super) fn split_ustar(name: &str) -> Option<(&str, &str)> {
    const NAME: usize = 100;
    const PREFIX: usize = 155;
    let mut length = name.len();
    if length <= NAME || !is_ascii(name) {
        return None;
    } else if length > PREFIX + 1 {
        length = PREFIX + 1;
    } else if name.as_bytes()[length - 1] == b'/' {
        length -= 1;
    }
    let i = name[..length].rfind('/')?;
    let nlen = name.len() - i - 1;
    if i == 0 || nlen > NAME || nlen == 0 || i > PREFIX {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

/// Whether ustar holds `entry` (mtime already whole seconds, no access or
/// change time), and how its name is split: `("", name)` when it fits.
pub(super) fn ustar_split(entry: &Entry) -> Option<(&str, &str)> {
    let fits = |s: &str, width: usize| is_ascii(s) && s.len() <= width;
    let size = i64::try_from(entry.size).unwrap_or(i64::MAX);
    if !fits(&entry.link, 100)
        || !fits(&entry.uname, 32)
        || !fits(&entry.gname, 32)
        || !fits_octal(8, entry.uid)
        || !fits_octal(8, entry.gid)
        || !fits_octal(12, size)
        || !fits_octal(12, entry.mtime.secs)
        || !entry.pax.is_empty()
    {
        return None;
    }
    if fits(&entry.name, 100) {
        Some(("", &entry.name))
    } else {
        split_ustar(&entry.name)
    }
}

/// The one ustar block of `entry`, its name split into `prefix` and `name`.
pub(super) fn ustar_block(entry: &Entry, prefix: &str, name: &str) -> Bytes {
    let mut h = [0u8; BLOCK];
    h[156] = entry.typeflag;
    put_str(&mut h[..100], name);
    put_str(&mut h[157..257], &entry.link);
    put_octal(&mut h[100..108], entry.mode);
    put_octal(&mut h[108..116], entry.uid);
    put_octal(&mut h[116..124], entry.gid);
    put_octal(&mut h[124..136], i64::try_from(entry.size).unwrap_or(0));
    put_octal(&mut h[136..148], entry.mtime.secs);
    put_str(&mut h[265..297], &entry.uname);
    put_str(&mut h[297..329], &entry.gname);
    put_octal(&mut h[329..337], entry.devmajor);
    put_octal(&mut h[337..345], entry.devminor);
    put_str(&mut h[345..500], prefix);
    set_pax_format(&mut h);
    Bytes::copy_from_slice(&h)
}
