//! OCI image layouts on disk: a port of go-containerregistry's
//! [`pkg/v1/layout`](https://pkg.go.dev/github.com/google/go-containerregistry/pkg/v1/layout),
//! stricter and safer.
//!
//! # How it fits
//!
//! A layout is a directory with an `oci-layout` file
//! (`{"imageLayoutVersion": "1.0.0"}`), a root `index.json` (an OCI image
//! index) and content-addressed `blobs/<algorithm>/<hex>` files: what skopeo
//! `oci:`, umoci, oras, BuildKit `type=oci` and regctl `ocidir://` read and
//! write. This crate sits above `ocireg-v1`: reading, a [`Layout`] serves its
//! root index as a [`LayoutIndex`] and its images as [`LayoutImage`]s, which
//! implement `ocireg_v1`'s [`ImageIndex`](ocireg_v1::ImageIndex) and
//! [`Image`](ocireg_v1::Image) views, so they mix with views from a registry
//! or a tarball and pass `ocireg_v1::validate`. Writing, any view can be
//! written into a layout ([`Layout::write_image`], [`Layout::append_image`],
//! [`Layout::write`]...).
//!
//! Beyond ggcr:
//!
//! - every blob is verified as it is read (size and digest), and a symlink,
//!   FIFO or directory where a blob or `index.json` should be is refused;
//!   `index.json`, manifests and configs are read with a size cap
//!   ([`ocireg_v1::MANIFEST_LIMIT`]);
//! - blobs are written to a partial file beside their final path, verified,
//!   fsynced, renamed, and the directory fsynced; a file already in place is
//!   checked, never trusted;
//! - an interrupted write resumes from the partial file it left: its bytes
//!   are compared with the start of the source and only the rest is written;
//! - every change of `index.json` is atomic (temp file, fsync, rename) and
//!   taken under an exclusive advisory lock (`flock` on `.ocireg.lock`), so
//!   two processes appending tags to one layout lose nothing;
//! - garbage collection waits for writes in progress ([`Layout::write_guard`]),
//!   so a `gc` during an append never removes the blobs being appended.
//!
//! IO runs on tokio (its blocking pool): use this crate inside a tokio runtime.
//!
//! # ggcr map
//!
//! | ggcr `layout` | Here |
//! |---------------|------|
//! | `FromPath` | [`Layout::open`] (checks `oci-layout` too) |
//! | `Write` | [`Layout::write`]; [`Layout::create`] for an empty one |
//! | `Path.ImageIndex`, `Image`, `ImageIndex` | [`Layout::image_index_root`], [`Layout::image`], [`Layout::image_index`], plus [`Layout::image_by_ref_name`], [`Layout::find`] |
//! | `WriteImage`, `WriteIndex`, `WriteBlob`, `Blob`, `Bytes`, `RemoveBlob` | [`Layout::write_image`], [`Layout::write_index`], [`Layout::write_blob`], [`Layout::blob`], [`Layout::blob_bytes`], [`Layout::remove_blob`] |
//! | `AppendImage`, `AppendIndex`, `AppendDescriptor` + options | [`Layout::append_image`], [`Layout::append_index`], [`Layout::append_descriptor`], [`AppendOptions`] |
//! | `ReplaceImage`, `ReplaceIndex`, `ReplaceDescriptor`, `RemoveDescriptors` | [`Layout::replace_image`], [`Layout::replace_index`], [`Layout::replace_descriptor`], [`Layout::remove_descriptors`] |
//! | `GarbageCollect` | [`Layout::unreferenced_blobs`] (reports), [`Layout::garbage_collect`] (removes) |
//!
//! # Example
//!
//! ```
//! use ocireg_layout::{AppendOptions, Layout};
//! use ocireg_v1::{random, validate, Image as _, ImageIndex as _};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let layout = Layout::create(dir.path().join("oci")).await?;
//!
//! // Write a (random) image, tagged `v1`.
//! let img = random::image(1024, 2, 7)?;
//! layout.append_image(&*img, &AppendOptions::new().ref_name("v1")).await?;
//!
//! // Read it back by tag: same digest, and it passes validation.
//! let back = layout.image_by_ref_name("v1").await?;
//! assert_eq!(back.digest().await?, img.digest().await?);
//! validate::image(&*back, validate::Options::default()).await?;
//!
//! // The root index is an ImageIndex view too.
//! let root = layout.image_index_root().await?;
//! validate::index(&*root, validate::Options::default()).await?;
//! assert_eq!(root.index_manifest().await?.manifests.len(), 1);
//! # Ok(())
//! # }
//! ```

mod error;
mod fsutil;
mod read;
mod write;

pub use error::{Error, Result};
pub use read::{
    INDEX_FILE, LAYOUT_VERSION, LOCK_FILE, Layout, LayoutImage, LayoutIndex, OCI_LAYOUT_FILE,
    WRITERS_LOCK_FILE,
};
pub use write::{AppendOptions, BlobWrite, WriteGuard};
