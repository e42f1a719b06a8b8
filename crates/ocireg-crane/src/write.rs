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
use crate::setup::{Doing, remote_err, remote_options};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn a_bad_new_tag_is_a_usage_error() {
        let err = tag("r.io/app:v1", "bad tag", &Options::new())
            .await
            .expect_err("bad");
        assert_eq!(err.kind(), ErrorKind::Usage);
    }
}
