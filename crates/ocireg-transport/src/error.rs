//! The crate's error type and the registry error body (`{"errors": [...]}`) decoder.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use http::{Method, StatusCode};
use serde::Deserialize;

/// A boxed error from a lower layer (hyper, rustls, io).
pub(crate) type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// At most this many bytes of a non-JSON error body are shown in a message.
pub(crate) const SHOWN_BODY_LIMIT: usize = 1024;

/// Everything that can go wrong while talking to a registry.
///
/// Messages say what we were doing and, where it helps, what to do. URLs are always redacted
/// ([`crate::redact_url`]); no variant carries a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built (bad URL, bad header, missing host).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// A CA bundle, client certificate or key could not be read or parsed.
    #[error("loading TLS material from {path}: {reason}")]
    TlsConfig {
        /// The file or directory.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A CA bundle or a `certs.d` directory could not be read. The cause (an `fs_err`
    /// error) names the path, so the message does not repeat it.
    #[error("loading TLS material")]
    TlsFile {
        /// The file or directory.
        path: PathBuf,
        /// The cause, which names the path.
        #[source]
        source: io::Error,
    },
    /// Connecting (TCP, proxy tunnel or TLS handshake) failed.
    #[error("connecting to {host}")]
    Connect {
        /// `host:port` we were connecting to.
        host: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The request failed after the connection was made (reset, early close...).
    #[error("{method} {url} failed")]
    Request {
        /// The method.
        method: Method,
        /// The redacted URL.
        url: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A timeout fired.
    #[error("{method} {url}: timed out after {after:?} waiting for {phase}")]
    Timeout {
        /// The method.
        method: Method,
        /// The redacted URL.
        url: String,
        /// What we were waiting for.
        phase: TimeoutPhase,
        /// The configured limit.
        after: Duration,
    },
    /// The registry answered with an unexpected status.
    #[error(transparent)]
    Registry(Box<RegistryError>),
    /// The registry wants credentials and we had none.
    #[error("{method} {url}: authentication required for {registry}")]
    AuthenticationRequired {
        /// The registry (`host[:port]`).
        registry: String,
        /// The method.
        method: Method,
        /// The redacted URL.
        url: String,
    },
    /// Our credentials were rejected (by the registry or by its token service).
    #[error("{method} {url}: authentication failed for {registry} (status {status})")]
    AuthenticationFailed {
        /// The registry (`host[:port]`).
        registry: String,
        /// The method.
        method: Method,
        /// The redacted URL that refused (the registry or its token realm).
        url: String,
        /// The status (401 or 403).
        status: StatusCode,
    },
    /// The registry asked us to wait longer than we are willing to.
    #[error(
        "{method} {url}: rate limited by {registry}: it asks to retry after {retry_after:?}, more than the {max_wait:?} we wait; try again later"
    )]
    RateLimited {
        /// The registry (`host[:port]`).
        registry: String,
        /// The method.
        method: Method,
        /// The redacted URL.
        url: String,
        /// How long the registry asked us to wait.
        retry_after: Duration,
        /// The configured maximum wait.
        max_wait: Duration,
    },
    /// The token service answered something unusable.
    #[error("token response from {realm} for {registry}: {reason}")]
    TokenResponse {
        /// The registry (`host[:port]`).
        registry: String,
        /// The redacted realm URL.
        realm: String,
        /// What is wrong.
        reason: String,
    },
    /// A registry-supplied URL (realm, redirect, upload location, link) was refused.
    #[error("refusing {what} {url} from {registry}: {reason}")]
    UnsafeUrl {
        /// The registry (`host[:port]`).
        registry: String,
        /// Where the URL came from (`token realm`, `redirect`, ...).
        what: &'static str,
        /// The redacted URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// More redirects than allowed.
    #[error("{method} {url}: stopped after {max} redirects")]
    TooManyRedirects {
        /// The method.
        method: Method,
        /// The redacted original URL.
        url: String,
        /// The limit.
        max: usize,
    },
    /// The registry sent a challenge we cannot answer or a malformed one.
    #[error("{registry}: {reason}")]
    Challenge {
        /// The registry (`host[:port]`).
        registry: String,
        /// What is wrong.
        reason: String,
    },
    /// A host the registry redirected to (a CDN or blob storage, with a signed URL) refused
    /// the request with 401 or 403. Not the user's credentials (they are never sent there):
    /// usually a signed URL that expired. Transient: asking the registry again gets a new
    /// redirect.
    #[error(
        "{method} {url}: {host}, where {registry} redirected the request, refused it with status {status} (not a problem with your credentials: a signed URL may have expired)"
    )]
    RedirectRefused {
        /// The registry (`host[:port]`).
        registry: String,
        /// The host that refused.
        host: String,
        /// The method.
        method: Method,
        /// The redacted URL that refused.
        url: String,
        /// The status (401 or 403).
        status: StatusCode,
    },
    /// Pinging the registry failed over https and over http (after the retry policy's
    /// attempts when the failures were transient).
    ///
    /// The error's source is the failure that says most about the registry: the scheme that
    /// got further (an answer beats a timeout waiting for one, which beats a refused
    /// connection, which beats a failed or timed-out TLS handshake, the usual fate of https
    /// against a plain-http registry); on a tie, https. The other scheme's failure is summed
    /// up in the message.
    #[error(
        "pinging {registry} failed over https and over http{} ({}: {})",
        after_attempts(*.attempts),
        other_scheme(.scheme),
        summary(.other)
    )]
    Ping {
        /// The registry (`host[:port]`).
        registry: String,
        /// How many times the https/http race was run (1 when nothing was worth retrying).
        attempts: u32,
        /// The scheme of [`error`](Self::Ping::error): `https` or `http`.
        scheme: &'static str,
        /// The last attempt's error over `scheme`.
        #[source]
        error: Box<Self>,
        /// The last attempt's error over the other scheme.
        other: Box<Self>,
    },
    /// The authenticator could not produce credentials.
    #[error("getting credentials for {registry}")]
    Credentials {
        /// The registry (`host[:port]`).
        registry: String,
        /// The cause.
        #[source]
        source: ocireg_authn::Error,
    },
    /// Reading a response body failed.
    #[error("reading the response body of {method} {url}")]
    Body {
        /// The method.
        method: Method,
        /// The redacted URL.
        url: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A response body was larger than the limit for its kind.
    #[error("{method} {url}: response body exceeds the {limit} byte limit")]
    BodyTooLarge {
        /// The method.
        method: Method,
        /// The redacted URL.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A streaming request body cannot be sent again (for a retry, a redirect or a re-auth).
    #[error("{method} {url}: cannot {action} with a streaming request body; retry the operation")]
    NotReplayable {
        /// The method.
        method: Method,
        /// The redacted URL.
        url: String,
        /// What needed the body again.
        action: &'static str,
    },
}

/// What a [`Error::Timeout`] was waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// TCP connect (and proxy tunnel).
    Connect,
    /// The TLS handshake.
    TlsHandshake,
    /// The response status line and headers.
    ResponseHeaders,
    /// The next chunk of the response body.
    IdleRead,
    /// The response body, which arrived slower than the minimum average rate
    /// ([`Timeouts::min_body_rate`](crate::Timeouts::min_body_rate) after
    /// [`Timeouts::body_grace`](crate::Timeouts::body_grace)): a trickling server.
    SlowBody,
    /// The registry to take more of the request body (an upload it stopped reading).
    RequestBody,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "the connection",
            Self::TlsHandshake => "the TLS handshake",
            Self::ResponseHeaders => "the response headers",
            Self::IdleRead => "more of the response body",
            Self::SlowBody => "the response body, which arrived below the minimum rate",
            Self::RequestBody => "the registry to read more of the request body",
        })
    }
}

/// The ping scheme that is not `scheme`.
fn other_scheme(scheme: &str) -> &'static str {
    if scheme == "https" { "http" } else { "https" }
}

/// An error and its root cause on one line (`connecting to h: Connection refused`), the
/// intermediate wrappers left out.
pub(crate) fn summary(e: &(dyn StdError + 'static)) -> String {
    let top = e.to_string();
    let Some(root) = std::iter::successors(e.source(), |&c| c.source()).last() else {
        return top;
    };
    let root = root.to_string();
    if top.contains(&root) {
        top
    } else {
        format!("{top}: {root}")
    }
}

/// ` after N attempts` when there was more than one.
fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// A crate-wide result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether retrying the same request may succeed: 408, 429, 500, 502, 503 and 504 (or
    /// diagnostics that are all temporary codes), resets, refused connections, early EOF and
    /// timeouts. Certificate errors, other 4xx, auth failures and rate limits beyond our wait
    /// are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Registry(e) => e.is_transient(),
            Self::Timeout { .. } | Self::RedirectRefused { .. } => true,
            Self::Connect { source, .. } | Self::Request { source, .. } => {
                is_transient_cause(source.as_ref())
            }
            Self::Body { source, .. } => is_transient_cause(source),
            Self::Ping { error, other, .. } => error.is_transient() || other.is_transient(),
            _ => false,
        }
    }

    /// Whether the connection was refused: nothing listens on the port (see
    /// [`RetryPolicy`](crate::RetryPolicy) for how that is retried).
    pub(crate) fn is_connection_refused(&self) -> bool {
        let Self::Connect { source, .. } = self else {
            return false;
        };
        let mut cur: Option<&(dyn StdError + 'static)> = Some(source.as_ref());
        while let Some(e) = cur {
            if e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::ConnectionRefused)
            {
                return true;
            }
            cur = e.source();
        }
        false
    }

    /// The HTTP status when the error comes from a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Registry(e) => Some(e.status),
            Self::AuthenticationRequired { .. } => Some(StatusCode::UNAUTHORIZED),
            Self::AuthenticationFailed { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            _ => None,
        }
    }

    /// The decoded registry error, when the error is one.
    pub fn registry_error(&self) -> Option<&RegistryError> {
        match self {
            Self::Registry(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RegistryError> for Error {
    fn from(e: RegistryError) -> Self {
        Self::Registry(Box::new(e))
    }
}

/// Walks an error chain looking for a cause known to be temporary.
pub(crate) fn is_transient_cause(err: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.downcast_ref::<rustls::Error>().is_some() {
            // Certificate and protocol errors do not fix themselves.
            return false;
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if io
                .get_ref()
                .is_some_and(<dyn StdError + Send + Sync>::is::<rustls::Error>)
            {
                return false;
            }
            if matches!(
                io.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::Interrupted
            ) {
                return true;
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed() || h.is_canceled() || h.is_timeout())
        {
            return true;
        }
        if let Some(c) = e.downcast_ref::<hyper_util::client::legacy::Error>()
            && c.is_connect()
            && c.source().is_none()
        {
            return true;
        }
        if let Some(cf) = e.downcast_ref::<crate::connector::ConnectFailure>() {
            if cf.tls_failed {
                return false;
            }
            if cf.timeout.is_some() {
                return true;
            }
        }
        if let Some(ours) = e.downcast_ref::<Error>() {
            return ours.is_transient();
        }
        cur = e.source();
    }
    false
}

/// A registry error code from a `{"errors": [...]}` body (distribution spec).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `BLOB_UNKNOWN`
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`
    BlobUploadUnknown,
    /// `DIGEST_INVALID`
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN`
    ManifestUnknown,
    /// `MANIFEST_UNVERIFIED`
    ManifestUnverified,
    /// `NAME_INVALID`
    NameInvalid,
    /// `NAME_UNKNOWN`
    NameUnknown,
    /// `SIZE_INVALID`
    SizeInvalid,
    /// `TAG_INVALID`
    TagInvalid,
    /// `UNAUTHORIZED`
    Unauthorized,
    /// `DENIED`
    Denied,
    /// `UNSUPPORTED`
    Unsupported,
    /// `TOOMANYREQUESTS`
    TooManyRequests,
    /// `UNKNOWN`
    Unknown,
    /// `UNAVAILABLE`
    Unavailable,
    /// A code not in the spec, kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// Parses a code (exact, upper-case as the spec writes them).
    pub fn parse(code: &str) -> Self {
        match code {
            "BLOB_UNKNOWN" => Self::BlobUnknown,
            "BLOB_UPLOAD_INVALID" => Self::BlobUploadInvalid,
            "BLOB_UPLOAD_UNKNOWN" => Self::BlobUploadUnknown,
            "DIGEST_INVALID" => Self::DigestInvalid,
            "MANIFEST_BLOB_UNKNOWN" => Self::ManifestBlobUnknown,
            "MANIFEST_INVALID" => Self::ManifestInvalid,
            "MANIFEST_UNKNOWN" => Self::ManifestUnknown,
            "MANIFEST_UNVERIFIED" => Self::ManifestUnverified,
            "NAME_INVALID" => Self::NameInvalid,
            "NAME_UNKNOWN" => Self::NameUnknown,
            "SIZE_INVALID" => Self::SizeInvalid,
            "TAG_INVALID" => Self::TagInvalid,
            "UNAUTHORIZED" => Self::Unauthorized,
            "DENIED" => Self::Denied,
            "UNSUPPORTED" => Self::Unsupported,
            "TOOMANYREQUESTS" => Self::TooManyRequests,
            "UNKNOWN" => Self::Unknown,
            "UNAVAILABLE" => Self::Unavailable,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code as the spec spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::BlobUnknown => "BLOB_UNKNOWN",
            Self::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Self::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Self::DigestInvalid => "DIGEST_INVALID",
            Self::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::ManifestUnknown => "MANIFEST_UNKNOWN",
            Self::ManifestUnverified => "MANIFEST_UNVERIFIED",
            Self::NameInvalid => "NAME_INVALID",
            Self::NameUnknown => "NAME_UNKNOWN",
            Self::SizeInvalid => "SIZE_INVALID",
            Self::TagInvalid => "TAG_INVALID",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Denied => "DENIED",
            Self::Unsupported => "UNSUPPORTED",
            Self::TooManyRequests => "TOOMANYREQUESTS",
            Self::Unknown => "UNKNOWN",
            Self::Unavailable => "UNAVAILABLE",
            Self::Other(s) => s,
        }
    }

    /// Codes that say "try again" (ggcr's temporary codes).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::BlobUploadInvalid | Self::TooManyRequests | Self::Unknown | Self::Unavailable
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a registry error body.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The code.
    pub code: ErrorCode,
    /// The human message (may be empty).
    pub message: String,
    /// The `detail` value, if any.
    pub detail: Option<serde_json::Value>,
}

/// `CODE: message`; the alternate form (`{:#}`) adds `; <detail JSON>`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if f.alternate()
            && let Some(detail) = &self.detail
            && !detail.is_null()
        {
            write!(f, "; {detail}")?;
        }
        Ok(())
    }
}

/// A non-success response from a registry, decoded.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegistryError {
    /// The status.
    pub status: StatusCode,
    /// The request method.
    pub method: Method,
    /// The redacted request URL.
    pub url: String,
    /// Decoded `errors` entries (empty when the body was not a registry error body).
    pub diagnostics: Vec<Diagnostic>,
    /// The start of a body that was not a registry error body (at most 1 KiB, lossy UTF-8).
    pub body: String,
}

#[derive(Deserialize)]
struct WireErrors {
    #[serde(default)]
    errors: Vec<WireDiagnostic>,
}

#[derive(Deserialize)]
struct WireDiagnostic {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    detail: Option<serde_json::Value>,
}

impl RegistryError {
    /// Decodes a response body (already capped by the caller) into a registry error.
    pub fn from_body(status: StatusCode, method: Method, url: String, body: &[u8]) -> Self {
        let diagnostics = serde_json::from_slice::<WireErrors>(body)
            .map(|w| {
                w.errors
                    .into_iter()
                    .map(|d| Diagnostic {
                        code: ErrorCode::parse(&d.code),
                        message: d.message,
                        detail: d.detail,
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let body = if diagnostics.is_empty() {
            let shown = &body[..body.len().min(SHOWN_BODY_LIMIT)];
            let mut text = String::from_utf8_lossy(shown).trim().to_owned();
            if body.len() > SHOWN_BODY_LIMIT {
                text.push_str("...");
            }
            text
        } else {
            String::new()
        };
        Self {
            status,
            method,
            url,
            diagnostics,
            body,
        }
    }

    /// Whether the error has a code in the list.
    pub fn has_code(&self, code: &ErrorCode) -> bool {
        self.diagnostics.iter().any(|d| &d.code == code)
    }

    /// ggcr's `Temporary()`: with diagnostics, all of them must be temporary codes; without, the
    /// status must be 408, 429, 500, 502, 503 or 504.
    pub fn is_transient(&self) -> bool {
        if self.diagnostics.is_empty() {
            crate::retry::is_retryable_status(self.status)
        } else {
            self.diagnostics.iter().all(|d| d.code.is_transient())
        }
    }
}

/// `METHOD URL: CODE: message` (or the status and the start of a non-JSON body). The
/// `detail` values of the diagnostics are shown by the alternate form (`{:#}`) only: they
/// mostly restate the request (`{"Tag":"latest"}`), so one-line reports leave them out.
impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.method, self.url)?;
        match self.diagnostics.as_slice() {
            [] => {
                write!(f, "unexpected status code {}", self.status)?;
                if !self.body.is_empty() {
                    write!(f, ": {}", self.body)?;
                } else if self.method == Method::HEAD {
                    f.write_str(" (HEAD responses have no body, use GET for details)")?;
                }
                Ok(())
            }
            [one] => fmt::Display::fmt(one, f),
            many => {
                f.write_str("multiple errors returned: ")?;
                for (i, d) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    fmt::Display::fmt(d, f)?;
                }
                Ok(())
            }
        }
    }
}

impl StdError for RegistryError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(status: u16, body: &str) -> RegistryError {
        RegistryError::from_body(
            StatusCode::from_u16(status).unwrap(),
            Method::GET,
            "https://r.example/v2/x/manifests/latest".into(),
            body.as_bytes(),
        )
    }

    #[test]
    fn all_codes_round_trip() {
        for code in [
            "BLOB_UNKNOWN",
            "BLOB_UPLOAD_INVALID",
            "BLOB_UPLOAD_UNKNOWN",
            "DIGEST_INVALID",
            "MANIFEST_BLOB_UNKNOWN",
            "MANIFEST_INVALID",
            "MANIFEST_UNKNOWN",
            "MANIFEST_UNVERIFIED",
            "NAME_INVALID",
            "NAME_UNKNOWN",
            "SIZE_INVALID",
            "TAG_INVALID",
            "UNAUTHORIZED",
            "DENIED",
            "UNSUPPORTED",
            "TOOMANYREQUESTS",
            "UNKNOWN",
            "UNAVAILABLE",
            "SOMETHING_NEW",
        ] {
            let parsed = ErrorCode::parse(code);
            assert_eq!(parsed.as_str(), code);
            assert_eq!(
                matches!(parsed, ErrorCode::Other(_)),
                code == "SOMETHING_NEW"
            );
        }
    }

    #[test]
    fn decode_table() {
        let e = decode(
            404,
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"latest"}}]}"#,
        );
        assert!(e.has_code(&ErrorCode::ManifestUnknown));
        assert_eq!(
            e.to_string(),
            "GET https://r.example/v2/x/manifests/latest: MANIFEST_UNKNOWN: manifest unknown"
        );
        assert_eq!(
            format!("{e:#}"),
            r#"GET https://r.example/v2/x/manifests/latest: MANIFEST_UNKNOWN: manifest unknown; {"Tag":"latest"}"#
        );
        assert_eq!(
            format!("{:#}", Error::from(e.clone())),
            format!("{e:#}"),
            "the transparent wrapper keeps the alternate form"
        );
        assert!(!e.is_transient());

        let e = decode(
            503,
            r#"{"errors":[{"code":"UNAVAILABLE","message":"a","detail":"x"},{"code":"TOOMANYREQUESTS","message":"b"}]}"#,
        );
        assert!(e.is_transient());
        assert!(
            e.to_string()
                .ends_with("multiple errors returned: UNAVAILABLE: a; TOOMANYREQUESTS: b")
        );
        assert!(
            format!("{e:#}")
                .ends_with(r#"multiple errors returned: UNAVAILABLE: a; "x"; TOOMANYREQUESTS: b"#)
        );

        let e = decode(
            500,
            r#"{"errors":[{"code":"UNAVAILABLE"},{"code":"DENIED"}]}"#,
        );
        assert!(!e.is_transient(), "one permanent code makes it permanent");

        let e = decode(502, "<html>bad gateway</html>");
        assert!(e.diagnostics.is_empty());
        assert!(e.is_transient());
        assert!(
            e.to_string()
                .ends_with("unexpected status code 502 Bad Gateway: <html>bad gateway</html>")
        );

        let e = decode(400, "");
        assert!(!e.is_transient());

        let e = decode(418, r#"{"errors":[{"code":"X_CUSTOM","message":"m"}]}"#);
        assert_eq!(e.diagnostics[0].code, ErrorCode::Other("X_CUSTOM".into()));
    }

    #[test]
    fn long_bodies_are_cut_for_display() {
        let body = "x".repeat(10_000);
        let e = decode(500, &body);
        assert_eq!(e.body.len(), SHOWN_BODY_LIMIT + 3);
    }

    #[test]
    fn head_hint() {
        let e = RegistryError::from_body(
            StatusCode::NOT_FOUND,
            Method::HEAD,
            "https://r/v2/x/blobs/sha256:00".into(),
            b"",
        );
        assert!(e.to_string().contains("use GET"));
    }

    #[test]
    fn transient_causes() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(is_transient_cause(&reset));
        let perm = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(!is_transient_cause(&perm));
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(!is_transient_cause(&tls));
        let e = Error::Body {
            method: Method::GET,
            url: "u".into(),
            source: io::Error::from(io::ErrorKind::UnexpectedEof),
        };
        assert!(e.is_transient());
    }
}
