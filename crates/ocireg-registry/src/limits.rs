//! The registry's limits and timeouts: what a client may make it hold, and
//! for how long.
//!
//! Each `DEFAULT_*` value can be changed on the
//! [`RegistryBuilder`](crate::RegistryBuilder); the others are fixed.

use std::time::Duration;

/// The default cap on the size of one manifest: 4 MiB (4,194,304 bytes).
///
/// The distribution spec asks registries to handle manifests of at least
/// 4 MB and to answer 413 above their limit; the conformance suite's largest
/// manifest is about 3.9 MB. A larger PUT gets 413 `SIZE_INVALID`. Set with
/// [`RegistryBuilder::max_manifest_size`](crate::RegistryBuilder::max_manifest_size).
pub const DEFAULT_MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// The default time a client has to send a request's headers: 30 seconds.
///
/// It runs from the moment the server waits for a request (a new
/// connection, or an idle kept-alive one) until the last header line, so a
/// slowloris client that dribbles its headers, or opens connections and
/// sends nothing, is cut off. Set with
/// [`RegistryBuilder::header_read_timeout`](crate::RegistryBuilder::header_read_timeout).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time a request body may go without a byte: 60 seconds.
///
/// A client that stops sending in the middle of a body (an upload, a
/// manifest) gets 408 and the connection is closed; the bytes of an upload
/// received so far are kept, so it can resume. Set with
/// [`RegistryBuilder::body_idle_timeout`](crate::RegistryBuilder::body_idle_timeout).
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The default number of connections served at once: 256.
///
/// Past it the server stops accepting (new connections wait in the
/// listener's backlog) until one closes. Each connection may also hold a
/// blob file open, so with [`DEFAULT_MAX_UPLOAD_SESSIONS`] this keeps the
/// registry under the common limit of 1,024 open files. Set with
/// [`RegistryBuilder::max_connections`](crate::RegistryBuilder::max_connections).
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// The default time an upload session may sit unused: 1 hour.
///
/// A session not written to (by its `POST` or a `PATCH`) for this long,
/// and not being written to, is dropped with
/// its bytes (memory freed, temporary file removed); a later PATCH, PUT or
/// status GET of it gets 404 `BLOB_UPLOAD_UNKNOWN`. Like distribution's
/// upload purging (which keeps sessions a week), but in the time scale of
/// a test server. Set with
/// [`RegistryBuilder::upload_idle_timeout`](crate::RegistryBuilder::upload_idle_timeout).
pub const DEFAULT_UPLOAD_IDLE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The default number of upload sessions open at once: 256.
///
/// A `POST` that would open one more gets 429 `TOOMANYREQUESTS` with
/// `Retry-After` ([`UPLOAD_RETRY_AFTER`]). With disk storage each session
/// holds an open temporary file, so this and [`DEFAULT_MAX_CONNECTIONS`]
/// together keep the registry under the common limit of 1,024 open files.
/// Set with
/// [`RegistryBuilder::max_upload_sessions`](crate::RegistryBuilder::max_upload_sessions).
pub const DEFAULT_MAX_UPLOAD_SESSIONS: usize = 256;

/// The `Retry-After` of a 429 for too many upload sessions: 10 seconds.
pub const UPLOAD_RETRY_AFTER: Duration = Duration::from_secs(10);

/// How often a serving registry looks for expired upload sessions, at
/// most: every 60 seconds (every quarter of the upload idle timeout when
/// that is shorter, but not more often than every 10 ms). Every upload
/// request also drops the expired sessions first.
pub const MAX_UPLOAD_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// How long shutdown waits for requests in flight before cutting them off:
/// 10 seconds.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// At most this much of a request body that a handler left unread is read
/// and discarded before answering, so that the connection stays usable:
/// 8 MiB.
pub const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;

/// The default cap on client data held in memory: 2 GiB.
///
/// It covers every manifest, and with [`Storage::Memory`](crate::Storage::Memory)
/// also every blob and every upload in progress. Data that would go over
/// it is refused with 507 `SIZE_INVALID` (413 when a single body is
/// declared larger than the whole cap), instead of growing without bound.
/// Set with [`RegistryBuilder::memory_limit`](crate::RegistryBuilder::memory_limit).
pub const DEFAULT_MEMORY_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

/// The most `?tag=` parameters one manifest PUT may carry: 64.
///
/// Each applied tag is echoed in an `OCI-Tag` response header, and common
/// HTTP clients refuse responses with more than 100 headers. More gets 400
/// `MANIFEST_INVALID`.
pub const MAX_TAGS_PER_PUSH: usize = 64;

/// The largest page of a tag list or catalog served, whatever `n` asks for:
/// 10,000 entries (distribution's CVE-2023-2253 was an unbounded `n`); more
/// follows through `Link`.
pub const MAX_PAGE: usize = 10_000;

/// The limits one registry applies, as set on its builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// See [`DEFAULT_MAX_MANIFEST_SIZE`].
    pub(crate) max_manifest_size: u64,
    /// See [`DEFAULT_MEMORY_LIMIT`].
    pub(crate) memory_limit: u64,
    /// See [`DEFAULT_HEADER_READ_TIMEOUT`].
    pub(crate) header_read_timeout: Duration,
    /// See [`DEFAULT_BODY_IDLE_TIMEOUT`].
    pub(crate) body_idle_timeout: Duration,
    /// See [`DEFAULT_MAX_CONNECTIONS`].
    pub(crate) max_connections: usize,
    /// See [`DEFAULT_UPLOAD_IDLE_TIMEOUT`].
    pub(crate) upload_idle_timeout: Duration,
    /// See [`DEFAULT_MAX_UPLOAD_SESSIONS`].
    pub(crate) max_upload_sessions: usize,
}

impl Limits {
    /// How often the server drops expired upload sessions (see
    /// [`MAX_UPLOAD_SWEEP_INTERVAL`]).
    pub(crate) fn upload_sweep_interval(&self) -> Duration {
        (self.upload_idle_timeout / 4).clamp(Duration::from_millis(10), MAX_UPLOAD_SWEEP_INTERVAL)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_manifest_size: DEFAULT_MAX_MANIFEST_SIZE,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            upload_idle_timeout: DEFAULT_UPLOAD_IDLE_TIMEOUT,
            max_upload_sessions: DEFAULT_MAX_UPLOAD_SESSIONS,
        }
    }
}
