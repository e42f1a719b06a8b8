//! Writing into a layout: blobs (verified, durable, resumable), any
//! `Image`/`ImageIndex` view, and locked atomic changes of `index.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt as _;
use ocireg_v1::{
    Blob, Descriptor, Digest, Image, ImageExt as _, ImageIndex, ImageIndexExt as _, IndexManifest,
    MANIFEST_LIMIT, Manifest, Matcher, MediaType, Platform,
};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use crate::error::from_v1;
use crate::fsutil::{self, Lock, blocking};
use crate::read::{
    INDEX_FILE, LAYOUT_VERSION, LOCK_FILE, Layout, OCI_LAYOUT_FILE, WRITERS_LOCK_FILE,
};
use crate::{Error, Result};

/// How many layers of one image are written at once.
const LAYER_CONCURRENCY: usize = 4;

/// Chunks of a blob are gathered up to this many bytes before a write: each
/// write is a hop to the blocking pool, and network chunks are at most 64 KiB.
const WRITE_BATCH: usize = 256 * 1024;

/// What [`Layout::write_blob`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobWrite {
    /// The blob was already there and checked good.
    Present,
    /// The blob was written from the source.
    Written,
    /// The blob was completed from a partial file left by an earlier run;
    /// `reused` bytes were kept from it.
    Resumed {
        /// How many bytes of the partial file were kept.
        reused: u64,
    },
}

/// A write in progress: while one is held (by this or any process),
/// [`Layout::garbage_collect`] waits, so blobs written but not yet listed in
/// `index.json` are not collected. Released on drop. See [`Layout::write_guard`].
#[derive(Debug)]
#[must_use = "the guard protects the write only while it is held"]
pub struct WriteGuard {
    _lock: Lock,
}

/// Options for appending or replacing a descriptor in `index.json`
/// (ggcr `layout.Option`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AppendOptions {
    /// Annotations added to the descriptor.
    pub annotations: BTreeMap<String, String>,
    /// The platform set on the descriptor.
    pub platform: Option<Platform>,
    /// URLs set on the descriptor.
    pub urls: Vec<String>,
}

impl AppendOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tags the descriptor with `org.opencontainers.image.ref.name`.
    #[must_use]
    pub fn ref_name(self, name: impl Into<String>) -> Self {
        self.annotation(ocireg_v1::ANNOTATION_REF_NAME, name)
    }

    /// Adds one annotation.
    #[must_use]
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// Sets the URLs the content may also be fetched from.
    #[must_use]
    pub fn urls(mut self, urls: impl IntoIterator<Item = String>) -> Self {
        self.urls = urls.into_iter().collect();
        self
    }

    /// Sets the platform.
    #[must_use]
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    fn apply(&self, desc: &mut Descriptor) {
        desc.annotations
            .extend(self.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(p) = &self.platform {
            desc.platform = Some(p.clone());
        }
        if !self.urls.is_empty() {
            desc.urls.clone_from(&self.urls);
        }
    }
}

/// Indents compact JSON as Go's `json.MarshalIndent(v, "", "   ")` does (ggcr's
/// `index.json` style).
fn indent_go(compact: &[u8]) -> Vec<u8> {
    const IND: &[u8] = b"   ";
    let mut out = Vec::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let mut i = 0;
    while i < compact.len() {
        let c = compact[i];
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                out.push(c);
            }
            b'{' | b'[' => {
                out.push(c);
                let close = if c == b'{' { b'}' } else { b']' };
                if compact.get(i + 1) == Some(&close) {
                    out.push(close);
                    i += 1;
                } else {
                    depth += 1;
                    out.push(b'\n');
                    out.extend(std::iter::repeat_n(IND, depth).flatten());
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                out.push(b'\n');
                out.extend(std::iter::repeat_n(IND, depth).flatten());
                out.push(c);
            }
            b',' => {
                out.push(c);
                out.push(b'\n');
                out.extend(std::iter::repeat_n(IND, depth).flatten());
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

impl Layout {
    /// Creates a layout at `path` (directories, `oci-layout`, an empty
    /// `index.json`), or opens it when it is one already (ggcr `layout.Write`
    /// with an empty index, without clobbering).
    pub async fn create(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_owned();
        let r = root.clone();
        blocking(move || {
            let blobs = r.join("blobs").join("sha256");
            fs_err::create_dir_all(&blobs).map_err(|e| Error::fs(&blobs, e))?;
            let marker = r.join(OCI_LAYOUT_FILE);
            if fsutil::lstat_kind(&marker)?.is_none() {
                let body = format!("{{\n    \"imageLayoutVersion\": \"{LAYOUT_VERSION}\"\n}}");
                fsutil::atomic_write(&marker, body.as_bytes())?;
            }
            let _lock = Lock::exclusive(&r.join(LOCK_FILE))?;
            let index = r.join(INDEX_FILE);
            if fsutil::lstat_kind(&index)?.is_none() {
                let empty = IndexManifest::new(MediaType::OciImageIndex);
                let raw =
                    ocireg_v1::to_go_json(&empty).map_err(|e| Error::content(&index, None, e))?;
                fsutil::atomic_write(&index, &indent_go(&raw))?;
            }
            Ok(())
        })
        .await?;
        Self::open(&root).await
    }

    /// Marks a write in progress until the guard is dropped: a shared lock on
    /// [`WRITERS_LOCK_FILE`], which [`Layout::garbage_collect`] takes
    /// exclusively. Hold it from the first blob written until the descriptor
    /// that refers to them is in `index.json`. `append_*`, `replace_*` and
    /// [`Layout::write`] take one themselves; a caller that writes blobs with
    /// [`Layout::write_blob`] or [`Layout::write_image`] and lists them later
    /// takes one around both. (Do not collect garbage while holding one: the
    /// collection would wait for it.)
    pub async fn write_guard(&self) -> Result<WriteGuard> {
        let path = self.path().join(WRITERS_LOCK_FILE);
        let lock = blocking(move || Lock::shared(&path)).await?;
        Ok(WriteGuard { _lock: lock })
    }

    /// Changes `index.json` under the layout's exclusive lock: reads it, lets
    /// `change` edit it, and replaces it atomically. Returns what `change` returned.
    pub async fn update_index<T, F>(&self, change: F) -> Result<T>
    where
        F: FnOnce(&mut IndexManifest) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let root = self.path().to_owned();
        blocking(move || {
            let _lock = Lock::exclusive(&root.join(LOCK_FILE))?;
            let path = root.join(INDEX_FILE);
            let raw = fsutil::read_capped(&path, MANIFEST_LIMIT)?;
            let mut index =
                IndexManifest::parse(&raw).map_err(|e| Error::content(&path, None, e))?;
            let out = change(&mut index)?;
            let new = ocireg_v1::to_go_json(&index).map_err(|e| Error::content(&path, None, e))?;
            fsutil::atomic_write(&path, &indent_go(&new))?;
            Ok(out)
        })
        .await
    }

    /// Replaces `index.json` with exactly `raw` (it must parse as an index),
    /// under the lock.
    pub async fn set_raw_index(&self, raw: Bytes) -> Result<()> {
        let root = self.path().to_owned();
        blocking(move || {
            let path = root.join(INDEX_FILE);
            IndexManifest::parse(&raw).map_err(|e| Error::content(&path, None, e))?;
            let _lock = Lock::exclusive(&root.join(LOCK_FILE))?;
            fsutil::atomic_write(&path, &raw)
        })
        .await
    }

    /// Appends `desc` to `index.json` (ggcr `AppendDescriptor`).
    pub async fn append_descriptor(&self, desc: Descriptor) -> Result<()> {
        self.update_index(move |index| {
            index.manifests.push(desc);
            Ok(())
        })
        .await
    }

    /// Removes every root descriptor `matcher` accepts; returns how many
    /// (ggcr `RemoveDescriptors`). Blobs stay until [`Layout::garbage_collect`].
    pub async fn remove_descriptors(&self, matcher: Matcher) -> Result<usize> {
        self.update_index(move |index| {
            let before = index.manifests.len();
            index.manifests.retain(|d| !matcher.matches(d));
            Ok(before - index.manifests.len())
        })
        .await
    }

    /// Removes the descriptors `matcher` accepts and appends `desc`, in one
    /// locked change (ggcr `ReplaceDescriptor`).
    pub async fn replace_descriptor(&self, desc: Descriptor, matcher: Matcher) -> Result<()> {
        self.update_index(move |index| {
            index.manifests.retain(|d| !matcher.matches(d));
            index.manifests.push(desc);
            Ok(())
        })
        .await
    }

    /// Writes `img` and appends its descriptor, with `options`, to `index.json`
    /// (ggcr `AppendImage`). Returns the descriptor appended.
    pub async fn append_image(
        &self,
        img: &dyn Image,
        options: &AppendOptions,
    ) -> Result<Descriptor> {
        let _writing = self.write_guard().await?;
        let mut desc = self.write_image(img).await?;
        options.apply(&mut desc);
        self.append_descriptor(desc.clone()).await?;
        Ok(desc)
    }

    /// Writes `idx` and appends its descriptor (ggcr `AppendIndex`).
    pub async fn append_index(
        &self,
        idx: &dyn ImageIndex,
        options: &AppendOptions,
    ) -> Result<Descriptor> {
        let _writing = self.write_guard().await?;
        let mut desc = self.write_index(idx).await?;
        options.apply(&mut desc);
        self.append_descriptor(desc.clone()).await?;
        Ok(desc)
    }

    /// Writes `img`, then replaces the descriptors `matcher` accepts by its
    /// own (ggcr `ReplaceImage`).
    pub async fn replace_image(
        &self,
        img: &dyn Image,
        matcher: Matcher,
        options: &AppendOptions,
    ) -> Result<Descriptor> {
        let _writing = self.write_guard().await?;
        let mut desc = self.write_image(img).await?;
        options.apply(&mut desc);
        self.replace_descriptor(desc.clone(), matcher).await?;
        Ok(desc)
    }

    /// Writes `idx`, then replaces the descriptors `matcher` accepts by its
    /// own (ggcr `ReplaceIndex`).
    pub async fn replace_index(
        &self,
        idx: &dyn ImageIndex,
        matcher: Matcher,
        options: &AppendOptions,
    ) -> Result<Descriptor> {
        let _writing = self.write_guard().await?;
        let mut desc = self.write_index(idx).await?;
        options.apply(&mut desc);
        self.replace_descriptor(desc.clone(), matcher).await?;
        Ok(desc)
    }

    /// Creates a layout at `path` whose `index.json` is exactly `idx`'s raw
    /// manifest, with every child written (ggcr `layout.Write`).
    pub async fn write(path: impl AsRef<Path>, idx: &dyn ImageIndex) -> Result<Self> {
        let layout = Self::create(path).await?;
        let _writing = layout.write_guard().await?;
        layout.write_children(idx).await?;
        let raw = idx.raw_manifest().await.map_err(from_v1)?;
        layout.set_raw_index(raw).await?;
        Ok(layout)
    }

    /// Writes every blob of `img` (layers, config, manifest last), each
    /// streamed once, skipping blobs already present and good. The manifest
    /// bytes are kept exactly. Does not touch `index.json`.
    pub async fn write_image(&self, img: &dyn Image) -> Result<Descriptor> {
        let raw = img.raw_manifest().await.map_err(from_v1)?;
        let manifest = Manifest::parse(&raw).map_err(Error::from_source)?;
        // Layers a few at a time, each streamed chunk by chunk: memory stays
        // bounded whatever their size.
        let writes: Vec<_> = manifest
            .layers
            .iter()
            .map(|layer_desc| self.write_layer(img, layer_desc))
            .collect();
        let mut pending = futures_util::stream::iter(writes).buffer_unordered(LAYER_CONCURRENCY);
        while let Some(done) = pending.next().await {
            done?;
        }
        drop(pending);
        let cfg = &manifest.config;
        if !self.blob_good(cfg).await? {
            let raw_cfg = img.raw_config_file().await.map_err(from_v1)?;
            self.write_blob(cfg.digest, Some(cfg.size), Blob::from_bytes(raw_cfg))
                .await?;
        }
        let desc = img.to_descriptor().await.map_err(from_v1)?;
        let mut out = Descriptor::new(desc.media_type, raw.len() as u64, ocireg_v1::sha256(&raw));
        out.artifact_type = desc.artifact_type;
        if out.digest != desc.digest {
            // A source that names its manifest with another algorithm.
            out.digest = ocireg_v1::digest_of(desc.digest.algorithm(), &raw);
        }
        self.write_blob(out.digest, Some(out.size), Blob::from_bytes(raw))
            .await?;
        Ok(out)
    }

    /// Writes one layer of `img` unless it is present and good.
    async fn write_layer(&self, img: &dyn Image, layer_desc: &Descriptor) -> Result<()> {
        if self.blob_good(layer_desc).await? {
            return Ok(());
        }
        let layer = img
            .layer_by_digest(layer_desc.digest)
            .await
            .map_err(from_v1)?;
        let blob = layer.compressed().await.map_err(from_v1)?;
        self.write_blob(layer_desc.digest, Some(layer_desc.size), blob)
            .await
            .map(|_| ())
    }

    /// Writes `idx` and all its children recursively (images, nested
    /// indexes, and plain blobs the index can serve), the index manifest last.
    /// Does not touch `index.json`.
    pub async fn write_index(&self, idx: &dyn ImageIndex) -> Result<Descriptor> {
        self.write_children(idx).await?;
        let raw = idx.raw_manifest().await.map_err(from_v1)?;
        let desc = idx.to_descriptor().await.map_err(from_v1)?;
        let mut out = Descriptor::new(
            desc.media_type,
            raw.len() as u64,
            ocireg_v1::digest_of(desc.digest.algorithm(), &raw),
        );
        out.artifact_type = desc.artifact_type;
        self.write_blob(out.digest, Some(out.size), Blob::from_bytes(raw))
            .await?;
        Ok(out)
    }

    async fn write_children(&self, idx: &dyn ImageIndex) -> Result<()> {
        let manifest = idx.index_manifest().await.map_err(from_v1)?;
        for child in &manifest.manifests {
            if child.media_type.is_index() {
                let sub = idx.image_index(child.digest).await.map_err(from_v1)?;
                Box::pin(self.write_index(&*sub)).await?;
            } else if child.media_type.is_image() {
                let img = idx.image(child.digest).await.map_err(from_v1)?;
                Box::pin(self.write_image(&*img)).await?;
            } else if !self.blob_good(child).await? {
                match idx.layer(child.digest).await.map_err(from_v1)? {
                    Some(layer) => {
                        let blob = layer.compressed().await.map_err(from_v1)?;
                        self.write_blob(child.digest, Some(child.size), blob)
                            .await?;
                    }
                    None => {
                        return Err(Error::NotFound {
                            path: self.path().to_owned(),
                            what: format!(
                                "child {} ({}) of the index being written",
                                child.digest, child.media_type
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the blob of `desc` is present, a regular file, and hashes
    /// right. A wrong file is removed (it will be rewritten).
    async fn blob_good(&self, desc: &Descriptor) -> Result<bool> {
        let path = self.blob_path(&desc.digest);
        let p = path.clone();
        let Some(kind) = blocking(move || fsutil::lstat_kind(&p)).await? else {
            return Ok(false);
        };
        if kind == rustix::fs::FileType::Directory {
            return Err(Error::NotRegularFile {
                path,
                kind: "directory",
            });
        }
        if kind == rustix::fs::FileType::RegularFile
            && let Ok(blob) = self.blob(desc.digest, Some(desc.size)).await
            && blob.drain().await.is_ok()
        {
            return Ok(true);
        }
        // A symlink, FIFO or wrong bytes: never trusted, replaced.
        let p = path.clone();
        blocking(move || fs_err::remove_file(&p).map_err(|e| Error::fs(&p, e))).await?;
        Ok(false)
    }

    /// Writes one blob from `source`, which must hash to `digest` (and have
    /// `size` bytes, when given).
    ///
    /// A good file already at the final path is kept; a wrong one is
    /// replaced. Bytes go to a partial file `blobs/<alg>/.<hex>.partial`,
    /// which is fsynced, renamed into place, and the directory fsynced. When
    /// a partial file from an interrupted run is there, its bytes are
    /// compared with the start of `source` (never trusted), the part that
    /// agrees is kept and the rest appended. A failure of the source leaves
    /// the partial file for the next run; wrong content removes it.
    pub async fn write_blob(
        &self,
        digest: Digest,
        size: Option<u64>,
        source: Blob,
    ) -> Result<BlobWrite> {
        let mut probe = Descriptor::new(MediaType::OciLayer, size.unwrap_or(0), digest);
        if size.is_none() {
            // Size unknown: accept whatever size the file has.
            let p = self.blob_path(&digest);
            if let Some(len) = blocking(move || {
                Ok(fs_err::symlink_metadata(&p)
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| m.len()))
            })
            .await?
            {
                probe.size = len;
            }
        }
        if self.blob_good(&probe).await? {
            return Ok(BlobWrite::Present);
        }
        let final_path = self.blob_path(&digest);
        let dir = final_path
            .parent()
            .map_or_else(|| self.path().to_owned(), Path::to_owned);
        let partial = dir.join(format!(".{}.partial", digest.hex()));
        let d = dir.clone();
        blocking(move || fs_err::create_dir_all(&d).map_err(|e| Error::fs(&d, e))).await?;

        // Hold a lock on the partial file's name so two writers of one blob
        // take turns; the second then finds the blob in place.
        let lock_path = dir.join(format!(".{}.lock", digest.hex()));
        // The bytes flow in a task of their own: on a worker thread, next to the
        // connection that feeds them, rather than in whatever polls this future
        // (crane's main thread, in `block_on`), which took a thread switch and a
        // futex wake for every network chunk. Dropping this future stops the task.
        let layout = self.clone();
        let task = tokio::spawn(async move {
            let lp = lock_path.clone();
            let lock = blocking(move || Lock::exclusive(&lp)).await?;
            let result = async {
                if layout.blob_good(&probe).await? {
                    return Ok(BlobWrite::Present);
                }
                layout
                    .stream_into_partial(&partial, &final_path, digest, size, source)
                    .await
            }
            .await;
            drop(lock);
            let _ = fs_err::tokio::remove_file(&lock_path).await;
            result
        });
        let _stop = AbortOnDrop(task.abort_handle());
        task.await.map_err(|e| Error::Task(e.to_string()))?
    }

    async fn stream_into_partial(
        &self,
        partial: &Path,
        final_path: &Path,
        digest: Digest,
        size: Option<u64>,
        source: Blob,
    ) -> Result<BlobWrite> {
        let p = partial.to_owned();
        let existing = blocking(move || match fsutil::lstat_kind(&p)? {
            None => Ok(false),
            Some(rustix::fs::FileType::RegularFile) => Ok(true),
            Some(_) => {
                fs_err::remove_file(&p).map_err(|e| Error::fs(&p, e))?;
                Ok(false)
            }
        })
        .await?;
        let mut file = fs_err::tokio::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(partial)
            .await
            .map_err(|e| Error::fs(partial, e))?;
        // A source already verified for this digest and size (a registry blob) is
        // not hashed a second time.
        let trusted = source.verified_digest() == Some(digest)
            && size.is_none_or(|s| source.size() == Some(s));
        let mut stream = if trusted {
            source
        } else {
            source.verified(digest, size)
        };
        // Phase 1: compare the partial file with the start of the source.
        let mut pos: u64 = 0;
        let mut comparing = existing;
        let mut reused: u64 = 0;
        let mut buf = Vec::new();
        // Phase 2: append the rest, written behind the download.
        let mut writer: Option<BehindWriter> = None;
        // fs_err's errors say what was done to the file, and name it.
        let io = |_op: &'static str, e| Error::fs(partial, e);
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return Err(source_failed(e, writer, file, partial, digest).await),
            };
            let mut start = 0;
            if comparing {
                buf.resize(chunk.len(), 0);
                let mut got = 0;
                while got < chunk.len() {
                    let n = file
                        .read(&mut buf[got..])
                        .await
                        .map_err(|e| io("read", e))?;
                    if n == 0 {
                        break;
                    }
                    got += n;
                }
                let same = buf[..got]
                    .iter()
                    .zip(chunk.iter())
                    .take_while(|(a, b)| a == b)
                    .count();
                pos += same as u64;
                reused = pos;
                start = same;
                if same < got || got < chunk.len() {
                    // Disagreement or end of the partial file: keep what agrees.
                    comparing = false;
                    file.set_len(pos).await.map_err(|e| io("truncate", e))?;
                    file.seek(std::io::SeekFrom::Start(pos))
                        .await
                        .map_err(|e| io("seek", e))?;
                }
            }
            if start < chunk.len() {
                let w = if let Some(w) = &mut writer {
                    w
                } else {
                    let std_file = file.try_clone().await.map_err(|e| io("open", e))?;
                    writer.insert(BehindWriter::new(std_file.into_std().await))
                };
                pos += (chunk.len() - start) as u64;
                w.push(&chunk[start..]).await.map_err(|e| io("write", e))?;
            }
        }
        let std_file = match writer {
            Some(w) => w.finish().await.map_err(|e| io("write", e))?,
            None => file.into_std().await,
        };
        // The source ended inside the partial file: drop the excess.
        let len = comparing.then_some(pos);
        commit_partial(std_file, len, partial, final_path).await?;
        Ok(if reused > 0 {
            BlobWrite::Resumed { reused }
        } else {
            BlobWrite::Written
        })
    }

    /// Removes one blob file (ggcr `RemoveBlob`).
    pub async fn remove_blob(&self, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        blocking(move || fs_err::remove_file(&path).map_err(|e| Error::fs(&path, e))).await
    }

    /// Every blob reachable from `index.json`: root descriptors, and
    /// recursively the children of indexes and the config, layers and
    /// subject of images (when their manifests are present).
    pub async fn referenced_blobs(&self) -> Result<BTreeSet<Digest>> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<Descriptor> = self.index_manifest().await?.manifests;
        while let Some(desc) = todo.pop() {
            if !seen.insert(desc.digest) {
                continue;
            }
            if !(desc.media_type.is_index() || desc.media_type.is_image())
                || !self.has_blob(&desc.digest).await?
            {
                continue;
            }
            let raw = self
                .blob_bytes(desc.digest, Some(desc.size), MANIFEST_LIMIT)
                .await?;
            if desc.media_type.is_index() {
                if let Ok(idx) = IndexManifest::parse(&raw) {
                    todo.extend(idx.manifests);
                    todo.extend(idx.subject);
                }
            } else if let Ok(m) = Manifest::parse(&raw) {
                todo.push(m.config);
                todo.extend(m.layers);
                todo.extend(m.subject);
            }
        }
        Ok(seen)
    }

    /// Blobs in `blobs/` that nothing in `index.json` reaches (ggcr
    /// `GarbageCollect`, which only reports them).
    pub async fn unreferenced_blobs(&self) -> Result<Vec<Digest>> {
        let referenced = self.referenced_blobs().await?;
        let root = self.path().join("blobs");
        let all = blocking(move || list_blobs(&root)).await?;
        Ok(all
            .into_iter()
            .filter(|d| !referenced.contains(d))
            .collect())
    }

    /// Removes unreferenced blobs and returns them.
    ///
    /// Takes the writers' lock exclusively (waiting for every write in
    /// progress, see [`Layout::write_guard`], and holding new ones off), then
    /// the `index.json` lock: a collection during an append (by this or
    /// another process) never removes the blobs of the entry being appended.
    /// Temporary `index.json` files left by killed processes are removed too;
    /// partial blob files are kept (the next write of their blob resumes from
    /// them).
    pub async fn garbage_collect(&self) -> Result<Vec<Digest>> {
        let writers = self.path().join(WRITERS_LOCK_FILE);
        let _writers = blocking(move || Lock::exclusive(&writers)).await?;
        let lock_path = self.path().join(LOCK_FILE);
        let _lock = blocking(move || Lock::exclusive(&lock_path)).await?;
        let garbage = self.unreferenced_blobs().await?;
        for d in &garbage {
            self.remove_blob(d).await?;
        }
        // With both locks held no `index.json` change is under way: a temporary
        // `index.json` is what a killed process left.
        let root = self.path().to_owned();
        blocking(move || remove_index_temps(&root)).await?;
        Ok(garbage)
    }
}

/// Removes the temporary `index.json` files (`.index.json.<pid>.<n>.tmp`) in `root`.
fn remove_index_temps(root: &Path) -> Result<()> {
    let entries = fs_err::read_dir(root).map_err(|e| Error::fs(root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::fs(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let temp = Path::new(&name).extension().is_some_and(|e| e == "tmp");
        if temp && name.starts_with(&format!(".{INDEX_FILE}.")) {
            let path = entry.path();
            fs_err::remove_file(&path).map_err(|e| Error::fs(&path, e))?;
        }
    }
    Ok(())
}

/// The error of a write whose source failed with `e`. Wrong content removes
/// the partial file; any other failure keeps it, with every byte received,
/// for the next run to resume from.
async fn source_failed(
    e: std::io::Error,
    writer: Option<BehindWriter>,
    file: fs_err::tokio::File,
    partial: &Path,
    digest: Digest,
) -> Error {
    let e = ocireg_v1::Error::from_io(e);
    let wrong = matches!(
        e,
        ocireg_v1::Error::DigestMismatch { .. } | ocireg_v1::Error::SizeMismatch { .. }
    );
    let written = match writer {
        Some(w) => w.finish().await.ok(),
        None => Some(file.into_std().await),
    };
    if wrong {
        drop(written);
        let _ = fs_err::tokio::remove_file(partial).await;
        return Error::content(partial, Some(digest), e);
    }
    if let Some(f) = written {
        drop(blocking(move || Ok(f.sync_all())).await);
    }
    Error::from_source(e)
}

/// Truncates the partial file to `len` when given, fsyncs it, renames it to
/// `to` and fsyncs the directory.
async fn commit_partial(
    file: fs_err::File,
    len: Option<u64>,
    partial: &Path,
    to: &Path,
) -> Result<()> {
    let (from, to) = (partial.to_owned(), to.to_owned());
    blocking(move || {
        if let Some(len) = len {
            file.set_len(len).map_err(|e| Error::fs(&from, e))?;
        }
        file.sync_all().map_err(|e| Error::fs(&from, e))?;
        drop(file);
        fs_err::rename(&from, &to).map_err(|e| Error::fs(&to, e))?;
        if let Some(dir) = to.parent() {
            fsutil::fsync_dir(dir)?;
        }
        Ok(())
    })
    .await
}

/// Aborts a task when dropped (a no-op once it has finished).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A file and a spare buffer of a [`BehindWriter`].
type Idle = (fs_err::File, Vec<u8>);

/// Writes a blob's bytes to a file on the blocking pool, one batch while the
/// next is gathered: one hop to the pool per [`WRITE_BATCH`] bytes rather
/// than per network chunk. Chunks are copied into the batch right away so
/// the connection's read buffer is reused, and two batch buffers take turns.
struct BehindWriter {
    /// The file and the spare buffer, when no write is in flight.
    idle: Option<Idle>,
    /// The write in flight, which gives the file and its buffer back.
    inflight: Option<tokio::task::JoinHandle<std::io::Result<Idle>>>,
    batch: Vec<u8>,
}

impl BehindWriter {
    fn new(file: fs_err::File) -> Self {
        Self {
            idle: Some((file, Vec::new())),
            inflight: None,
            batch: Vec::new(),
        }
    }

    async fn push(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.batch.capacity() == 0 {
            self.batch.reserve_exact(WRITE_BATCH);
        }
        self.batch.extend_from_slice(chunk);
        if self.batch.len() >= WRITE_BATCH {
            self.submit().await?;
        }
        Ok(())
    }

    /// Waits for the write in flight and hands the file and spare buffer back.
    async fn take_idle(&mut self) -> std::io::Result<Idle> {
        if let Some(h) = self.inflight.take() {
            return h.await.map_err(std::io::Error::other)?;
        }
        self.idle
            .take()
            .ok_or_else(|| std::io::Error::other("file lost by an earlier failed write"))
    }

    async fn submit(&mut self) -> std::io::Result<()> {
        let (mut file, spare) = self.take_idle().await?;
        let batch = std::mem::replace(&mut self.batch, spare);
        self.inflight = Some(tokio::task::spawn_blocking(move || {
            use std::io::Write as _;
            let mut batch = batch;
            file.write_all(&batch)?;
            batch.clear();
            Ok((file, batch))
        }));
        Ok(())
    }

    /// Writes what is left and hands the file back.
    async fn finish(mut self) -> std::io::Result<fs_err::File> {
        if !self.batch.is_empty() {
            self.submit().await?;
        }
        Ok(self.take_idle().await?.0)
    }
}

/// Every `blobs/<alg>/<hex>` file whose name parses as a digest (temp and
/// partial files start with a dot and are skipped).
fn list_blobs(blobs: &PathBuf) -> Result<Vec<Digest>> {
    let mut out = Vec::new();
    let algs = match fs_err::read_dir(blobs) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::fs(blobs, e)),
    };
    for alg in algs {
        let alg = alg.map_err(|e| Error::fs(blobs, e))?;
        let alg_path = alg.path();
        if !alg.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let alg_name = alg.file_name().to_string_lossy().into_owned();
        for entry in fs_err::read_dir(&alg_path).map_err(|e| Error::fs(&alg_path, e))? {
            let entry = entry.map_err(|e| Error::fs(&alg_path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if let Ok(d) = format!("{alg_name}:{name}").parse::<Digest>() {
                out.push(d);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::indent_go;

    #[test]
    fn indents_like_go() {
        let got = indent_go(br#"{"a":[],"b":{"c":"x,:{y"},"d":[1,2]}"#);
        let want = "{\n   \"a\": [],\n   \"b\": {\n      \"c\": \"x,:{y\"\n   },\n   \"d\": [\n      1,\n      2\n   ]\n}";
        assert_eq!(String::from_utf8(got).expect("utf-8"), want);
    }
}
