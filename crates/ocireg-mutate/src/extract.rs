//! [`extract`]: an image's flattened filesystem as one tar stream (ggcr
//! `mutate.Extract`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use ocireg_v1::{Blob, Digest, Hasher, Image, Layer};

use crate::tar::{self, Entry, Event, Reader};
use crate::{Error, Result};

/// Go's `path.Clean`: `.` and empty elements dropped, `..` resolved
/// lexically, one slash between elements; `.` for an empty result.
pub(crate) fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// The parent of a cleaned relative path (`.` at the top), as `path.Dir`.
fn dir_of(name: &str) -> &str {
    match name.rfind('/') {
        Some(i) => &name[..i],
        None => ".",
    }
}

fn join(dir: &str, base: &str) -> String {
    if dir == "." {
        clean(base)
    } else {
        clean(&format!("{dir}/{base}"))
    }
}

fn escapes(cleaned: &str) -> bool {
    cleaned == ".." || cleaned.starts_with("../")
}

/// The archive path of a member, cleaned and made relative; refuses what
/// could land outside the root (`..`, a leading backslash, a drive letter).
pub(crate) fn safe_name(raw: &str) -> Result<String> {
    let unsafe_name = |reason: &'static str| Error::UnsafePath {
        path: raw.to_owned(),
        reason,
    };
    if raw.starts_with('\\') {
        return Err(unsafe_name("it starts with a backslash"));
    }
    let b = raw.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(unsafe_name("it starts with a drive letter"));
    }
    let cleaned = clean(raw);
    let relative = match cleaned.strip_prefix('/') {
        Some("") => ".".to_owned(),
        Some(rest) => rest.to_owned(),
        None => cleaned,
    };
    if escapes(&relative) {
        return Err(unsafe_name("it climbs out of the root with .."));
    }
    Ok(relative)
}

const WHITEOUT: &str = ".wh.";
/// Padding source.
static ZEROS: Bytes = Bytes::from_static(&[0u8; tar::BLOCK]);
const OPAQUE: &str = ".wh..wh..opq";

/// The image's filesystem, flattened: one tar stream holding what a
/// container started from the image would see (ggcr `mutate.Extract`).
///
/// Layers are read from the top down and streamed entry by entry, never
/// held in memory; each is read to its end, so its digest (and, when the
/// config lists it, its diff id) is checked, garbage after the tar's end
/// marker included.
///
/// - Later layers win: an entry hides entries with the same path below it,
///   and a non-directory hides everything under its path below it.
/// - `.wh.NAME` hides `NAME` (and what is under it) in lower layers, and
///   `DIR/.wh..wh..opq` hides everything under `DIR` in lower layers,
///   wherever they appear in their layer's tar: a whiteout never hides an
///   entry of its own layer, so a directory whited out and re-created in
///   the same layer keeps its new content.
/// - Paths are cleaned (`./a//b` is `a/b`, a leading `/` dropped); a path
///   that climbs out with `..`, starts with `\` or a drive letter is an
///   error. A symlink whose relative target, or a hardlink whose target,
///   points outside the root is dropped; absolute symlink targets are kept.
/// - Headers are written as Go writes them in PAX format, so the bytes match
///   ggcr's for the same layers.
///
/// Errors (a malformed tar, a digest mismatch) end the stream with an
/// `io::Error` wrapping an [`ocireg_v1::Error`]; recover it with
/// [`ocireg_v1::Error::from_io`].
pub fn extract(img: Arc<dyn Image>) -> Blob {
    let state = Extractor {
        img,
        layers: None,
        current: None,
        seen: HashMap::new(),
        opaque: HashSet::new(),
        written: HashSet::new(),
        deferred: Vec::new(),
        queue: VecDeque::new(),
        finished: false,
    };
    let stream = futures_util::stream::try_unfold(state, |mut st| async move {
        match st.next_output().await {
            Ok(Some(bytes)) => Ok(Some((bytes, st))),
            Ok(None) => Ok(None),
            Err(e) => Err(ocireg_v1::Error::from(e).into_io()),
        }
    });
    Blob::new(stream, None)
}

/// A layer still to read: its position, the layer, the diff id the config lists.
type Pending = (usize, Arc<dyn Layer>, Option<Digest>);

struct Extractor {
    img: Arc<dyn Image>,
    /// Layers still to read, the top one last (popped first), with the diff
    /// id the config gives each.
    layers: Option<Vec<Pending>>,
    current: Option<Current>,
    /// Paths decided by upper layers; `true` when the path also hides what
    /// is under it (a non-directory or a whiteout).
    seen: HashMap<String, bool>,
    /// Directories made opaque by upper layers.
    opaque: HashSet<String>,
    /// Every path written so far.
    written: HashSet<String>,
    /// Hardlinks whose target was not written yet (it is in a lower layer,
    /// which comes later in the stream): written at the end, after it.
    deferred: Vec<Entry>,
    queue: VecDeque<Bytes>,
    finished: bool,
}

struct Current {
    index: usize,
    stream: Blob,
    reader: Reader,
    hasher: Hasher,
    diff_id: Option<Digest>,
    /// Paths written from this layer (`true`: hides what is under it).
    written: HashMap<String, bool>,
    whiteouts: Vec<String>,
    opaques: Vec<String>,
    /// Content bytes of the current entry still to pass and the padding
    /// after them (`None`: the entry is dropped).
    passing: Option<(u64, usize)>,
    events: Vec<Event>,
}

impl Extractor {
    async fn next_output(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Some(b) = self.queue.pop_front() {
                return Ok(Some(b));
            }
            if self.finished {
                return Ok(None);
            }
            self.advance().await?;
        }
    }

    async fn advance(&mut self) -> Result<()> {
        if self.layers.is_none() {
            let layers = self.img.layers().await.map_err(Error::Image)?;
            let diff_ids = match self.img.config_file().await {
                Ok(c) => c.rootfs.diff_ids.unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            let aligned = diff_ids.len() == layers.len();
            self.layers = Some(
                layers
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| (i, l, aligned.then(|| diff_ids[i])))
                    .collect(),
            );
        }
        let Some(cur) = self.current.as_mut() else {
            let next = self.layers.as_mut().and_then(Vec::pop);
            let Some((index, layer, diff_id)) = next else {
                self.write_deferred_links();
                self.queue.push_back(tar::end_of_archive());
                self.finished = true;
                return Ok(());
            };
            let stream = layer
                .uncompressed()
                .await
                .map_err(|e| Error::Layer { index, source: e })?;
            self.current = Some(Current {
                index,
                stream,
                reader: Reader::new(),
                hasher: Hasher::sha256(),
                diff_id,
                written: HashMap::new(),
                whiteouts: Vec::new(),
                opaques: Vec::new(),
                passing: None,
                events: Vec::new(),
            });
            return Ok(());
        };
        let index = cur.index;
        let Some(chunk) = cur.stream.next().await else {
            return self.end_layer();
        };
        let chunk = chunk.map_err(|e| Error::Layer {
            index,
            source: ocireg_v1::Error::from_io(e),
        })?;
        cur.hasher.update(&chunk);
        let mut events = std::mem::take(&mut cur.events);
        cur.reader
            .feed(chunk, &mut events)
            .map_err(|source| Error::Tar { index, source })?;
        for event in events.drain(..) {
            self.handle(event)?;
        }
        if let Some(cur) = self.current.as_mut() {
            cur.events = events;
        }
        Ok(())
    }

    fn end_layer(&mut self) -> Result<()> {
        let Some(mut cur) = self.current.take() else {
            return Ok(());
        };
        let index = cur.index;
        cur.reader
            .finish()
            .map_err(|source| Error::Tar { index, source })?;
        let got = cur.hasher.finish();
        if let Some(want) = cur.diff_id
            && want != got
        {
            return Err(Error::DiffIdMismatch {
                index,
                expected: want,
                actual: got,
            });
        }
        for (name, hides) in cur.written {
            self.seen.entry(name).or_insert(hides);
        }
        for name in cur.whiteouts {
            self.seen.insert(name, true);
        }
        self.opaque.extend(cur.opaques);
        Ok(())
    }

    /// The hardlinks deferred until their targets were written (ggcr writes
    /// them before their targets, which readers refuse, #2002); a link whose
    /// target never came (whited out above) is dropped.
    fn write_deferred_links(&mut self) {
        loop {
            let before = self.deferred.len();
            let (ready, waiting): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.deferred)
                .into_iter()
                .partition(|e| self.written.contains(&e.link));
            for entry in ready {
                self.written.insert(entry.name.clone());
                self.queue.push_back(tar::header_blocks(&entry));
            }
            self.deferred = waiting;
            if self.deferred.len() == before || self.deferred.is_empty() {
                self.deferred.clear();
                return;
            }
        }
    }

    fn hidden(&self, cur: &Current, name: &str) -> bool {
        if self.seen.contains_key(name) || cur.written.contains_key(name) {
            return true;
        }
        if name != "." && self.opaque.contains(".") {
            return true;
        }
        let mut p = name;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if self.seen.get(p) == Some(&true)
                || cur.written.get(p) == Some(&true)
                || self.opaque.contains(p)
            {
                return true;
            }
        }
        false
    }

    fn handle(&mut self, event: Event) -> Result<()> {
        let Some(cur) = self.current.as_ref() else {
            return Ok(());
        };
        match event {
            Event::Data(d) => {
                let cur = self.current.as_mut().expect("checked above");
                if let Some((remaining, pad)) = cur.passing.as_mut() {
                    *remaining -= d.len() as u64;
                    let (done, pad) = (*remaining == 0, *pad);
                    self.queue.push_back(d);
                    if done {
                        cur.passing = None;
                        if pad > 0 {
                            self.queue.push_back(ZEROS.slice(..pad));
                        }
                    }
                }
                Ok(())
            }
            Event::Entry(entry) => {
                let decision = self.decide(cur, *entry)?;
                let cur = self.current.as_mut().expect("checked above");
                cur.passing = None;
                match decision {
                    Decision::Skip => {}
                    Decision::Whiteout(name) => cur.whiteouts.push(name),
                    Decision::Opaque(dir) => cur.opaques.push(dir),
                    Decision::Write(entry) => {
                        cur.written.insert(entry.name.clone(), !entry.is_dir());
                        if entry.typeflag == tar::LINK && !self.written.contains(&entry.link) {
                            self.deferred.push(*entry);
                            return Ok(());
                        }
                        self.written.insert(entry.name.clone());
                        self.queue.push_back(tar::header_blocks(&entry));
                        if entry.size > 0 {
                            cur.passing = Some((entry.size, tar::padding(entry.size)));
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn decide(&self, cur: &Current, mut entry: Entry) -> Result<Decision> {
        let index = cur.index;
        let name = safe_name(&entry.name).map_err(|e| e.in_layer(index))?;
        let (dir, base) = match name.rfind('/') {
            Some(i) => (&name[..i], &name[i + 1..]),
            None => (".", name.as_str()),
        };
        if let Some(hidden) = base.strip_prefix(WHITEOUT) {
            if base == OPAQUE {
                return Ok(Decision::Opaque(dir.to_owned()));
            }
            if hidden.starts_with(WHITEOUT) || hidden.is_empty() {
                // aufs bookkeeping (`.wh..wh.plnk`...): not a path of the image.
                return Ok(Decision::Skip);
            }
            return Ok(Decision::Whiteout(join(dir, hidden)));
        }
        if self.hidden(cur, &name) {
            return Ok(Decision::Skip);
        }
        match entry.typeflag {
            tar::SYMLINK
                if !entry.link.starts_with('/') && escapes(&join(dir_of(&name), &entry.link)) =>
            {
                return Ok(Decision::Skip);
            }
            tar::LINK => match safe_name(&entry.link) {
                Ok(target) => entry.link = target,
                Err(_) => return Ok(Decision::Skip),
            },
            _ => {}
        }
        entry.name = name;
        Ok(Decision::Write(Box::new(entry)))
    }
}

enum Decision {
    Skip,
    Whiteout(String),
    Opaque(String),
    Write(Box<Entry>),
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
