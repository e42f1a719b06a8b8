//! Image references with go-containerregistry's exact parsing rules (a port of
//! ggcr's `pkg/name`). Stub: the full crate doc and API land with issue 2.

mod digest;
mod error;

pub use digest::{Algorithm, Digest, DigestRule};
pub use error::Error;
