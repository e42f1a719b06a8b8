//! carvel imgpkg's registry package (`carvel.dev/imgpkg/pkg/imgpkg/registry`) on ocireg:
//! the [`Registry`] abstraction with its reader ([`ImagesReader`]) and reader-writer
//! ([`ImagesReaderWriter`]) parts, a [`SimpleRegistry`] implementation, the
//! [`WithProgress`] decorator, transport storage ([`TransportStorage`]) and imgpkg's
//! composed [`keychain`].
//!
//! # How it fits
//!
//! Every operation of a [`SimpleRegistry`] names its repository and what it does there
//! (pull, or push and pull), takes that repository's transport from its
//! [`TransportStorage`] or makes one (resolving credentials from the keychain once), and
//! calls [`ocireg_remote`] with the remote options that reuse that transport. A
//! [`MultiTransportStorage`] keeps one transport per registry, repository and scope; a
//! [`SingleTransportStorage`] one for everything. Credentials come from [`keychain`]:
//! per-host environment variables (`IMGPKG_REGISTRY_*`, prefix configurable) before the
//! "any host" credentials of [`KeychainOpts`], which fall back to the docker config.
//!
//! The traits use `async fn`s whose futures are `Send`, so a registry can be used from
//! spawned tasks; implementations are `Send + Sync` and shared by cloning. Errors are this
//! crate's [`Error`](crate::Error): a missing image is
//! [`Error::ImageNotFound`](crate::Error::ImageNotFound), and
//! [`first_image_exists`](ImagesReader::first_image_exists) finding none is
//! [`Error::NoImageExists`](crate::Error::NoImageExists).
//!
//! # Example
//!
//! ```no_run
//! use std::collections::HashMap;
//! use std::sync::Arc;
//!
//! use ocireg_client::imgpkg::{
//!     ImagesReader, ImagesReaderWriter, KeychainOpts, Opts, Registry, SimpleRegistry,
//!     TracingProgressLogger, WithProgress,
//! };
//! use ocireg_remote::Writable;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // IMGPKG_REGISTRY_HOSTNAME/_USERNAME/_PASSWORD from the process environment win for
//! // their host; --registry-username/--registry-password for every other one.
//! let opts = Opts::new().with_keychain(KeychainOpts::new().with_username("ci").with_password("pw"));
//! let registry = WithProgress::new(
//!     SimpleRegistry::new(opts)?,
//!     Arc::new(TracingProgressLogger::new("images")),
//! );
//!
//! let img = ocireg_v1::random::image(1024, 2, 7)?;
//! let items = HashMap::from([
//!     ("registry.example/app:v1".parse()?, Writable::Image(img.clone())),
//!     ("registry.example/app:latest".parse()?, Writable::Image(img)),
//! ]);
//! let pushed = registry.multi_write(items, 4, None).await?;
//!
//! let repo = "registry.example/app".parse()?;
//! assert_eq!(registry.list_tags(&repo).await?.len(), 2);
//! let digests: Vec<String> = pushed.values().map(|d| format!("registry.example/app@{d}")).collect();
//! let first = registry.first_image_exists(&digests).await?;
//! let image = registry.image(&first.parse()?).await?;
//!
//! // A copy that can authenticate for registry.example/app only.
//! let single = registry.clone_with_single_auth(&"registry.example/app:v1".parse()?).await?;
//! # let _ = (image, single);
//! # Ok(()) }
//! ```
//!
//! The mapping of every item of imgpkg's package to this module, and the differences, are
//! in the repository's `docs/parity.md` ("Seed 003").

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use ocireg_name::{Reference, Repository, Tag};
use ocireg_remote::{RawManifest, RemoteDescriptor, Writable};
use ocireg_v1::{Digest, Image, ImageIndex};
use tokio::sync::mpsc;

use crate::error::Result;

pub use keychain::{
    CustomRegistryKeychain, DEFAULT_KEYCHAIN_ATTEMPTS, DEFAULT_KEYCHAIN_RETRY_WAIT,
    IMGPKG_ENV_PREFIX, KeychainOpts, SingleAuthKeychain, keychain,
};
pub use progress::{ProgressLogger, TracingProgressLogger, Update, WithProgress};
pub use simple::{Opts, SimpleRegistry, SimpleRegistryBuilder};
pub use transport::{
    MultiTransportStorage, RegistryTransport, RemoteSettings, SingleTransportStorage,
    TransportStorage,
};

mod keychain;
mod progress;
mod simple;
mod transport;

/// Reading images and indexes (imgpkg's `ImagesReader`).
pub trait ImagesReader: Send + Sync {
    /// The manifest `reference` names, of any kind, with its exact bytes (imgpkg's `Get`).
    fn get(&self, reference: &Reference) -> impl Future<Output = Result<RemoteDescriptor>> + Send;

    /// The digest of the manifest `reference` names: a `HEAD`, and a `GET` when that fails
    /// (imgpkg's `Digest`).
    fn digest(&self, reference: &Reference) -> impl Future<Output = Result<Digest>> + Send;

    /// The index `reference` names, lazily (imgpkg's `Index`).
    fn index(
        &self,
        reference: &Reference,
    ) -> impl Future<Output = Result<Arc<dyn ImageIndex>>> + Send;

    /// The image `reference` names, lazily; for an index, its child for the host's platform
    /// (imgpkg's `Image`).
    fn image(&self, reference: &Reference) -> impl Future<Output = Result<Arc<dyn Image>>> + Send;

    /// The first of `digests` (each `registry/repo@sha256:<hex>`) whose image exists, asked
    /// in order (imgpkg's `FirstImageExists`). A digest that is not a valid digest reference
    /// fails at once; when none exists the error is
    /// [`Error::NoImageExists`](crate::Error::NoImageExists) with the last failure.
    fn first_image_exists(&self, digests: &[String])
    -> impl Future<Output = Result<String>> + Send;
}

/// Reading and writing images and indexes (imgpkg's `ImagesReaderWriter`).
pub trait ImagesReaderWriter: ImagesReader {
    /// Writes every image and index of `items` under its reference, at most `concurrency`
    /// at once (0 counts as 1; imgpkg's `MultiWrite`); blobs shared by several are uploaded
    /// once per repository, at most `jobs` blob uploads at once per repository. Returns the digest written for each reference; the first failure stops
    /// the others and its error names the reference.
    ///
    /// With `updates`, the progress of the whole write arrives there as [`Update`]s: total
    /// and complete never decrease, and the last one of a successful write has
    /// `complete == total`. Consume them concurrently (a full channel holds the write back)
    /// or drop the receiver; the channel closes when the write returns.
    fn multi_write(
        &self,
        items: HashMap<Reference, Writable>,
        concurrency: usize,
        updates: Option<mpsc::Sender<Update>>,
    ) -> impl Future<Output = Result<HashMap<Reference, Digest>>> + Send;

    /// Writes `image` (blobs, then the manifest) under `reference` (imgpkg's `WriteImage`).
    fn write_image(
        &self,
        reference: &Reference,
        image: Arc<dyn Image>,
    ) -> impl Future<Output = Result<Digest>> + Send;

    /// Writes `index` and every child under `reference` (imgpkg's `WriteIndex`).
    fn write_index(
        &self,
        reference: &Reference,
        index: Arc<dyn ImageIndex>,
    ) -> impl Future<Output = Result<Digest>> + Send;

    /// Puts `manifest` (already in the repository by digest) under `tag` (imgpkg's
    /// `WriteTag`).
    fn write_tag(
        &self,
        tag: &Tag,
        manifest: &RawManifest,
    ) -> impl Future<Output = Result<()>> + Send;

    /// A copy that authenticates only for the repository of `image`, with the credentials
    /// this registry resolves for it, and anonymously everywhere else (imgpkg's
    /// `CloneWithSingleAuth`). The transports already made for that repository are kept.
    fn clone_with_single_auth(&self, image: &Tag) -> impl Future<Output = Result<Self>> + Send
    where
        Self: Sized;
}

/// A registry: reading, writing and listing tags (imgpkg's `Registry`).
pub trait Registry: ImagesReaderWriter {
    /// Every tag of `repository` (imgpkg's `ListTags`), following pages.
    fn list_tags(
        &self,
        repository: &Repository,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
}
