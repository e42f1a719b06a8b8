//! Changing images: `append`, `mutate`, `flatten` and `export` (ggcr's
//! `cmd/crane/cmd/{append,mutate,flatten,export}.go` and `pkg/crane`'s
//! `Append` and `Export`), on top of `ocireg-mutate`.
//!
//! Images are read from a registry or an `ocidir://` layout and written to
//! either, or to a `docker save` tarball (`-o`). Mutations are lazy views:
//! pushing a mutated remote image back to its registry moves no unchanged
//! layer (the remote layer skips blobs that exist or mounts them).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ocireg_name::Reference;
use std::future::Future;
use std::pin::Pin;

use ocireg_v1::{
    Blob, GzipLevel, History, Image, ImageIndex, Layer, MediaType, Platform, Time, empty, gzip,
};

use crate::error::{Error, Result};
use crate::ocidir::{self, Content};
use crate::options::Options;
use crate::progress::Operation;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// The annotation naming the base image (`--set-base-image-annotations`).
pub const BASE_NAME_ANNOTATION: &str = "org.opencontainers.image.base.name";
/// The annotation giving the base image's digest.
pub const BASE_DIGEST_ANNOTATION: &str = "org.opencontainers.image.base.digest";

/// What `append` does (crane's flags).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AppendOptions {
    /// The base image (`-b`); the empty image when `None`.
    pub base: Option<String>,
    /// Layer files (`-f`): tar, tar.gz or tar.zst; `-` reads stdin.
    pub layers: Vec<String>,
    /// Where to push the result (`-t`), a registry reference or `ocidir://`;
    /// with `output`, the tag written into the tarball.
    pub tag: String,
    /// Write a `docker save` tarball here instead of pushing (`-o`).
    pub output: Option<PathBuf>,
    /// The empty base has OCI media types (`--oci-empty-base`).
    pub oci_empty_base: bool,
    /// Annotate the result with the base's name and digest
    /// (`--set-base-image-annotations`).
    pub set_base_image_annotations: bool,
    /// Compress plain tars with zstd (OCI zstd layers) instead of gzip
    /// (`--compression zstd`); tar.gz and tar.zst files are kept as they are.
    pub zstd: bool,
}

/// What `mutate` changes (crane's flags).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct MutateOptions {
    /// Manifest annotations to add (`-a KEY=VALUE`).
    pub annotations: Vec<(String, String)>,
    /// Config labels to add (`-l KEY=VALUE`).
    pub labels: Vec<(String, String)>,
    /// Environment variables to set (`-e KEY=VALUE`), replaced in place when present.
    pub env: Vec<(String, String)>,
    /// The new entrypoint (clears the command, as Docker does).
    pub entrypoint: Vec<String>,
    /// The new command.
    pub cmd: Vec<String>,
    /// The new user.
    pub user: Option<String>,
    /// The new working directory.
    pub workdir: Option<String>,
    /// The exposed ports (replacing the set).
    pub exposed_ports: Vec<String>,
    /// Layer files to append first.
    pub append: Vec<String>,
    /// The new platform (`os/arch[/variant][:osversion]`).
    pub set_platform: Option<String>,
    /// Push to this reference instead of the original (`-t`).
    pub tag: Option<String>,
    /// Push by digest to this repository (`--repo`).
    pub repo: Option<String>,
    /// Write a `docker save` tarball here instead of pushing (`-o`).
    pub output: Option<PathBuf>,
}

fn mutate_err(doing: impl Into<Doing>) -> impl FnOnce(ocireg_mutate::Error) -> Error {
    let doing = doing.into();
    move |e| doing.view(ocireg_v1::Error::from(e))
}

fn tarball_err(doing: &'static str, path: &Path) -> impl FnOnce(ocireg_tarball::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Tarball {
        doing,
        path,
        source: Box::new(source),
    }
}

fn file_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::File {
        action,
        path,
        source,
    }
}

/// The image `reference` names: in an `ocidir://` layout, or in a registry
/// (an index resolves to the platform's image).
async fn load(
    reference: &str,
    opts: &Options,
    remote: &ocireg_remote::Options,
) -> Result<Arc<dyn Image>> {
    if ocidir::is_ocidir(reference) {
        return ocidir::image(&ocidir::parse(reference)?).await;
    }
    let r = opts.parse_reference(reference)?;
    ocireg_remote::image(&r, remote)
        .await
        .map_err(remote_err(Doing::on("pulling", &r)))
}

/// Writes `img` to `target` (a registry reference or `ocidir://`); returns
/// `REPOSITORY@DIGEST` (`ocidir://DIR@DIGEST`). With `by_digest`, a registry
/// target is written by digest in its repository, not under its tag.
async fn store(
    img: Arc<dyn Image>,
    target: &str,
    by_digest: bool,
    opts: &Options,
    remote: &ocireg_remote::Options,
) -> Result<String> {
    let digest = img.digest().await.map_err(view_err(format!(
        "computing the digest of the image for {target}"
    )))?;
    if ocidir::is_ocidir(target) {
        let dir = ocidir::parse(target)?;
        let written = ocidir::write_to_dir(&dir, Content::Image(img)).await?;
        return Ok(format!("ocidir://{}@{written}", dir.path.display()));
    }
    let r = opts.parse_reference(target)?;
    let repo = r.repository().clone();
    let r = if by_digest || matches!(r, Reference::Digest(_)) {
        Reference::Digest(repo.digest(digest))
    } else {
        r
    };
    ocireg_remote::write_image(&r, img, remote)
        .await
        .map_err(remote_err(Doing::on("pushing", &r)))?;
    Ok(repo.digest(digest).to_string())
}

/// Writes `img` as a `docker save` tarball at `path`, tagged `tag`.
async fn save(img: Arc<dyn Image>, tag: &str, path: &Path, opts: &Options) -> Result<()> {
    let r = opts.parse_reference(tag)?;
    ocireg_tarball::write_to_file(path, &[(r, img)])
        .await
        .map_err(tarball_err("writing the tarball", path))?;
    Ok(())
}

/// Layer files, kept alive (stdin is spooled to a temporary file) until the
/// operation is done.
struct Layers {
    layers: Vec<Arc<dyn Layer>>,
    spooled: Vec<tempfile::TempPath>,
}

/// Reads stdin into a temporary file.
async fn spool_stdin() -> Result<tempfile::TempPath> {
    let temp = tempfile::NamedTempFile::new().map_err(file_err(
        "creating a temporary file in",
        &std::env::temp_dir(),
    ))?;
    let (file, path) = temp.into_parts();
    drop(file);
    let mut file = fs_err::tokio::File::create(&path)
        .await
        .map_err(file_err("opening", &path))?;
    let mut stdin = tokio::io::stdin();
    tokio::io::copy(&mut stdin, &mut file)
        .await
        .map_err(file_err("copying stdin to", &path))?;
    file.sync_all().await.map_err(file_err("syncing", &path))?;
    Ok(path)
}

/// Whether the file starts with the zstd magic.
fn is_zstd(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 4];
    let mut f = fs_err::File::open(path).map_err(file_err("opening", path))?;
    let n = f.read(&mut magic).map_err(file_err("reading", path))?;
    Ok(n == 4 && magic == ocireg_v1::ZSTD_MAGIC)
}

/// The layers of `paths` for a base of media type `base_type` (ggcr's
/// `crane.Append`): OCI bases get OCI gzip layers, others Docker ones; a
/// zstd file is an OCI zstd layer either way.
async fn layers_from(paths: &[String], base_type: &MediaType, zstd: bool) -> Result<Layers> {
    let mut out = Layers {
        layers: Vec::with_capacity(paths.len()),
        spooled: Vec::new(),
    };
    for p in paths {
        let path = if p == "-" {
            let temp = spool_stdin().await?;
            let path = temp.to_path_buf();
            out.spooled.push(temp);
            path
        } else {
            PathBuf::from(p)
        };
        let mut options = ocireg_tarball::LayerOptions::new();
        if zstd {
            options = options
                .compression(ocireg_v1::Compression::Zstd)
                .media_type(MediaType::OciLayerZstd);
        } else if !is_zstd(&path)? && *base_type == MediaType::OciManifest {
            options = options.media_type(MediaType::OciLayer);
        }
        let layer = ocireg_tarball::layer_from_file(&path, options)
            .await
            .map_err(tarball_err("reading the layer", &path))?;
        out.layers.push(Arc::new(layer));
    }
    Ok(out)
}

/// Appends `layers` to `base` (ggcr's `crane.Append`). On a base whose
/// config says `"os": "windows"`, each new layer is first rewritten for
/// Windows ([`ocireg_mutate::windows`]: files under `Files/`, a `Hives/`
/// directory, a security descriptor on every entry), as ggcr does; such
/// layers are gzip Docker layers whatever the base or `--compression`.
async fn append_files(
    base: Arc<dyn Image>,
    paths: &[String],
    zstd: bool,
) -> Result<(Arc<dyn Image>, Layers)> {
    let doing = "reading the base image";
    let base_type = base.media_type().await.map_err(view_err(doing))?;
    let config = base.config_file().await.map_err(view_err(doing))?;
    let mut layers = layers_from(paths, &base_type, zstd).await?;
    if config.os == "windows" {
        for (layer, path) in layers.layers.iter_mut().zip(paths) {
            *layer = ocireg_mutate::windows(Arc::clone(layer));
            // Rewrite it once now (the diff id is kept), so that a bad tar
            // fails here, naming its file, as in ggcr.
            layer
                .diff_id()
                .await
                .map_err(view_err(format!("converting {path} for Windows")))?;
        }
    }
    let img = ocireg_mutate::append_layers(base, layers.layers.iter().cloned());
    Ok((img, layers))
}

/// `crane append`: `layers` appended to the base (or the empty image), pushed
/// to `tag` or saved to `output`. Returns `REPOSITORY@DIGEST` when pushed.
pub async fn append(append: &AppendOptions, opts: &Options) -> Result<Option<String>> {
    if append.layers.is_empty() {
        return Err(Error::InvalidArgument {
            doing: "appending".into(),
            reason: "give at least one layer with -f",
        });
    }
    let op = Operation::start(opts, &format!("appending to {}", append.tag));
    let result = async {
        let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
        let base = match &append.base {
            Some(b) => load(b, opts, &remote).await?,
            None if append.oci_empty_base => {
                let img = ocireg_mutate::media_type(empty::image(), MediaType::OciManifest);
                ocireg_mutate::config_media_type(img, MediaType::OciConfig)
            }
            None => empty::image(),
        };
        let (mut img, _layers) =
            append_files(Arc::clone(&base), &append.layers, append.zstd).await?;
        if let (Some(b), true) = (&append.base, append.set_base_image_annotations) {
            img = with_base_annotations(img, b, &base, opts).await?;
        }
        match &append.output {
            Some(path) => {
                save(img, &append.tag, path, opts).await?;
                Ok(None)
            }
            None => store(img, &append.tag, false, opts, &remote)
                .await
                .map(Some),
        }
    }
    .await;
    Operation::end(op.as_ref(), &result);
    result
}

async fn with_base_annotations(
    img: Arc<dyn Image>,
    base_ref: &str,
    base: &Arc<dyn Image>,
    opts: &Options,
) -> Result<Arc<dyn Image>> {
    let name = if ocidir::is_ocidir(base_ref) {
        String::new()
    } else {
        match opts.parse_reference(base_ref)? {
            Reference::Tag(t) => t.to_string(),
            Reference::Digest(_) => String::new(),
        }
    };
    let digest = base
        .digest()
        .await
        .map_err(view_err(Doing::on("getting the digest of", &base_ref)))?;
    Ok(ocireg_mutate::annotations(
        img,
        BTreeMap::from([
            (BASE_NAME_ANNOTATION.to_owned(), name),
            (BASE_DIGEST_ANNOTATION.to_owned(), digest.to_string()),
        ]),
    ))
}

fn check_values(pairs: &[(String, String)], what: &'static str) -> Result<()> {
    match pairs.iter().find(|(_, v)| v.is_empty()) {
        Some((k, _)) => Err(Error::InvalidArgument {
            doing: format!("parsing {what} {k:?}"),
            reason: "the value is empty",
        }),
        None => Ok(()),
    }
}

/// Sets `env` in `current`, replacing variables in place and appending new
/// ones in order (keys upper-cased on Windows), as ggcr's `setEnvVars`.
fn set_env(current: &[String], env: &[(String, String)], windows: bool) -> Result<Vec<String>> {
    let mut pending: Vec<(String, String)> = env.to_vec();
    let mut out = Vec::with_capacity(current.len() + env.len());
    for old in current {
        let Some((key, _)) = old.split_once('=') else {
            return Err(Error::InvalidArgument {
                doing: format!("reading the environment variable {old:?} of the config"),
                reason: "it is not KEY=VALUE",
            });
        };
        match pending.iter().rposition(|(k, _)| k == key) {
            Some(i) => {
                let v = pending[i].1.clone();
                pending.retain(|(k, _)| k != key);
                out.push(format!("{key}={v}"));
            }
            None => out.push(old.clone()),
        }
    }
    for (k, v) in pending {
        let k = if windows { k.to_uppercase() } else { k };
        out.push(format!("{k}={v}"));
    }
    Ok(out)
}

/// `crane mutate`: the config and annotations of `image` changed, pushed back
/// to it (by digest when it was named by digest), to `tag`, or by digest to
/// `repo`, or saved to `output`. Returns `REPOSITORY@DIGEST` when pushed.
pub async fn mutate(image: &str, m: &MutateOptions, opts: &Options) -> Result<Option<String>> {
    if m.repo.is_some() && m.tag.is_some() {
        return Err(Error::InvalidArgument {
            doing: format!("mutating {image}"),
            reason: "repository can't be set when a tag is specified",
        });
    }
    check_values(&m.labels, "label")?;
    check_values(&m.annotations, "annotation")?;
    let platform = m
        .set_platform
        .as_deref()
        .map(|p| {
            p.parse::<Platform>()
                .map_err(|source| Error::InvalidPlatform {
                    platform: p.to_owned(),
                    source,
                })
        })
        .transpose()?;
    let op = Operation::start(opts, &format!("mutating {image}"));
    let result = async {
        let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
        if !m.annotations.is_empty() && !ocidir::is_ocidir(image) {
            let r = opts.parse_reference(image)?;
            let desc = ocireg_remote::head(&r, &remote)
                .await
                .map_err(remote_err(Doing::on("checking", &r)))?;
            if desc.media_type.is_index() {
                return Err(Error::InvalidArgument {
                    doing: format!("mutating {image}"),
                    reason: "mutating annotations on an index is not yet supported",
                });
            }
        }
        let mut img = load(image, opts, &remote).await?;
        let _layers;
        if !m.append.is_empty() {
            let (appended, layers) = append_files(img, &m.append, false).await?;
            img = appended;
            _layers = layers;
        }
        let doing = format!("reading the config of {image}");
        let mut cf = img.config_file().await.map_err(view_err(doing))?;
        for (k, v) in &m.labels {
            cf.config.labels.insert(k.clone(), v.clone());
        }
        cf.config.env = set_env(&cf.config.env, &m.env, cf.os == "windows")?;
        if !m.entrypoint.is_empty() {
            cf.config.entrypoint.clone_from(&m.entrypoint);
            cf.config.cmd.clear();
        }
        if !m.cmd.is_empty() {
            cf.config.cmd.clone_from(&m.cmd);
        }
        if let Some(u) = m.user.as_ref().filter(|u| !u.is_empty()) {
            cf.config.user.clone_from(u);
        }
        if let Some(w) = m.workdir.as_ref().filter(|w| !w.is_empty()) {
            cf.config.working_dir.clone_from(w);
        }
        if !m.exposed_ports.is_empty() {
            cf.config.exposed_ports = m.exposed_ports.iter().cloned().collect();
        }
        if let Some(p) = &platform {
            cf.os.clone_from(&p.os);
            cf.architecture.clone_from(&p.architecture);
            cf.variant.clone_from(&p.variant);
            cf.os_version.clone_from(&p.os_version);
        }
        let mut img = ocireg_mutate::config_file(img, cf);
        if !m.annotations.is_empty() {
            img = ocireg_mutate::annotations(img, m.annotations.iter().cloned().collect());
        }
        let target = m.repo.as_deref().or(m.tag.as_deref()).unwrap_or(image);
        match &m.output {
            Some(path) => {
                save(img, target, path, opts).await?;
                Ok(None)
            }
            None => store(img, target, m.repo.is_some(), opts, &remote)
                .await
                .map(Some),
        }
    }
    .await;
    Operation::end(op.as_ref(), &result);
    result
}

/// `crane flatten`: `image`'s layers squashed into one gzip (best
/// compression) layer, pushed to `tag` or back to the original (by digest
/// when it was named by digest). The config keeps everything but its
/// history and diff ids; `created` is now; the one history entry says
/// `crane flatten <old digest>` and keeps the old history as its comment.
/// An index (without `--platform`) has each of its images flattened, its
/// attestations (`unknown/unknown`) dropped, its annotations and media type
/// kept. Returns `REPOSITORY@DIGEST`.
pub async fn flatten(image: &str, tag: Option<&str>, opts: &Options) -> Result<String> {
    let op = Operation::start(opts, &format!("flattening {image}"));
    let result = async {
        let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
        let target = tag.unwrap_or(image);
        if !ocidir::is_ocidir(image) && opts.platform().is_none() {
            let r = opts.parse_reference(image)?;
            let desc = ocireg_remote::get(&r, &remote)
                .await
                .map_err(remote_err(Doing::on("pulling", &r)))?;
            if desc.is_index() {
                let idx = desc
                    .image_index()
                    .map_err(remote_err(Doing::on("reading the index", &r)))?;
                let flat = flatten_index(idx, image).await?;
                let by_digest = matches!(r, Reference::Digest(_));
                return store_index(flat, target, by_digest, opts, &remote).await;
            }
        }
        let old = load(image, opts, &remote).await?;
        let flat = flatten_image(old, image).await?;
        let by_digest = !ocidir::is_ocidir(image)
            && matches!(opts.parse_reference(image)?, Reference::Digest(_));
        store(flat, target, by_digest, opts, &remote).await
    }
    .await;
    Operation::end(op.as_ref(), &result);
    result
}

/// Writes the index `idx` to `target`, as [`store`] does an image.
async fn store_index(
    idx: Arc<dyn ImageIndex>,
    target: &str,
    by_digest: bool,
    opts: &Options,
    remote: &ocireg_remote::Options,
) -> Result<String> {
    let digest = idx.digest().await.map_err(view_err(format!(
        "computing the digest of the index for {target}"
    )))?;
    if ocidir::is_ocidir(target) {
        let dir = ocidir::parse(target)?;
        let written = ocidir::write_to_dir(&dir, Content::Index(idx)).await?;
        return Ok(format!("ocidir://{}@{written}", dir.path.display()));
    }
    let r = opts.parse_reference(target)?;
    let repo = r.repository().clone();
    let r = if by_digest || matches!(r, Reference::Digest(_)) {
        Reference::Digest(repo.digest(digest))
    } else {
        r
    };
    ocireg_remote::write_index(&r, idx, remote)
        .await
        .map_err(remote_err(Doing::on("pushing", &r)))?;
    Ok(repo.digest(digest).to_string())
}

/// The future of [`flatten_index`] (boxed: it recurses into nested indexes).
type FlatIndex<'a> = Pin<Box<dyn Future<Output = Result<Arc<dyn ImageIndex>>> + Send + 'a>>;

/// Every image of `old` flattened (ggcr's `flattenIndex`): the children keep
/// their descriptors (platform, annotations) but for digest and size.
fn flatten_index(old: Arc<dyn ImageIndex>, name: &str) -> FlatIndex<'_> {
    Box::pin(async move {
        let doing = || format!("flattening {name}");
        let manifest = old.index_manifest().await.map_err(view_err(doing()))?;
        let mut adds = Vec::with_capacity(manifest.manifests.len());
        for desc in &manifest.manifests {
            if desc
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
            {
                continue; // Attestations are dropped, as in ggcr (#1622).
            }
            let add = if desc.media_type.is_index() {
                let child = old
                    .image_index(desc.digest)
                    .await
                    .map_err(view_err(doing()))?;
                ocireg_mutate::Appendable::Index(flatten_index(child, name).await?)
            } else if desc.media_type.is_image() {
                let child = old.image(desc.digest).await.map_err(view_err(doing()))?;
                ocireg_mutate::Appendable::Image(flatten_image(child, name).await?)
            } else {
                tracing::warn!(
                    "can't flatten {} {}, skipping",
                    desc.media_type,
                    desc.digest
                );
                continue;
            };
            let mut add = ocireg_mutate::IndexAddendum::new(add).with_descriptor(desc);
            add.size = None;
            add.digest = None;
            adds.push(add);
        }
        let mut idx = ocireg_mutate::append_manifests(empty::index(), adds);
        if !manifest.annotations.is_empty() {
            idx = ocireg_mutate::index_annotations(idx, manifest.annotations.clone());
        }
        let mt = old.media_type().await.map_err(view_err(doing()))?;
        Ok(ocireg_mutate::index_media_type(idx, mt))
    })
}

/// The flattened image; its one layer lives in a temporary file that goes
/// with the image.
async fn flatten_image(old: Arc<dyn Image>, name: &str) -> Result<Arc<dyn Image>> {
    let doing = || format!("flattening {name}");
    let digest = old.digest().await.map_err(view_err(doing()))?;
    let manifest = old.manifest().await.map_err(view_err(doing()))?;
    let mut cf = old.config_file().await.map_err(view_err(doing()))?;
    let old_history = if cf.history.is_empty() {
        "null".to_owned()
    } else {
        String::from_utf8(ocireg_v1::to_go_json(&cf.history).map_err(view_err(doing()))?)
            .unwrap_or_default()
    };
    let now = Time::now();
    cf.rootfs.diff_ids = Some(Vec::new());
    cf.history = Vec::new();
    cf.created = now;
    // The flattened filesystem, gzipped at the best level, spooled to a
    // temporary file so that its digests are known before it is pushed.
    let tar = ocireg_mutate::extract(Arc::clone(&old));
    let gz = Blob::new(gzip(tar, GzipLevel::BEST_COMPRESSION), None);
    let layer = ocireg_tarball::layer_from_stream(gz, ocireg_tarball::LayerOptions::new())
        .await
        .map_err(|e| match e {
            ocireg_tarball::Error::Image(v1) => view_err(doing())(v1),
            other => tarball_err("spooling the flattened layer to", &std::env::temp_dir())(other),
        })?;
    let layer: Arc<dyn Layer> = Arc::new(layer);
    let base = ocireg_mutate::config_file(empty::image(), cf);
    let mut history = History::default();
    history.created = now;
    history.created_by = format!("crane flatten {digest}");
    history.comment = old_history;
    let mut img = ocireg_mutate::append(
        base,
        vec![ocireg_mutate::Addendum::new(layer).with_history(history)],
    )
    .map_err(mutate_err(doing()))?;
    if !manifest.annotations.is_empty() {
        img = ocireg_mutate::annotations(img, manifest.annotations.clone());
    }
    Ok(img)
}

/// `crane export`: the flattened filesystem of `image` as a tar stream (a
/// single layer that is not a tar layer is given raw, as ggcr does). `-`
/// reads a `docker save` tarball from stdin.
pub async fn export(image: &str, opts: &Options) -> Result<Blob> {
    let (img, spooled) = if image == "-" {
        let temp = spool_stdin().await?;
        let img = ocireg_tarball::image_from_path(&temp, None)
            .await
            .map_err(tarball_err("reading the tarball from", &temp))?;
        (img, Some(temp))
    } else {
        let remote = remote_options(opts, None).await?;
        (load(image, opts, &remote).await?, None)
    };
    let doing = || format!("exporting {image}");
    let layers = img.layers().await.map_err(view_err(doing()))?;
    let blob = if let [layer] = layers.as_slice()
        && !layer
            .media_type()
            .await
            .map_err(view_err(doing()))?
            .is_layer()
    {
        layer.uncompressed().await.map_err(view_err(doing()))?
    } else {
        ocireg_mutate::extract(img)
    };
    // Keep a spooled stdin until the stream is done.
    Ok(match spooled {
        Some(temp) => blob.inspect(move |item| {
            if item.is_none() {
                let _ = &temp;
            }
        }),
        None => blob,
    })
}

/// `crane export IMAGE FILE`: [`export`] into `path`, through a temporary
/// file beside it that is synced and renamed once the whole tar is written.
/// Returns the bytes written.
pub async fn export_to_file(image: &str, path: &Path, opts: &Options) -> Result<u64> {
    use futures_util::StreamExt as _;
    use tokio::io::AsyncWriteExt as _;

    let mut blob = export(image, opts).await?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let temp = tempfile::NamedTempFile::new_in(&dir)
        .map_err(file_err("creating a temporary file beside", path))?;
    let (file, temp_path) = temp.into_parts();
    drop(file);
    let mut file = fs_err::tokio::File::create(&temp_path)
        .await
        .map_err(file_err("opening", &temp_path))?;
    let mut written = 0u64;
    while let Some(chunk) = blob.next().await {
        let chunk = chunk
            .map_err(ocireg_v1::Error::from_io)
            .map_err(view_err(format!("exporting {image}")))?;
        file.write_all(&chunk)
            .await
            .map_err(file_err("writing", &temp_path))?;
        written += chunk.len() as u64;
    }
    file.sync_all()
        .await
        .map_err(file_err("syncing", &temp_path))?;
    drop(file);
    temp_path.persist(path).map_err(|e| Error::File {
        action: "renaming a temporary file to",
        path: path.to_owned(),
        source: e.error,
    })?;
    if let Ok(d) = fs_err::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(written)
}

/// `crane export IMAGE -`: [`export`] written to `out` chunk by chunk (stdout).
/// Returns the bytes written.
pub async fn export_to_writer(
    image: &str,
    out: &mut (dyn std::io::Write + Send),
    opts: &Options,
) -> Result<u64> {
    use futures_util::StreamExt as _;

    let mut blob = export(image, opts).await?;
    let mut written = 0u64;
    while let Some(chunk) = blob.next().await {
        let chunk = chunk
            .map_err(ocireg_v1::Error::from_io)
            .map_err(view_err(format!("exporting {image}")))?;
        out.write_all(&chunk).map_err(|source| Error::Io {
            doing: "writing the tar to stdout".into(),
            source,
        })?;
        written += chunk.len() as u64;
    }
    out.flush().map_err(|source| Error::Io {
        doing: "writing the tar to stdout".into(),
        source,
    })?;
    Ok(written)
}

/// `crane rebase`: `image`, built on `old_base`, rebuilt on `new_base` and
/// pushed to `tag` (or back to `image`, by digest when it was named by
/// digest). Without `new_base` or `old_base`, they come from the image's
/// base annotations (`org.opencontainers.image.base.name` and `.digest`, as
/// `append --set-base-image-annotations` writes them); the result gets them
/// for its new base. An index is refused unless a platform is given. Returns
/// `REPOSITORY@DIGEST` and whether the rebase changed nothing.
pub async fn rebase(
    image: &str,
    old_base: Option<&str>,
    new_base: Option<&str>,
    tag: Option<&str>,
    opts: &Options,
) -> Result<(String, bool)> {
    let op = Operation::start(opts, &format!("rebasing {image}"));
    let result = async {
        let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
        if !ocidir::is_ocidir(image) && opts.platform().is_none() {
            let r = opts.parse_reference(image)?;
            let desc = ocireg_remote::head(&r, &remote)
                .await
                .map_err(remote_err(Doing::on("checking", &r)))?;
            if desc.media_type.is_index() {
                return Err(Error::InvalidArgument {
                    doing: format!("rebasing {image}"),
                    reason: "rebasing an index is not yet supported: give --platform",
                });
            }
        }
        let orig = load(image, opts, &remote).await?;
        let doing = || format!("rebasing {image}");
        let annotations = orig.manifest().await.map_err(view_err(doing()))?.annotations;
        let new_base = match new_base.filter(|b| !b.is_empty()) {
            Some(b) => b.to_owned(),
            None => annotations
                .get(BASE_NAME_ANNOTATION)
                .filter(|b| !b.is_empty())
                .cloned()
                .ok_or_else(|| Error::InvalidArgument {
                    doing: doing(),
                    reason: "could not determine new base image from annotations: give --new_base",
                })?,
        };
        let old_base = if let Some(b) = old_base.filter(|b| !b.is_empty()) {
            b.to_owned()
        } else {
            let digest = annotations
                .get(BASE_DIGEST_ANNOTATION)
                .filter(|d| !d.is_empty())
                .ok_or_else(|| Error::InvalidArgument {
                    doing: doing(),
                    reason: "could not determine old base image by digest from annotations: give --old_base",
                })?;
            let repo = opts.parse_reference(&new_base)?.repository().clone();
            format!("{}@{digest}", repo.name())
        };
        let old_img = load(&old_base, opts, &remote).await?;
        let new_img = load(&new_base, opts, &remote).await?;
        let new_digest = new_img.digest().await.map_err(view_err(doing()))?;
        let rebased = ocireg_mutate::rebase(Arc::clone(&orig), old_img, new_img)
            .await
            .map_err(mutate_err(doing()))?;
        let rebased = ocireg_mutate::annotations(
            rebased,
            BTreeMap::from([
                (BASE_DIGEST_ANNOTATION.to_owned(), new_digest.to_string()),
                (BASE_NAME_ANNOTATION.to_owned(), new_base.clone()),
            ]),
        );
        let no_op = rebased.digest().await.map_err(view_err(doing()))?
            == orig.digest().await.map_err(view_err(doing()))?;
        let target = tag.unwrap_or(image);
        let by_digest = !ocidir::is_ocidir(target)
            && matches!(opts.parse_reference(target)?, Reference::Digest(_));
        let pushed = store(rebased, target, by_digest, opts, &remote).await?;
        Ok((pushed, no_op))
    }
    .await;
    Operation::end(op.as_ref(), &result);
    result
}
