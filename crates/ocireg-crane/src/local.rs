//! Images on disk: `pull` (registry to a `docker save` tarball or an OCI image layout)
//! and `push` (a tarball or a layout to a registry).

use std::path::Path;
use std::sync::Arc;

use ocireg_layout::{AppendOptions, Layout};
use ocireg_name::Reference;
use ocireg_v1::progress::{BlobOutcome, Direction, Progress, ProgressEvent};
use ocireg_v1::{Image, ImageIndex};

use crate::cache::{CachedImage, CachedIndex, LayerCache};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::progress::Operation;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// The annotation `pull --format oci --annotate-ref` sets to the image's full name.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// The tag a digest reference gets in a `docker save` tarball (ggcr's).
const I_WAS_A_DIGEST: &str = "i-was-a-digest";

/// What `pull` writes (crane's `--format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PullFormat {
    /// One `docker save` tarball holding every image (the default).
    #[default]
    Tarball,
    /// The legacy v1.2 tarball format, with per-layer folders and `repositories`.
    Legacy,
    /// An OCI image layout directory; each image (or index) is appended to its
    /// `index.json`.
    Oci,
}

/// What one pulled reference resolved to.
enum Pulled {
    Image(Arc<dyn Image>),
    Index(Arc<dyn ImageIndex>),
}

pub(crate) fn layout_err(
    doing: &'static str,
    path: &Path,
) -> impl FnOnce(ocireg_layout::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Layout {
        doing,
        path,
        source: Box::new(source),
    }
}

fn tarball_err(doing: &'static str, path: &Path) -> impl FnOnce(ocireg_tarball::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Tarball {
        doing,
        path,
        source: Box::new(source),
    }
}

/// Pulls `images` from their registries into `path` (crane's `pull`): one `docker save`
/// tarball holding them all ([`PullFormat::Tarball`], digest references tagged
/// `:i-was-a-digest` as in ggcr), a legacy tarball, or an OCI image layout created or
/// appended to ([`PullFormat::Oci`]; with `annotate_ref`, each entry gets the
/// `org.opencontainers.image.ref.name` annotation set to the image's full name).
///
/// An index is pulled whole into a layout unless [`Options::platform`] is set; into a
/// tarball, the image for the platform (the host's by default) is pulled.
///
/// With `cache` (crane's `-c/--cache_path`), compressed layers are kept in that directory
/// by digest (`sha256:<hex>`, as ggcr names them) and read from there by later pulls
/// instead of from the registry: a cached file is used only when its size and digest are
/// right, and a layer enters the cache only once it has arrived whole and verified
/// (written beside its name, fsynced, renamed).
pub async fn pull(
    images: &[String],
    path: &Path,
    format: PullFormat,
    annotate_ref: bool,
    cache: Option<&Path>,
    opts: &Options,
) -> Result<()> {
    let refs = images
        .iter()
        .map(|i| opts.parse_reference(i))
        .collect::<Result<Vec<Reference>>>()?;
    let what = format!("pulling {} to {}", images.join(", "), path.display());
    let op = Operation::start(opts, &what);
    let cache = cache.map(LayerCache::new).transpose()?;
    let pull = Pull {
        format,
        annotate_ref,
        cache,
    };
    let result = pull_refs(&refs, path, &pull, opts, op.as_ref()).await;
    Operation::end(op.as_ref(), &result);
    result
}

/// How to pull.
struct Pull {
    format: PullFormat,
    annotate_ref: bool,
    cache: Option<Arc<LayerCache>>,
}

async fn pull_refs(
    refs: &[Reference],
    path: &Path,
    how: &Pull,
    opts: &Options,
    op: Option<&Arc<Operation>>,
) -> Result<()> {
    let (format, annotate_ref) = (how.format, how.annotate_ref);
    // Into a layout, the registry client reports the downloads; into a tarball, the
    // tarball writer reports each blob as it writes it (the same bytes, read from the
    // registry as they are written), shown as the pull it is.
    let (remote_sink, tarball_sink) = match (format, Operation::sink(op)) {
        (PullFormat::Oci, sink) => (sink, None),
        (_, sink) => (None, sink.map(|s| Arc::new(AsPull(s)) as Arc<dyn Progress>)),
    };
    let mut write_options = ocireg_tarball::WriteOptions::new();
    if let Some(sink) = tarball_sink {
        write_options = write_options.progress(sink);
    }
    let remote = remote_options(opts, remote_sink).await?;
    let mut pulled = Vec::with_capacity(refs.len());
    for r in refs {
        let desc = ocireg_remote::get(r, &remote)
            .await
            .map_err(remote_err(Doing::on("fetching the manifest of", r)))?;
        let item = if format == PullFormat::Oci && desc.is_index() && opts.platform().is_none() {
            Pulled::Index(
                desc.image_index()
                    .map_err(remote_err(Doing::on("reading the index", r)))?,
            )
        } else {
            Pulled::Image(
                desc.image()
                    .await
                    .map_err(remote_err(Doing::on("resolving the image of", r)))?,
            )
        };
        let item = match (&how.cache, item) {
            (Some(cache), Pulled::Image(img)) => Pulled::Image(CachedImage::wrap(img, cache)),
            (Some(cache), Pulled::Index(idx)) => Pulled::Index(CachedIndex::wrap(idx, cache)),
            (None, item) => item,
        };
        pulled.push((r.clone(), item));
    }
    match format {
        PullFormat::Tarball | PullFormat::Legacy => {
            let mut tagged = Vec::with_capacity(pulled.len());
            for (r, item) in pulled {
                let Pulled::Image(img) = item else {
                    continue;
                };
                let r = match r {
                    Reference::Digest(d) => {
                        Reference::Tag(d.repository().tag(I_WAS_A_DIGEST).map_err(|source| {
                            Error::InvalidReference {
                                reference: d.to_string(),
                                source,
                            }
                        })?)
                    }
                    tag @ Reference::Tag(_) => tag,
                };
                tagged.push((r, img));
            }
            if format == PullFormat::Tarball {
                ocireg_tarball::write_to_file_with(path, &tagged, write_options)
                    .await
                    .map_err(tarball_err("writing the tarball", path))?;
            } else {
                ocireg_tarball::legacy::write_to_file_with(path, &tagged, write_options)
                    .await
                    .map_err(tarball_err("writing the legacy tarball", path))?;
            }
        }
        PullFormat::Oci => {
            let layout = Layout::create(path)
                .await
                .map_err(layout_err("creating the image layout", path))?;
            for (r, item) in pulled {
                let mut append = AppendOptions::new();
                if annotate_ref {
                    append = append.annotation(REF_NAME_ANNOTATION, r.name());
                }
                let appended = match item {
                    Pulled::Image(img) => layout.append_image(&*img, &append).await,
                    Pulled::Index(idx) => layout.append_index(&*idx, &append).await,
                };
                appended.map_err(layout_err("writing to the image layout", path))?;
            }
        }
    }
    Ok(())
}

/// The tarball writer's progress as crane shows a pull: a blob written into the tarball
/// (read from the registry as it is written) is a blob downloaded.
struct AsPull(Arc<dyn Progress>);

impl Progress for AsPull {
    fn update(&self, event: &ProgressEvent) {
        let event = match event {
            ProgressEvent::BlobStarted { digest, total, .. } => ProgressEvent::BlobStarted {
                digest: *digest,
                total: *total,
                direction: Direction::Pull,
            },
            ProgressEvent::BlobDone {
                digest,
                outcome: BlobOutcome::Uploaded,
            } => ProgressEvent::BlobDone {
                digest: *digest,
                outcome: BlobOutcome::Downloaded,
            },
            other => other.clone(),
        };
        self.0.update(&event);
    }
}

/// What `push` read from disk.
enum Local {
    Image(Arc<dyn Image>),
    Index(Arc<dyn ImageIndex>),
}

/// Reads the image at `path` as ggcr's `crane push` does: a file is a `docker save`
/// tarball holding one image; a directory is an OCI image layout, whose root index is
/// pushed with `index`, or else whose one entry (image or index) is.
async fn load(path: &Path, index: bool, progress: Option<Arc<dyn Progress>>) -> Result<Local> {
    // fs_err's error names the path.
    let meta = fs_err::tokio::metadata(path)
        .await
        .map_err(|source| Error::Io {
            doing: "reading the image to push".to_owned(),
            source,
        })?;
    if !meta.is_dir() {
        let mut tarball = ocireg_tarball::Tarball::open(path)
            .await
            .map_err(tarball_err("reading the tarball", path))?;
        if let Some(sink) = progress {
            // Reads of its layers are the pull half of the push (one blob each).
            tarball = tarball.with_progress(sink);
        }
        let img = tarball
            .image(None)
            .await
            .map_err(tarball_err("reading the tarball", path))?;
        return Ok(Local::Image(img));
    }
    let layout = Layout::open(path)
        .await
        .map_err(layout_err("opening the image layout", path))?;
    if index {
        let root = layout
            .image_index_root()
            .await
            .map_err(layout_err("reading the image layout", path))?;
        return Ok(Local::Index(root));
    }
    let manifest = layout
        .index_manifest()
        .await
        .map_err(layout_err("reading the image layout", path))?;
    let [desc] = manifest.manifests.as_slice() else {
        return Err(Error::InvalidArgument {
            doing: format!(
                "pushing the image layout {}, which holds {} entries",
                path.display(),
                manifest.manifests.len()
            ),
            reason: "push one entry, or its whole index with --index",
        });
    };
    if desc.media_type.is_index() {
        let idx = layout
            .image_index(desc.digest)
            .await
            .map_err(layout_err("reading the image layout", path))?;
        Ok(Local::Index(idx))
    } else if desc.media_type.is_image() {
        let img = layout
            .image(desc.digest)
            .await
            .map_err(layout_err("reading the image layout", path))?;
        Ok(Local::Image(img))
    } else {
        Err(Error::InvalidArgument {
            doing: format!(
                "pushing the image layout {}, whose entry is a {}",
                path.display(),
                desc.media_type
            ),
            reason: "not an image or index: push its whole index with --index",
        })
    }
}

/// Pushes the image at `path` to `image` (crane's `push`): a file is read as a
/// `docker save` tarball holding one image, a directory as an OCI image layout holding
/// one entry, or with `index` the layout's whole `index.json` is pushed as an index.
/// Returns what was pushed as `REPOSITORY@DIGEST`.
pub async fn push(path: &Path, image: &str, index: bool, opts: &Options) -> Result<String> {
    let r = opts.parse_reference(image)?;
    let op = Operation::start(opts, &format!("pushing {} to {r}", path.display()));
    let result = async {
        let local = load(path, index, Operation::sink(op.as_ref())).await?;
        let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
        let doing = format!("pushing {} to {r}", path.display());
        let written = match local {
            Local::Image(img) => ocireg_remote::write_image(&r, img, &remote).await,
            Local::Index(idx) => ocireg_remote::write_index(&r, idx, &remote).await,
        };
        written.map_err(remote_err(doing))
    }
    .await;
    Operation::end(op.as_ref(), &result);
    let digest = result?;
    Ok(r.repository().digest(digest).to_string())
}

/// The digest of the image in the `docker save` tarball at `path` (crane's
/// `digest --tarball`): the one image, or the one tagged `tag`.
pub async fn tarball_digest(path: &Path, tag: Option<&str>) -> Result<String> {
    let tag = tag
        .map(|t| {
            ocireg_name::Tag::new(t).map_err(|source| Error::InvalidReference {
                reference: t.to_owned(),
                source,
            })
        })
        .transpose()?;
    let img = ocireg_tarball::image_from_path(path, tag.as_ref())
        .await
        .map_err(tarball_err("reading the tarball", path))?;
    let digest = img
        .digest()
        .await
        .map_err(view_err(format!("reading the tarball {}", path.display())))?;
    Ok(digest.to_string())
}

/// Writes `text` to `file` readable by its owner only (mode 0600, as ggcr's
/// `push --image-refs`): into a temporary file beside it, fsynced, then renamed.
pub fn write_image_refs(file: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let fail = |action: &'static str| {
        let path = file.to_owned();
        move |source| Error::File {
            action,
            path,
            source,
        }
    };
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(fail("creating a temporary file beside"))?;
    tmp.write_all(text.as_bytes())
        .map_err(fail("writing a temporary file beside"))?;
    tmp.as_file()
        .sync_all()
        .map_err(fail("syncing a temporary file beside"))?;
    tmp.persist(file)
        .map_err(|e| e.error)
        .map_err(fail("renaming a temporary file to"))?;
    Ok(())
}

/// Removes the blobs of the OCI image layout at `path` that nothing in its `index.json`
/// refers to (crane's `layout gc`). Returns the digests removed.
pub async fn layout_gc(path: &Path) -> Result<Vec<ocireg_v1::Digest>> {
    let layout = Layout::open(path)
        .await
        .map_err(layout_err("opening the image layout", path))?;
    layout.garbage_collect().await.map_err(layout_err(
        "collecting the garbage of the image layout",
        path,
    ))
}
