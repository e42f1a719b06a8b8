//! A push-fed tar header scanner: it sees a layer's uncompressed bytes chunk
//! by chunk (sans-IO, nothing buffered but one header or one long name) and
//! reports duplicate paths and truncation, as ggcr's validate does with
//! `archive/tar`.

use std::collections::HashSet;

const BLOCK: usize = 512;
/// Long names (GNU `L` entries, PAX headers) larger than this are not a path we
/// want to keep in memory; they are skipped and the entry's plain name is used.
const MAX_META: u64 = 1024 * 1024;

/// What went wrong while scanning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TarProblem {
    /// The same path appears twice.
    Duplicate(String),
    /// The tar ended in the middle of a header or an entry's content.
    Truncated,
    /// A header after the first one was corrupt.
    BadHeader {
        /// Byte offset of the header in the uncompressed stream.
        offset: u64,
    },
}

#[derive(Debug)]
enum State {
    /// Collecting the next 512-byte header.
    Header,
    /// Skipping `remaining` bytes of content (padding included).
    Skip { remaining: u64 },
    /// Collecting metadata content (a GNU long name or a PAX header) of
    /// `len` bytes, followed by `pad` padding bytes.
    Meta { kind: MetaKind, len: u64, pad: u64 },
    /// End of archive reached, or the content is not a tar: ignore the rest.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetaKind {
    GnuLongName,
    Pax,
}

/// Scans a tar stream for duplicate paths.
#[derive(Debug)]
pub(crate) struct TarScanner {
    state: State,
    buf: Vec<u8>,
    offset: u64,
    entries: usize,
    seen: HashSet<String>,
    /// A long name (GNU or PAX) applying to the next entry.
    next_name: Option<String>,
    /// A PAX size override applying to the next entry.
    next_size: Option<u64>,
    problem: Option<TarProblem>,
}

impl TarScanner {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Header,
            buf: Vec::with_capacity(BLOCK),
            offset: 0,
            entries: 0,
            seen: HashSet::new(),
            next_name: None,
            next_size: None,
            problem: None,
        }
    }

    /// Feeds the next chunk of the uncompressed stream.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.state {
                State::Done => return,
                State::Skip { remaining } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    *remaining -= n as u64;
                    self.offset += n as u64;
                    data = &data[n..];
                    if *remaining == 0 {
                        self.state = State::Header;
                    }
                }
                State::Header => {
                    let n = (BLOCK - self.buf.len()).min(data.len());
                    self.buf.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    if self.buf.len() == BLOCK {
                        let header = std::mem::take(&mut self.buf);
                        self.header(&header);
                        self.offset += BLOCK as u64;
                        self.buf = header;
                        self.buf.clear();
                    }
                }
                State::Meta { kind, len, pad } => {
                    let (kind, len, pad) = (*kind, *len, *pad);
                    let want = usize::try_from(len).unwrap_or(usize::MAX) - self.buf.len();
                    let n = want.min(data.len());
                    self.buf.extend_from_slice(&data[..n]);
                    self.offset += n as u64;
                    data = &data[n..];
                    if self.buf.len() as u64 == len {
                        let meta = std::mem::take(&mut self.buf);
                        self.meta(kind, &meta);
                        self.buf = Vec::with_capacity(BLOCK);
                        self.state = if pad == 0 {
                            State::Header
                        } else {
                            State::Skip { remaining: pad }
                        };
                    }
                }
            }
        }
    }

    /// Ends the scan: the first problem found, if any.
    pub(crate) fn finish(self) -> Option<TarProblem> {
        if self.problem.is_some() {
            return self.problem;
        }
        match self.state {
            State::Done => None,
            // A stream that ends cleanly between entries without the zero
            // blocks is accepted, as Go's reader does.
            State::Header if self.buf.is_empty() => None,
            // Not even one header read: the content is not a tar at all.
            State::Header if self.entries == 0 => None,
            _ => Some(TarProblem::Truncated),
        }
    }

    fn fail(&mut self, problem: TarProblem) {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
        self.state = State::Done;
    }

    fn header(&mut self, h: &[u8]) {
        if h.iter().all(|&b| b == 0) {
            // End of archive; what follows is padding.
            self.state = State::Done;
            return;
        }
        let Some(size) = parse_header(h) else {
            if self.entries == 0 {
                // ggcr: if the first entry cannot be read, the content is not
                // a tar and paths are not checked.
                self.state = State::Done;
            } else {
                self.fail(TarProblem::BadHeader {
                    offset: self.offset,
                });
            }
            return;
        };
        self.entries += 1;
        let typeflag = h[156];
        let padded = |len: u64| len.div_ceil(BLOCK as u64) * BLOCK as u64;
        match typeflag {
            b'L' | b'x' if size <= MAX_META => {
                let kind = if typeflag == b'L' {
                    MetaKind::GnuLongName
                } else {
                    MetaKind::Pax
                };
                self.state = if size == 0 {
                    State::Header
                } else {
                    State::Meta {
                        kind,
                        len: size,
                        pad: padded(size) - size,
                    }
                };
            }
            // Other metadata entries (long link names, global PAX headers,
            // oversized metadata) are skipped and name no file.
            b'L' | b'x' | b'K' | b'g' => self.skip(padded(size)),
            _ => {
                let name = self.next_name.take().unwrap_or_else(|| header_name(h));
                let size = self.next_size.take().unwrap_or(size);
                if !self.seen.insert(name.clone()) {
                    self.fail(TarProblem::Duplicate(name));
                    return;
                }
                // Hard links, symlinks, directories and devices carry no content.
                let content = if matches!(typeflag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6') {
                    0
                } else {
                    size
                };
                self.skip(padded(content));
            }
        }
    }

    fn skip(&mut self, len: u64) {
        self.state = if len == 0 {
            State::Header
        } else {
            State::Skip { remaining: len }
        };
    }

    fn meta(&mut self, kind: MetaKind, data: &[u8]) {
        match kind {
            MetaKind::GnuLongName => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                self.next_name = Some(String::from_utf8_lossy(&data[..end]).into_owned());
            }
            MetaKind::Pax => {
                for (key, value) in pax_records(data) {
                    match key {
                        b"path" => {
                            self.next_name = Some(String::from_utf8_lossy(value).into_owned());
                        }
                        b"size" => {
                            self.next_size =
                                std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Checks a header's checksum and returns the entry's size field.
fn parse_header(h: &[u8]) -> Option<u64> {
    let stored = parse_octal(&h[148..156])?;
    let mut unsigned: i64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += i64::from(b);
        signed += i64::from(b.cast_signed());
    }
    if stored != unsigned.cast_unsigned() && stored != signed.cast_unsigned() {
        return None;
    }
    parse_number(&h[124..136])
}

/// A numeric field: octal text, or base-256 when the high bit is set (GNU).
fn parse_number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        if field[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut n: u64 = u64::from(field[0] & 0x3f);
        for &b in &field[1..] {
            n = n.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(n);
    }
    parse_octal(field)
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ');
    // An empty field reads as zero, as in Go.
    let mut n: u64 = 0;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        n = n.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// The entry name, joining the USTAR prefix when the header is POSIX USTAR.
fn header_name(h: &[u8]) -> String {
    let name = cstr(&h[0..100]);
    let posix = &h[257..263] == b"ustar\0";
    let prefix = if posix { cstr(&h[345..500]) } else { &[][..] };
    if prefix.is_empty() {
        String::from_utf8_lossy(name).into_owned()
    } else {
        format!(
            "{}/{}",
            String::from_utf8_lossy(prefix),
            String::from_utf8_lossy(name)
        )
    }
}

/// PAX records: `"<len> <key>=<value>\n"` repeated. Malformed records end the list.
fn pax_records(mut data: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let Some(space) = data.iter().position(|&b| b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            break;
        }
        let record = &data[space + 1..len - 1];
        if let Some(eq) = record.iter().position(|&b| b == b'=') {
            out.push((&record[..eq], &record[eq + 1..]));
        }
        data = &data[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A USTAR header for a regular file (or other `typeflag`).
    fn header(name: &str, size: u64, typeflag: u8) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        let size = format!("{size:011o}");
        h[124..135].copy_from_slice(size.as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = typeflag;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    fn entry(name: &str, content: &[u8]) -> Vec<u8> {
        let mut out = header(name, content.len() as u64, b'0');
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        out
    }

    fn end() -> Vec<u8> {
        vec![0u8; 2 * BLOCK]
    }

    fn scan(data: &[u8], chunk: usize) -> Option<TarProblem> {
        let mut s = TarScanner::new();
        for c in data.chunks(chunk) {
            s.feed(c);
        }
        s.finish()
    }

    #[test]
    fn good_tar_in_any_chunking() {
        let tar = [entry("a", b"hello"), entry("b", &[7; 600]), end()].concat();
        for chunk in [1, 7, 511, 512, 513, 4096] {
            assert_eq!(scan(&tar, chunk), None, "chunk {chunk}");
        }
    }

    #[test]
    fn duplicate_paths() {
        let tar = [entry("a", b"x"), entry("b", b"y"), entry("a", b"z"), end()].concat();
        assert_eq!(scan(&tar, 100), Some(TarProblem::Duplicate("a".into())));
    }

    #[test]
    fn truncated_content_and_header() {
        let tar = [entry("a", &[1; 1000]), entry("b", b"x")].concat();
        assert_eq!(scan(&tar[..700], 64), Some(TarProblem::Truncated));
        assert_eq!(scan(&tar[..1536 + 300], 64), Some(TarProblem::Truncated));
        // Ending cleanly after an entry without end blocks is accepted.
        assert_eq!(scan(&tar, 64), None);
        // As in ggcr, a first header cut short means "not a tar", not an error.
        assert_eq!(scan(&tar[..300], 64), None);
    }

    #[test]
    fn not_a_tar_is_not_checked() {
        assert_eq!(scan(b"just some text that is not a tar", 5), None);
        assert_eq!(scan(&[0xAB; 2048], 100), None);
    }

    #[test]
    fn corrupt_later_header() {
        let mut bad = entry("b", b"y");
        bad[0] ^= 0x55; // checksum no longer matches
        let tar = [entry("a", b"x"), bad, end()].concat();
        assert_eq!(
            scan(&tar, 512),
            Some(TarProblem::BadHeader { offset: 1024 })
        );
    }

    #[test]
    fn gnu_long_names_and_pax_paths_are_used() {
        let long = "d/".repeat(80) + "file";
        let mut gnu = header("././@LongLink", long.len() as u64 + 1, b'L');
        let mut name = long.clone().into_bytes();
        name.push(0);
        name.resize(name.len().div_ceil(BLOCK) * BLOCK, 0);
        gnu.extend_from_slice(&name);

        let record_body = format!(" path={long}\n");
        let len = record_body.len() + 3; // "NNN" prefix
        let record = format!("{len}{record_body}");
        assert_eq!(record.len(), len);
        let mut pax = header("PaxHeaders/x", record.len() as u64, b'x');
        let mut body = record.into_bytes();
        body.resize(body.len().div_ceil(BLOCK) * BLOCK, 0);
        pax.extend_from_slice(&body);

        // Both spell the same long path, on entries whose own names differ.
        let tar = [
            gnu,
            entry("short1", b"a"),
            pax,
            entry("short2", b"b"),
            end(),
        ]
        .concat();
        assert_eq!(scan(&tar, 333), Some(TarProblem::Duplicate(long)));
    }

    #[test]
    fn directories_and_links_have_no_content() {
        let mut dir = header("d/", 0, b'5');
        dir.extend(entry("d/f", b"data"));
        let link = header("l", 0, b'2');
        let tar = [dir, link, end()].concat();
        assert_eq!(scan(&tar, 512), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"00000000012\0"), Some(10));
        assert_eq!(parse_number(b"     12 \0\0\0\0"), Some(10));
        assert_eq!(
            parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Some(256)
        );
        assert_eq!(parse_number(b"0000000009\0\0"), None);
    }
}
