//! Integration tests for ocireg-authn: keychains over real files in temp
//! directories, a real credential-helper script on a temp `PATH`, and
//! login/logout writing docker's config. The environment is always
//! injected; the process environment and the real home are never read.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test set-up and checks: a failed file operation fails the test at its own line"
)]

mod common;
#[cfg(unix)]
mod helper;
mod keychain;
#[cfg(unix)]
mod login;
#[cfg(unix)]
mod logs;
