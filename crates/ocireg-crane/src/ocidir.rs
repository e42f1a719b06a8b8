//! `ocidir://` references: images in OCI image layouts on disk, named as regclient
//! names them (`ocidir://dir:tag` is `./dir`, `ocidir:///abs/dir:tag` is `/abs/dir`;
//! `ocidir://dir@sha256:...` by digest). A tag is an entry's
//! `org.opencontainers.image.ref.name` annotation; without tag or digest, `latest`.

use std::path::PathBuf;
use std::sync::Arc;

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

/// `copy` where at least one side is an `ocidir://` reference. An index is copied
/// whole unless a platform is set, then the platform's image (from a registry).
pub(crate) async fn copy(src: &str, dst: &str, opts: &Options) -> Result<Digest> {
    let end = |name: &str| -> Result<End> {
        if is_ocidir(name) {
            parse(name).map(End::Dir)
        } else {
            opts.parse_reference(name).map(End::Registry)
        }
    };
    let (from, to) = (end(src)?, end(dst)?);
    let op = Operation::start(opts, &format!("copying {src} to {dst}"));
    let result =
        async {
            let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
            let content =
                match &from {
                    End::Dir(r) => {
                        let layout = r.open().await?;
                        let desc = r.descriptor(&layout).await?;
                        if desc.media_type.is_index() {
                            Content::Index(layout.index_from(&desc).await.map_err(layout_err(
                                "reading an index of the image layout",
                                &r.path,
                            ))?)
                        } else {
                            Content::Image(layout.image_from(&desc).await.map_err(layout_err(
                                "reading an image of the image layout",
                                &r.path,
                            ))?)
                        }
                    }
                    End::Registry(r) => {
                        let desc = ocireg_remote::get(r, &remote)
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
            match &to {
                End::Registry(r) => {
                    let doing = format!("copying {src} to {dst}");
                    let written = match content {
                        Content::Image(img) => ocireg_remote::write_image(r, img, &remote).await,
                        Content::Index(idx) => ocireg_remote::write_index(r, idx, &remote).await,
                    };
                    written.map_err(remote_err(doing))
                }
                End::Dir(r) => write_to_dir(r, content).await,
            }
        }
        .await;
    Operation::end(op.as_ref(), &result);
    result
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
