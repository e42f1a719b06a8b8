//! Copying and writing in registries: `copy` (one image, or every tag of a repository),
//! `tag` and `delete`.

use std::sync::Arc;

use futures_util::StreamExt as _;
use ocireg_name::{Reference, Tag};
use ocireg_v1::Digest;

use crate::artifacts::copy_referrers;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::progress::Operation;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// The digest `reference` points to in the registry, or `None` when it does
/// not exist there (404 and 403 count as absent, as in ggcr).
async fn head_digest(
    reference: &Reference,
    remote: &ocireg_remote::Options,
) -> Result<Option<Digest>> {
    match ocireg_remote::head(reference, remote).await {
        Ok(desc) => Ok(Some(desc.digest)),
        Err(e) if e.is_not_found() || e.status().is_some_and(|s| s.as_u16() == 403) => Ok(None),
        Err(e) => Err(Doing::on("checking", reference).remote(e)),
    }
}

/// One image or index from `src` to `dst`, honouring `--no-clobber` and `--referrers`.
async fn copy_one(
    src: &Reference,
    dst: &Reference,
    opts: &Options,
    remote: &ocireg_remote::Options,
    pusher: Option<&Arc<ocireg_remote::Pusher>>,
) -> Result<Digest> {
    if opts.no_clobber()
        && let Some(tag) = dst.as_tag()
        && let Some(existing) = head_digest(dst, remote).await?
    {
        return Err(Error::RefusingToClobber {
            tag: tag.to_string(),
            digest: existing.to_string(),
        });
    }
    let mut copy = ocireg_remote::CopyOptions::default();
    if let Some(p) = opts.platform() {
        copy = copy.platform(p.clone());
    }
    if let Some(p) = pusher {
        copy = copy.pusher(Arc::clone(p));
    }
    let digest = ocireg_remote::copy_with(src, dst, remote, &copy)
        .await
        .map_err(remote_err(format!("copying {src} to {dst}")))?;
    if opts.referrers() {
        copy_referrers(src, dst, digest, remote).await?;
    }
    Ok(digest)
}

/// Copies the image or index `src` to `dst`, manifest bytes verbatim so the
/// digest is kept (crane's `copy`); with a platform, only that image.
/// Honours [`Options::no_clobber`] (refusing with `refusing to clobber
/// existing tag <tag>@<digest>`) and [`Options::referrers`]. Returns the
/// digest written.
pub async fn copy(src: &str, dst: &str, opts: &Options) -> Result<Digest> {
    if crate::ocidir::is_ocidir(src) || crate::ocidir::is_ocidir(dst) {
        return crate::ocidir::copy(src, dst, opts).await;
    }
    let src_ref = opts.parse_reference(src)?;
    let dst_ref = opts.parse_reference(dst)?;
    let op = Operation::start(opts, &format!("copying {src} to {dst}"));
    let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
    let result = copy_one(&src_ref, &dst_ref, opts, &remote, None).await;
    Operation::end(op.as_ref(), &result);
    result
}

/// Copies every tag of repository `src` to repository `dst`, [`Options::jobs`]
/// at a time (crane's `copy --all-tags`); with [`Options::no_clobber`] tags
/// already in `dst` are skipped. Returns the tags copied.
pub async fn copy_repository(src: &str, dst: &str, opts: &Options) -> Result<Vec<String>> {
    if crate::ocidir::is_ocidir(src) || crate::ocidir::is_ocidir(dst) {
        return crate::ocidir::copy_all_tags(src, dst, opts).await;
    }
    let src_repo = opts.parse_repository(src)?;
    let dst_repo = opts.parse_repository(dst)?;
    let op = Operation::start(
        opts,
        &format!("copying every tag of {src_repo} to {dst_repo}"),
    );
    let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
    let tags = ocireg_remote::list_tags(&src_repo, &remote)
        .await
        .map_err(remote_err(Doing::on("listing the tags of", &src_repo)))?;
    let existing = if opts.no_clobber() {
        match ocireg_remote::list_tags(&dst_repo, &remote).await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(Doing::on("listing the tags of", &dst_repo).remote(e)),
        }
    } else {
        Vec::new()
    };
    let todo: Vec<String> = tags.into_iter().filter(|t| !existing.contains(t)).collect();
    // Tags are copied `jobs` at a time; each copy also moves its blobs in parallel. One
    // pusher for all of them, so a blob shared by several tags is uploaded once.
    let no_clobber = opts.clone().with_no_clobber(false);
    let pusher = Arc::new(ocireg_remote::Pusher::new(&remote));
    let results: Vec<Result<String>> = futures_util::stream::iter(todo.iter().cloned())
        .map(|tag| {
            let (src_repo, dst_repo, remote, opts, pusher) =
                (&src_repo, &dst_repo, &remote, &no_clobber, &pusher);
            async move {
                let in_repo = |repo: &ocireg_name::Repository| {
                    repo.tag(&tag)
                        .map(Reference::Tag)
                        .map_err(|source| Error::InvalidReference {
                            reference: tag.clone(),
                            source,
                        })
                };
                let (from, to) = (in_repo(src_repo)?, in_repo(dst_repo)?);
                copy_one(&from, &to, opts, remote, Some(pusher))
                    .await
                    .map(|_| tag)
            }
        })
        .buffer_unordered(opts.jobs())
        .collect()
        .await;
    let copied: Result<Vec<String>> = results.into_iter().collect();
    Operation::end(op.as_ref(), &copied);
    let mut copied = copied?;
    copied.sort();
    Ok(copied)
}

/// Tags the manifest of `reference` as `tag` in the same repository
/// (crane's `tag`): the manifest bytes are put again under the new tag. For
/// `ocidir://DIR:TAG` the entry is listed again in `index.json` with the new
/// `org.opencontainers.image.ref.name` (replacing the entry that had it), in one
/// atomic change under the layout's lock.
pub async fn tag(reference: &str, tag: &str, opts: &Options) -> Result<()> {
    if crate::ocidir::is_ocidir(reference) {
        return crate::ocidir::tag(&crate::ocidir::parse(reference)?, tag).await;
    }
    let r = opts.parse_reference(reference)?;
    let new_tag: Tag = r
        .repository()
        .tag(tag)
        .map_err(|source| Error::InvalidReference {
            reference: tag.to_owned(),
            source,
        })?;
    let remote = remote_options(opts, None).await?;
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("fetching the manifest of", &r)))?;
    let raw =
        ocireg_remote::RawManifest::new(desc.raw_manifest().clone(), desc.media_type().clone());
    ocireg_remote::tag(&new_tag, &raw, &remote)
        .await
        .map_err(remote_err(format!("tagging {r} as {new_tag}")))?;
    Ok(())
}

/// Deletes the manifest `reference` (crane's `delete`). For `ocidir://DIR:TAG` (or
/// `@DIGEST`) the entry is removed from the layout's `index.json` (every entry with that
/// digest); its blobs stay until [`layout_gc`](crate::layout_gc).
pub async fn delete(reference: &str, opts: &Options) -> Result<()> {
    if crate::ocidir::is_ocidir(reference) {
        return crate::ocidir::delete(&crate::ocidir::parse(reference)?)
            .await
            .map(drop);
    }
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    ocireg_remote::delete(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("deleting", &r)))
}

/// How [`delete_tag`] removed a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagDeletion {
    /// The tag's entry was removed from an OCI image layout's `index.json`.
    Layout,
    /// The registry deleted the tag itself (OCI distribution 1.1's
    /// `DELETE /v2/<name>/manifests/<tag>`).
    Registry,
    /// The registry refused to delete a tag, so a unique placeholder manifest was put
    /// under the tag and then deleted by its digest (regclient's method).
    Placeholder {
        /// The placeholder's digest (deleted).
        digest: Digest,
    },
    /// Docker Hub's web API deleted the tag.
    HubApi,
}

/// The annotation a placeholder manifest carries: the tag it stood in for.
pub const PLACEHOLDER_TAG_ANNOTATION: &str = "dev.ocireg.delete-tag";
/// The annotation that makes each placeholder manifest unique.
pub const PLACEHOLDER_NONCE_ANNOTATION: &str = "dev.ocireg.delete-nonce";

/// A value that differs between placeholders: the time, the process and a per-process
/// random hasher key.
fn nonce() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now.as_nanos());
    h.write_u32(std::process::id());
    format!(
        "{}-{}-{:016x}",
        now.as_nanos(),
        std::process::id(),
        h.finish()
    )
}

/// The placeholder manifest put under `tag` before it is deleted by digest: an OCI image
/// manifest with the empty config, no layers and annotations naming the tag and a nonce.
fn placeholder_manifest(tag: &str) -> ocireg_v1::Result<Vec<u8>> {
    let config = ocireg_v1::Descriptor::for_bytes(ocireg_v1::MediaType::OciEmpty, b"{}");
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert(PLACEHOLDER_TAG_ANNOTATION.to_owned(), tag.to_owned());
    annotations.insert(PLACEHOLDER_NONCE_ANNOTATION.to_owned(), nonce());
    let manifest = ocireg_v1::Manifest::new(ocireg_v1::MediaType::OciManifest, config)
        .with_annotations(annotations);
    ocireg_v1::to_go_json(&manifest)
}

/// Whether a refused `DELETE /v2/<name>/manifests/<tag>` means "this registry does not
/// delete tags" (distribution 2.8 answers 400 `DIGEST_INVALID`; others 405 or
/// `UNSUPPORTED`), so the placeholder method may be tried.
fn refuses_tag_delete(e: &ocireg_remote::Error) -> bool {
    let unsupported = e.registry_codes().iter().any(|c| {
        matches!(
            c,
            ocireg_transport::ErrorCode::Unsupported | ocireg_transport::ErrorCode::DigestInvalid
        )
    });
    unsupported
        || e.status()
            .is_some_and(|s| matches!(s.as_u16(), 400 | 404 | 405 | 501))
}

/// Removes the tag `reference` without deleting the manifest it points to, so other tags
/// of that manifest stay (`crane delete --tag-only`; regclient's `tag delete`).
///
/// - `ocidir://DIR[:TAG]`: the tag's entry leaves `index.json` (other entries with the
///   same digest stay).
/// - With `hub`, or when the registry's [settings](Options::registry_settings) say
///   `api: hub` (regclient's host setting; `crane registry set HOST --api hub
///   --api-token-stdin`): Docker Hub's web API deletes the tag with the token
///   ([`HubApi::delete_tag`](crate::HubApi::delete_tag)). A host set to `api: hub`
///   without a token is a usage error.
/// - Otherwise the registry is asked to delete the tag (OCI distribution 1.1). If it
///   refuses (distribution 2.8: 400 `DIGEST_INVALID`; 405; `UNSUPPORTED`), a unique
///   placeholder manifest (empty config, no layers, annotations
///   [`PLACEHOLDER_TAG_ANNOTATION`] and [`PLACEHOLDER_NONCE_ANNOTATION`]) is put under the
///   tag and deleted by its digest: the tag goes with it, while the original manifest and
///   its other tags stay.
///
/// The original manifest is never deleted: a digest reference is refused (a usage
/// error: deleting by digest removes the manifest and all its tags, which is `delete`),
/// and should a registry delete the manifest when asked to delete the tag, the manifest
/// is put back by digest and the failure reported. A tag that does not exist is a
/// not-found error.
pub async fn delete_tag(
    reference: &str,
    opts: &Options,
    hub: Option<&crate::HubApi>,
) -> Result<TagDeletion> {
    const NOT_A_TAG: &str = "--tag-only takes a tag, not a digest: deleting a digest removes \
                             the manifest and every tag on it (that is `crane delete`)";
    if crate::ocidir::is_ocidir(reference) {
        let dir = crate::ocidir::parse(reference)?;
        if dir.digest.is_some() {
            return Err(Error::InvalidArgument {
                doing: format!("deleting tag {reference}"),
                reason: NOT_A_TAG,
            });
        }
        crate::ocidir::delete(&dir).await?;
        return Ok(TagDeletion::Layout);
    }
    let r = opts.parse_reference(reference)?;
    let Reference::Tag(tag) = &r else {
        return Err(Error::InvalidArgument {
            doing: format!("deleting tag {reference}"),
            reason: NOT_A_TAG,
        });
    };
    let configured = match hub {
        Some(_) => None,
        None => hub_from_settings(tag.registry().name(), opts)?,
    };
    if let Some(hub) = hub.or(configured.as_ref()) {
        let client = opts.client().await?;
        hub.delete_tag(&client, tag.repository().repository_str(), tag.tag_str())
            .await?;
        return Ok(TagDeletion::HubApi);
    }
    let remote = remote_options(opts, None).await?;
    // What the tag points at: kept, to put it back should the registry delete it.
    let original = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("looking up", &r)))?;
    let original_ref = Reference::Digest(r.repository().digest(original.digest()));
    match ocireg_remote::delete(&r, &remote).await {
        Ok(()) => {
            ensure_kept(&r, &original_ref, &original, &remote).await?;
            return Ok(TagDeletion::Registry);
        }
        Err(e) if refuses_tag_delete(&e) => {
            tracing::debug!(reference = %r, error = %e,
                "the registry does not delete tags: replacing the tag by a placeholder");
        }
        Err(e) => return Err(Doing::on("deleting tag", &r).remote(e)),
    }
    let doing = Doing::on("deleting tag", &r);
    let body = placeholder_manifest(tag.tag_str()).map_err(view_err(doing.clone()))?;
    let raw = ocireg_remote::RawManifest::new(body, ocireg_v1::MediaType::OciManifest);
    let placeholder = raw.digest();
    if placeholder == original.digest() {
        return Err(Error::TagDelete {
            reference: r.to_string(),
            reason: "the placeholder manifest has the digest of the tagged one".to_owned(),
        });
    }
    let pusher = ocireg_remote::Pusher::new(&remote);
    pusher
        .upload(
            r.repository(),
            Arc::new(ocireg_v1::StaticLayer::new(
                &b"{}"[..],
                ocireg_v1::MediaType::OciEmpty,
            )),
        )
        .await
        .map_err(remote_err(doing.clone()))?;
    pusher
        .put(&r, &raw)
        .await
        .map_err(remote_err(doing.clone()))?;
    let placeholder_ref = Reference::Digest(r.repository().digest(placeholder));
    ocireg_remote::delete(&placeholder_ref, &remote)
        .await
        .map_err(remote_err(doing))?;
    ensure_kept(&r, &original_ref, &original, &remote).await?;
    if let Some(now) = head_digest(&r, &remote).await? {
        return Err(Error::TagDelete {
            reference: r.to_string(),
            reason: format!(
                "the registry still has the tag (now {now}) after its placeholder was deleted"
            ),
        });
    }
    Ok(TagDeletion::Placeholder {
        digest: placeholder,
    })
}

/// Checks that the manifest a deleted tag pointed to is still there; should the registry
/// have deleted it, puts it back by digest and reports the failure.
async fn ensure_kept(
    tag: &Reference,
    original_ref: &Reference,
    original: &ocireg_remote::RemoteDescriptor,
    remote: &ocireg_remote::Options,
) -> Result<()> {
    if head_digest(original_ref, remote).await?.is_some() {
        return Ok(());
    }
    let raw = ocireg_remote::RawManifest::new(
        original.raw_manifest().clone(),
        original.media_type().clone(),
    );
    ocireg_remote::put(original_ref, &raw, remote)
        .await
        .map_err(remote_err(format!("putting back {original_ref}")))?;
    Err(Error::TagDelete {
        reference: tag.to_string(),
        reason: format!(
            "the registry deleted the manifest {} rather than only the tag; it was put back by \
             digest, but other tags it had may be gone",
            original.digest()
        ),
    })
}

/// The Docker Hub web API for `registry` when its [settings](Options::registry_settings)
/// say `api: hub` (regclient's host setting): at `https://REGISTRY` (`http://` with
/// `tls: disabled`), or at [`HUB_API_URL`](crate::HUB_API_URL) for Docker Hub's registry
/// itself, with the stored token.
fn hub_from_settings(registry: &str, opts: &Options) -> Result<Option<crate::HubApi>> {
    let settings = opts.registry_settings()?;
    let Some(host) = settings.host(registry) else {
        return Ok(None);
    };
    if host.api() != Some(crate::HostApi::Hub) {
        return Ok(None);
    }
    let Some(token) = host.token() else {
        return Err(Error::InvalidArgument {
            doing: format!("deleting a tag through the Docker Hub API of {registry}"),
            reason: "the host is set to `api: hub` but has no token: store one with \
                     `crane registry set HOST --api-token-stdin`",
        });
    };
    let base = if registry == ocireg_name::DEFAULT_REGISTRY {
        crate::HUB_API_URL.to_owned()
    } else if host.tls() == crate::TlsMode::Disabled {
        format!("http://{registry}")
    } else {
        format!("https://{registry}")
    };
    Ok(Some(crate::HubApi::with_base(base, token.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn placeholders_are_unique_and_empty() {
        let a = placeholder_manifest("v1").expect("json");
        let b = placeholder_manifest("v1").expect("json");
        assert_ne!(a, b, "each placeholder has its own digest");
        let m: ocireg_v1::Manifest = serde_json::from_slice(&a).expect("a manifest");
        assert!(m.layers.is_empty());
        assert_eq!(m.config.digest, ocireg_v1::sha256(b"{}"));
        assert_eq!(
            m.annotations
                .get(PLACEHOLDER_TAG_ANNOTATION)
                .map(String::as_str),
            Some("v1")
        );
    }

    #[tokio::test]
    async fn a_digest_is_refused_by_tag_only_delete() {
        let digest = ocireg_v1::sha256(b"x");
        for reference in [format!("r.io/app@{digest}"), format!("ocidir://d@{digest}")] {
            let err = delete_tag(&reference, &Options::new(), None)
                .await
                .expect_err("a digest");
            assert_eq!(err.kind(), ErrorKind::Usage, "{reference}: {err}");
            assert!(err.to_string().contains("--tag-only takes a tag"), "{err}");
        }
    }

    #[tokio::test]
    async fn a_bad_new_tag_is_a_usage_error() {
        let err = tag("r.io/app:v1", "bad tag", &Options::new())
            .await
            .expect_err("bad");
        assert_eq!(err.kind(), ErrorKind::Usage);
    }
}
