//! The behaviour behind the `crane` command line tool: a port of
//! go-containerregistry's `pkg/crane`.
//!
//! # Where it fits
//!
//! This is the top of the library stack. It turns strings (references,
//! registries, platforms) into the typed values of `ocireg-name` and
//! `ocireg-v1`, finds credentials through `ocireg-authn`, talks to registries
//! through `ocireg-transport` (and the remote layer above it), and runs the
//! embedded `ocireg-registry`. The `crane` binary (`tools/crane`) only parses
//! flags, calls one function of this crate, prints the result and draws
//! progress; everything a command *does* lives here, so other programs can
//! do the same without a shell.
//!
//! Each operation is one async function taking its required inputs
//! (references as strings, files) and an [`Options`] value with the
//! defaultable settings (ggcr's `crane.Option`s). None of them builds a
//! runtime: inside one, `.await` them; from synchronous code, [`run`] drives
//! one to completion (as the binary does), and [`within`] bounds one by a time
//! limit.
//!
//! # The operations, by family
//!
//! One module per family of commands, each on top of the shared setup
//! (`setup`: the remote layer's options for an [`Options`], the context an
//! operation adds to a failure, progress):
//!
//! | family | module | operations |
//! |---|---|---|
//! | read from a registry | `read` | [`manifest`], [`digest`], [`config`], [`blob`], [`blob_to_file`], [`list_tags`] (`ls`), [`catalog`], [`referrers`] (`refs`) |
//! | copy and write in a registry | `write` | [`copy`], [`copy_repository`] (`copy --all-tags`), [`tag`], [`delete`], [`delete_tag`] (`delete --tag-only`) |
//! | Docker Hub | `hub`, `ratelimit` | [`HubApi`] (tag deletion through Hub's web API), [`ratelimit`] |
//! | artifacts | `artifacts` | [`attach`]; the referrers a `copy --referrers` carries along |
//! | credentials | `auth` | [`auth_login`], [`auth_logout`], [`auth_get`], [`auth_token`] |
//! | the embedded registry | `serve` | [`registry_serve`], [`interrupted`] |
//! | per-registry settings | `settings` | [`RegistrySettings`] (`registry set`/`config`), read by [`Options::with_registry_settings_from_environment`] |
//! | images on disk | `local` | [`pull`], [`push`], [`tarball_digest`] (`digest --tarball`), [`layout_gc`] (`layout gc`); `ocidir://` references in `copy` (and `--all-tags`), `manifest`, `digest`, `config`, `blob`, `ls`, `tag`, `delete`, `attach`, `refs` |
//! | changing images | `mutate` | [`append`], [`mutate()`], [`flatten`], [`rebase`], [`export`] / [`export_to_file`] |
//!
//! A
//! reference to an image on disk (`ocidir://dir:tag`, `./dir`) given to a
//! command that does not take it (`auth token`; a path without `ocidir://`
//! anywhere) is refused as a usage error ([`Error::LocalImage`]) rather than
//! taken for a registry host.
//!
//! # Three things people come for
//!
//! Each example runs against the embedded registry, started (and given an
//! image, `HOST/team/app:v1`) by lines hidden from the listing.
//!
//! Get a manifest, exactly as the registry sent it:
//!
//! ```
//! # ocireg_crane::run(async {
//! # let registry = ocireg_crane::registry_serve(Some("127.0.0.1:0"), None, &ocireg_crane::Options::new()).await?;
//! # let host = registry.host();
//! # let image = ocireg_v1::random::image(512, 1, 7)?;
//! # let remote = ocireg_remote::Options::builder().build()?;
//! # ocireg_remote::write_image(&format!("{host}/team/app:v1").parse()?, image, &remote).await?;
//! use ocireg_crane::Options;
//!
//! let opts = Options::new();
//! let manifest = ocireg_crane::manifest(&format!("{host}/team/app:v1"), &opts).await?;
//! println!("{}", String::from_utf8_lossy(&manifest));
//! # let digest = ocireg_crane::digest(&format!("{host}/team/app:v1"), false, &opts).await?;
//! # assert_eq!(digest, ocireg_v1::sha256(&manifest).to_string());
//! # registry.shutdown().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Copy an image, keeping its digest:
//!
//! ```
//! # ocireg_crane::run(async {
//! # let registry = ocireg_crane::registry_serve(Some("127.0.0.1:0"), None, &ocireg_crane::Options::new()).await?;
//! # let host = registry.host();
//! # let image = ocireg_v1::random::image(512, 1, 7)?;
//! # let remote = ocireg_remote::Options::builder().build()?;
//! # ocireg_remote::write_image(&format!("{host}/team/app:v1").parse()?, image, &remote).await?;
//! use ocireg_crane::Options;
//!
//! let opts = Options::new().with_jobs(8);
//! let (src, dst) = (format!("{host}/team/app:v1"), format!("{host}/mirror/app:v1"));
//! let copied = ocireg_crane::copy(&src, &dst, &opts).await?;
//! assert_eq!(copied.to_string(), ocireg_crane::digest(&src, false, &opts).await?);
//! # registry.shutdown().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Attach a file (an SBOM, a signature) to an image, and find it again:
//!
//! ```
//! # ocireg_crane::run(async {
//! # let registry = ocireg_crane::registry_serve(Some("127.0.0.1:0"), None, &ocireg_crane::Options::new()).await?;
//! # let host = registry.host();
//! # let image = ocireg_v1::random::image(512, 1, 7)?;
//! # let remote = ocireg_remote::Options::builder().build()?;
//! # ocireg_remote::write_image(&format!("{host}/team/app:v1").parse()?, image, &remote).await?;
//! # let dir = tempfile::tempdir()?;
//! # let sbom = dir.path().join("sbom.json");
//! # fs_err::write(&sbom, r#"{"spdxVersion":"SPDX-2.3"}"#)?;
//! use ocireg_crane::Options;
//!
//! let opts = Options::new();
//! let image = format!("{host}/team/app:v1");
//! let sbom_type = "application/spdx+json";
//! let artifact = ocireg_crane::attach(&sbom, sbom_type, sbom_type, &image, &opts).await?;
//! let index = ocireg_crane::referrers(&image, Some(sbom_type), &opts).await?;
//! let digest = artifact.rsplit('@').next().unwrap_or_default();
//! assert!(String::from_utf8(index)?.contains(digest));
//! # registry.shutdown().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/tour.rs` does all of this and more end to end (`cargo run -p
//! ocireg-crane --example tour`).
//!
//! # Errors, progress and registry text
//!
//! Failures are one [`Error`] whose [`kind`](Error::kind) is the exit-code
//! class ([`ErrorKind`]: usage, not found, auth, other) and whose
//! [`hint`](Error::hint) says what to try; [`Report`] renders the one-line
//! or verbose form. The progress of operations that move blobs goes to a
//! [`Progress`] front end, which draws what the operation's [`ProgressTracker`]
//! (ocireg-v1's) counts; registry `Warning` headers are collected in
//! [`Warnings`]. Both are set on the options.
//!
//! Text a registry chose (error messages, warnings, tag names, annotations)
//! can hold terminal escape sequences: [`Report`] escapes it, and a program
//! that prints other registry text passes it through [`escape_text`] (or
//! [`escape_json`] for JSON) first. Data (manifests, configs, blobs) is
//! returned as the registry sent it.
//!
//! # Where we differ from ggcr
//!
//! - `--insecure` is one option that allows plain http *and* skips TLS
//!   verification, as in crane, but loopback and private addresses use
//!   http without it (ocireg-name's rule).
//! - `auth token` prints `token`, `refresh_token` and `expires_in` as ggcr
//!   does, but not ggcr's copy of an OAuth2 `access_token`: `token` holds it.
//! - `registry serve` turns on the referrers API of the embedded registry.

pub use ocireg_authn::{LoginOutcome, LogoutOutcome, Secret, Stored};
pub use ocireg_registry::RunningRegistry;
pub use ocireg_transport::{RateLimit, parse_rate_limit, parse_warning_header};
pub use ocireg_v1::{Digest, Platform};

pub use crate::artifacts::attach;
pub use crate::auth::{
    CREDENTIALS_NOT_FOUND, Credentials, Token, auth_get, auth_login, auth_logout, auth_token,
    read_password,
};
pub use crate::edit::{edit_config, edit_manifest};
pub use crate::edit_fs::{EDIT_FS_LIMIT, FileEdit, edit_fs};
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::hub::{HUB_API_URL, HubApi, HubAuthScheme};
pub use crate::index::{
    AppendBase, IndexEntry, index_append, index_filter, index_list, is_layout_path,
};
pub use crate::local::{
    PullFormat, REF_NAME_ANNOTATION, layout_gc, pull, push, tarball_digest, write_image_refs,
};
pub use crate::mutate::{
    AppendOptions, BASE_DIGEST_ANNOTATION, BASE_NAME_ANNOTATION, MutateOptions, append, export,
    export_to_file, export_to_writer, flatten, mutate, rebase,
};
pub use crate::options::{DEFAULT_JOBS, Options};
pub use crate::progress::{
    BlobOutcome, BlobProgress, Direction, NoProgress, Progress, ProgressEvent, ProgressSnapshot,
    ProgressTracker, Summary, human_bytes,
};
pub use crate::ratelimit::ratelimit;
pub use crate::read::{
    MAX_BLOB_SIZE, blob, blob_to_file, catalog, config, digest, list_tags, manifest, referrers,
};
pub use crate::report::Report;
pub use crate::runtime::{run, within};
pub use crate::serve::{interrupted, registry_serve, serve_address};
pub use crate::settings::{
    HostApi, HostSettings, MAX_SETTINGS_SIZE, RegistrySettings, SETTINGS_PATH_VAR, TlsMode,
    registry_key, settings_path,
};
pub use crate::template::{Template, go_field_name};
pub use crate::text::{escape_json, escape_lines, escape_text, is_unsafe_char};
pub use crate::validate::{validate_remote, validate_tarball};
pub use crate::warnings::Warnings;
pub use crate::write::{
    PLACEHOLDER_NONCE_ANNOTATION, PLACEHOLDER_TAG_ANNOTATION, TagDeletion, copy, copy_repository,
    delete, delete_tag, tag,
};

/// The version of crane and of this library.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version `crane version` prints.
#[must_use]
pub fn version() -> &'static str {
    VERSION
}

/// The user agent suffix crane sends after `ocireg/<version>`.
#[must_use]
pub fn user_agent_suffix() -> String {
    format!("crane/{VERSION}")
}

// Shared by the families.
mod error;
mod options;
mod progress;
mod report;
mod runtime;
mod setup;
mod template;
mod text;
mod warnings;

// The families of operations.
mod artifacts;
mod auth;
mod cache;
mod edit;
mod edit_fs;
mod hub;
mod index;
mod local;
mod mutate;
mod ocidir;
mod ratelimit;
mod read;
mod serve;
mod settings;
mod validate;
mod write;
