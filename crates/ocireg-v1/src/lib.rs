//! The image model of ocireg: digests, media types, manifests, configs and
//! platforms, and the [`Layer`], [`Image`] and [`ImageIndex`] views over
//! them. A port of go-containerregistry's
//! [`pkg/v1`](https://pkg.go.dev/github.com/google/go-containerregistry/pkg/v1)
//! together with its helper packages `types`, `partial`, `empty`, `static`,
//! `stream`, `random`, `validate` and `match`.
//!
//! # How it fits
//!
//! This crate does no IO and has no async runtime: it depends on
//! [`ocireg_name`] (references and the [`Digest`] type) and on `bytes`,
//! `futures` and `serde`, never on tokio. Blobs are [`Blob`]s, `'static`
//! streams of `io::Result<Bytes>`, and every adapter here (hashing,
//! verifying, gzip and zstd sniffing and decompression, gzip compression) is
//! a stream adapter driven chunk by chunk, so it runs under any executor.
//!
//! The crates above implement the views: `ocireg-remote` (a registry),
//! `ocireg-layout` (an OCI image layout), `ocireg-tarball` (`docker save`
//! files) and `ocireg-mutate` (images derived from others). Because the
//! views are object-safe async traits used as `Arc<dyn Layer>`,
//! `Arc<dyn Image>` and `Arc<dyn ImageIndex>`, views from all of them mix
//! freely, and [`validate`] checks any of them the same way.
//!
//! Raw bytes are the truth: manifests and configs are kept as the exact bytes
//! received or produced ([`Image::raw_manifest`], [`Document`]), digests are
//! computed over those bytes, and JSON we produce is written byte for byte as
//! Go's `encoding/json` would ([`to_go_json`]), so digests agree with ggcr's.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use ocireg_v1::{empty, random, validate, Image, Layer, MediaType, StaticLayer};
//!
//! # futures_executor::block_on(async {
//! // The empty image has exactly ggcr's bytes, so the same image ID.
//! let img = empty::image();
//! assert_eq!(
//!     img.config_name().await?.to_string(),
//!     "sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe",
//! );
//! assert_eq!(img.raw_config_file().await?.len(), 115);
//!
//! // Layers from different sources are all `Arc<dyn Layer>`.
//! let layers: Vec<Arc<dyn Layer>> = vec![
//!     Arc::new(StaticLayer::new("hello", MediaType::OciUncompressedLayer)),
//!     random::layer(1024, MediaType::OciLayer, 7)?,
//! ];
//! for layer in &layers {
//!     validate::layer(&**layer, validate::Options::default()).await?;
//! }
//!
//! // A deterministic random image passes every check ggcr's validate makes.
//! let img = random::image(1024, 2, 42)?;
//! validate::image(&*img, validate::Options::default()).await?;
//! # Ok::<(), ocireg_v1::Error>(())
//! # })?;
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Module map
//!
//! | Here | ggcr | What |
//! |------|------|------|
//! | [`Digest`], [`Hasher`], [`sha256`] | `v1.Hash`, `v1.Hasher` | content addresses (SHA-256 and SHA-512) |
//! | [`MediaType`] | `types` | every OCI and Docker media type, unknown ones kept |
//! | [`Descriptor`], [`Manifest`], [`IndexManifest`], [`ConfigFile`], [`Platform`] | `v1` | the JSON documents, parsed strictly, written as Go would |
//! | [`Layer`], [`Image`], [`ImageIndex`] (+ [`LayerExt`], [`ImageExt`], [`ImageIndexExt`]) | `v1` + `partial` | the views: a raw core, the rest derived in provided methods |
//! | [`partial`] | `partial` | adapters for layers known only compressed or only uncompressed |
//! | [`Blob`], [`verify`], [`decompress`], [`gzip`] | `internal/verify`, `compression` | streams and stream adapters |
//! | [`StaticLayer`] | `static` | a layer from bytes in memory |
//! | [`StreamLayer`] | `stream` | a one-shot layer compressed on the fly |
//! | [`empty`] | `empty` | the empty image and index |
//! | [`random`] | `random` | deterministic random layers, images and indexes for tests |
//! | [`validate`] | `validate` | conformance checks for any view |
//! | [`Matcher`] | `match` | descriptor predicates |
//! | [`progress`] | (`v1.Update`) | blob transfer events, a sink trait and a tracker, for every crate that moves blobs |
//!
//! Errors of every view are this crate's [`Error`]; other crates report
//! theirs through [`Error::backend`].

#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

// ---- shared ----
/// `bytes` appears in this crate's public API ([`Blob`] chunks, raw documents).
pub use bytes;
mod blob;
mod error;
pub use blob::{Blob, BoxByteStream};
pub use error::{BackendError, Error, Result};
pub use ocireg_name::{Algorithm, Digest};

// ---- value types and JSON (model) ----
mod config;
mod descriptor;
mod gojson;
mod hash;
mod manifest;
mod matcher;
mod media_type;
mod platform;
pub use config::{Config, ConfigFile, HealthConfig, History, RootFs, Time};
pub use descriptor::{ANNOTATION_REF_NAME, Descriptor};
pub use gojson::{GoFormatter, check_document, to_go_json, write_go_json};
pub use hash::{Hasher, digest_of, sha256};
pub use manifest::{AnyManifest, Document, IndexManifest, JsonDocument, Manifest};
pub use matcher::Matcher;
pub use media_type::MediaType;
pub use platform::Platform;

// ---- views, streams and fixtures ----
pub use async_trait::async_trait;
pub use image::{CONFIG_LIMIT, Image, ImageExt, MANIFEST_LIMIT, artifact_type_of};
pub use index::{ImageIndex, ImageIndexExt};
pub use layer::{Layer, LayerExt};
pub mod empty;
mod forward;
mod image;
mod index;
mod layer;
pub mod partial;
pub mod progress;
pub mod random;
pub mod validate;

// ---- streams ----
mod compression;
mod static_layer;
mod stream_layer;
mod verify;
pub use compression::{
    Compression, DecompressOptions, Decompressor, GZIP_MAGIC, GzipEncoder, GzipLevel, Peeked,
    ZSTD_MAGIC, decompress, decompress_with, gzip, peek_compression,
};
pub use static_layer::StaticLayer;
pub use stream_layer::StreamLayer;
pub use verify::{VerifyStream, verify};
