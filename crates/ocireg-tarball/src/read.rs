//! Reading `docker save` tarballs (ggcr `tarball.Image`, `LoadManifest`)
//! from a file by offset, without extracting it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ocireg_name::Tag;
use ocireg_v1::partial::{
    CompressedLayer, CompressedToLayer, UncompressedImageCore, UncompressedLayer,
    UncompressedToImage,
};
use ocireg_v1::{
    Blob, CONFIG_LIMIT, Compression, ConfigFile, Descriptor, Digest, Image, Layer, Manifest,
    MediaType, async_trait,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use crate::{Error, Result};

/// The most bytes `manifest.json` may have (8 MiB).
pub const MANIFEST_JSON_LIMIT: u64 = 8 * 1024 * 1024;

/// The most members a tarball may have.
pub const MEMBER_LIMIT: usize = 1 << 20;

/// The most links followed to reach a member.
const LINK_HOPS: usize = 40;

/// Size of the chunks member bodies are read in.
const CHUNK: u64 = 256 * 1024;

/// One image in `manifest.json` (ggcr `tarball.Descriptor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestEntry {
    /// The member holding the config (`sha256:<hex>`, `<hex>.json`, `blobs/sha256/<hex>`).
    #[serde(rename = "Config")]
    pub config: String,
    /// The tags of the image; `None` (JSON `null`) when it has none.
    #[serde(rename = "RepoTags")]
    pub repo_tags: Option<Vec<String>>,
    /// The members holding the layers, in order.
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
    /// Descriptors of non-distributable (foreign) layers, by diff id.
    #[serde(
        rename = "LayerSources",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub layer_sources: BTreeMap<String, Descriptor>,
}

#[derive(Debug, Clone)]
enum Member {
    File { offset: u64, size: u64 },
    Link { target: String, hard: bool },
    Other,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    /// Cleaned member name to member.
    members: HashMap<String, Member>,
}

/// A `docker save` tarball on disk, indexed once: members are read by
/// offset, never extracted.
#[derive(Clone)]
pub struct Tarball {
    inner: Arc<Inner>,
    progress: Option<Arc<dyn ocireg_v1::progress::Progress>>,
}

impl std::fmt::Debug for Tarball {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tarball")
            .field("inner", &self.inner)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Cleans a member or link path as Go's `path.Clean` would, refusing
/// absolute paths and `..` that climbs out of the archive.
fn clean(name: &str) -> std::result::Result<String, &'static str> {
    if name.starts_with('/') {
        return Err("absolute member names are refused");
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("the name climbs out of the archive with `..`");
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn index(path: &Path) -> Result<HashMap<String, Member>> {
    let file = fs_err::File::open(path).map_err(Error::io("opening the tarball", path))?;
    let file_len = file
        .metadata()
        .map_err(Error::io("reading the tarball's metadata", path))?
        .len();
    // The tar reader's errors (IO or format) are named here, once.
    let headers = |e: std::io::Error| {
        Error::io("reading tar headers", path)(Error::named(path, "read tar headers from", &e))
    };
    let mut archive = tar::Archive::new(file.into_file());
    let entries = archive.entries_with_seek().map_err(headers)?;
    let mut members = HashMap::new();
    for (i, entry) in entries.enumerate() {
        if i >= MEMBER_LIMIT {
            return Err(Error::Manifest {
                path: path.to_path_buf(),
                reason: format!("more than {MEMBER_LIMIT} members"),
            });
        }
        let entry = entry.map_err(headers)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let bad = |reason: String| Error::BadMember {
            path: path.to_path_buf(),
            member: raw.clone(),
            reason,
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() {
            continue;
        }
        if raw.contains("..") && raw.split('/').any(|p| p == "..") {
            return Err(bad("member names with `..` are refused".into()));
        }
        let name = clean(&raw).map_err(|r| bad(r.into()))?;
        let member = if kind.is_file() || kind == tar::EntryType::Continuous {
            let offset = entry.raw_file_position();
            let size = entry.size();
            if offset.checked_add(size).is_none_or(|end| end > file_len) {
                return Err(bad(format!(
                    "{size} bytes at offset {offset} run past the end of the file ({file_len} bytes)"
                )));
            }
            Member::File { offset, size }
        } else if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            Member::Link {
                target,
                hard: kind.is_hard_link(),
            }
        } else {
            Member::Other
        };
        if members.insert(name, member).is_some() {
            return Err(bad("the name appears twice in the tarball".into()));
        }
    }
    Ok(members)
}

impl Tarball {
    /// Opens and indexes the tarball at `path` (one pass over its headers).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let p = path.clone();
        let members = tokio::task::spawn_blocking(move || index(&p))
            .await
            .map_err(|e| {
                let e = std::io::Error::other(e);
                Error::io("indexing the tarball", &path)(Error::named(&path, "index", &e))
            })??;
        Ok(Self {
            inner: Arc::new(Inner { path, members }),
            progress: None,
        })
    }

    /// Makes the images read from here report the reads of their layers to `sink` as
    /// [`ocireg_v1::progress`] events, as the registry client reports its downloads:
    /// `BlobStarted` ([`Pull`](ocireg_v1::progress::Direction::Pull)) when a layer's
    /// stream is opened, cumulative `BlobBytes`, and `BlobDone`
    /// ([`Downloaded`](ocireg_v1::progress::BlobOutcome::Downloaded)) at its verified end
    /// or `BlobFailed`. The compressed stream is reported by the layer's digest, the
    /// uncompressed one by its diff id; configs and `manifest.json` are not reported.
    #[must_use]
    pub fn with_progress(mut self, sink: Arc<dyn ocireg_v1::progress::Progress>) -> Self {
        self.progress = Some(sink);
        self
    }

    /// The path of the tarball.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The names of the members (cleaned; directories left out), in no order.
    pub fn member_names(&self) -> impl Iterator<Item = &str> {
        self.inner.members.keys().map(String::as_str)
    }

    /// Finds the regular file behind `name`, following links with loop detection.
    fn resolve(&self, name: &str) -> Result<(u64, u64)> {
        let path = &self.inner.path;
        let bad = |member: &str, reason: String| Error::BadMember {
            path: path.clone(),
            member: member.to_owned(),
            reason,
        };
        let mut current = clean(name).map_err(|r| bad(name, r.into()))?;
        let mut visited = HashSet::new();
        loop {
            if !visited.insert(current.clone()) || visited.len() > LINK_HOPS {
                return Err(bad(name, format!("link loop (reached {current:?} again)")));
            }
            match self.inner.members.get(&current) {
                None => {
                    return Err(Error::NotFound {
                        path: path.clone(),
                        what: format!("member {current:?}"),
                    });
                }
                Some(Member::File { offset, size }) => return Ok((*offset, *size)),
                Some(Member::Other) => {
                    return Err(bad(&current, "not a regular file or link".into()));
                }
                Some(Member::Link { target, hard }) => {
                    let joined = if *hard {
                        target.clone()
                    } else {
                        if target.starts_with('/') {
                            return Err(bad(&current, format!("absolute link target {target:?}")));
                        }
                        match current.rsplit_once('/') {
                            Some((dir, _)) => format!("{dir}/{target}"),
                            None => target.clone(),
                        }
                    };
                    current = clean(&joined).map_err(|r| bad(&current, r.into()))?;
                }
            }
        }
    }

    /// The bytes of member `name` (links followed) as a stream read from
    /// the file at the member's offset; not verified.
    pub fn member(&self, name: &str) -> Result<Blob> {
        let (offset, size) = self.resolve(name)?;
        Ok(read_at(self.inner.path.clone(), offset, size))
    }

    /// Reads a small member whole, refusing more than `limit` bytes.
    async fn small_member(&self, name: &str, limit: u64) -> Result<Bytes> {
        let blob = self.member(name)?;
        blob.read_to_end(limit)
            .await
            .map_err(|source| self.member_error(name, source))
    }

    fn member_error(&self, name: &str, source: ocireg_v1::Error) -> Error {
        Error::Member {
            path: self.inner.path.clone(),
            member: name.to_owned(),
            source,
        }
    }

    /// The parsed `manifest.json` (ggcr `LoadManifest`), at most
    /// [`MANIFEST_JSON_LIMIT`] bytes.
    pub async fn manifest(&self) -> Result<Vec<ManifestEntry>> {
        let raw = self
            .small_member("manifest.json", MANIFEST_JSON_LIMIT)
            .await?;
        let parsed: Option<Vec<ManifestEntry>> =
            serde_json::from_slice(&raw).map_err(|e| Error::Manifest {
                path: self.inner.path.clone(),
                reason: e.to_string(),
            })?;
        parsed.ok_or_else(|| Error::Manifest {
            path: self.inner.path.clone(),
            reason: "it is null".into(),
        })
    }

    /// The image tagged `tag`, or the only image when `tag` is `None`
    /// (ggcr `tarball.Image`). Tags are compared by their full names, so
    /// `ubuntu` finds `docker.io/library/ubuntu:latest`.
    pub async fn image(&self, tag: Option<&Tag>) -> Result<Arc<dyn Image>> {
        let manifest = self.manifest().await?;
        let entry = select(&manifest, tag).map_err(|what| match what {
            Select::NotFound(what) => Error::NotFound {
                path: self.inner.path.clone(),
                what,
            },
            Select::Bad(reason) => Error::Manifest {
                path: self.inner.path.clone(),
                reason,
            },
        })?;
        self.image_for(entry.clone()).await
    }

    /// The image described by one `manifest.json` entry.
    pub async fn image_for(&self, entry: ManifestEntry) -> Result<Arc<dyn Image>> {
        let raw_config = self.small_member(&entry.config, CONFIG_LIMIT).await?;
        if let Some(expected) = digest_in_name(&entry.config) {
            let actual = ocireg_v1::digest_of(expected.algorithm(), &raw_config);
            if actual != expected {
                return Err(self.member_error(
                    &entry.config,
                    ocireg_v1::Error::DigestMismatch { expected, actual },
                ));
            }
        }
        let config = ConfigFile::parse(&raw_config)
            .map_err(|source| self.member_error(&entry.config, source))?;
        let diff_ids = config.rootfs.diff_ids.clone().unwrap_or_default();
        if diff_ids.len() != entry.layers.len() {
            return Err(Error::Manifest {
                path: self.inner.path.clone(),
                reason: format!(
                    "config {:?} has {} diff ids but the entry lists {} layers",
                    entry.config,
                    diff_ids.len(),
                    entry.layers.len()
                ),
            });
        }
        let mut compressions = Vec::with_capacity(entry.layers.len());
        for layer in &entry.layers {
            compressions.push(self.sniff(layer).await?);
        }
        let parts = Arc::new(Parts {
            tarball: self.clone(),
            entry,
            raw_config,
            diff_ids,
        });
        let img: Arc<dyn Image> = if compressions.iter().any(|c| *c != Compression::None) {
            Arc::new(CompressedImage {
                parts,
                compressions,
                manifest: tokio::sync::OnceCell::new(),
            })
        } else {
            Arc::new(UncompressedToImage::new(UncompressedCore(parts)))
        };
        Ok(match &self.progress {
            Some(sink) => crate::reading::ReportingImage::wrap(img, Arc::clone(sink)),
            None => img,
        })
    }

    async fn sniff(&self, name: &str) -> Result<Compression> {
        let (offset, size) = self.resolve(name)?;
        let head = read_at(self.inner.path.clone(), offset, size.min(4))
            .read_to_end(4)
            .await
            .map_err(|source| self.member_error(name, source))?;
        Ok(Compression::detect(&head))
    }
}

/// Opens the tarball at `path` and returns the image tagged `tag` (or the
/// only one) (ggcr `tarball.ImageFromPath`).
pub async fn image_from_path(path: impl AsRef<Path>, tag: Option<&Tag>) -> Result<Arc<dyn Image>> {
    Tarball::open(path).await?.image(tag).await
}

enum Select {
    NotFound(String),
    Bad(String),
}

fn select<'m>(
    manifest: &'m [ManifestEntry],
    tag: Option<&Tag>,
) -> std::result::Result<&'m ManifestEntry, Select> {
    let Some(tag) = tag else {
        return match manifest {
            [only] => Ok(only),
            _ => Err(Select::Bad(format!(
                "it lists {} images: name the one to read by its tag",
                manifest.len()
            ))),
        };
    };
    for entry in manifest {
        for text in entry.repo_tags.iter().flatten() {
            let repo_tag = Tag::new(text)
                .map_err(|e| Select::Bad(format!("RepoTag {text:?} does not parse: {e}")))?;
            if repo_tag.name() == tag.name() {
                return Ok(entry);
            }
        }
    }
    Err(Select::NotFound(format!("tag {tag}")))
}

/// The digest a member name spells: `sha256:<hex>`, `<hex>.json`,
/// `blobs/sha256/<hex>`.
fn digest_in_name(name: &str) -> Option<Digest> {
    if let Ok(d) = name.parse::<Digest>() {
        return Some(d);
    }
    if let Some(hex) = name.strip_suffix(".json") {
        return format!("sha256:{hex}").parse().ok();
    }
    let rest = name.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    format!("{alg}:{hex}").parse().ok()
}

/// A stream of `size` bytes of `path` from `offset`.
pub(crate) fn read_at(path: PathBuf, offset: u64, size: u64) -> Blob {
    struct State {
        path: PathBuf,
        file: Option<fs_err::tokio::File>,
        offset: u64,
        remaining: u64,
    }
    let state = State {
        path,
        file: None,
        offset,
        remaining: size,
    };
    let stream = futures_util::stream::try_unfold(state, |mut st| async move {
        if st.remaining == 0 {
            return Ok(None);
        }
        let fail = |op: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |e: std::io::Error| Error::io(op, path)(e).into_v1().into_io()
        };
        if st.file.is_none() {
            let mut f = fs_err::tokio::File::open(&st.path)
                .await
                .map_err(fail("opening", &st.path))?;
            f.seek(std::io::SeekFrom::Start(st.offset))
                .await
                .map_err(fail("seeking", &st.path))?;
            st.file = Some(f);
        }
        let want = usize::try_from(st.remaining.min(CHUNK)).unwrap_or(64 * 1024);
        let mut buf = BytesMut::with_capacity(want);
        let Some(file) = st.file.as_mut() else {
            return Ok(None);
        };
        while buf.len() < want {
            let n = (&mut *file)
                .take((want - buf.len()) as u64)
                .read_buf(&mut buf)
                .await
                .map_err(fail("reading", &st.path))?;
            if n == 0 {
                let eof = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file ended inside a member (was it changed?)",
                );
                return Err(fail("reading", &st.path)(Error::named(
                    &st.path, "read", &eof,
                )));
            }
        }
        st.remaining -= buf.len() as u64;
        Ok(Some((buf.freeze(), st)))
    });
    Blob::new(stream, Some(size))
}

/// What both image kinds share.
#[derive(Debug)]
struct Parts {
    tarball: Tarball,
    entry: ManifestEntry,
    raw_config: Bytes,
    diff_ids: Vec<Digest>,
}

impl Parts {
    fn layer_source(&self, i: usize) -> Option<&Descriptor> {
        self.entry
            .layer_sources
            .get(&self.diff_ids.get(i)?.to_string())
    }
}

// ---- compressed layers: the manifest is made by hashing each member ----

#[derive(Debug)]
struct CompressedImage {
    parts: Arc<Parts>,
    compressions: Vec<Compression>,
    manifest: tokio::sync::OnceCell<(Bytes, Vec<Descriptor>)>,
}

impl CompressedImage {
    async fn made(&self) -> Result<&(Bytes, Vec<Descriptor>)> {
        self.manifest
            .get_or_try_init(|| async {
                let p = &self.parts;
                let mut layers = Vec::with_capacity(p.entry.layers.len());
                for (i, name) in p.entry.layers.iter().enumerate() {
                    if let Some(desc) = p.layer_source(i) {
                        layers.push(desc.clone());
                        continue;
                    }
                    let media_type = match self.compressions[i] {
                        Compression::Zstd => MediaType::OciLayerZstd,
                        Compression::None => MediaType::DockerUncompressedLayer,
                        _ => MediaType::DockerLayer,
                    };
                    let mut blob = p.tarball.member(name)?;
                    if let Some(expected) = digest_in_name(name) {
                        blob = blob.verified(expected, None);
                    }
                    let (digest, size) = hash(blob)
                        .await
                        .map_err(|e| p.tarball.member_error(name, e))?;
                    layers.push(Descriptor::new(media_type, size, digest));
                }
                let mut manifest = Manifest::new(
                    MediaType::DockerManifestSchema2,
                    Descriptor::for_bytes(MediaType::DockerConfig, &p.raw_config),
                );
                manifest.layers.clone_from(&layers);
                let raw = Bytes::from(ocireg_v1::to_go_json(&manifest)?);
                Ok::<_, Error>((raw, layers))
            })
            .await
    }
}

pub(crate) async fn hash(mut blob: Blob) -> ocireg_v1::Result<(Digest, u64)> {
    use futures_util::StreamExt as _;
    let mut hasher = ocireg_v1::Hasher::sha256();
    while let Some(chunk) = blob.next().await {
        hasher.update(&chunk.map_err(ocireg_v1::Error::from_io)?);
    }
    let len = hasher.len();
    Ok((hasher.finish(), len))
}

#[async_trait]
impl Image for CompressedImage {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.made().await?.0.clone())
    }
    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.parts.raw_config.clone())
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::DockerManifestSchema2)
    }
    async fn layer_by_digest(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        let (_, layers) = self.made().await?;
        if let Some(i) = layers.iter().position(|d| d.digest == digest) {
            return Ok(Arc::new(CompressedToLayer::new(TarCompressedLayer {
                parts: Arc::clone(&self.parts),
                index: i,
                desc: layers[i].clone(),
                foreign: self.parts.layer_source(i).is_some(),
            })));
        }
        if ocireg_v1::sha256(&self.parts.raw_config) == digest {
            return self.config_layer().await;
        }
        Err(ocireg_v1::Error::NotFound {
            what: format!("layer {digest} in {}", self.parts.tarball.path().display()),
        })
    }
}

#[derive(Debug)]
struct TarCompressedLayer {
    parts: Arc<Parts>,
    index: usize,
    desc: Descriptor,
    foreign: bool,
}

#[async_trait]
impl CompressedLayer for TarCompressedLayer {
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
        let name = &self.parts.entry.layers[self.index];
        Ok(self
            .parts
            .tarball
            .member(name)?
            .verified(self.desc.digest, Some(self.desc.size)))
    }
    async fn diff_id(&self) -> ocireg_v1::Result<Option<Digest>> {
        Ok(self.parts.diff_ids.get(self.index).copied())
    }
    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        Ok(self.foreign.then(|| self.desc.clone()))
    }
}

// ---- uncompressed layers: ocireg-v1's partial adapter gzips them ----

#[derive(Debug)]
struct UncompressedCore(Arc<Parts>);

#[async_trait]
impl UncompressedImageCore for UncompressedCore {
    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.0.raw_config.clone())
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::DockerManifestSchema2)
    }
    async fn layer_by_diff_id(
        &self,
        diff_id: Digest,
    ) -> ocireg_v1::Result<Arc<dyn UncompressedLayer>> {
        let p = &self.0;
        let Some(index) = p.diff_ids.iter().position(|d| *d == diff_id) else {
            return Err(ocireg_v1::Error::NotFound {
                what: format!("layer with diff id {diff_id}"),
            });
        };
        // Docker 25+ lists every layer in LayerSources as an uncompressed OCI
        // layer: that is no foreign layer (ggcr #1870).
        let foreign = p.layer_source(index).filter(|d| {
            !matches!(
                d.media_type,
                MediaType::DockerUncompressedLayer | MediaType::OciUncompressedLayer
            )
        });
        let (_, size) = p.tarball.resolve(&p.entry.layers[index])?;
        Ok(Arc::new(TarUncompressedLayer {
            parts: Arc::clone(p),
            index,
            size,
            diff_id,
            foreign: foreign.cloned(),
        }))
    }
}

#[derive(Debug)]
struct TarUncompressedLayer {
    parts: Arc<Parts>,
    index: usize,
    size: u64,
    diff_id: Digest,
    foreign: Option<Descriptor>,
}

#[async_trait]
impl UncompressedLayer for TarUncompressedLayer {
    async fn diff_id(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.diff_id)
    }
    async fn uncompressed(&self) -> ocireg_v1::Result<Blob> {
        let name = &self.parts.entry.layers[self.index];
        Ok(self
            .parts
            .tarball
            .member(name)?
            .verified(self.diff_id, Some(self.size)))
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(self
            .foreign
            .as_ref()
            .map_or(MediaType::DockerLayer, |d| d.media_type.clone()))
    }
    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        Ok(self.foreign.clone())
    }
    async fn uncompressed_size(&self) -> ocireg_v1::Result<Option<u64>> {
        Ok(Some(self.size))
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
