//! One blob by digest, its size asked for first (crane's `blob`): [`head_blob`] learns the
//! size from a `HEAD`, [`fetch_blob`] reads the blob bounded by it.

use http::StatusCode;
use http::header::CONTENT_LENGTH;
use ocireg_name::DigestReference;
use ocireg_v1::{Blob, Descriptor, Digest, MediaType};
use tracing::debug;

use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::options::Options;
use crate::protocol::{self, DOCKER_CONTENT_DIGEST, OCTET_STREAM, header_str};

/// The descriptor of the blob `reference` from a `HEAD` of it: its digest, its size (the
/// `Content-Length`) and the media type `application/octet-stream`.
///
/// Fails when the blob does not exist ([`Error::is_not_found`]), when the answer has no
/// usable `Content-Length`, and when its `Docker-Content-Digest` names another blob (it does
/// not parse, or it is a digest of the same algorithm that differs). A
/// `Docker-Content-Digest` of another algorithm cannot be compared and is ignored: the
/// content is verified when it is read.
pub async fn head_blob(reference: &DigestReference, options: &Options) -> Result<Descriptor> {
    const ACTION: &str = "checking blob";
    let fetcher = Fetcher::new(reference.repository(), options).await?;
    let digest = reference.digest();
    let what = reference.repository().digest(digest);
    let response = protocol::head_blob(&fetcher.transport, &what, ACTION).await?;
    let response = fetcher
        .transport
        .check(response, &[StatusCode::OK])
        .await
        .map_err(|e| Error::transport(ACTION, &what, e))?;
    let headers = response.headers();
    if let Some(value) = header_str(headers, DOCKER_CONTENT_DIGEST) {
        match value.parse::<Digest>() {
            Ok(named) if named == digest => {}
            Ok(named) if named.algorithm() != digest.algorithm() => {
                debug!(blob = %what, header = %named, "Docker-Content-Digest of another algorithm");
            }
            Ok(named) => {
                return Err(Error::protocol(
                    ACTION,
                    &what,
                    format!("the registry's Docker-Content-Digest names another blob: {named}"),
                ));
            }
            Err(_) => {
                return Err(Error::protocol(
                    ACTION,
                    &what,
                    format!("invalid Docker-Content-Digest {value:?}"),
                ));
            }
        }
    }
    let length = header_str(headers, CONTENT_LENGTH).ok_or_else(|| Error::MissingHeader {
        action: ACTION,
        reference: what.clone().into(),
        header: "Content-Length",
    })?;
    let size = length.parse::<u64>().map_err(|_| {
        Error::protocol(ACTION, &what, format!("invalid Content-Length {length:?}"))
    })?;
    Ok(Descriptor::new(MediaType::from(OCTET_STREAM), size, digest))
}

/// Opens the blob `reference`, of `size` bytes (from [`head_blob`]), as a verified, resumable
/// stream (see the [crate docs](crate#reading)).
///
/// The size bounds the read: a response announcing another length fails before any byte is
/// passed on, a body that goes on past `size` fails when byte `size + 1` arrives (that byte is
/// not passed on), a body that ends short fails (after the resumes), and the chunk that
/// completes `size` bytes is withheld when the digest is wrong. Bytes before a failure have
/// been passed on: treat them as provisional until the stream ends cleanly.
pub async fn fetch_blob(reference: &DigestReference, size: u64, options: &Options) -> Result<Blob> {
    let fetcher = Fetcher::new(reference.repository(), options).await?;
    fetcher.blob(reference.digest(), Some(size), None).await
}
