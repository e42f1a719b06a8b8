//! `docker save` tarballs for ocireg: read them as [`Image`]s, write any
//! images as one, and turn tar, tar.gz or tar.zst files into layers. A port
//! of go-containerregistry's
//! [`pkg/v1/tarball`](https://pkg.go.dev/github.com/google/go-containerregistry/pkg/v1/tarball).
//!
//! # How it fits
//!
//! This crate sits on [`ocireg_v1`] (the image model) and [`ocireg_name`]
//! (tags for `RepoTags`), beside `ocireg-remote` and `ocireg-layout`: what it
//! reads is an `Arc<dyn Image>` like theirs, and what it writes can come from
//! any of them. It uses tokio for file IO.
//!
//! - **Read** ([`Tarball`], [`image_from_path`]): the headers are indexed
//!   once; each member is then read from the file at its offset, never
//!   extracted. `manifest.json` may list several images (pick one by tag);
//!   layers may be compressed or not, in the legacy per-layer folders or in
//!   Docker 25+'s `blobs/sha256/`; links between members are followed. Every
//!   blob is checked against its digest as it streams, and hostile tarballs
//!   (absolute or `..` names, duplicates, link loops, a huge
//!   `manifest.json`) are refused with an error naming the member and file.
//! - **Write** ([`write()`], [`write_to_file`]): members named and ordered as
//!   ggcr writes them (`sha256:<hex>` configs, `<hex>.tar.gz` layers,
//!   `manifest.json` last, mode 0644, mtime 0), byte for byte the same tar
//!   headers; layers are streamed, never held in memory.
//! - **Legacy** ([`legacy::write()`]): the v1.2 format with per-layer folders
//!   and `repositories`, for old Docker versions (ggcr `pkg/legacy/tarball`).
//! - **Layers from files** ([`layer_from_file`], [`layer_from_stream`]):
//!   digest, diff id and size computed in one pass (ggcr `LayerFromFile`);
//!   a plain tar is served gzipped, or zstd-compressed on request.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use ocireg_name::{Reference, Tag};
//! use ocireg_v1::{random, validate, Image};
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("app.tar");
//! let img = random::image(1024, 2, 7)?;
//! let refs = [(Reference::parse("example.com/app:v1")?, Arc::clone(&img))];
//! ocireg_tarball::write_to_file(&path, &refs).await?;
//!
//! let back = ocireg_tarball::image_from_path(&path, Some(&Tag::new("example.com/app:v1")?)).await?;
//! assert_eq!(back.digest().await?, img.digest().await?);
//! validate::image(&*back, validate::Options::default()).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Image`]: ocireg_v1::Image

mod error;
mod layer;
pub mod legacy;
pub mod pgzip;
mod read;
mod reading;
mod write;
mod zstd_encode;

pub use error::{Error, Result};
pub use layer::{FileLayer, LayerOptions, layer_from_file, layer_from_stream};
pub use read::{MANIFEST_JSON_LIMIT, MEMBER_LIMIT, ManifestEntry, Tarball, image_from_path};
pub use write::{
    WriteOptions, calculate_size, compute_manifest, layer_file_name, write, write_to_file,
    write_to_file_with, write_with,
};
