//! The crate's error type, shared by every `Layer`, `Image` and `ImageIndex`
//! implementation (remote, layout, tarball, mutate...).

use ocireg_name::Digest;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the image model and its views.
///
/// Other crates report their own failures through [`Error::Backend`], so that
/// `Arc<dyn Image>` from any source share one error type; [`Error::is_transient`]
/// looks through it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Content did not hash to the digest it was addressed by.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest the content was expected to have.
        expected: Digest,
        /// The digest of the bytes actually seen.
        actual: Digest,
    },
    /// Content did not have the size it was declared with.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The digest of the content whose size was wrong.
        digest: Digest,
        /// The declared size.
        expected: u64,
        /// The size actually seen (at least this many bytes, for content that was too long).
        actual: u64,
    },
    /// A name or digest did not parse.
    #[error(transparent)]
    Name(#[from] ocireg_name::Error),
    /// An I/O error while reading a blob stream.
    #[error("failed to read blob")]
    Io(#[source] std::io::Error),
    /// A document was larger than the limit set for reading it into memory.
    #[error("refusing to read {size} bytes into memory (limit {limit})")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The size announced or reached.
        size: u64,
    },
    /// Something requested is not there (a layer, a child manifest...).
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, e.g. `layer sha256:...`.
        what: String,
    },
    /// A JSON document (manifest, index, config...) could not be parsed.
    #[error("failed to parse {what} JSON")]
    Json {
        /// What was being parsed, e.g. `image manifest`.
        what: &'static str,
        /// The parser's error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be encoded as JSON (e.g. a time outside years 0-9999).
    #[error("failed to encode {what} as JSON")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// A JSON document was not valid UTF-8.
    #[error("{what} is not valid UTF-8 (at byte {offset})")]
    InvalidUtf8 {
        /// What was being parsed.
        what: &'static str,
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A JSON object had the same key twice, which parsers resolve differently.
    #[error("duplicate key {key:?} in {what}")]
    DuplicateKey {
        /// What was being parsed.
        what: &'static str,
        /// The repeated key.
        key: String,
    },
    /// A document could be read as more than one kind (CVE-2021-41190), or as
    /// a kind other than the one expected.
    #[error("ambiguous {what}: {reason}")]
    AmbiguousDocument {
        /// The kind of document expected, e.g. `image index`.
        what: &'static str,
        /// Why it is ambiguous, e.g. `it has both "manifests" and "layers"`.
        reason: String,
    },
    /// A media type was not one that fits where it was found.
    #[error("unexpected media type {media_type:?} for {what}")]
    UnexpectedMediaType {
        /// What was being parsed or looked at.
        what: &'static str,
        /// The media type found.
        media_type: String,
    },
    /// A platform string did not parse.
    #[error("invalid platform {input:?}: {reason}")]
    InvalidPlatform {
        /// The input as given.
        input: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// A timestamp did not parse as RFC 3339.
    #[error("invalid time {input:?}: {reason}")]
    InvalidTime {
        /// The input as given.
        input: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// Compressed data was corrupt, truncated, or followed by bytes that start
    /// no further gzip member or zstd frame.
    ///
    /// The source says what was wrong; its kind is `UnexpectedEof` when the
    /// compressed stream ended early and `InvalidData` otherwise.
    #[error("failed to decompress {compression} data at compressed byte {offset}")]
    Decompress {
        /// The compression being decoded.
        compression: crate::Compression,
        /// How many compressed bytes the decoder had consumed when it failed.
        offset: u64,
        /// The decoder's description of the problem.
        #[source]
        source: std::io::Error,
    },
    /// Decompressed output grew past the configured limit (a decompression-bomb guard).
    #[error("decompressed data exceeds the limit of {limit} bytes (compression: {compression})")]
    DecompressedTooLarge {
        /// The compression being decoded ([`crate::Compression::None`] for pass-through data).
        compression: crate::Compression,
        /// The limit in bytes.
        limit: u64,
    },
    /// A one-shot stream (ggcr's `stream.Layer`) was taken a second time.
    #[error("stream was already consumed")]
    Consumed,
    /// A value of a streaming layer is known only once its stream has been
    /// read to the end (ggcr's `stream.ErrNotComputed`).
    #[error("{value} not computed until the stream is consumed")]
    NotComputed {
        /// Which value was asked for: `digest`, `diff id` or `size`.
        value: &'static str,
    },
    /// The implementation does not support this operation.
    #[error("not supported: {operation}")]
    Unsupported {
        /// What was asked for, e.g. `uncompressed stream of a streaming layer`.
        operation: &'static str,
    },
    /// An image's manifest lists a different number of layers than its config
    /// lists diff ids, so layers cannot be mapped to diff ids by position.
    #[error("manifest has {layers} layers but config has {diff_ids} diff ids")]
    LayerCountMismatch {
        /// Number of layers in the manifest.
        layers: usize,
        /// Number of `rootfs.diff_ids` in the config.
        diff_ids: usize,
    },
    /// An image, index or layer broke invariants of the format (from
    /// [`crate::validate`]); every problem found is listed.
    #[error("{what} is invalid:\n  - {}", problems.join("\n  - "))]
    Invalid {
        /// What was validated, e.g. `image sha256:...`.
        what: String,
        /// One line per problem found, e.g. `layer[0]: digest sha256:... but
        /// compressed stream hashes to sha256:...`.
        problems: Vec<String>,
    },
    /// An error from an implementation in another crate (remote, layout, tarball...).
    #[error(transparent)]
    Backend(BackendError),
}

/// An error from another crate carried through [`Error::Backend`]: it displays
/// as that error and keeps its cause chain, plus that crate's verdict on
/// whether retrying may help.
#[derive(Debug)]
pub struct BackendError {
    inner: Box<dyn std::error::Error + Send + Sync + 'static>,
    transient: bool,
}

impl BackendError {
    /// The wrapped error, for downcasting to the other crate's type.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.inner.as_ref()
    }

    /// Whether the other crate judged the error transient.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl Error {
    /// Wraps an error from another crate, with that crate's verdict on whether
    /// retrying may help.
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static, transient: bool) -> Self {
        Self::Backend(BackendError {
            inner: Box::new(err),
            transient,
        })
    }

    /// Recovers a typed error carried inside an `io::Error` (as blob streams do),
    /// or wraps a plain I/O error.
    pub fn from_io(err: std::io::Error) -> Self {
        if !err
            .get_ref()
            .is_some_and(<dyn std::error::Error + Send + Sync>::is::<Self>)
        {
            return Self::Io(err);
        }
        let kind = err.kind();
        match err
            .into_inner()
            .map(<dyn std::error::Error + Send + Sync>::downcast::<Self>)
        {
            Some(Ok(ours)) => *ours,
            Some(Err(other)) => Self::Io(std::io::Error::new(kind, other)),
            None => Self::Io(kind.into()),
        }
    }

    /// Puts this error inside an `io::Error`, to travel through a blob stream;
    /// [`Error::from_io`] takes it out again.
    pub fn into_io(self) -> std::io::Error {
        match self {
            Self::Io(e) => e,
            other => std::io::Error::other(other),
        }
    }

    /// Whether retrying the operation may succeed (a dropped connection, a 503...).
    ///
    /// Digest and size mismatches are never transient: the content is wrong.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Io(e) => io_is_transient(e),
            Self::Backend(b) => b.transient,
            _ => false,
        }
    }
}

fn io_is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    if let Some(inner) = e.get_ref()
        && let Some(ours) = inner.downcast_ref::<Error>()
    {
        return ours.is_transient();
    }
    matches!(
        e.kind(),
        K::ConnectionReset
            | K::ConnectionAborted
            | K::ConnectionRefused
            | K::BrokenPipe
            | K::TimedOut
            | K::UnexpectedEof
            | K::Interrupted
    )
}
