//! Integration tests for ocireg-authn: keychains over real files in temp
//! directories, a real credential-helper script on a temp `PATH`, and
//! login/logout writing docker's config. The environment is always
//! injected; the process environment and the real home are never read.

mod common;
#[cfg(unix)]
mod helper;
mod keychain;
#[cfg(unix)]
mod login;
#[cfg(unix)]
mod logs;
