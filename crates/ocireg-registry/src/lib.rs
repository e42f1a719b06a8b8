//! An in-process OCI distribution registry: a port of go-containerregistry's
//! `pkg/registry`.
//!
//! **A test and development server, not a production registry.** It has no
//! authentication, keeps manifests, tags and upload sessions in memory (blob
//! bytes optionally on disk), never garbage-collects, and trusts its clients
//! with its memory. It exists so that the tests of `ocireg-remote` and
//! `crane` can run against a real HTTP registry on loopback, and it is what
//! `crane registry serve` runs.
//!
//! It sits above `ocireg-v1` (digests, hashing, descriptors, media types)
//! and uses tokio and hyper for serving; it never builds a runtime of its
//! own. [`Registry::spawn_on`] serves in a task on the caller's runtime;
//! [`Registry::serve`] runs the accept loop in the caller's task; and a
//! [`Registry`] is also a hyper `Service` (and has [`Registry::handle`]) for
//! callers with their own server.
//!
//! ```
//! use http_body_util::{BodyExt as _, Empty};
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use ocireg_registry::Registry;
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let running = Registry::builder().referrers(true).build()?.spawn_on("127.0.0.1:0").await?;
//!     let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
//!     let response = client.get(format!("{}/v2/", running.url()).parse()?).await?;
//!     assert_eq!(response.status(), 200);
//!     assert_eq!(response.headers()["Docker-Distribution-API-Version"], "registry/2.0");
//!     let body = response.into_body().collect().await?.to_bytes();
//!     assert_eq!(&body[..], b"{}");
//!     running.shutdown().await?;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it implements
//!
//! The distribution API: `/v2/`; blob `HEAD`/`GET` (single `Range`s) and
//! `DELETE`; uploads by monolithic `POST ?digest=`, by `POST` + `PATCH`
//! (streamed, or `Content-Range` chunks that must start where the upload
//! ends, else 416) + `PUT ?digest=`, upload status `GET` and cancel
//! `DELETE`; cross-repository mounts (`?mount=&from=`, falling back to an
//! upload session); manifests `GET`/`HEAD`/`PUT`/`DELETE` by tag and digest;
//! `tags/list` and `_catalog` with `n`, `last` and `Link`; and, when enabled,
//! the referrers API with `artifactType` filtering. Digests (SHA-256 and
//! SHA-512) are verified on every write. Errors use the distribution JSON
//! envelope.
//!
//! # Differences from ggcr
//!
//! * Blobs are linked per repository (as in distribution): a blob uploaded
//!   to `a` is not visible in `b` until uploaded or mounted there.
//! * A manifest PUT checks that an image's config and layers exist in the
//!   repository (layers with `urls` excepted), not only an index's children.
//! * Repository names and tags are checked against the distribution grammar.
//! * The catalog is sorted and paginated with `Link`; page sizes are capped
//!   at 10,000.
//! * Disk storage verifies a blob before it becomes visible, and serves
//!   both SHA-256 and SHA-512 content.

pub use crate::body::ResponseBody;
pub use crate::error::Error;
pub use crate::registry::{Registry, RegistryBuilder};
pub use crate::server::RunningRegistry;
pub use crate::storage::Storage;

mod blobs;
mod body;
mod error;
mod lists;
mod manifests;
mod names;
mod registry;
mod route;
mod server;
mod storage;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
