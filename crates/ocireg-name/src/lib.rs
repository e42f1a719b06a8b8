//! Image references (registries, repositories, tags, digests) with
//! go-containerregistry's exact parsing rules: a port of ggcr's `pkg/name`.
//!
//! This is the bottom crate of ocireg. It does no IO and depends on no
//! other ocireg crate (only `serde` and `thiserror`). Everything above
//! parses names with it: `ocireg-authn` and `ocireg-transport` use
//! [`Registry`], [`Repository`] and their scopes, the remote and crane
//! layers take a [`Reference`]. The content digest type [`Digest`] lives
//! here too, because a digest reference holds one; `ocireg-v1` re-exports
//! it as its hash type.
//!
//! ```
//! use ocireg_name::{Reference, Options};
//!
//! let r = Reference::parse("ubuntu")?;
//! assert_eq!(r.name(), "index.docker.io/library/ubuntu:latest");
//! assert_eq!(r.to_string(), "ubuntu");
//! assert_eq!(r.registry().scheme(), "https");
//! assert_eq!(r.scope(ocireg_name::Action::Pull), "repository:library/ubuntu:pull");
//!
//! // Strict validation refuses every default.
//! assert!(Reference::with_options("ubuntu", &Options::new().strict(true)).is_err());
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # `name()` versus `Display`
//!
//! [`Tag`], [`DigestReference`] and [`Reference`] remember the input as the
//! user wrote it: `Display` (and serde) gives it back unchanged, so messages
//! and round trips show what the user typed. `name()` is the fully
//! qualified form with every default applied, which is what identifies the
//! image: equality, ordering and hashing compare `name()`, and parsing a
//! `name()` gives back an equal value. For [`Registry`] and [`Repository`],
//! `Display` is `name()`, as in ggcr.
//!
//! | input                           | `name()`                                   |
//! |---------------------------------|--------------------------------------------|
//! | `ubuntu`                        | `index.docker.io/library/ubuntu:latest`    |
//! | `docker.io/ubuntu:22.04`        | `index.docker.io/library/ubuntu:22.04`     |
//! | `gcr.io/app:v1@sha256:<hex>`    | `gcr.io/app@sha256:<hex>`                  |
//!
//! # Defaulting rules
//!
//! | part written            | weak (default)                                  | strict         |
//! |-------------------------|-------------------------------------------------|----------------|
//! | no registry             | [`DEFAULT_REGISTRY`] or [`Options::default_registry`] | error    |
//! | registry `docker.io`    | `index.docker.io` (the only alias)              | same           |
//! | `index.docker.io/x`     | repository `library/x`                          | error          |
//! | `other.io/x`            | repository `x` (`library/` is Hub only)         | same           |
//! | no tag and no digest    | [`DEFAULT_TAG`] or [`Options::default_tag`]     | error          |
//!
//! The first path component is a registry only if a `/` follows it and it
//! is `localhost` or contains `.` or `:`. So `gcr.io` alone is the Docker
//! Hub repository `library/gcr.io`, and `localhost:5000` alone is the Hub
//! repository `library/localhost` with tag `5000`.
//!
//! # Differences from ggcr
//!
//! * Digest references accept `sha512` as well as `sha256`.
//! * Parse errors say which rule the input broke, also for
//!   [`Reference::parse`] (ggcr: "could not parse reference").
//! * [`Repository::tag`] checks the tag grammar (ggcr builds any tag).
//! * A tag written next to a digest is kept ([`DigestReference::tag_str`]).
//! * Configured defaults are validated when they are used.

#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

pub use action::Action;
pub use digest::{Algorithm, Digest, DigestRule};
pub use digest_reference::DigestReference;
pub use error::{Error, RegistryRule, RepositoryRule, StrictRule, TagRule};
pub use options::{DEFAULT_REGISTRY, DEFAULT_TAG, Options};
pub use reference::Reference;
pub use registry::Registry;
pub use repository::Repository;
pub use tag::Tag;

mod action;
mod digest;
mod digest_reference;
mod error;
mod options;
mod reference;
mod registry;
mod repository;
mod scheme;
mod string_form;
mod tag;
