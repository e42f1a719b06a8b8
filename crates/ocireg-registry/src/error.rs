//! The crate's error type (setting up and running the server) and the
//! distribution-spec error responses it sends to clients.

use std::io;
use std::path::PathBuf;

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::body::ResponseBody;
use crate::memory::MemoryFull;

/// What can go wrong while building or running a [`Registry`](crate::Registry).
///
/// Request-level failures are not errors of this type: they are answered to
/// the client with the distribution JSON error envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A directory of the disk storage could not be created.
    /// The cause (an `fs_err` error) names the path, so the message does not repeat it.
    #[error("creating the storage directory")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The listener could not be bound.
    #[error("binding the registry listener on {addr}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The listener's local address could not be read.
    #[error("reading the listener's local address")]
    LocalAddr {
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The server task failed (it panicked or was cancelled).
    #[error("running the registry server")]
    Serve {
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The text given for the `Warning` header cannot be sent in a header.
    #[error("invalid warning text: {reason}")]
    InvalidWarning {
        /// Why it was refused.
        reason: &'static str,
    },
}

/// A distribution-spec error code (the `code` of the JSON error envelope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    TooManyRequests,
    Unsupported,
    /// Not in the spec list: distribution's code for internal failures.
    Unknown,
}

impl Code {
    fn as_str(self) -> &'static str {
        match self {
            Self::BlobUnknown => "BLOB_UNKNOWN",
            Self::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Self::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Self::DigestInvalid => "DIGEST_INVALID",
            Self::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::ManifestUnknown => "MANIFEST_UNKNOWN",
            Self::NameInvalid => "NAME_INVALID",
            Self::NameUnknown => "NAME_UNKNOWN",
            Self::SizeInvalid => "SIZE_INVALID",
            Self::TooManyRequests => "TOOMANYREQUESTS",
            Self::Unsupported => "UNSUPPORTED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// An error answered to the client: status, code, message, optional detail
/// and extra headers (e.g. `Range` on a 416 for an upload).
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: Code,
    pub(crate) message: String,
    pub(crate) detail: Option<serde_json::Value>,
    pub(crate) headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: Code, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub(crate) fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub(crate) fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn blob_unknown(digest: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::BlobUnknown,
            "blob unknown to registry",
        )
        .detail(serde_json::json!({ "digest": digest.to_string() }))
    }

    pub(crate) fn manifest_unknown(reference: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::ManifestUnknown,
            "manifest unknown to registry",
        )
        .detail(serde_json::json!({ "reference": reference }))
    }

    pub(crate) fn name_unknown(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::NameUnknown,
            "repository name not known to registry",
        )
        .detail(serde_json::json!({ "name": name }))
    }

    pub(crate) fn upload_unknown(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::BlobUploadUnknown,
            "blob upload unknown to registry",
        )
        .detail(serde_json::json!({ "uuid": id }))
    }

    pub(crate) fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Code::DigestInvalid, message)
    }

    pub(crate) fn unsupported() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::Unsupported,
            "the operation is unsupported",
        )
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, Code::Unsupported, "unknown endpoint")
    }

    /// A request body that could not be read while `what`: 408 when it went
    /// quiet for too long ([`BodyTimedOut`](crate::body::BodyTimedOut)),
    /// else 400 (the client's body failed, e.g. its connection dropped).
    pub(crate) fn body_failed(code: Code, what: &str, err: &crate::registry::BoxError) -> Self {
        let status = if err.is::<crate::body::BodyTimedOut>() {
            StatusCode::REQUEST_TIMEOUT
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::new(
            status,
            code,
            format!("reading the request body failed while {what}"),
        )
        .detail(serde_json::json!({ "reason": err.to_string() }))
    }

    /// No room left for client data while `what`: 507 `SIZE_INVALID`.
    pub(crate) fn storage_full(what: &str, reason: &dyn std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            Code::SizeInvalid,
            format!("no room left while {what}: {reason}"),
        )
    }

    /// A body declared larger than the whole memory cap while `what`:
    /// 413 `SIZE_INVALID`.
    pub(crate) fn over_memory_limit(what: &str, size: u64, limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::SizeInvalid,
            format!("{size} bytes while {what} are more than the registry's memory limit of {limit} bytes"),
        )
        .detail(serde_json::json!({ "limit": limit, "size": size }))
    }

    /// A storage failure on our side: 507 when storage is full (disk full,
    /// or the memory cap reached), else logged and answered with 500.
    pub(crate) fn internal(what: &str, err: &io::Error) -> Self {
        if err.kind() == io::ErrorKind::StorageFull {
            // The memory cap says what it is; a full disk's error names a file of ours
            // (fs_err), which a client has no business seeing: it is logged instead.
            if let Some(full) = err.get_ref().and_then(|e| e.downcast_ref::<MemoryFull>()) {
                return Self::storage_full(what, full);
            }
            tracing::warn!(error = %err, "registry storage full while {what}");
            return Self::storage_full(what, &"the registry's disk is full");
        }
        tracing::warn!(error = %err, "registry storage failure while {what}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Unknown,
            format!("storage failure while {what}"),
        )
    }

    pub(crate) fn into_response(self) -> http::Response<ResponseBody> {
        #[derive(Serialize)]
        struct Envelope<'a> {
            errors: [Entry<'a>; 1],
        }
        #[derive(Serialize)]
        struct Entry<'a> {
            code: &'static str,
            message: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            detail: Option<&'a serde_json::Value>,
        }
        let envelope = Envelope {
            errors: [Entry {
                code: self.code.as_str(),
                message: &self.message,
                detail: self.detail.as_ref(),
            }],
        };
        // Serialising plain strings and a JSON value cannot fail.
        let body = serde_json::to_vec(&envelope).unwrap_or_default();
        let mut response = http::Response::new(ResponseBody::full(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn envelope_shape() {
        let response = ApiError::blob_unknown("sha256:abc").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = response.into_body().collect().await.expect("in memory");
        let json: serde_json::Value = serde_json::from_slice(&body.to_bytes()).expect("json");
        assert_eq!(json["errors"][0]["code"], "BLOB_UNKNOWN");
        assert_eq!(json["errors"][0]["detail"]["digest"], "sha256:abc");
        assert!(json["errors"][0]["message"].is_string());
    }

    #[test]
    fn a_full_disk_does_not_show_our_paths_to_clients() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".upload-x");
        // An fs_err error names the file; the client sees only that the disk is full.
        let disk_full = fs_err::File::open(&path)
            .map(drop)
            .map_err(|e| io::Error::new(io::ErrorKind::StorageFull, e))
            .expect_err("no such file");
        assert!(disk_full.to_string().contains(&*path.display().to_string()));
        let answer = ApiError::internal("writing an upload", &disk_full);
        assert_eq!(answer.status, StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(
            answer.message,
            "no room left while writing an upload: the registry's disk is full"
        );
        // The memory cap says what it is.
        let full = MemoryFull {
            requested: 2,
            used: 9,
            limit: 10,
        };
        let answer = ApiError::internal(
            "writing an upload",
            &io::Error::new(io::ErrorKind::StorageFull, full),
        );
        assert!(
            answer.message.contains("memory limit of 10 bytes"),
            "{}",
            answer.message
        );
    }

    #[test]
    fn storage_directory_errors_name_the_path_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        fs_err::write(&blocker, b"").expect("write");
        let err = crate::storage::BlobStore::open(
            &crate::Storage::Disk(blocker.clone()),
            &crate::memory::MemoryBudget::new(0),
        )
        .map(drop)
        .expect_err("a file is in the way");
        let shown = format!("{err}: {}", std::error::Error::source(&err).expect("cause"));
        assert_eq!(
            shown.matches(&*blocker.display().to_string()).count(),
            1,
            "{shown}"
        );
        assert!(
            shown.starts_with("creating the storage directory: failed to create directory `"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn envelope_without_detail() {
        let response = ApiError::unsupported().into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        let body = response.into_body().collect().await.expect("in memory");
        let json: serde_json::Value = serde_json::from_slice(&body.to_bytes()).expect("json");
        assert_eq!(json["errors"][0]["code"], "UNSUPPORTED");
        assert!(json["errors"][0].get("detail").is_none());
    }
}
