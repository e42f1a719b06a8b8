//! The image model (a port of ggcr's `pkg/v1`). Work in progress for issue 2:
//! the crate doc with its runnable example is written when the API settles.

// ---- shared ----
mod blob;
mod error;
pub use blob::{Blob, BoxByteStream};
pub use error::{BackendError, Error, Result};
pub use ocireg_name::{Algorithm, Digest};

// ---- value types and JSON (model) ----

// ---- views, streams and fixtures ----
