//! The crate's [`Error`].

use ocireg_v1::Digest;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong deriving an image or reading a derived one.
///
/// Views ([`ocireg_v1::Image`] and friends) report through
/// [`ocireg_v1::Error`]; errors of this crate travel inside it as
/// [`ocireg_v1::Error::Backend`] and come back with
/// [`std::error::Error::source`] or [`ocireg_v1::BackendError::get_ref`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the image being changed failed.
    #[error("reading the image")]
    Image(#[source] ocireg_v1::Error),
    /// Reading one of its layers failed.
    #[error("reading layer {index} of the image")]
    Layer {
        /// The layer's position, base first.
        index: usize,
        /// The cause.
        #[source]
        source: ocireg_v1::Error,
    },
    /// A layer is not a well-formed tar.
    #[error("reading the tar of layer {index}")]
    Tar {
        /// The layer's position, base first.
        index: usize,
        /// What is wrong.
        #[source]
        source: crate::tar::TarError,
    },
    /// A layer's tar does not hash to the diff id the config lists for it.
    #[error(
        "layer {index}: diff id mismatch: the config says {expected}, the tar hashes to {actual}"
    )]
    DiffIdMismatch {
        /// The layer's position, base first.
        index: usize,
        /// The config's diff id.
        expected: Digest,
        /// The hash of the tar.
        actual: Digest,
    },
    /// A tar member's path could land outside the root.
    #[error("unsafe path {path:?} in a layer: {reason}")]
    UnsafePath {
        /// The path as written in the tar.
        path: String,
        /// Why it is unsafe.
        reason: &'static str,
    },
    /// The same, with the layer it is in.
    #[error("layer {index}")]
    InLayer {
        /// The layer's position, base first.
        index: usize,
        /// The error.
        #[source]
        source: Box<Self>,
    },
    /// An addendum without a layer that is not marked as an empty layer.
    #[error(
        "unable to add a nil layer to the image: an addendum without a layer must have history.empty_layer set"
    )]
    NilLayer,
    /// The image to rebase does not start with the old base's layers.
    #[error("the image is not based on the old base: {reason}")]
    NotBasedOn {
        /// What differs.
        reason: String,
    },
    /// A history lists more layers than the image has.
    #[error("the history lists more layers than the image's {layers}")]
    MalformedHistory {
        /// How many layers the image has.
        layers: usize,
    },
}

impl Error {
    pub(crate) fn in_layer(self, index: usize) -> Self {
        Self::InLayer {
            index,
            source: Box::new(self),
        }
    }
}

impl From<Error> for ocireg_v1::Error {
    fn from(e: Error) -> Self {
        match e {
            // Keep the view's own error (and its transience) as it is.
            Error::Image(e) => e,
            other => {
                let transient =
                    matches!(&other, Error::Layer { source, .. } if source.is_transient());
                Self::backend(other, transient)
            }
        }
    }
}
