//! Opening a layout and the read-only views over it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use ocireg_v1::partial::{CompressedLayer, CompressedToLayer};
use ocireg_v1::{
    Blob, CONFIG_LIMIT, Descriptor, Digest, Image, ImageIndex, IndexManifest, Layer,
    MANIFEST_LIMIT, Manifest, Matcher, MediaType,
};
use tokio::io::AsyncReadExt as _;

use crate::fsutil::{self, blocking};
use crate::{Error, Result};

/// The name of the file that marks a directory as an OCI image layout.
pub const OCI_LAYOUT_FILE: &str = "oci-layout";
/// The name of the root index.
pub const INDEX_FILE: &str = "index.json";
/// The only `imageLayoutVersion` there is.
pub const LAYOUT_VERSION: &str = "1.0.0";
/// The advisory lock file taken while `index.json` changes.
pub const LOCK_FILE: &str = ".ocireg.lock";
/// The lock file that keeps [`Layout::garbage_collect`] (exclusive) and writers of
/// blobs not yet listed in `index.json` (shared, [`Layout::write_guard`]) apart.
pub const WRITERS_LOCK_FILE: &str = ".ocireg.writers.lock";

const CHUNK: usize = 64 * 1024;

/// An OCI image layout directory (ggcr `layout.Path`).
///
/// Cheap to clone. Reading needs a tokio runtime (files are read on its
/// blocking pool).
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutFile {
    image_layout_version: Option<String>,
}

impl Layout {
    /// Opens an existing layout: `oci-layout` must be a regular file naming
    /// version 1.0.0, and `index.json` must be there.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_owned();
        let layout = Self { root };
        let marker = layout.root.join(OCI_LAYOUT_FILE);
        blocking(move || check_layout_file(&marker)).await?;
        let index = layout.root.join(INDEX_FILE);
        blocking(move || match fsutil::lstat_kind(&index)? {
            Some(rustix::fs::FileType::RegularFile) => Ok(()),
            Some(_) => Err(Error::NotRegularFile {
                path: index,
                kind: "non-regular file",
            }),
            None => Err(Error::NotALayout {
                path: index,
                reason: "index.json is missing".into(),
            }),
        })
        .await?;
        // Blob directories must be directories, not symlinks out of the layout.
        let blobs = layout.root.join("blobs");
        blocking(move || {
            let mut dirs = vec![blobs.clone()];
            if let Ok(entries) = fs_err::read_dir(&blobs) {
                dirs.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
            for dir in dirs {
                match fsutil::lstat_kind(&dir)? {
                    None | Some(rustix::fs::FileType::Directory) => {}
                    Some(rustix::fs::FileType::Symlink) => {
                        return Err(Error::NotRegularFile {
                            path: dir,
                            kind: "symlink where a directory is needed",
                        });
                    }
                    Some(_) if dir == blobs => {
                        return Err(Error::NotALayout {
                            path: dir,
                            reason: "blobs is not a directory".into(),
                        });
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        })
        .await?;
        Ok(layout)
    }

    /// The layout's directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` lives: `blobs/<algorithm>/<hex>`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().to_string())
            .join(digest.hex())
    }

    /// The raw bytes of `index.json` (at most [`MANIFEST_LIMIT`]).
    pub async fn raw_index(&self) -> Result<Bytes> {
        let path = self.root.join(INDEX_FILE);
        blocking(move || fsutil::read_capped(&path, MANIFEST_LIMIT).map(Bytes::from)).await
    }

    /// The parsed root index.
    pub async fn index_manifest(&self) -> Result<IndexManifest> {
        let raw = self.raw_index().await?;
        IndexManifest::parse(&raw).map_err(|e| Error::content(self.root.join(INDEX_FILE), None, e))
    }

    /// The root index as an [`ImageIndex`] view (ggcr `Path.ImageIndex`).
    pub async fn image_index_root(&self) -> Result<Arc<LayoutIndex>> {
        let raw = self.raw_index().await?;
        LayoutIndex::new(self.clone(), raw, None, self.root.join(INDEX_FILE))
    }

    /// Whether the blob is present as a regular file (not checked).
    pub async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        let path = self.blob_path(digest);
        blocking(move || Ok(fsutil::lstat_kind(&path)?.is_some())).await
    }

    /// A stream of the blob `digest`, verified as it is read: the file must be
    /// a regular file (no symlink, FIFO or directory) of `size` bytes when
    /// given, and hash to `digest`; a mismatch is the stream's last item.
    pub async fn blob(&self, digest: Digest, size: Option<u64>) -> Result<Blob> {
        let path = self.blob_path(&digest);
        let p = path.clone();
        let (file, len) = blocking(move || fsutil::open_regular(&p)).await?;
        if let Some(want) = size
            && want != len
        {
            return Err(Error::content(
                path,
                Some(digest),
                ocireg_v1::Error::SizeMismatch {
                    digest,
                    expected: want,
                    actual: len,
                },
            ));
        }
        let file = fs_err::tokio::File::from_std(file);
        let read_path = path.clone();
        let stream = futures_util::stream::unfold(Some(file), move |state| {
            let read_path = read_path.clone();
            async move {
                let mut file = state?;
                let mut buf = BytesMut::with_capacity(CHUNK);
                match file.read_buf(&mut buf).await {
                    Ok(0) => None,
                    Ok(_) => Some((Ok(buf.freeze()), Some(file))),
                    Err(e) => Some((Err(Error::fs(read_path, e)), None)),
                }
            }
        });
        let stream = futures_util::StreamExt::map(stream, |r| {
            r.map_err(|e| ocireg_v1::Error::from(e).into_io())
        });
        // The mismatch errors name the file; the blob stays marked verified, so an
        // upload of it does not hash it again.
        let err_path = path;
        Ok(Blob::new(stream, Some(len))
            .verified(digest, Some(len))
            .map_err(move |e| {
                let inner = ocireg_v1::Error::from_io(e);
                match inner {
                    ocireg_v1::Error::DigestMismatch { .. }
                    | ocireg_v1::Error::SizeMismatch { .. } => ocireg_v1::Error::from(
                        Error::content(err_path.clone(), Some(digest), inner),
                    )
                    .into_io(),
                    other => other.into_io(),
                }
            }))
    }

    /// The whole blob in memory, verified, refusing more than `limit` bytes.
    pub async fn blob_bytes(&self, digest: Digest, size: Option<u64>, limit: u64) -> Result<Bytes> {
        let path = self.blob_path(&digest);
        if let Some(s) = size
            && s > limit
        {
            return Err(Error::TooLarge {
                path,
                limit,
                size: s,
            });
        }
        let p = path.clone();
        let raw = blocking(move || fsutil::read_capped(&p, limit)).await?;
        let actual = ocireg_v1::digest_of(digest.algorithm(), &raw);
        if let Some(s) = size
            && s != raw.len() as u64
        {
            return Err(Error::content(
                path,
                Some(digest),
                ocireg_v1::Error::SizeMismatch {
                    digest,
                    expected: s,
                    actual: raw.len() as u64,
                },
            ));
        }
        if actual != digest {
            return Err(Error::content(
                path,
                Some(digest),
                ocireg_v1::Error::DigestMismatch {
                    expected: digest,
                    actual,
                },
            ));
        }
        Ok(Bytes::from(raw))
    }

    /// The image `desc` points at (its manifest and config read and verified).
    pub async fn image_from(&self, desc: &Descriptor) -> Result<Arc<LayoutImage>> {
        if !desc.media_type.is_image() {
            return Err(Error::WrongMediaType {
                digest: desc.digest,
                expected: "an image",
                actual: desc.media_type.to_string(),
            });
        }
        let raw = self
            .blob_bytes(desc.digest, Some(desc.size), MANIFEST_LIMIT)
            .await?;
        LayoutImage::new(self.clone(), raw, desc.clone()).await
    }

    /// The index `desc` points at.
    pub async fn index_from(&self, desc: &Descriptor) -> Result<Arc<LayoutIndex>> {
        if !desc.media_type.is_index() {
            return Err(Error::WrongMediaType {
                digest: desc.digest,
                expected: "an index",
                actual: desc.media_type.to_string(),
            });
        }
        let raw = self
            .blob_bytes(desc.digest, Some(desc.size), MANIFEST_LIMIT)
            .await?;
        LayoutIndex::new(
            self.clone(),
            raw,
            Some(desc.clone()),
            self.blob_path(&desc.digest),
        )
    }

    /// The root descriptors that `matcher` accepts, in `index.json` order.
    pub async fn find(&self, matcher: &Matcher) -> Result<Vec<Descriptor>> {
        Ok(self
            .index_manifest()
            .await?
            .manifests
            .into_iter()
            .filter(|d| matcher.matches(d))
            .collect())
    }

    /// The one root descriptor with `digest` (ggcr: the zero-less lookup).
    pub async fn descriptor(&self, digest: Digest) -> Result<Descriptor> {
        self.one(&Matcher::digests([digest]), &format!("descriptor {digest}"))
            .await
    }

    /// The one root descriptor tagged `name` by the
    /// `org.opencontainers.image.ref.name` annotation.
    pub async fn descriptor_by_ref_name(&self, name: &str) -> Result<Descriptor> {
        self.one(&Matcher::name(name), &format!("ref.name {name:?}"))
            .await
    }

    async fn one(&self, matcher: &Matcher, what: &str) -> Result<Descriptor> {
        let mut found = self.find(matcher).await?;
        match found.len() {
            0 => Err(Error::NotFound {
                path: self.root.clone(),
                what: what.to_owned(),
            }),
            1 => Ok(found.remove(0)),
            n => {
                // The same manifest listed twice is not ambiguous.
                if found.iter().all(|d| d.digest == found[0].digest) {
                    Ok(found.remove(0))
                } else {
                    Err(Error::Ambiguous {
                        path: self.root.clone(),
                        what: format!("{what} matches {n} entries"),
                    })
                }
            }
        }
    }

    /// The image listed in `index.json` with `digest`.
    pub async fn image(&self, digest: Digest) -> Result<Arc<LayoutImage>> {
        let d = self.descriptor(digest).await?;
        self.image_from(&d).await
    }

    /// The index listed in `index.json` with `digest`.
    pub async fn image_index(&self, digest: Digest) -> Result<Arc<LayoutIndex>> {
        let d = self.descriptor(digest).await?;
        self.index_from(&d).await
    }

    /// The image tagged `name` (`org.opencontainers.image.ref.name`).
    pub async fn image_by_ref_name(&self, name: &str) -> Result<Arc<LayoutImage>> {
        let d = self.descriptor_by_ref_name(name).await?;
        self.image_from(&d).await
    }

    /// The index tagged `name` (`org.opencontainers.image.ref.name`).
    pub async fn image_index_by_ref_name(&self, name: &str) -> Result<Arc<LayoutIndex>> {
        let d = self.descriptor_by_ref_name(name).await?;
        self.index_from(&d).await
    }
}

fn check_layout_file(path: &Path) -> Result<()> {
    let raw = match fsutil::read_capped(path, 64 * 1024) {
        Ok(raw) => raw,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotALayout {
                path: path.to_owned(),
                reason: "the oci-layout file is missing".into(),
            });
        }
        Err(e) => return Err(e),
    };
    let parsed: LayoutFile = serde_json::from_slice(&raw).map_err(|e| Error::NotALayout {
        path: path.to_owned(),
        reason: format!("oci-layout is not valid JSON: {e}"),
    })?;
    match parsed.image_layout_version {
        Some(v) if v == LAYOUT_VERSION => Ok(()),
        Some(v) => Err(Error::UnsupportedVersion {
            path: path.to_owned(),
            version: v,
        }),
        None => Err(Error::NotALayout {
            path: path.to_owned(),
            reason: "oci-layout has no imageLayoutVersion".into(),
        }),
    }
}

/// An image in a layout: its manifest and config (verified, in memory), its
/// layers read from blob files on demand, verified as they stream.
pub struct LayoutImage {
    layout: Layout,
    raw_manifest: Bytes,
    manifest: Manifest,
    raw_config: Bytes,
    desc: Descriptor,
}

impl fmt::Debug for LayoutImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayoutImage")
            .field("layout", &self.layout.root)
            .field("digest", &self.desc.digest)
            .finish_non_exhaustive()
    }
}

impl LayoutImage {
    async fn new(layout: Layout, raw_manifest: Bytes, desc: Descriptor) -> Result<Arc<Self>> {
        let path = layout.blob_path(&desc.digest);
        let manifest = Manifest::parse(&raw_manifest)
            .map_err(|e| Error::content(path, Some(desc.digest), e))?;
        let cfg = &manifest.config;
        let raw_config = match cfg.verified_data().ok().flatten() {
            Some(data) => data.clone(),
            None => {
                layout
                    .blob_bytes(cfg.digest, Some(cfg.size), CONFIG_LIMIT)
                    .await?
            }
        };
        Ok(Arc::new(Self {
            layout,
            raw_manifest,
            manifest,
            raw_config,
            desc,
        }))
    }

    /// The descriptor this image was found by (with its annotations).
    pub fn layout_descriptor(&self) -> &Descriptor {
        &self.desc
    }
}

#[async_trait]
impl Image for LayoutImage {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.raw_manifest.clone())
    }

    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.raw_config.clone())
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(self
            .manifest
            .media_type
            .clone()
            .unwrap_or_else(|| self.desc.media_type.clone()))
    }

    async fn layer_by_digest(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        let desc = if self.manifest.config.digest == digest {
            self.manifest.config.clone()
        } else {
            self.manifest
                .layers
                .iter()
                .find(|l| l.digest == digest)
                .cloned()
                .ok_or_else(|| ocireg_v1::Error::NotFound {
                    what: format!("layer {digest} in {}", self.layout.root.display()),
                })?
        };
        Ok(Arc::new(CompressedToLayer::new(LayoutBlob {
            layout: self.layout.clone(),
            desc,
        })))
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        Ok(Some(self.desc.clone()))
    }
}

/// One blob of a layout as a compressed layer.
#[derive(Debug)]
struct LayoutBlob {
    layout: Layout,
    desc: Descriptor,
}

#[async_trait]
impl CompressedLayer for LayoutBlob {
    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.desc.digest)
    }
    async fn size(&self) -> ocireg_v1::Result<u64> {
        Ok(self.desc.size)
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(self.desc.media_type.clone())
    }
    async fn compressed(&self) -> ocireg_v1::Result<Blob> {
        Ok(self
            .layout
            .blob(self.desc.digest, Some(self.desc.size))
            .await?)
    }
    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        Ok(Some(self.desc.clone()))
    }
    async fn exists(&self) -> ocireg_v1::Result<bool> {
        Ok(self.layout.has_blob(&self.desc.digest).await?)
    }
}

/// An index in a layout: the root `index.json` or a nested index blob.
pub struct LayoutIndex {
    layout: Layout,
    raw: Bytes,
    manifest: IndexManifest,
    desc: Option<Descriptor>,
}

impl fmt::Debug for LayoutIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayoutIndex")
            .field("layout", &self.layout.root)
            .field("descriptor", &self.desc.as_ref().map(|d| d.digest))
            .finish_non_exhaustive()
    }
}

impl LayoutIndex {
    fn new(
        layout: Layout,
        raw: Bytes,
        desc: Option<Descriptor>,
        path: PathBuf,
    ) -> Result<Arc<Self>> {
        let manifest = IndexManifest::parse(&raw)
            .map_err(|e| Error::content(path, desc.as_ref().map(|d| d.digest), e))?;
        Ok(Arc::new(Self {
            layout,
            raw,
            manifest,
            desc,
        }))
    }

    /// The layout this index is in.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The parsed index.
    pub fn manifests(&self) -> &[Descriptor] {
        &self.manifest.manifests
    }

    fn child(&self, digest: Digest) -> ocireg_v1::Result<&Descriptor> {
        self.manifest
            .manifests
            .iter()
            .find(|d| d.digest == digest)
            .ok_or_else(|| ocireg_v1::Error::NotFound {
                what: format!("{digest} in index of {}", self.layout.root.display()),
            })
    }
}

#[async_trait]
impl ImageIndex for LayoutIndex {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.raw.clone())
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(self
            .manifest
            .media_type
            .clone()
            .or_else(|| self.desc.as_ref().map(|d| d.media_type.clone()))
            .unwrap_or(MediaType::OciImageIndex))
    }

    async fn image(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Image>> {
        let desc = self.child(digest)?;
        Ok(self.layout.image_from(desc).await?)
    }

    async fn image_index(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn ImageIndex>> {
        let desc = self.child(digest)?;
        Ok(self.layout.index_from(desc).await?)
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        Ok(self.desc.clone())
    }

    async fn layer(&self, digest: Digest) -> ocireg_v1::Result<Option<Arc<dyn Layer>>> {
        let Ok(desc) = self.child(digest) else {
            return Ok(None);
        };
        if desc.media_type.is_manifest() {
            return Ok(None);
        }
        Ok(Some(Arc::new(CompressedToLayer::new(LayoutBlob {
            layout: self.layout.clone(),
            desc: desc.clone(),
        }))))
    }
}
