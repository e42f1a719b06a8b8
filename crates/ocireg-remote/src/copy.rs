//! [`copy`]: an image or index from one registry (or repository) to another, streamed
//! (crane's `cp`, built on ggcr's `remote.Get` + `remote.Write`/`WriteIndex`).
//!
//! * Manifest bytes are copied exactly, so digests are preserved.
//! * Blobs flow from the source `GET` straight into the destination upload: no disk, and
//!   never more than a chunk of a layer in memory (a copy of a 1 GiB layer stays in a few
//!   MiB of buffers).
//! * Within one registry, blobs are mounted from the source repository instead.
//! * What the destination has is skipped: blobs by `HEAD`, child manifests by `HEAD`.
//! * A re-copy of something the destination already has costs one ping per registry, a
//!   `HEAD` of the source tag (none for a digest reference) and a `HEAD` of the destination
//!   tag.
//! * Across two registries, both are pinged at once, and the two `HEAD`s go out together, so
//!   the checks before any blob moves take two round trips, not four.

use std::sync::Arc;

use ocireg_name::{Reference, Repository};
use ocireg_transport::Transport;
use ocireg_v1::{Digest, Platform};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::options::Options;
use crate::protocol::{self, Presence};
use crate::writable::Writable;
use crate::write::{Pusher, full_tag};

/// What to copy: the whole index (default) or one platform of it.
///
/// ```
/// let one = ocireg_remote::CopyOptions::default().platform("linux/arm64".parse()?);
/// assert_eq!(one.platform_setting().map(ToString::to_string).as_deref(), Some("linux/arm64"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CopyOptions {
    platform: Option<Platform>,
    pusher: Option<Arc<Pusher>>,
}

impl CopyOptions {
    /// Copy only the image for `platform` out of an index (an image is copied as is).
    #[must_use]
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Pushes through `pusher`, shared with other copies running at the same time: a blob
    /// that several of them need (a base layer shared by many tags, as in
    /// `crane copy --all-tags`) is then uploaded once, the others waiting for it, instead
    /// of each seeing it missing and uploading it again.
    #[must_use]
    pub fn pusher(mut self, pusher: Arc<Pusher>) -> Self {
        self.pusher = Some(pusher);
        self
    }

    /// The platform set, if any (`None`: everything).
    pub fn platform_setting(&self) -> Option<&Platform> {
        self.platform.as_ref()
    }
}

/// Copies the manifest at `src` (with everything it refers to, every child of an index) to
/// `dst`; returns the digest, which is the source's.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let opts = ocireg_remote::Options::new()?;
/// let digest = ocireg_remote::copy(&"reg-a.example/app:1".parse()?, &"reg-b.example/app:1".parse()?, &opts).await?;
/// println!("copied {digest}");
/// # Ok(()) }
/// ```
pub async fn copy(src: &Reference, dst: &Reference, options: &Options) -> Result<Digest> {
    copy_with(src, dst, options, &CopyOptions::default()).await
}

/// [`copy`] with [`CopyOptions`] (one platform of an index).
pub async fn copy_with(
    src: &Reference,
    dst: &Reference,
    options: &Options,
    copy: &CopyOptions,
) -> Result<Digest> {
    let src_repo = src.repository();
    let dst_repo = dst.repository();
    let same_registry = src_repo.registry() == dst_repo.registry();
    // Two registries are pinged (and authenticated with) at once. Within one, the source is
    // read through the destination transport (it may pull from the source for mounts), so
    // the whole check needs one authenticated connection.
    let (dst_t, src_t) = if same_registry {
        let t = dst_transport(options, src_repo, dst_repo).await?;
        (t.clone(), t)
    } else {
        futures_util::future::try_join(
            dst_transport(options, src_repo, dst_repo),
            options.session().pull(src_repo),
        )
        .await?
    };
    let mut tag_checked = false;
    if copy.platform.is_none() {
        // The source digest, as cheaply as possible: a digest reference says it; a tag costs
        // a HEAD (through the read side), sent together with the HEAD of the destination tag.
        let src_head = async {
            if let Some(d) = src.digest() {
                return Some(d);
            }
            match Fetcher::with_transport(src_t, src_repo, options)
                .presence(src)
                .await
            {
                Ok(Presence::Present(d)) => d,
                Ok(Presence::Missing) => None,
                Err(e) => {
                    debug!(error = %e, "HEAD of the source failed; fetching it instead");
                    None
                }
            }
        };
        let dst_tag_head = async {
            match dst.as_tag() {
                Some(t) => {
                    Some(protocol::manifest_presence(&dst_t, &Reference::Tag(full_tag(t))).await)
                }
                None => None,
            }
        };
        let (src_digest, dst_tag) = futures_util::future::join(src_head, dst_tag_head).await;
        if let Some(d) = src_digest {
            if let Some(want) = dst.as_digest()
                && want.digest() != d
            {
                return Err(Error::ManifestDigestMismatch {
                    reference: Box::new(want.clone()),
                    actual: d,
                });
            }
            let presence = match dst_tag {
                Some(presence) => presence?,
                None => {
                    protocol::manifest_presence(&dst_t, &Reference::Digest(dst_repo.digest(d)))
                        .await?
                }
            };
            match presence {
                Presence::Present(Some(have)) if have == d => {
                    debug!(%src, %dst, digest = %d, "destination is up to date");
                    return Ok(d);
                }
                Presence::Present(None) if dst.as_tag().is_none() => return Ok(d),
                _ => tag_checked = dst.as_tag().is_some(),
            }
        }
    }
    let descriptor = crate::get(src, options).await?;
    let own;
    let pusher = if let Some(shared) = &copy.pusher {
        shared.as_ref()
    } else {
        own = Pusher::new(options);
        &own
    };
    let item = match (&copy.platform, descriptor.is_index()) {
        (Some(p), true) => Writable::Image(descriptor.image_for_platform(p).await?),
        (None, true) => Writable::Index(descriptor.image_index()?),
        _ => Writable::Image(descriptor.image().await?),
    };
    pusher.push_to(dst, &item, tag_checked).await
}

/// The transport for the destination: with pull on the source when both are in one registry
/// (for mounts, and so the source `HEAD` can share it).
async fn dst_transport(options: &Options, src: &Repository, dst: &Repository) -> Result<Transport> {
    if src.registry() == dst.registry() && src != dst {
        match options.session().push_mounting(dst, &[src]).await {
            Ok(t) => return Ok(t),
            Err(e) => warn!(error = %e, "no token for mounting; copying without mounts"),
        }
    }
    options.session().push(dst).await
}
