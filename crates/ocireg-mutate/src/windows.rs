//! Layers for Windows images (ggcr `internal/windows`), streamed: see
//! [`windows`].

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_util::StreamExt as _;
use ocireg_v1::partial::{UncompressedLayer, UncompressedToLayer};
use ocireg_v1::{Blob, Digest, Hasher, Layer, MediaType, async_trait};

use crate::tar::{self, DIR, Entry, Event, REG, Reader};
use crate::{Error, Result};

/// The `MSWINDOWS.rawsd` PAX record given to every entry of a Windows layer:
/// a base64 self-relative security descriptor whose owner and group are
/// `BUILTIN\Users` (SDDL `O:BUG:BU`), which lets the files be executed in a
/// Windows container (ggcr's `userOwnerAndGroupSID`).
pub const USER_OWNER_AND_GROUP_SID: &str =
    "AQAAgBQAAAAkAAAAAAAAAAAAAAABAgAAAAAABSAAAAAhAgAAAQIAAAAAAAUgAAAAIQIAAA==";

/// The PAX record key of [`USER_OWNER_AND_GROUP_SID`].
const RAWSD: &str = "MSWINDOWS.rawsd";

/// The directory every file goes under.
const FILES: &str = "Files";

/// `layer` rewritten for a Windows image (ggcr `windows.Windows`). The
/// result is a gzip Docker layer
/// (`application/vnd.docker.image.rootfs.diff.tar.gzip`, as ggcr's
/// `tarball.LayerFromOpener` gives) whatever `layer`'s media type was.
///
/// A Windows container's layer keeps its files under `Files/` and its
/// registry hives under `Hives/`. `crane append` onto a base whose config
/// says `"os": "windows"` rewrites each new layer into that shape:
///
/// 1. two directories first, `Files` then `Hives`: mode `0555`, owner 0:0,
///    modification time 0, no PAX records;
/// 2. then every entry of the original tar, in order, renamed to
///    `path.Join("Files", name)` (so `./a/` becomes `Files/a`, `/a` becomes
///    `Files/a`, and `./` becomes a second `Files`), with the PAX record
///    `MSWINDOWS.rawsd` set to [`USER_OWNER_AND_GROUP_SID`] (a security
///    descriptor: owner and group `BUILTIN\Users`) added to its own records;
///    every field else (mode, ids, names, times, link targets) is kept;
/// 3. the tar is written in the PAX format as Go's `tar.Writer` writes it,
///    so the bytes, hence the diff id, are ggcr's.
///
/// Link targets are not renamed (ggcr does not rename them either): a
/// symlink's target is relative or Windows-rooted anyway, and a hard link
/// keeps its original target name, as in ggcr's output.
///
/// Where this differs from ggcr: an entry whose name would leave `Files/`
/// (`../x`, which ggcr writes as `x`) is refused, as is a name that already
/// starts with `Files/` (ggcr refuses that too); an old-style regular file
/// (typeflag NUL or `7`) with content is copied (ggcr fails on it); a PAX
/// global header (as `git archive` writes) is dropped, where ggcr writes it
/// back renamed under `Files/` with the record added, so the diff id of
/// such a tar differs from ggcr's; and the layer is never held in memory
/// (ggcr buffers the rewritten tar).
///
/// Nothing is read until asked: the diff id is learnt by streaming the
/// rewrite once, the digest by compressing it once more; every read streams
/// `layer` again and rewrites it entry by entry.
pub fn windows(layer: Arc<dyn Layer>) -> Arc<dyn Layer> {
    Arc::new(UncompressedToLayer::new(WindowsLayer {
        inner: layer,
        computed: OnceLock::new(),
    }))
}

/// `input`, an uncompressed tar, rewritten for a Windows image as
/// [`windows`] rewrites a layer's tar, streamed: each entry is written as it
/// is read, its content passed through untouched, so no more than one
/// header (and its bounded PAX records) is held at a time.
///
/// A malformed tar, or a name [`windows`] refuses, ends the stream with an
/// error (an [`Error`] inside the [`std::io::Error`]).
pub fn windows_tar(input: Blob) -> Blob {
    struct State {
        input: Blob,
        rewriter: Rewriter,
        queue: VecDeque<Bytes>,
        done: bool,
    }
    let state = State {
        input,
        rewriter: Rewriter::new(),
        queue: VecDeque::new(),
        done: false,
    };
    let stream = futures_util::stream::try_unfold(state, |mut st| async move {
        loop {
            if let Some(b) = st.queue.pop_front() {
                return Ok(Some((b, st)));
            }
            if st.done {
                return Ok(None);
            }
            if let Some(chunk) = st.input.next().await {
                st.rewriter.feed(chunk?, &mut st.queue).map_err(to_io)?;
            } else {
                st.rewriter.finish(&mut st.queue).map_err(to_io)?;
                st.done = true;
            }
        }
    });
    Blob::new(stream, None)
}

fn to_io(e: Error) -> std::io::Error {
    ocireg_v1::Error::from(e).into_io()
}

/// The sans-IO core of [`windows_tar`]: fed the input's bytes, it queues the
/// output's.
#[derive(Debug)]
pub(crate) struct Rewriter {
    reader: Reader,
    started: bool,
    /// Content bytes of the current entry still to come.
    remaining: u64,
    /// Zero padding due after them.
    pad: usize,
}

impl Rewriter {
    pub(crate) fn new() -> Self {
        Self {
            reader: Reader::new(),
            started: false,
            remaining: 0,
            pad: 0,
        }
    }

    /// The `Files` and `Hives` directories, written first.
    fn start(&mut self, out: &mut VecDeque<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        for name in [FILES, "Hives"] {
            let dir = Entry {
                name: name.to_owned(),
                typeflag: DIR,
                mode: 0o555,
                ..Entry::default()
            };
            out.push_back(tar::header_blocks(&dir));
        }
    }

    /// Feeds the next chunk of the input, queueing the output it completes.
    pub(crate) fn feed(&mut self, chunk: Bytes, out: &mut VecDeque<Bytes>) -> Result<()> {
        self.start(out);
        let mut events = Vec::new();
        self.reader
            .feed(chunk, &mut events)
            .map_err(|source| Error::Tar { index: 0, source })?;
        for event in events {
            match event {
                Event::Entry(e) => {
                    let e = rename(*e)?;
                    self.remaining = e.size;
                    self.pad = tar::padding(e.size);
                    out.push_back(tar::header_blocks(&e));
                }
                Event::Data(d) => {
                    self.remaining -= d.len() as u64;
                    out.push_back(d);
                    if self.remaining == 0 && self.pad > 0 {
                        out.push_back(Bytes::from(vec![0u8; self.pad]));
                    }
                }
            }
        }
        Ok(())
    }

    /// The input ended: queues the end of the archive, or fails if the input
    /// stopped inside an entry.
    pub(crate) fn finish(&mut self, out: &mut VecDeque<Bytes>) -> Result<()> {
        self.start(out);
        self.reader
            .finish()
            .map_err(|source| Error::Tar { index: 0, source })?;
        out.push_back(tar::end_of_archive());
        Ok(())
    }
}

/// One entry moved under `Files/` with the security descriptor record.
fn rename(mut e: Entry) -> Result<Entry> {
    if e.name.starts_with("Files/") {
        return Err(Error::UnsafePath {
            path: e.name,
            reason: "it is already under Files/, as in a layer made for Windows",
        });
    }
    // `path.Join("Files", name)`.
    let joined = crate::extract::clean(&format!("{FILES}/{}", e.name));
    if joined != FILES && !joined.starts_with("Files/") {
        return Err(Error::UnsafePath {
            path: e.name,
            reason: "it would land outside Files/ in a layer made for Windows",
        });
    }
    if e.typeflag != REG && e.size > 0 {
        return Err(Error::UnsafePath {
            path: e.name,
            reason: "an entry of this type cannot carry content in a layer made for Windows",
        });
    }
    e.name = joined;
    e.pax
        .insert(RAWSD.to_owned(), USER_OWNER_AND_GROUP_SID.to_owned());
    Ok(e)
}

/// A layer's tar rewritten by [`windows_tar`].
#[derive(Debug)]
struct WindowsLayer {
    inner: Arc<dyn Layer>,
    /// Diff id and size of the rewritten tar.
    computed: OnceLock<(Digest, u64)>,
}

impl WindowsLayer {
    async fn computed(&self) -> ocireg_v1::Result<(Digest, u64)> {
        if let Some(c) = self.computed.get() {
            return Ok(*c);
        }
        let mut stream = self.uncompressed().await?;
        let mut hasher = Hasher::sha256();
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk.map_err(ocireg_v1::Error::from_io)?);
        }
        let len = hasher.len();
        let c = (hasher.finish(), len);
        Ok(*self.computed.get_or_init(|| c))
    }
}

#[async_trait]
impl UncompressedLayer for WindowsLayer {
    async fn diff_id(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.computed().await?.0)
    }

    async fn uncompressed(&self) -> ocireg_v1::Result<Blob> {
        let blob = windows_tar(self.inner.uncompressed().await?);
        Ok(match self.computed.get() {
            Some((diff_id, size)) => blob.verified(*diff_id, Some(*size)),
            None => blob,
        })
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::DockerLayer)
    }

    async fn uncompressed_size(&self) -> ocireg_v1::Result<Option<u64>> {
        Ok(self.computed.get().map(|c| c.1))
    }
}

#[cfg(test)]
#[path = "windows_tests.rs"]
mod tests;
