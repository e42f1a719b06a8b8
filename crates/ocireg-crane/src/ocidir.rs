//! `ocidir://` references: images in OCI image layouts on disk, named as regclient
//! names them (`ocidir://dir:tag` is `./dir`, `ocidir:///abs/dir:tag` is `/abs/dir`;
//! `ocidir://dir@sha256:...` by digest). A tag is an entry's
//! `org.opencontainers.image.ref.name` annotation; without tag or digest, `latest`.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt as _;
use ocireg_layout::{AppendOptions, Layout};
use ocireg_name::Reference;
use ocireg_v1::{Descriptor, Digest, Image, ImageIndex, Matcher};

use crate::error::{Error, Result};
use crate::local::layout_err;
use crate::options::Options;
use crate::progress::Operation;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// The scheme.
const SCHEME: &str = "ocidir://";

/// The tag of a reference without one, as in regclient.
const DEFAULT_TAG: &str = "latest";

/// An image in a layout on disk.
#[derive(Clone, Debug)]
pub(crate) struct OciDir {
    /// The layout's directory.
    pub(crate) path: PathBuf,
    /// The entry's ref.name, when named by tag.
    pub(crate) tag: Option<String>,
    /// The entry's digest, when named by digest.
    pub(crate) digest: Option<Digest>,
    /// The reference as given.
    given: String,
}

impl std::fmt::Display for OciDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.given)
    }
}

/// Whether `name` is an `ocidir://` reference.
pub(crate) fn is_ocidir(name: &str) -> bool {
    name.trim().starts_with(SCHEME)
}

/// Parses an `ocidir://` reference.
pub(crate) fn parse(name: &str) -> Result<OciDir> {
    let bad = |reason: &'static str| Error::InvalidArgument {
        doing: format!("parsing {name:?}"),
        reason,
    };
    let rest = name
        .trim()
        .strip_prefix(SCHEME)
        .ok_or_else(|| bad("not ocidir://"))?;
    let (path, tag, digest) = if let Some((path, digest)) = rest.rsplit_once('@') {
        let digest: Digest = digest
            .parse()
            .map_err(|_| bad("the digest is not ALGORITHM:HEX"))?;
        (path, None, Some(digest))
    } else {
        match rest.rsplit_once(':') {
            Some((path, tag)) if !tag.contains('/') => {
                if tag.is_empty() {
                    return Err(bad("the tag is empty"));
                }
                (path, Some(tag.to_owned()), None)
            }
            _ => (rest, None, None),
        }
    };
    if path.is_empty() {
        return Err(bad("the directory is missing: ocidir://DIR[:TAG|@DIGEST]"));
    }
    Ok(OciDir {
        path: PathBuf::from(path),
        tag,
        digest,
        given: name.to_owned(),
    })
}

impl OciDir {
    pub(crate) async fn open(&self) -> Result<Layout> {
        Layout::open(&self.path)
            .await
            .map_err(layout_err("opening the image layout", &self.path))
    }

    /// The entry of `index.json` this names.
    pub(crate) async fn descriptor(&self, layout: &Layout) -> Result<Descriptor> {
        let found = match (&self.digest, &self.tag) {
            (Some(d), _) => layout.descriptor(*d).await,
            (None, tag) => {
                layout
                    .descriptor_by_ref_name(tag.as_deref().unwrap_or(DEFAULT_TAG))
                    .await
            }
        };
        found.map_err(layout_err(
            "finding the entry in the image layout",
            &self.path,
        ))
    }
}

/// `manifest` of an `ocidir://` reference: the manifest bytes as stored.
pub(crate) async fn manifest(r: &OciDir) -> Result<Vec<u8>> {
    let layout = r.open().await?;
    let desc = r.descriptor(&layout).await?;
    let bytes = layout
        .blob_bytes(desc.digest, Some(desc.size), ocireg_v1::MANIFEST_LIMIT)
        .await
        .map_err(layout_err(
            "reading a manifest of the image layout",
            &r.path,
        ))?;
    Ok(bytes.to_vec())
}

/// `digest` of an `ocidir://` reference; with `full_ref`, `ocidir://DIR@DIGEST`.
pub(crate) async fn digest(r: &OciDir, full_ref: bool) -> Result<String> {
    let layout = r.open().await?;
    let desc = r.descriptor(&layout).await?;
    if full_ref {
        return Ok(format!("{SCHEME}{}@{}", r.path.display(), desc.digest));
    }
    Ok(desc.digest.to_string())
}

/// `config` of an `ocidir://` reference.
pub(crate) async fn config(r: &OciDir) -> Result<Vec<u8>> {
    let layout = r.open().await?;
    let desc = r.descriptor(&layout).await?;
    let img = layout
        .image_from(&desc)
        .await
        .map_err(layout_err("reading an image of the image layout", &r.path))?;
    let raw = img
        .raw_config_file()
        .await
        .map_err(view_err(format!("reading the config of {r}")))?;
    Ok(raw.to_vec())
}

/// The image an `ocidir://` reference names (used by the mutate family).
pub(crate) async fn image(r: &OciDir) -> Result<Arc<dyn Image>> {
    let layout = r.open().await?;
    let desc = r.descriptor(&layout).await?;
    let img = layout
        .image_from(&desc)
        .await
        .map_err(layout_err("reading an image of the image layout", &r.path))?;
    Ok(img)
}

/// `ls` of an `ocidir://DIR`: the ref.names of its entries, in order.
pub(crate) async fn list_tags(r: &OciDir) -> Result<Vec<String>> {
    let layout = r.open().await?;
    let index = layout
        .index_manifest()
        .await
        .map_err(layout_err("reading the image layout", &r.path))?;
    Ok(index
        .manifests
        .iter()
        .filter_map(|d| d.annotations.get(ocireg_v1::ANNOTATION_REF_NAME).cloned())
        .collect())
}

/// The most manifests `refs` of an `ocidir://` reference reads to find referrers.
const MAX_REFERRER_SCAN: usize = 10_000;

/// The error for something not in the layout.
fn not_found(r: &OciDir, what: String) -> Error {
    Error::Layout {
        doing: "looking up in the image layout",
        path: r.path.clone(),
        source: Box::new(ocireg_layout::Error::NotFound {
            path: r.path.clone(),
            what,
        }),
    }
}

/// `blob` of `ocidir://DIR@DIGEST`: the blob file, verified (size and digest) as it is
/// read; a symlink, FIFO or directory at its path is refused.
pub(crate) async fn blob(r: &OciDir) -> Result<ocireg_v1::Blob> {
    let Some(digest) = r.digest else {
        return Err(Error::InvalidArgument {
            doing: format!("reading blob {r}"),
            reason: "a blob is named by digest: ocidir://DIR@sha256:...",
        });
    };
    let layout = r.open().await?;
    let present = layout
        .has_blob(&digest)
        .await
        .map_err(layout_err("reading a blob of the image layout", &r.path))?;
    if !present {
        return Err(not_found(r, format!("blob {digest}")));
    }
    layout
        .blob(digest, None)
        .await
        .map_err(layout_err("reading a blob of the image layout", &r.path))
}

/// Finds the entry `digest` or tagged `tag` in `index`.
fn find_entry(
    index: &ocireg_v1::IndexManifest,
    digest: Option<Digest>,
    tag: &str,
) -> Option<Descriptor> {
    index
        .manifests
        .iter()
        .find(|d| match digest {
            Some(want) => d.digest == want,
            None => d.ref_name() == Some(tag),
        })
        .cloned()
}

/// `tag` of an `ocidir://` reference: the entry it names is listed again in `index.json`
/// with the ref.name `new_tag`, replacing an entry that had that tag (as a registry moves a
/// tag). One atomic change of `index.json` under the layout's lock; no blob is written.
pub(crate) async fn tag(r: &OciDir, new_tag: &str) -> Result<()> {
    ocireg_name::Tag::new(new_tag).map_err(|source| Error::InvalidReference {
        reference: new_tag.to_owned(),
        source,
    })?;
    let layout = r.open().await?;
    let (digest, tag) = (r.digest, r.tag.clone().unwrap_or(DEFAULT_TAG.to_owned()));
    let (path, new_tag) = (r.path.clone(), new_tag.to_owned());
    layout
        .update_index(move |index| {
            let Some(mut desc) = find_entry(index, digest, &tag) else {
                return Err(ocireg_layout::Error::NotFound {
                    path,
                    what: digest.map_or_else(|| format!("ref.name {tag:?}"), |d| d.to_string()),
                });
            };
            desc.annotations
                .insert(ocireg_v1::ANNOTATION_REF_NAME.to_owned(), new_tag.clone());
            index
                .manifests
                .retain(|d| d.ref_name() != Some(new_tag.as_str()));
            index.manifests.push(desc);
            Ok(())
        })
        .await
        .map_err(layout_err("tagging in the image layout", &r.path))
}

/// `delete` of an `ocidir://` reference: removes from `index.json` the entry with its tag
/// (every entry with its digest, when named by digest). The blobs stay until `layout gc`.
/// Returns how many entries were removed.
pub(crate) async fn delete(r: &OciDir) -> Result<usize> {
    let layout = r.open().await?;
    let (digest, tag) = (r.digest, r.tag.clone().unwrap_or(DEFAULT_TAG.to_owned()));
    let path = r.path.clone();
    layout
        .update_index(move |index| {
            let before = index.manifests.len();
            index.manifests.retain(|d| match digest {
                Some(want) => d.digest != want,
                None => d.ref_name() != Some(tag.as_str()),
            });
            match before - index.manifests.len() {
                0 => Err(ocireg_layout::Error::NotFound {
                    path,
                    what: digest.map_or_else(|| format!("ref.name {tag:?}"), |d| d.to_string()),
                }),
                n => Ok(n),
            }
        })
        .await
        .map_err(layout_err("deleting from the image layout", &r.path))
}

/// `refs` of an `ocidir://` reference: the referrers index (as a registry's referrers API
/// answers it) of the manifests listed in `index.json` whose `subject` is the entry's
/// digest, optionally of one artifact type. At most [`MAX_REFERRER_SCAN`] manifests are
/// read, each capped at [`ocireg_v1::MANIFEST_LIMIT`].
pub(crate) async fn referrers(r: &OciDir, artifact_type: Option<&str>) -> Result<Vec<u8>> {
    let layout = r.open().await?;
    let subject = r.descriptor(&layout).await?.digest;
    let index = layout
        .index_manifest()
        .await
        .map_err(layout_err("reading the image layout", &r.path))?;
    let mut out = ocireg_v1::IndexManifest::new(ocireg_v1::MediaType::OciImageIndex);
    let mut seen = std::collections::HashSet::new();
    let candidates = index
        .manifests
        .iter()
        .filter(|d| d.digest != subject && (d.media_type.is_image() || d.media_type.is_index()));
    for (n, desc) in candidates.enumerate() {
        if n >= MAX_REFERRER_SCAN {
            return Err(Error::TooManyReferrers {
                reference: r.to_string(),
                limit: MAX_REFERRER_SCAN,
            });
        }
        if !seen.insert(desc.digest) {
            continue;
        }
        let raw = layout
            .blob_bytes(desc.digest, Some(desc.size), ocireg_v1::MANIFEST_LIMIT)
            .await
            .map_err(layout_err(
                "reading a manifest of the image layout",
                &r.path,
            ))?;
        let (refers, kind, annotations) = if desc.media_type.is_index() {
            let Ok(m) = ocireg_v1::IndexManifest::parse(&raw) else {
                continue;
            };
            (m.subject, m.artifact_type, m.annotations)
        } else {
            let Ok(m) = ocireg_v1::Manifest::parse(&raw) else {
                continue;
            };
            let kind = m.artifact_type.or(Some(m.config.media_type));
            (m.subject, kind, m.annotations)
        };
        if refers.is_none_or(|s| s.digest != subject) {
            continue;
        }
        if let Some(want) = artifact_type
            && kind.as_ref().is_none_or(|k| k.as_str() != want)
        {
            continue;
        }
        let mut found = Descriptor::new(desc.media_type.clone(), desc.size, desc.digest);
        found.artifact_type = kind;
        found.annotations = annotations;
        out.manifests.push(found);
    }
    let json =
        ocireg_v1::to_go_json(&out).map_err(view_err(format!("encoding the referrers of {r}")))?;
    let mut text = crate::text::escape_json(&String::from_utf8_lossy(&json)).into_owned();
    text.push('\n');
    Ok(text.into_bytes())
}

/// `attach` to an `ocidir://` reference: writes `bytes` (of `media_type`), the empty
/// config and the artifact manifest (whose subject is the entry) into the layout and lists
/// the manifest in `index.json`, untagged, as the referrers of the entry. Returns
/// `ocidir://DIR@DIGEST`.
pub(crate) async fn attach(
    r: &OciDir,
    bytes: Vec<u8>,
    media_type: &str,
    artifact_type: &str,
) -> Result<String> {
    let layout = r.open().await?;
    let subject = r.descriptor(&layout).await?;
    let subject = Descriptor::new(subject.media_type, subject.size, subject.digest);
    let layer = Descriptor::for_bytes(ocireg_v1::MediaType::from(media_type), &bytes);
    let body = crate::artifacts::artifact_manifest(artifact_type, layer.clone(), subject)
        .map_err(view_err(format!("attaching to {r}")))?;
    let mut desc = Descriptor::for_bytes(ocireg_v1::MediaType::OciManifest, &body);
    desc.artifact_type = Some(ocireg_v1::MediaType::from(artifact_type));
    let doing = "attaching to the image layout";
    // Held until the manifest is listed, so a `layout gc` cannot take its blobs meanwhile.
    let _writing = layout
        .write_guard()
        .await
        .map_err(layout_err(doing, &r.path))?;
    let empty = Descriptor::empty_json();
    for (d, content) in [(&layer, bytes), (&empty, b"{}".to_vec()), (&desc, body)] {
        layout
            .write_blob(d.digest, Some(d.size), ocireg_v1::Blob::from_bytes(content))
            .await
            .map_err(layout_err(doing, &r.path))?;
    }
    layout
        .append_descriptor(desc.clone())
        .await
        .map_err(layout_err(doing, &r.path))?;
    Ok(format!("{SCHEME}{}@{}", r.path.display(), desc.digest))
}

/// What a copy moves.
pub(crate) enum Content {
    Image(Arc<dyn Image>),
    Index(Arc<dyn ImageIndex>),
}

/// One side of a copy.
enum End {
    Dir(OciDir),
    Registry(Reference),
}

impl End {
    fn parse(name: &str, opts: &Options) -> Result<Self> {
        if is_ocidir(name) {
            parse(name).map(End::Dir)
        } else {
            opts.parse_reference(name).map(End::Registry)
        }
    }
}

/// `copy` where at least one side is an `ocidir://` reference. An index is copied
/// whole unless a platform is set, then the platform's image (from a registry).
/// With [`Options::no_clobber`], a tag already in the destination is refused.
pub(crate) async fn copy(src: &str, dst: &str, opts: &Options) -> Result<Digest> {
    let (from, to) = (End::parse(src, opts)?, End::parse(dst, opts)?);
    let op = Operation::start(opts, &format!("copying {src} to {dst}"));
    let result = async {
        let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
        if opts.no_clobber()
            && let Some(existing) = existing_tag(&to, &remote).await?
        {
            return Err(Error::RefusingToClobber {
                tag: dst.to_owned(),
                digest: existing.to_string(),
            });
        }
        copy_ends(&from, &to, src, dst, opts, &remote).await
    }
    .await;
    Operation::end(op.as_ref(), &result);
    result
}

/// The digest a tag of `end` names now, if it is a tag and exists.
async fn existing_tag(end: &End, remote: &ocireg_remote::Options) -> Result<Option<Digest>> {
    match end {
        End::Dir(r) => {
            if r.digest.is_some() {
                return Ok(None);
            }
            let Ok(layout) = Layout::open(&r.path).await else {
                return Ok(None);
            };
            let tag = r.tag.as_deref().unwrap_or(DEFAULT_TAG);
            let found = layout
                .find(&Matcher::name(tag))
                .await
                .map_err(layout_err("reading the image layout", &r.path))?;
            Ok(found.first().map(|d| d.digest))
        }
        End::Registry(r) => {
            if r.as_tag().is_none() {
                return Ok(None);
            }
            match ocireg_remote::head(r, remote).await {
                Ok(desc) => Ok(Some(desc.digest)),
                Err(e) if e.is_not_found() || e.status().is_some_and(|s| s.as_u16() == 403) => {
                    Ok(None)
                }
                Err(e) => Err(Doing::on("checking", r).remote(e)),
            }
        }
    }
}

/// Copies `from` to `to` (`src` and `dst` name them in messages).
async fn copy_ends(
    from: &End,
    to: &End,
    src: &str,
    dst: &str,
    opts: &Options,
    remote: &ocireg_remote::Options,
) -> Result<Digest> {
    let content = match from {
        End::Dir(r) => {
            let layout = r.open().await?;
            let desc = r.descriptor(&layout).await?;
            if desc.media_type.is_index() {
                Content::Index(
                    layout
                        .index_from(&desc)
                        .await
                        .map_err(layout_err("reading an index of the image layout", &r.path))?,
                )
            } else {
                Content::Image(
                    layout
                        .image_from(&desc)
                        .await
                        .map_err(layout_err("reading an image of the image layout", &r.path))?,
                )
            }
        }
        End::Registry(r) => {
            let desc = ocireg_remote::get(r, remote)
                .await
                .map_err(remote_err(Doing::on("fetching the manifest of", r)))?;
            if desc.is_index() && opts.platform().is_none() {
                Content::Index(
                    desc.image_index()
                        .map_err(remote_err(Doing::on("reading the index", r)))?,
                )
            } else {
                Content::Image(
                    desc.image()
                        .await
                        .map_err(remote_err(Doing::on("resolving the image of", r)))?,
                )
            }
        }
    };
    match to {
        End::Registry(r) => {
            let doing = format!("copying {src} to {dst}");
            let written = match content {
                Content::Image(img) => ocireg_remote::write_image(r, img, remote).await,
                Content::Index(idx) => ocireg_remote::write_index(r, idx, remote).await,
            };
            written.map_err(remote_err(doing))
        }
        End::Dir(r) => write_to_dir(r, content).await,
    }
}

/// `copy --all-tags` where a side is an `ocidir://` layout (named without tag or digest):
/// every tag of the source (the ref.names of a layout, the tags of a repository) to the
/// same tag in the destination, [`Options::jobs`] at a time. With
/// [`Options::no_clobber`], tags already in the destination are skipped. Returns the
/// tags copied, sorted.
pub(crate) async fn copy_all_tags(src: &str, dst: &str, opts: &Options) -> Result<Vec<String>> {
    let side = |name: &str| -> Result<End> {
        if is_ocidir(name) {
            let r = parse(name)?;
            if r.tag.is_some() || r.digest.is_some() {
                return Err(Error::InvalidArgument {
                    doing: format!("copying every tag of {src} to {dst}"),
                    reason: "with --all-tags, name the layout without a tag or digest: ocidir://DIR",
                });
            }
            Ok(End::Dir(r))
        } else {
            opts.parse_repository(name)?;
            Ok(End::Registry(opts.parse_reference(name)?))
        }
    };
    let (from, to) = (side(src)?, side(dst)?);
    let op = Operation::start(opts, &format!("copying every tag of {src} to {dst}"));
    let result = async {
        let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
        let tags = end_tags(&from, &remote, false).await?;
        let existing = if opts.no_clobber() {
            end_tags(&to, &remote, true).await?
        } else {
            Vec::new()
        };
        let todo: Vec<String> = tags.into_iter().filter(|t| !existing.contains(t)).collect();
        let results: Vec<Result<String>> = futures_util::stream::iter(todo)
            .map(|tag| {
                let (remote, from, to) = (&remote, &from, &to);
                async move {
                    let (a, b) = (at_tag(from, &tag)?, at_tag(to, &tag)?);
                    let (an, bn) = (describe(&a), describe(&b));
                    copy_ends(&a, &b, &an, &bn, opts, remote).await.map(|_| tag)
                }
            })
            .buffer_unordered(opts.jobs())
            .collect()
            .await;
        let mut copied = results.into_iter().collect::<Result<Vec<String>>>()?;
        copied.sort();
        Ok(copied)
    }
    .await;
    Operation::end(op.as_ref(), &result);
    result
}

/// The tags of one side of `copy --all-tags`; with `absent_ok`, none for a missing
/// layout or repository.
async fn end_tags(
    end: &End,
    remote: &ocireg_remote::Options,
    absent_ok: bool,
) -> Result<Vec<String>> {
    match end {
        End::Dir(r) => {
            if absent_ok && Layout::open(&r.path).await.is_err() {
                return Ok(Vec::new());
            }
            let mut tags = list_tags(r).await?;
            tags.sort();
            tags.dedup();
            Ok(tags)
        }
        End::Registry(r) => {
            let repo = r.repository();
            match ocireg_remote::list_tags(repo, remote).await {
                Ok(t) => Ok(t),
                Err(e) if absent_ok && e.is_not_found() => Ok(Vec::new()),
                Err(e) => Err(Doing::on("listing the tags of", repo).remote(e)),
            }
        }
    }
}

/// One side of `copy --all-tags` at `tag`.
fn at_tag(end: &End, tag: &str) -> Result<End> {
    match end {
        End::Dir(r) => Ok(End::Dir(OciDir {
            path: r.path.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
            given: format!("{SCHEME}{}:{tag}", r.path.display()),
        })),
        End::Registry(r) => {
            let t = r
                .repository()
                .tag(tag)
                .map_err(|source| Error::InvalidReference {
                    reference: tag.to_owned(),
                    source,
                })?;
            Ok(End::Registry(Reference::Tag(t)))
        }
    }
}

/// How a side is named in messages.
fn describe(end: &End) -> String {
    match end {
        End::Dir(r) => r.to_string(),
        End::Registry(r) => r.to_string(),
    }
}

/// Writes `content` into the layout `r` (created when missing), replacing the entry
/// with the same tag.
pub(crate) async fn write_to_dir(r: &OciDir, content: Content) -> Result<Digest> {
    let layout = Layout::create(&r.path)
        .await
        .map_err(layout_err("creating the image layout", &r.path))?;
    let doing = "writing to the image layout";
    let desc = match (&r.tag, &r.digest) {
        (_, Some(_)) => match content {
            Content::Image(img) => layout.append_image(&*img, &AppendOptions::new()).await,
            Content::Index(idx) => layout.append_index(&*idx, &AppendOptions::new()).await,
        },
        (tag, None) => {
            let tag = tag.as_deref().unwrap_or(DEFAULT_TAG);
            let append = AppendOptions::new().ref_name(tag);
            let matcher = Matcher::name(tag);
            match content {
                Content::Image(img) => layout.replace_image(&*img, matcher, &append).await,
                Content::Index(idx) => layout.replace_index(&*idx, matcher, &append).await,
            }
        }
    }
    .map_err(layout_err(doing, &r.path))?;
    if let Some(want) = r.digest
        && want != desc.digest
    {
        return Err(Error::InvalidArgument {
            doing: format!("copying to {r}, which names {want}, got {}", desc.digest),
            reason: "the digest of the destination does not match the source",
        });
    }
    Ok(desc.digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn references_parse_as_regclient_names_them() {
        let hex = "0".repeat(64);
        let table = [
            ("ocidir://name:tag", "name", Some("tag"), None),
            ("ocidir:///tmp/name:v1", "/tmp/name", Some("v1"), None),
            ("ocidir://./a/b", "./a/b", None, None),
            ("ocidir://../x:1.0", "../x", Some("1.0"), None),
        ];
        for (given, path, tag, digest) in table {
            let r = parse(given).expect(given);
            assert_eq!(r.path, PathBuf::from(path), "{given}");
            assert_eq!(r.tag.as_deref(), tag, "{given}");
            assert_eq!(r.digest, digest, "{given}");
            assert_eq!(r.to_string(), given);
        }
        let r = parse(&format!("ocidir://dir@sha256:{hex}")).expect("digest");
        assert_eq!(r.path, PathBuf::from("dir"));
        assert_eq!(
            r.digest.map(|d| d.to_string()),
            Some(format!("sha256:{hex}"))
        );
        for bad in [
            "ocidir://",
            "ocidir://:tag",
            "ocidir://dir:",
            "ocidir://dir@x",
        ] {
            let err = parse(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::Usage, "{bad}");
        }
        assert!(is_ocidir(" ocidir://x"));
        assert!(!is_ocidir("ocidir:x"));
    }
}
