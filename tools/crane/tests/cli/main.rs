//! Runs the built `crane` binary: exit codes, stdout and stderr.
//!
//! Every run gets a fresh HOME and DOCKER_CONFIG and an otherwise empty
//! environment, so no credentials or settings of the machine leak in.

mod auth;
mod basics;
mod blob;
mod dockerhub;
mod edit_fs;
mod escapes;
mod format;
mod help;
mod hostile;
mod index;
mod local;
mod mutate;
mod ocidir;
mod progress;
mod pull_cache;
mod pull_push;
mod registry;
mod remote;
mod settings;
mod support;
mod terminal;
mod token;
mod warnings;
