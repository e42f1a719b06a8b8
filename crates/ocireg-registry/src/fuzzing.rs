//! Entry points for the fuzz targets in the workspace's `fuzz/` folder.
//!
//! Compiled only with the `fuzzing` feature. These are thin wrappers around
//! parsers that are private to this crate; they are not part of the API and
//! may change at any time.

use crate::route::{RangeRequest, Route};

/// A routed `/v2/...` path, flattened so that a fuzz target can inspect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteParts {
    /// The endpoint: `base`, `catalog`, `tags`, `manifest`, `upload-start`,
    /// `upload`, `blob` or `referrers`.
    pub endpoint: &'static str,
    /// The repository name, for endpoints under a repository.
    pub name: Option<String>,
    /// The last part: the manifest reference, the upload id or the digest.
    pub last: Option<String>,
}

/// Routes a request path (without query) as the server does; `None` for
/// paths outside the API.
pub fn route(path: &str) -> Option<RouteParts> {
    let parts = |endpoint, name: Option<String>, last: Option<String>| RouteParts {
        endpoint,
        name,
        last,
    };
    Some(match Route::parse(path)? {
        Route::Base => parts("base", None, None),
        Route::Catalog => parts("catalog", None, None),
        Route::Tags { name } => parts("tags", Some(name), None),
        Route::Manifest { name, reference } => parts("manifest", Some(name), Some(reference)),
        Route::UploadStart { name } => parts("upload-start", Some(name), None),
        Route::Upload { name, id } => parts("upload", Some(name), Some(id)),
        Route::Blob { name, digest } => parts("blob", Some(name), Some(digest)),
        Route::Referrers { name, digest } => parts("referrers", Some(name), Some(digest)),
    })
}

/// The decoded `key=value` pairs of a query string, in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    crate::route::query_pairs(query)
}

/// A `Range` request header interpreted against a blob of `size` bytes:
/// `None` to send everything, `Some(None)` when unsatisfiable (416), else
/// the inclusive byte range to send.
pub fn parse_range(header: &str, size: u64) -> Option<Option<(u64, u64)>> {
    match crate::route::parse_range(header, size) {
        RangeRequest::Full => None,
        RangeRequest::Unsatisfiable => Some(None),
        RangeRequest::Partial { start, end } => Some(Some((start, end))),
    }
}

/// An upload chunk's `Content-Range` (`<start>-<end>`, inclusive).
pub fn parse_content_range(header: &str) -> Option<(u64, u64)> {
    crate::route::parse_content_range(header)
}

/// Whether `name` is a valid repository name for this registry.
pub fn is_valid_repository(name: &str) -> bool {
    crate::names::is_valid_repository(name)
}
