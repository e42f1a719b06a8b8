//! An in-process OCI distribution registry: a port of go-containerregistry's
//! `pkg/registry`.
//!
//! **A test and development server, not a production registry.** It has no
//! authentication, keeps manifests, tags and upload sessions in memory (blob
//! bytes optionally on disk) and never garbage-collects, but it bounds what
//! a hostile client can make it hold (see [Limits](#limits)). It exists so
//! that the tests of `ocireg-remote` and `crane` can run against a real
//! HTTP registry on loopback, and it is what `crane registry serve` runs.
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
//! upload session); manifests `GET`/`HEAD`/`PUT`/`DELETE` by tag and digest
//! (a PUT by digest may apply `?tag=` tags, each echoed in an `OCI-Tag`
//! header; `OCI-Subject` confirms a `subject` when the referrers API is on);
//! `tags/list` and `_catalog` with `n`, `last` and `Link`; and, when enabled,
//! the referrers API with `artifactType` filtering. Digests (SHA-256 and
//! SHA-512) are verified on every write. A pushed manifest must pass the
//! same document checks as `ocireg-v1` applies to what a client pulls
//! ([`AnyManifest::parse`](ocireg_v1::AnyManifest::parse): no duplicate
//! keys, nesting, ambiguous image/index documents or unknown media types),
//! else 400 `MANIFEST_INVALID`. Errors use the distribution JSON envelope.
//!
//! # Limits
//!
//! Nothing a client sends is trusted. The limits, in [`limits`], each set
//! on the [`RegistryBuilder`] where it says so:
//!
//! | limit | default | answer |
//! |---|---|---|
//! | manifest size | 4 MiB ([`limits::DEFAULT_MAX_MANIFEST_SIZE`]) | 413 `SIZE_INVALID` |
//! | client data in memory: manifests, and with [`Storage::Memory`] blobs and uploads in progress | 2 GiB ([`limits::DEFAULT_MEMORY_LIMIT`]) | 507 `SIZE_INVALID` (413 for one body declared larger than the cap) |
//! | `?tag=` parameters of one manifest PUT | 64 ([`limits::MAX_TAGS_PER_PUSH`]) | 400 `MANIFEST_INVALID` |
//! | tag list and catalog page | 10,000 entries ([`limits::MAX_PAGE`]) | the rest through `Link` |
//! | time to send request headers (new or idle kept-alive connection) | 30 s ([`limits::DEFAULT_HEADER_READ_TIMEOUT`]) | connection closed |
//! | time a request body may go without a byte | 60 s ([`limits::DEFAULT_BODY_IDLE_TIMEOUT`]) | 408, connection closed |
//! | connections served at once | 256 ([`limits::DEFAULT_MAX_CONNECTIONS`]) | further connections wait to be accepted |
//! | upload session not written to | 1 hour ([`limits::DEFAULT_UPLOAD_IDLE_TIMEOUT`]) | dropped with its bytes; then 404 `BLOB_UPLOAD_UNKNOWN` |
//! | upload sessions open at once | 256 ([`limits::DEFAULT_MAX_UPLOAD_SESSIONS`]) | 429 `TOOMANYREQUESTS`, `Retry-After: 10` ([`limits::UPLOAD_RETRY_AFTER`]) |
//! | unread request body discarded before answering | 8 MiB ([`limits::DRAIN_LIMIT`]) | connection closed |
//! | wait for requests in flight at shutdown | 10 s ([`limits::SHUTDOWN_GRACE`]) | cut off |
//!
//! The header and body timeouts and the connection cap belong to the server
//! ([`Registry::serve`], [`Registry::spawn_on`]); a caller that serves
//! [`Registry::handle`] itself brings its own. Expired upload sessions are
//! dropped by every upload request, and every
//! [`MAX_UPLOAD_SWEEP_INTERVAL`](limits::MAX_UPLOAD_SWEEP_INTERVAL) (60 s)
//! by a serving registry.
//!
//! # Differences from ggcr
//!
//! * Blobs are linked per repository (as in distribution): a blob uploaded
//!   to `a` is not visible in `b` until uploaded or mounted there.
//! * A manifest PUT checks that an image's config and layers exist in the
//!   repository (layers with `urls` excepted), not only an index's children.
//! * Repository names and tags are checked against the distribution grammar.
//! * Manifests are checked as the client checks them, and only image and
//!   index media types are accepted (ggcr stores any JSON object).
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
pub mod limits;
mod lists;
mod manifests;
mod memory;
mod names;
mod registry;
mod route;
mod server;
mod storage;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
