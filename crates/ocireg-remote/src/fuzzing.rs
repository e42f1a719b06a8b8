//! Entry points for the fuzz targets in the workspace's `fuzz/` folder.
//!
//! Compiled only with the `fuzzing` feature. These are thin wrappers around
//! parsers that are private to this crate; they are not part of the API and
//! may change at any time.

use ocireg_name::Reference;
use ocireg_v1::{AnyManifest, Descriptor, Digest, MediaType, bytes::Bytes};

/// The target of the `rel="next"` entry of one `Link` header value, as
/// tag and catalog pagination reads it.
pub fn next_link(header: &str) -> Option<String> {
    crate::list::next_link(header)
}

/// A resumed download's `Content-Range` (`bytes <start>-<end>/<total|*>`)
/// as the start and the total.
pub fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    crate::fetch::parse_content_range(value)
}

/// The media type of a `Content-Type` header value, parameters dropped.
pub fn media_type_of(value: &str) -> MediaType {
    crate::fetch::media_type_of(value)
}

/// Describes a fetched manifest as a pull does: the descriptor it gets and
/// the parsed document (when it is an image or an index).
pub fn describe_manifest(
    reference: &Reference,
    bytes: Bytes,
    content_type: Option<MediaType>,
    digest: Digest,
) -> crate::Result<(Descriptor, Option<AnyManifest>)> {
    let fetched = crate::fetch::describe(reference, bytes, content_type, digest)?;
    Ok((fetched.descriptor, fetched.parsed))
}
