//! Writing `docker save` tarballs (ggcr `tarball.Write`, `MultiRefWrite`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt as _;
use ocireg_name::Reference;
use ocireg_v1::progress::{BlobOutcome, Direction, Reporter};
use ocireg_v1::{Blob, Image, Layer as _, MediaType};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::{Error, ManifestEntry, Result};

/// Size of a tar block.
const BLOCK: u64 = 512;

/// A ustar header as Go's `archive/tar` writes it for ggcr: mode 0644, uid
/// and gid 0, mtime 0, empty user and group names. `typeflag` is `b'0'` for
/// a regular file; `link` is the link name of a link.
pub(crate) fn ustar_header(name: &str, size: u64, typeflag: u8, link: &str) -> Result<[u8; 512]> {
    if name.len() > 100 || link.len() > 100 {
        return Err(Error::Unwritable {
            reason: format!("member name {name:?} is longer than 100 bytes"),
        });
    }
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    if size < 8u64.pow(11) {
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        // GNU base-256, as Go does when PAX is not wanted: readers all accept it.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    h[136..148].copy_from_slice(b"00000000000\0");
    h[148..156].copy_from_slice(b"        ");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[329..337].copy_from_slice(b"0000000\0");
    h[337..345].copy_from_slice(b"0000000\0");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

/// Bytes of zero padding after a member body of `size` bytes.
pub(crate) fn padding(size: u64) -> usize {
    let rem = size % BLOCK;
    if rem == 0 {
        0
    } else {
        // Less than 512: fits.
        usize::try_from(BLOCK - rem).unwrap_or(0)
    }
}

/// The member name ggcr gives a layer: its hex digest and an extension for
/// its compression (`.tar.gz`, `.tar.zst`, or `.tar` for plain tar types).
pub fn layer_file_name(digest: &ocireg_v1::Digest, media_type: &MediaType) -> String {
    let ext = match media_type {
        MediaType::OciLayerZstd
        | MediaType::OciRestrictedLayerZstd
        | MediaType::DockerLayerZstd => "tar.zst",
        MediaType::OciUncompressedLayer
        | MediaType::OciUncompressedRestrictedLayer
        | MediaType::DockerUncompressedLayer => "tar",
        _ => "tar.gz",
    };
    format!("{}.{ext}", digest.hex())
}

/// An image to write with its RepoTags (`None` when it has no tag).
pub(crate) type Tagged = (Arc<dyn Image>, Option<Vec<String>>);

/// Distinct images (by `Arc` identity) in first-seen order, with their RepoTags.
fn dedup(refs: &[(Reference, Arc<dyn Image>)]) -> Vec<Tagged> {
    let mut out: Vec<Tagged> = Vec::new();
    for (reference, img) in refs {
        let slot = if let Some(p) = out.iter().position(|(i, _)| Arc::ptr_eq(i, img)) {
            p
        } else {
            out.push((Arc::clone(img), None));
            out.len() - 1
        };
        if let Some(tag) = reference.as_tag() {
            // ggcr: the user's spelling, with `:latest` added when it was implied.
            let mut text = tag.to_string();
            if tag.tag_str() == ocireg_name::DEFAULT_TAG
                && !text.ends_with(&format!(":{}", ocireg_name::DEFAULT_TAG))
            {
                text = format!("{text}:{}", ocireg_name::DEFAULT_TAG);
            }
            out[slot].1.get_or_insert_with(Vec::new).push(text);
        }
    }
    out
}

/// The `manifest.json` entries ggcr would write for `refs` (ggcr
/// `ComputeManifest`): one per distinct image, sorted by joined RepoTags.
pub async fn compute_manifest(refs: &[(Reference, Arc<dyn Image>)]) -> Result<Vec<ManifestEntry>> {
    let mut entries = Vec::new();
    for (img, tags) in dedup(refs) {
        entries.push(entry_for(&*img, tags).await?);
    }
    entries.sort_by_cached_key(|e| e.repo_tags.as_deref().unwrap_or_default().join(","));
    Ok(entries)
}

async fn entry_for(img: &dyn Image, repo_tags: Option<Vec<String>>) -> Result<ManifestEntry> {
    let manifest = img.manifest().await?;
    let config = img.config_file().await?;
    let diff_ids = config.rootfs.diff_ids.unwrap_or_default();
    let mut layers = Vec::with_capacity(manifest.layers.len());
    let mut layer_sources = BTreeMap::new();
    for (i, desc) in manifest.layers.iter().enumerate() {
        layers.push(layer_file_name(&desc.digest, &desc.media_type));
        if !desc.media_type.is_distributable() {
            let diff_id = diff_ids
                .get(i)
                .ok_or(ocireg_v1::Error::LayerCountMismatch {
                    layers: manifest.layers.len(),
                    diff_ids: diff_ids.len(),
                })?;
            layer_sources.insert(diff_id.to_string(), desc.clone());
        }
    }
    Ok(ManifestEntry {
        config: img.config_name().await?.to_string(),
        repo_tags,
        layers,
        layer_sources,
    })
}

/// The exact size of the tarball [`write()`] produces for `refs` (ggcr `CalculateSize`).
pub async fn calculate_size(refs: &[(Reference, Arc<dyn Image>)]) -> Result<u64> {
    let manifest_json = ocireg_v1::to_go_json(&compute_manifest(refs).await?)?;
    let one = |size: u64| BLOCK + size.div_ceil(BLOCK) * BLOCK;
    let mut total = one(manifest_json.len() as u64) + 2 * BLOCK;
    let mut seen = std::collections::HashSet::new();
    for (img, _) in dedup(refs) {
        let m = img.manifest().await?;
        if seen.insert(img.config_name().await?) {
            total += one(m.config.size);
        }
        for l in &m.layers {
            if seen.insert(l.digest) {
                total += one(l.size);
            }
        }
    }
    Ok(total)
}

/// Options of [`write_with`] and [`write_to_file_with`] (and of the legacy format's
/// [`legacy::write_with`](crate::legacy::write_with)).
#[derive(Default, Clone)]
pub struct WriteOptions {
    pub(crate) progress: Option<Arc<dyn ocireg_v1::progress::Progress>>,
}

impl std::fmt::Debug for WriteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteOptions")
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl WriteOptions {
    /// No progress reporting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports the writing of every blob member (configs and layers; in the legacy
    /// format, layers by diff id, as written) to `sink` as [`ocireg_v1::progress`] events,
    /// as the registry client reports its transfers: `BlobStarted` (with the member's
    /// size, [`Push`](ocireg_v1::progress::Direction::Push)), cumulative `BlobBytes` as
    /// bytes are written, then `BlobDone` with
    /// [`Uploaded`](ocireg_v1::progress::BlobOutcome::Uploaded) (written into the tarball)
    /// or `BlobFailed`. A [`ProgressTracker`](ocireg_v1::progress::ProgressTracker)
    /// counts them; its totals are ggcr `WithProgress`'s `Complete` and `Total` for the
    /// blobs.
    #[must_use]
    pub fn progress(mut self, sink: Arc<dyn ocireg_v1::progress::Progress>) -> Self {
        self.progress = Some(sink);
        self
    }
}

/// Writes `refs` as one `docker save` tarball to `out`, streaming every
/// layer, and returns the number of bytes written.
pub async fn write<W>(refs: &[(Reference, Arc<dyn Image>)], out: W) -> Result<u64>
where
    W: AsyncWrite + Unpin,
{
    write_with(refs, out, WriteOptions::new()).await
}

/// [`write()`] with options (progress).
///
/// Members, in ggcr's order and with its names: per distinct image (by
/// `Arc` identity, in first-seen order) its config as `sha256:<hex>` and
/// each layer not yet written as `<hex>.tar.gz` (`.tar.zst`, `.tar`), then
/// `manifest.json`. Tags give RepoTags; digest references give none. Every
/// layer is checked against its digest and size as it streams.
pub async fn write_with<W>(
    refs: &[(Reference, Arc<dyn Image>)],
    out: W,
    options: WriteOptions,
) -> Result<u64>
where
    W: AsyncWrite + Unpin,
{
    let mut out = Counting {
        inner: out,
        written: 0,
        progress: options.progress,
    };
    let manifest_json = ocireg_v1::to_go_json(&compute_manifest(refs).await?)?;
    let mut seen = std::collections::HashSet::new();
    for (img, _) in dedup(refs) {
        let raw_config = img.raw_config_file().await?;
        let config_name = img.config_name().await?;
        // Beyond ggcr: two image objects with the same config (the same image
        // read twice) share one config member instead of writing it twice.
        if seen.insert(config_name) {
            out.blob_member(
                &config_name.to_string(),
                config_name,
                Blob::from_bytes(raw_config.clone()),
                raw_config.len() as u64,
            )
            .await?;
        }
        let manifest = img.manifest().await?;
        for desc in &manifest.layers {
            if !seen.insert(desc.digest) {
                continue;
            }
            let layer = img.layer_by_digest(desc.digest).await?;
            let blob = layer.compressed().await?;
            let blob = if blob.verified_digest() == Some(desc.digest) {
                blob
            } else {
                blob.verified(desc.digest, Some(desc.size))
            };
            let name = layer_file_name(&desc.digest, &desc.media_type);
            out.blob_member(&name, desc.digest, blob, desc.size).await?;
        }
    }
    let len = manifest_json.len() as u64;
    out.member("manifest.json", Blob::from_bytes(manifest_json), len)
        .await?;
    out.put(&[0u8; 1024]).await?;
    out.inner.flush().await.map_err(Error::Write)?;
    Ok(out.written)
}

/// Writes `refs` to a tarball at `path`: into a temporary file beside it,
/// fsynced, then renamed over `path` (so a failed write leaves no partial file).
pub async fn write_to_file(
    path: impl AsRef<Path>,
    refs: &[(Reference, Arc<dyn Image>)],
) -> Result<u64> {
    write_to_file_with(path, refs, WriteOptions::new()).await
}

/// [`write_to_file`] with options (progress).
pub async fn write_to_file_with(
    path: impl AsRef<Path>,
    refs: &[(Reference, Arc<dyn Image>)],
    options: WriteOptions,
) -> Result<u64> {
    let mut target = Target::create(path.as_ref())?;
    let written = write_with(refs, target.writer(), options)
        .await
        .map_err(|e| target.name_write_error(e))?;
    target.persist().await?;
    Ok(written)
}

/// A temporary file beside the destination, renamed over it once complete.
pub(crate) struct Target {
    path: std::path::PathBuf,
    dir: std::path::PathBuf,
    file: fs_err::tokio::File,
    temp_path: tempfile::TempPath,
}

impl Target {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        // As `os.Create` in ggcr: 0666 less the umask (fs_err's default), not tempfile's 0600.
        let temp = tempfile::Builder::new()
            .prefix(".ocireg-tarball-")
            .make_in(&dir, |p| fs_err::File::create_new(p))
            .map_err(Error::io("creating a temporary file", &dir))?;
        let (file, temp_path) = temp.into_parts();
        Ok(Self {
            path: path.to_path_buf(),
            dir,
            file: fs_err::tokio::File::from_std(file),
            temp_path,
        })
    }

    pub(crate) fn writer(&mut self) -> tokio::io::BufWriter<&mut fs_err::tokio::File> {
        tokio::io::BufWriter::with_capacity(256 * 1024, &mut self.file)
    }

    /// Names the temporary file in a write error.
    pub(crate) fn name_write_error(&self, e: Error) -> Error {
        match e {
            Error::Write(source) => Error::Io {
                op: "writing",
                path: self.temp_path.to_path_buf(),
                source,
            },
            other => other,
        }
    }

    /// Fsyncs, renames over the destination, fsyncs the directory.
    pub(crate) async fn persist(self) -> Result<()> {
        let Self {
            path,
            dir,
            file,
            temp_path,
        } = self;
        file.sync_all()
            .await
            .map_err(Error::io("syncing", temp_path.to_path_buf()))?;
        drop(file);
        let temp = temp_path.to_path_buf();
        temp_path.persist(&path).map_err(|e| Error::Io {
            op: "renaming a temporary file",
            source: Error::named(
                &temp,
                &format!("rename to `{}` from", path.display()),
                &e.error,
            ),
            path: path.clone(),
        })?;
        if let Ok(d) = fs_err::File::open(&dir) {
            d.sync_all()
                .map_err(Error::io("syncing the directory", &dir))?;
        }
        Ok(())
    }
}

/// A writer that counts bytes, reports progress and writes tar members.
pub(crate) struct Counting<W> {
    pub(crate) inner: W,
    pub(crate) written: u64,
    pub(crate) progress: Option<Arc<dyn ocireg_v1::progress::Progress>>,
}

impl<W: AsyncWrite + Unpin> Counting<W> {
    pub(crate) async fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner.write_all(bytes).await.map_err(Error::Write)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes one regular member of `size` bytes streamed from `blob`.
    pub(crate) async fn member(&mut self, name: &str, blob: Blob, size: u64) -> Result<()> {
        self.member_reporting(name, blob, size, None).await
    }

    /// Writes the member of the blob `digest`, reporting its progress.
    pub(crate) async fn blob_member(
        &mut self,
        name: &str,
        digest: ocireg_v1::Digest,
        blob: Blob,
        size: u64,
    ) -> Result<()> {
        let Some(sink) = self.progress.clone() else {
            return self.member(name, blob, size).await;
        };
        let reporter = Reporter::new(Some(sink), digest);
        reporter.started(Some(size), Direction::Push);
        let written = self
            .member_reporting(name, blob, size, Some(&reporter))
            .await;
        match &written {
            Ok(()) => reporter.done(BlobOutcome::Uploaded),
            Err(_) => reporter.failed(),
        }
        written
    }

    async fn member_reporting(
        &mut self,
        name: &str,
        mut blob: Blob,
        size: u64,
        reporter: Option<&Reporter>,
    ) -> Result<()> {
        self.put(&ustar_header(name, size, b'0', "")?).await?;
        let mut n = 0u64;
        while let Some(chunk) = blob.next().await {
            let chunk = chunk.map_err(ocireg_v1::Error::from_io)?;
            n += chunk.len() as u64;
            if n > size {
                break;
            }
            self.put(&chunk).await?;
            if let Some(r) = reporter {
                r.bytes(n);
            }
        }
        if n != size {
            return Err(Error::Unwritable {
                reason: format!("member {name:?}: expected {size} bytes, the source gave {n}"),
            });
        }
        self.put(&[0u8; 512][..padding(size)]).await
    }
}
