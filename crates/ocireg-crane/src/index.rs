//! Image indexes: `index list`, `index filter` and `index append` (ggcr's `crane index`).
//!
//! `list` reads an index from a registry, an `ocidir://` reference or an OCI image layout
//! path. `filter` and `append` build a new index from a registry index (or an empty one)
//! and push it with every child it needs; `append` onto a layout path appends to the
//! layout's `index.json` instead, as ggcr does.

use std::path::Path;
use std::sync::Arc;

use ocireg_layout::{AppendOptions, Layout};
use ocireg_mutate::{Appendable, IndexAddendum};
use ocireg_name::Reference;
use ocireg_v1::{
    Descriptor, Digest, Image, ImageExt as _, ImageIndex, ImageIndexExt as _, Matcher, MediaType,
    Platform,
};

use crate::error::{Error, Result};
use crate::local::layout_err;
use crate::options::Options;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// One child of an index, as `crane index list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexEntry {
    /// The child's manifest digest.
    pub digest: Digest,
    /// The child's media type.
    pub media_type: MediaType,
    /// The platform the index declares for it, if any.
    pub platform: Option<Platform>,
}

impl IndexEntry {
    /// The line `crane index list` prints for this child (ggcr's `%-70s %-20s %s`; `-` for
    /// no platform).
    pub fn line(&self) -> String {
        let platform = self
            .platform
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        format!(
            "{:<70} {:<20} {platform}",
            self.digest.to_string(),
            self.media_type.as_str()
        )
    }

    /// The header line of `crane index list`.
    pub fn header() -> String {
        format!("{:<70} {:<20} {}", "Digest", "MediaType", "Platform")
    }
}

/// Whether `name` is a path to an OCI image layout rather than a registry reference:
/// it exists on disk, or starts with `.` or `/` (ggcr's rule, so that `index append` can
/// create a layout that does not exist yet).
pub fn is_layout_path(name: &str) -> bool {
    !crate::ocidir::is_ocidir(name)
        && (name.starts_with('.') || name.starts_with('/') || Path::new(name).exists())
}

/// The children of the index `reference` (crane's `index list`): a registry index, an
/// `ocidir://` entry, or the root `index.json` of a layout path.
pub async fn index_list(reference: &str, opts: &Options) -> Result<Vec<IndexEntry>> {
    let manifest = if is_layout_path(reference) {
        let path = Path::new(reference);
        Layout::open(path)
            .await
            .map_err(layout_err("opening the image layout", path))?
            .index_manifest()
            .await
            .map_err(layout_err("reading the image layout", path))?
    } else {
        let idx = open_index(reference, opts).await?;
        idx.index_manifest()
            .await
            .map_err(view_err(format!("reading the index {reference}")))?
    };
    Ok(manifest
        .manifests
        .into_iter()
        .map(|d| IndexEntry {
            digest: d.digest,
            media_type: d.media_type,
            platform: d.platform,
        })
        .collect())
}

/// Opens the index `reference` names in a registry or as `ocidir://`; anything else is an
/// error that says what it was.
async fn open_index(reference: &str, opts: &Options) -> Result<Arc<dyn ImageIndex>> {
    match open(reference, opts).await? {
        Child::Index(idx) => Ok(idx),
        Child::Image(img) => {
            let media_type = img
                .media_type()
                .await
                .map_err(view_err(format!("reading {reference}")))?;
            Err(not_an_index(reference, &media_type))
        }
    }
}

fn not_an_index(reference: &str, media_type: &MediaType) -> Error {
    Error::InvalidArgument {
        doing: format!("expected {reference} to be an index, got {media_type:?}"),
        reason: "name an image index (or a manifest list)",
    }
}

/// An image or an index, as a reference resolved.
#[derive(Clone, Debug)]
enum Child {
    Image(Arc<dyn Image>),
    Index(Arc<dyn ImageIndex>),
}

/// Resolves `reference` (a registry reference or `ocidir://`) to an image or an index,
/// without picking a platform.
async fn open(reference: &str, opts: &Options) -> Result<Child> {
    if crate::ocidir::is_ocidir(reference) {
        let r = crate::ocidir::parse(reference)?;
        let layout = r.open().await?;
        let desc = r.descriptor(&layout).await?;
        return if desc.media_type.is_index() {
            let idx = layout
                .index_from(&desc)
                .await
                .map_err(layout_err("reading an index of the image layout", &r.path))?;
            Ok(Child::Index(idx))
        } else {
            let img = layout
                .image_from(&desc)
                .await
                .map_err(layout_err("reading an image of the image layout", &r.path))?;
            Ok(Child::Image(img))
        };
    }
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("pulling", &r);
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    if desc.is_index() {
        Ok(Child::Index(desc.image_index().map_err(remote_err(doing))?))
    } else if desc.is_image() {
        Ok(Child::Image(desc.image().await.map_err(remote_err(doing))?))
    } else {
        Err(Error::InvalidArgument {
            doing: format!(
                "saw unexpected media type {:?} for {reference}",
                desc.media_type()
            ),
            reason: "name an image or an image index",
        })
    }
}

/// Keeps the children of the registry index `reference` whose platform satisfies one of
/// `platforms` (crane's `index filter`), pushes the result to `tag` (or in place, by
/// digest when `reference` is a digest) and returns `repo@digest`.
pub async fn index_filter(
    reference: &str,
    platforms: &[Platform],
    tag: Option<&str>,
    opts: &Options,
) -> Result<String> {
    if platforms.is_empty() {
        return Err(Error::InvalidArgument {
            doing: format!("filtering {reference}"),
            reason: "give at least one --platform to keep",
        });
    }
    let base = open_index(reference, opts).await?;
    // ggcr: children without a platform go, and so do those that satisfy none.
    let keep = Matcher::any_of(platforms.iter().cloned().map(Matcher::satisfies));
    let edited = ocireg_mutate::remove_manifests(base, keep.not());
    push(reference, tag, edited, opts).await
}

/// Where `index append` appends.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendBase {
    /// A new, empty index: OCI, or Docker's manifest list with `docker` set.
    Empty {
        /// Docker media types instead of OCI.
        docker: bool,
    },
    /// A registry index (or `ocidir://` entry), pushed back in place unless tagged.
    Index(String),
    /// An OCI image layout on disk, created when missing; its `index.json` is appended to.
    Layout(std::path::PathBuf),
}

/// Appends `manifests` (registry or `ocidir://` references to images or indexes) to `base`
/// (crane's `index append`). An image's platform comes from its config; with `flatten`, an
/// index contributes its children rather than itself. Returns `repo@digest` of the pushed
/// index, or `None` when a layout was appended to.
pub async fn index_append(
    base: &AppendBase,
    manifests: &[String],
    tag: Option<&str>,
    flatten: bool,
    opts: &Options,
) -> Result<Option<String>> {
    let mut adds = Vec::new();
    for m in manifests {
        collect(m, flatten, opts, &mut adds).await?;
    }
    match base {
        AppendBase::Layout(path) => {
            append_to_layout(path, adds).await?;
            Ok(None)
        }
        AppendBase::Empty { docker } => {
            let Some(tag) = tag else {
                return Err(Error::InvalidArgument {
                    doing: "appending to an index".to_owned(),
                    reason: "at least one of a base index or --tag must be given",
                });
            };
            tracing::warn!("base unspecified, using empty index");
            let media_type = if *docker {
                MediaType::DockerManifestList
            } else {
                MediaType::OciImageIndex
            };
            let base = ocireg_mutate::index_media_type(ocireg_v1::empty::index(), media_type);
            let edited = ocireg_mutate::append_manifests(base, addenda(adds));
            push(tag, None, edited, opts).await.map(Some)
        }
        AppendBase::Index(reference) => {
            let base = open_index(reference, opts).await?;
            let edited = ocireg_mutate::append_manifests(base, addenda(adds));
            push(reference, tag, edited, opts).await.map(Some)
        }
    }
}

/// Resolves one `-m` reference into what it appends.
async fn collect(
    reference: &str,
    flatten: bool,
    opts: &Options,
    adds: &mut Vec<(Descriptor, Child)>,
) -> Result<()> {
    let reading = || format!("reading {reference}");
    match open(reference, opts).await? {
        Child::Image(img) => {
            let desc = image_descriptor(&*img).await.map_err(view_err(reading()))?;
            adds.push((desc, Child::Image(img)));
        }
        Child::Index(idx) if flatten => {
            let manifest = idx.index_manifest().await.map_err(view_err(reading()))?;
            for child in manifest.manifests {
                let view = if child.media_type.is_index() {
                    Child::Index(
                        idx.image_index(child.digest)
                            .await
                            .map_err(view_err(reading()))?,
                    )
                } else if child.media_type.is_image() {
                    Child::Image(idx.image(child.digest).await.map_err(view_err(reading()))?)
                } else {
                    return Err(Error::InvalidArgument {
                        doing: format!(
                            "appending the children of {reference}: child {} has media type {:?}",
                            child.digest, child.media_type
                        ),
                        reason: "only images and indexes can be appended",
                    });
                };
                adds.push((child, view));
            }
        }
        Child::Index(idx) => {
            let desc = index_descriptor(&*idx).await.map_err(view_err(reading()))?;
            adds.push((desc, Child::Index(idx)));
        }
    }
    Ok(())
}

/// An image's entry in an index: media type, size, digest, artifact type, and the platform
/// its config declares.
async fn image_descriptor(img: &dyn Image) -> ocireg_v1::Result<Descriptor> {
    let own = img.to_descriptor().await?;
    let mut desc = Descriptor::new(own.media_type, own.size, own.digest);
    desc.artifact_type = own.artifact_type;
    desc.platform = img.config_file().await?.platform();
    Ok(desc)
}

async fn index_descriptor(idx: &dyn ImageIndex) -> ocireg_v1::Result<Descriptor> {
    let own = idx.to_descriptor().await?;
    let mut desc = Descriptor::new(own.media_type, own.size, own.digest);
    desc.artifact_type = own.artifact_type;
    Ok(desc)
}

async fn append_to_layout(path: &Path, adds: Vec<(Descriptor, Child)>) -> Result<()> {
    let layout = Layout::create(path)
        .await
        .map_err(layout_err("creating the image layout", path))?;
    for (desc, child) in adds {
        let mut options = AppendOptions::new();
        if let Some(p) = desc.platform {
            options = options.platform(p);
        }
        match child {
            Child::Image(img) => layout.append_image(&*img, &options).await,
            Child::Index(idx) => layout.append_index(&*idx, &options).await,
        }
        .map_err(layout_err("appending to the image layout", path))?;
    }
    Ok(())
}

/// Pushes `idx` to `tag`, or back to `source` (by the new digest when `source` named a
/// digest); either may be a registry reference or `ocidir://`. Returns `repo@digest`, or
/// `ocidir://DIR@digest`.
async fn push(
    source: &str,
    tag: Option<&str>,
    idx: Arc<dyn ImageIndex>,
    opts: &Options,
) -> Result<String> {
    let digest = idx
        .digest()
        .await
        .map_err(view_err(format!("serialising the index for {source}")))?;
    let named = tag.unwrap_or(source);
    if crate::ocidir::is_ocidir(named) {
        let mut r = crate::ocidir::parse(named)?;
        if tag.is_none() && r.digest.is_some() {
            r.digest = Some(digest);
        }
        crate::ocidir::write_to_dir(&r, crate::ocidir::Content::Index(idx)).await?;
        return Ok(format!("ocidir://{}@{digest}", r.path.display()));
    }
    let target = match tag {
        Some(tag) => opts.parse_reference(tag)?,
        None => match opts.parse_reference(source)? {
            Reference::Digest(d) => Reference::Digest(d.repository().digest(digest)),
            tagged @ Reference::Tag(_) => tagged,
        },
    };
    let remote = remote_options(opts, None).await?;
    ocireg_remote::write_index(&target, idx, &remote)
        .await
        .map_err(remote_err(Doing::on("pushing the index to", &target)))?;
    Ok(format!("{}@{digest}", target.repository().name()))
}

/// What `index append` resolved, as ggcr's `mutate.IndexAddendum`s: each child with the
/// descriptor it gets in the index.
fn addenda(adds: Vec<(Descriptor, Child)>) -> Vec<IndexAddendum> {
    adds.into_iter()
        .map(|(desc, child)| {
            let add = match child {
                Child::Image(img) => Appendable::Image(img),
                Child::Index(idx) => Appendable::Index(idx),
            };
            let mut addendum = IndexAddendum::new(add).with_descriptor(&desc);
            addendum.artifact_type = desc.artifact_type;
            addendum
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_lines_are_padded_as_ggcr_pads_them() {
        assert_eq!(
            IndexEntry::header(),
            format!(
                "Digest{} MediaType{} Platform",
                " ".repeat(64),
                " ".repeat(11)
            )
        );
        let entry = IndexEntry {
            digest: ocireg_v1::sha256(b"x"),
            media_type: MediaType::DockerManifestSchema2,
            platform: None,
        };
        let line = entry.line();
        assert!(line.ends_with("+json -"), "{line}");
        assert_eq!(line.find(' '), Some(71), "{line}");
    }

    #[test]
    fn layout_paths_are_told_from_references() {
        assert!(is_layout_path("./dir"));
        assert!(is_layout_path("/abs/dir"));
        assert!(!is_layout_path("r.example/app:v1"));
        assert!(!is_layout_path("ocidir://dir:tag"));
    }
}
