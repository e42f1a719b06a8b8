//! A high-level client for one registry: the Deckhouse `registry` client
//! (`github.com/deckhouse/deckhouse/pkg/registry`), in idiomatic async Rust.
//!
//! # How it fits
//!
//! ggcr is a toolkit; applications wrap it in a smaller API. This crate is that API for
//! ocireg: a [`Client`] bound to one registry, scoped to a repository path built segment
//! by segment with [`Client::with_segment`], with one method per everyday operation. It
//! sits above [`ocireg_remote`] (every registry call), [`ocireg_mutate`] (the flattened
//! filesystem of [`ClientImage::extract`]) and [`ocireg_transport`]/[`ocireg_authn`] (the
//! HTTP client and credentials), beside `ocireg-crane` rather than on it: it needs none of
//! crane's flags or output, and crane does not need it.
//!
//! - Build: [`Client::builder`] with an authenticator, plain http, skip TLS verify,
//!   per-request [`Timeouts`](ocireg_transport::Timeouts), a whole-operation deadline,
//!   transport options, and a logger (a `tracing` span each operation runs under).
//! - Paths: [`Client::with_segment`] / [`Client::with_segments`] return a new client;
//!   [`Client::registry`] gives `host/path`.
//! - Images: [`get_digest`](Client::get_digest), [`get_manifest`](Client::get_manifest)
//!   (a [`ManifestResult`]: image or index, with its descriptor),
//!   [`get_image_config`](Client::get_image_config),
//!   [`check_image_exists`](Client::check_image_exists) (a typed
//!   [`Error::ImageNotFound`]), [`get_image`](Client::get_image) (with a platform, see
//!   [`ImageGetOptions`]), [`push_image`](Client::push_image). Each takes a tag or
//!   `@sha256:<hex>`.
//! - Listings: [`list_tags`](Client::list_tags) and
//!   [`list_repositories`](Client::list_repositories) (scoped to the client's path), with
//!   server-side pagination ([`ListOptions`]: limit and last).
//!
//! [`imgpkg`] holds carvel imgpkg's registry package (a `Registry` trait with a simple
//! implementation, transport storage, a progress decorator and imgpkg's keychain) on the
//! same crates.
//!
//! A [`Client`] is `Send + Sync` and cheap to clone; clones share connections and tokens.
//! Cancel an operation by dropping its future, or bound it with
//! [`ClientBuilder::timeout`] (Go's `context`). The document's example programs are in
//! [`examples`] (as functions) and `examples/` (as programs).
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use ocireg_client::{Client, Error, ImageGetOptions, ListOptions};
//! use futures_util::StreamExt;
//!
//! # async fn run() -> Result<(), Error> {
//! let client = Client::builder("registry.example.com")
//!     .auth(Arc::new(ocireg_authn::Basic::new("myuser", "mypassword")))
//!     .logger(tracing::info_span!("registry"))
//!     .build()?;
//! let module = client.with_segment("deckhouse").with_segment("modules").with_segment("my-module");
//! assert_eq!(module.registry(), "registry.example.com/deckhouse/modules/my-module");
//!
//! let first_page = module.list_tags(ListOptions::new().with_limit(50)).await?;
//! match module.check_image_exists("v1.0.0").await {
//!     Ok(()) => {}
//!     Err(Error::ImageNotFound { .. }) => return Ok(()),
//!     Err(e) => return Err(e),
//! }
//! let digest = module.get_digest("v1.0.0").await?;
//! let img = module.get_image(&format!("@{digest}"), ImageGetOptions::new()).await?;
//! let mut tar = img.extract();
//! while let Some(chunk) = tar.next().await {
//!     let _bytes = chunk.map_err(|source| Error::Extract {
//!         reference: Box::new(img.reference().clone()),
//!         source,
//!     })?;
//! }
//! # let _ = first_page;
//! # Ok(())
//! # }
//! ```

pub use client::{Client, ClientBuilder};
pub use error::{Error, Result};
pub use image::ClientImage;
pub use manifest::ManifestResult;
pub use options::{ImageGetOptions, ListOptions};

mod client;
mod error;
pub mod examples;
mod image;
pub mod imgpkg;
mod manifest;
mod options;
