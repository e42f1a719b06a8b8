//! New images from old ones, lazily: a port of go-containerregistry's
//! [`pkg/v1/mutate`](https://pkg.go.dev/github.com/google/go-containerregistry/pkg/v1/mutate).
//!
//! # How it fits
//!
//! Views in [`ocireg_v1`] are immutable. Each function here takes a view
//! (an `Arc<dyn Image>` from a registry, a layout, a tarball, or another
//! mutation) and returns a new view that computes its manifest and config
//! only when asked, so a mutation of a remote image fetches only what it
//! needs, and a layer it does not change is served by the base, untouched
//! (written back to the same registry, it is never downloaded or uploaded
//! again). Like `ocireg-v1`, this crate does no IO of its own and needs no
//! async runtime: everything is futures driven by whoever awaits them.
//!
//! Bytes are ggcr's: configs and manifests are written through
//! [`ocireg_v1::to_go_json`], with `history`, `created` and `diff_ids`
//! filled as ggcr fills them, so the same mutation of the same image gives
//! the same digests.
//!
//! | Here | ggcr | What |
//! |------|------|------|
//! | [`append`], [`Addendum`], [`append_layers`] | `Append`, `Addendum`, `AppendLayers` | layers with history, annotations, URLs, media types |
//! | [`config`], [`config_file`], [`created_at`] | `Config`, `ConfigFile`, `CreatedAt` | the config |
//! | [`media_type`], [`config_media_type`], [`annotations`], [`subject`] | `MediaType`, `ConfigMediaType`, `Annotations`, `Subject` | the manifest |
//! | [`append_manifests`], [`IndexAddendum`], [`remove_manifests`], [`index_annotations`], [`index_media_type`] | `AppendManifests`, `IndexAddendum`, `RemoveManifests`, `Annotations`, `IndexMediaType` | an index |
//! | [`time`], [`canonical`] | `Time`, `Canonical` | reproducible images, each layer streamed, never buffered |
//! | [`rebase`] | `Rebase` | an image moved onto another base |
//! | [`extract`] | `Extract` | the flattened filesystem as one tar stream |
//! | [`TarReader`], [`tar_header`], [`TarEntry`] | `archive/tar` (Go's, as ggcr uses it) | a push-fed tar reader and Go's header writer, sans-IO |
//! | [`windows`], [`windows_tar`] | `internal/windows.Windows` | a layer rewritten for a Windows image (`Files/`, `Hives/`, security descriptors), streamed |
//!
//! ggcr's edge cases hold: an artifact whose config is not an image config
//! keeps its config bytes; layers are listed by manifest digest, so two
//! layers with one diff id but different compressions both survive; and a
//! streaming layer is not consumed before it is written.
//!
//! One difference: fields of a config or manifest that ggcr does not know
//! are kept when it is re-written (ggcr drops them), as everywhere in
//! ocireg (docs/parity.md).
//!
//! # Example
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Arc;
//! use ocireg_v1::{empty, Image, Layer, MediaType, StaticLayer};
//!
//! # futures_executor::block_on(async {
//! // A layer holding one file, appended to the empty image as `crane append` does.
//! let mut tar = tar::Builder::new(Vec::new());
//! let mut header = tar::Header::new_ustar();
//! header.set_size(6);
//! header.set_mode(0o644);
//! tar.append_data(&mut header, "hello.txt", &b"hello\n"[..])?;
//! let layer: Arc<dyn Layer> =
//!     Arc::new(StaticLayer::new(tar.into_inner()?, MediaType::DockerUncompressedLayer));
//! let img = ocireg_mutate::append_layers(empty::image(), [layer]);
//!
//! // Labels in the config, an annotation on the manifest.
//! let mut config = img.config_file().await?.config;
//! config.labels.insert("team".into(), "blue".into());
//! let img = ocireg_mutate::config(img, config).await?;
//! let img = ocireg_mutate::annotations(img, BTreeMap::from([("org.example".into(), "1".into())]));
//!
//! let config = String::from_utf8(img.raw_config_file().await?.to_vec())?;
//! assert!(config.contains(r#""history":[{"created":"0001-01-01T00:00:00Z"}]"#));
//! assert!(config.contains(r#""Labels":{"team":"blue"}"#));
//! assert_eq!(img.manifest().await?.annotations["org.example"], "1");
//!
//! // The flattened filesystem, as `crane export` writes it.
//! let fs = ocireg_mutate::extract(img).read_to_end(1 << 20).await?;
//! assert_eq!(&fs[..9], b"hello.txt");
//! assert_eq!(fs.len(), 2048);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod extract;
mod image;
mod index;
mod rebase;
mod tar;
mod time;
mod windows;

pub use error::{Error, Result};
pub use extract::extract;
pub use image::{
    Addendum, annotations, append, append_layers, config, config_file, config_media_type,
    created_at, media_type, subject,
};
pub use index::{
    Appendable, IndexAddendum, append_manifests, index_annotations, index_media_type,
    remove_manifests,
};
pub use rebase::rebase;
pub use time::{canonical, time};
pub use windows::{USER_OWNER_AND_GROUP_SID, windows, windows_tar};

/// A tar entry's header (Go's `tar.Header`), as [`TarReader`] gives it and
/// [`tar_header`] writes it.
pub use tar::Entry as TarEntry;
/// What [`TarReader`] found: an entry's header, or a slice of its content.
pub use tar::Event as TarEvent;
/// The push-fed, sans-IO tar reader [`extract`] and [`time`] read layers with.
pub use tar::Reader as TarReader;
/// What a tar problem is: a malformed header or stream, with the byte
/// offset in the layer's uncompressed tar.
pub use tar::TarError;
pub use tar::{TarFormat, TarTime, tar_end_of_archive, tar_header, tar_padding};
