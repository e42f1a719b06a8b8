//! Reading, writing, listing and copying images in registries: a port of go-containerregistry's
//! [`pkg/v1/remote`](https://pkg.go.dev/github.com/google/go-containerregistry/pkg/v1/remote).
//!
//! # How it fits
//!
//! This crate sits above [`ocireg_transport`] (the authenticated, retrying HTTP client) and
//! [`ocireg_v1`] (the image model): it speaks the distribution API through a transport and
//! hands out lazy views that implement `ocireg_v1`'s [`Image`](ocireg_v1::Image),
//! [`ImageIndex`](ocireg_v1::ImageIndex) and [`Layer`](ocireg_v1::Layer) traits, so a
//! remote image mixes freely with images from layouts, tarballs and mutations. The crane
//! library and CLI use it for every registry operation.
//!
//! Every operation takes an [`Options`]: the HTTP client, credentials (a keychain resolved
//! per repository, or one authenticator), the platform to pick from indexes, `jobs`, page
//! size, referrers fallback and a [`progress`] sink. Clones of one `Options` share a
//! [`Session`], which caches one authenticated transport per registry, repository and scope
//! set and bounds downloads and uploads to `jobs` at a time.
//!
//! # Reading
//!
//! [`get`] fetches any manifest with its exact bytes; [`head`] its descriptor; [`image`] and
//! [`index`] lazy views ([`RemoteImage`], [`RemoteIndex`]); [`layer`] one blob
//! ([`head_blob`] and [`fetch_blob`] when its size is to be learnt first). Manifests
//! are capped at [`MANIFEST_LIMIT`](ocireg_v1::MANIFEST_LIMIT), verified against digest
//! references, and refused when their kind contradicts their `Content-Type`. Every blob is
//! read through the verifying stream (size and digest checked at the end, nothing passed on
//! past the declared size); a download that loses its connection resumes with
//! `Range: bytes=N-` (checking `Content-Range`; a `200` is read again from the start with
//! the bytes already passed on skipped, so the verifier sees each byte once) and gives up
//! after three reconnects without progress. [`list_tags`] and [`catalog`] walk `Link`
//! pages; [`list_tags_page`] and [`catalog_page`] fetch one page with `n` and `last`;
//! [`referrers`] uses the referrers API or the `sha256-<hex>` fallback tag.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use ocireg_v1::{Image, validate};
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let registry = ocireg_registry::Registry::builder().build()?.spawn_on("127.0.0.1:0").await?;
//!     let opts = ocireg_remote::Options::builder()
//!         .auth(Arc::new(ocireg_authn::Anonymous))
//!         .build()?;
//!     let reference = format!("{}/demo/app:v1", registry.addr()).parse()?;
//!
//!     let img = ocireg_v1::random::image(1024, 2, 42)?;
//!     let digest = ocireg_remote::write_image(&reference, img, &opts).await?;
//!
//!     let pulled = ocireg_remote::image(&reference, &opts).await?;
//!     assert_eq!(pulled.digest().await?, digest);
//!     validate::image(&*pulled, validate::Options::default()).await?;
//!     let tags = ocireg_remote::list_tags(&format!("{}/demo/app", registry.addr()).parse()?, &opts).await?;
//!     assert_eq!(tags, ["v1"]);
//!     registry.shutdown().await?;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Differences from ggcr
//!
//! * Pull progress as well as push progress, per blob and overall ([`progress`]).
//! * Downloads resume with `Range` instead of failing; manifests are capped at 8 MiB
//!   (ggcr: 100 MiB); the kind of a manifest is checked against its `Content-Type`
//!   (CVE-2021-41190); `HEAD` falls back to `GET` on 405 or without
//!   `Docker-Content-Digest`; a `Docker-Content-Digest` that disagrees on a tag pull is
//!   logged.
//! * The default platform is the host's, not `linux/amd64`; a missing platform lists the
//!   available ones; nested indexes are followed at most 16 deep.
//! * Sessions are shared by every clone of an [`Options`] (ggcr needs `Reuse`), with
//!   separate download and upload slots so a streaming copy cannot deadlock.
//! * Referrers: the `artifactType` filter is sent to the registry and applied here only
//!   when the registry did not (`OCI-Filters-Applied`).
//! * A returned descriptor's artifact type is the manifest's `artifactType`, else its config
//!   media type only when that is not an image config (ggcr always copies the config type).
//! * Schema 1 manifests can be fetched with [`get`] (bytes only) but not read as images.

// ---- foundation ----
pub use error::{Error, Result};
pub use options::{
    DEFAULT_JOBS, DEFAULT_MAX_LIST_ENTRIES, DEFAULT_MAX_LIST_PAGES, DEFAULT_PAGE_SIZE, Options,
    OptionsBuilder,
};
pub use progress::{
    BlobOutcome, BlobProgress, CountingStream, Direction, Progress, ProgressEvent,
    ProgressSnapshot, ProgressTracker, Reporter,
};
pub use session::Session;
mod error;
mod options;
pub mod progress;
mod session;

// ---- read side ----
pub use blob::{fetch_blob, head_blob};
pub use descriptor::{RemoteDescriptor, exists, get, head};
pub use image::{RemoteImage, image};
pub use index::{CHILD_CACHE_BYTES, RemoteIndex, index};
pub use layer::{RemoteLayer, layer};
pub use list::{
    LIST_PAGE_LIMIT, Lister, MAX_EMPTY_PAGES, Page, catalog, catalog_page, list_tags,
    list_tags_page,
};
pub use referrers::{Referrers, ReferrersSource, referrers, referrers_tag};
mod blob;
mod descriptor;
mod fetch;
mod image;
mod index;
mod layer;
mod list;
mod referrers;

// ---- write side ----
pub use copy::{CopyOptions, copy, copy_with};
pub use multi_write::{multi_write, multi_write_with};
pub use write::{
    Pusher, RawManifest, Writable, check_push_permission, delete, put, tag, write_image,
    write_index, write_layer,
};
mod copy;
mod multi_write;
mod referrers_write;
mod upload;
mod write;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
