//! One blob upload, as a small state machine (ggcr's `uploadOne`, made resumable).
//!
//! ```text
//!   digest known? ── HEAD blob ── 200 ──────────────────────────────▶ Existed
//!        │                  └── 404
//!        ▼
//!   mount source on the same registry? ── POST ?mount=&from= ── 201 ─▶ Mounted
//!        │                                  └── 202: use that session
//!        ▼
//!   POST uploads/ ── 202 Location (SSRF-checked), OCI-Chunk-Min-Length
//!        ▼
//!   send: monolithic PUT (small, digest known) | streamed PATCH | Content-Range chunks
//!        │  a transient failure, a 416 or a 401 part way:
//!        │    GET <location> ── Range: 0-N ── re-open the source, skip N+1 bytes, go on
//!        │    (no usable status: cancel, new POST, start from byte 0)
//!        │    (source cannot be re-opened, e.g. a streaming layer: fail, never replay)
//!        ▼
//!   PUT <location>?digest= ── 201, Docker-Content-Digest must match ─▶ Uploaded
//! ```
//!
//! Every byte sent is hashed on the way out; the digest we computed must equal the layer's
//! (a source that lies is caught before the commit), and a streaming layer is committed
//! under the digest we computed. Nothing here holds more than one chunk in memory: streamed
//! bodies go straight from the source to the socket, and chunks are buffered only when the
//! caller asked for chunked uploads (or when resuming a blob of unknown size).
//!
//! This module opens sessions (and mounts); [`send`] is the state machine that sends,
//! resumes and commits; [`stream`] holds the source, the tap and the meter the bytes pass.

use std::sync::Arc;

use http::header::{CONTENT_LENGTH, LOCATION};
use http::{HeaderMap, Method, StatusCode, Uri};
use ocireg_name::Repository;
use ocireg_transport::{Body, Transport};
use ocireg_v1::{Digest, Layer};
use tracing::debug;

use crate::error::{Error, Result, Subject};
use crate::progress::{BlobOutcome, Direction, Progress, Reporter};
use crate::protocol::{self, OCI_CHUNK_MIN_LENGTH, discard, header_str, request};
use send::Upload;

mod send;
mod stream;

/// Blobs up to this size (with a known digest) go in one `PUT` instead of `PATCH` + `PUT`.
const MONOLITHIC_MAX: u64 = 1 << 20;
/// The chunk size used when resuming a blob of unknown size without a configured chunk size.
const RESUME_CHUNK: u64 = 8 << 20;
/// Attempts per blob: the first, then resumes or restarts.
const UPLOAD_ATTEMPTS: u32 = 4;

/// What an upload needs from the pusher.
#[derive(Clone)]
pub(crate) struct UploadSettings {
    /// Send `Content-Range` chunks of at least this many bytes.
    pub(crate) chunk_size: Option<u64>,
    /// Where progress goes.
    pub(crate) progress: Option<Arc<dyn Progress>>,
    /// Backoff between attempts (`attempt` from 1).
    pub(crate) backoff: Arc<dyn Fn(u32) -> std::time::Duration + Send + Sync>,
}

/// Where a blob goes.
pub(crate) struct Target<'a> {
    pub(crate) transport: &'a Transport,
    pub(crate) repo: &'a Repository,
}

impl Target<'_> {
    /// The repository, as errors name it.
    fn subject(&self) -> Subject {
        Subject::from(self.repo)
    }
}

/// Uploads `layer` to `target` unless it is there already; returns its digest and how it
/// got there. `mount_from` is a repository of the same registry to mount from.
pub(crate) async fn upload_blob(
    target: &Target<'_>,
    layer: &Arc<dyn Layer>,
    mount_from: Option<&Repository>,
    settings: &UploadSettings,
) -> Result<(Digest, BlobOutcome)> {
    let digest = known(layer.digest().await)?;
    let size = known(layer.size().await)?;
    if let Some(d) = digest
        && blob_exists(target, d).await?
    {
        let reporter = Reporter::new(settings.progress.clone(), d);
        reporter.started(size, Direction::Push);
        reporter.done(BlobOutcome::Existed);
        return Ok((d, BlobOutcome::Existed));
    }
    let mount = match (digest, mount_from) {
        (Some(d), Some(from))
            if from.registry() == target.repo.registry() && from != target.repo =>
        {
            Some((d, from))
        }
        _ => None,
    };
    let session = match start(target, mount).await? {
        Started::Mounted => {
            let d = digest.expect("a mount needs a digest");
            let reporter = Reporter::new(settings.progress.clone(), d);
            reporter.started(size, Direction::Push);
            reporter.done(BlobOutcome::Mounted);
            return Ok((d, BlobOutcome::Mounted));
        }
        Started::Session(s) => s,
    };
    let mut upload = Upload {
        target,
        layer,
        digest,
        size,
        settings,
        session,
        reporter: digest.map(|d| Reporter::new(settings.progress.clone(), d)),
    };
    if let Some(r) = &upload.reporter {
        r.started(size, Direction::Push);
    }
    match upload.run().await {
        Ok(d) => {
            if upload.reporter.is_none() {
                // A streaming layer: its digest and size are known only now.
                let r = Reporter::new(settings.progress.clone(), d);
                r.started(known(layer.size().await).ok().flatten(), Direction::Push);
                r.done(BlobOutcome::Uploaded);
            } else if let Some(r) = &upload.reporter {
                r.done(BlobOutcome::Uploaded);
            }
            Ok((d, BlobOutcome::Uploaded))
        }
        Err(e) => {
            if let Some(r) = &upload.reporter {
                r.failed();
            }
            Err(e)
        }
    }
}

/// A value of a layer, or `None` when a streaming layer cannot tell yet.
fn known<T>(value: ocireg_v1::Result<T>) -> Result<Option<T>> {
    match value {
        Ok(v) => Ok(Some(v)),
        Err(ocireg_v1::Error::NotComputed { .. }) => Ok(None),
        Err(e) => Err(Error::View(e)),
    }
}

/// `HEAD /v2/<repo>/blobs/<digest>`: 200 yes, 404 no, anything else an error.
pub(crate) async fn blob_exists(target: &Target<'_>, digest: Digest) -> Result<bool> {
    const ACTION: &str = "checking for blob";
    let blob = target.repo.digest(digest);
    let response = protocol::head_blob(target.transport, &blob, ACTION).await?;
    let response = target
        .transport
        .check(response, &[StatusCode::OK, StatusCode::NOT_FOUND])
        .await
        .map_err(|e| Error::transport(ACTION, blob, e))?;
    let found = response.status() == StatusCode::OK;
    discard(response).await;
    Ok(found)
}

/// An open upload session.
#[derive(Debug, Clone)]
struct Session {
    /// Where the next request goes (already resolved and checked).
    location: Uri,
    /// The registry's minimum chunk size, if it asked for one.
    min_chunk: Option<u64>,
}

enum Started {
    Mounted,
    Session(Session),
}

/// `POST /v2/<repo>/blobs/uploads/`, with a mount request when there is a source.
async fn start(target: &Target<'_>, mount: Option<(Digest, &Repository)>) -> Result<Started> {
    let reference = target.subject();
    if let Some((digest, from)) = mount {
        // Never `mount` without `from` (Quay), and only ever within one registry, so the
        // Docker Hub rule of ggcr #1741 (no `from` across registries) cannot arise.
        let path = protocol::mount(target.repo, &digest, from);
        match post_upload(target, &path, &reference).await {
            Ok((StatusCode::CREATED, _)) => {
                debug!(repo = %target.repo.name(), %digest, from = %from.name(), "mounted blob");
                return Ok(Started::Mounted);
            }
            Ok((_, Some(session))) => return Ok(Started::Session(session)),
            Ok((_, None)) => {}
            // Some registries fail a mount they cannot do instead of opening a session
            // (ggcr #1404/#1679): try once more without it.
            Err(e) if !e.is_transient() => {
                debug!(error = %e, "mount request failed; uploading instead");
            }
            Err(e) => return Err(e),
        }
    }
    match post_upload(target, &protocol::uploads(target.repo), &reference).await? {
        (_, Some(session)) => Ok(Started::Session(session)),
        (status, None) => Err(Error::protocol(
            "starting an upload to",
            &reference,
            format!("expected 202 Accepted, got {status}"),
        )),
    }
}

/// One POST to the uploads endpoint: 201 (mounted, no session) or 202 with a session.
async fn post_upload(
    target: &Target<'_>,
    path: &str,
    reference: &Subject,
) -> Result<(StatusCode, Option<Session>)> {
    let uri = protocol::url(target.transport, path, reference)?;
    let req = request(
        Method::POST,
        uri.clone(),
        &[(CONTENT_LENGTH, "0".to_owned())],
        Body::empty(),
        reference,
    )?;
    let response = target
        .transport
        .send_expect(req, &[StatusCode::CREATED, StatusCode::ACCEPTED])
        .await
        .map_err(|e| Error::transport("starting an upload to", reference, e))?;
    let status = response.status();
    if status == StatusCode::CREATED {
        discard(response).await;
        return Ok((status, None));
    }
    let location = next_location(target.transport, &uri, response.headers(), reference)?;
    let min_chunk = header_str(response.headers(), OCI_CHUNK_MIN_LENGTH)
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0);
    discard(response).await;
    Ok((
        status,
        Some(Session {
            location,
            min_chunk,
        }),
    ))
}

/// The `Location` of an upload response, resolved against the request URL and refused when
/// it points somewhere unsafe (a private IP literal on another host, an https→http downgrade).
fn next_location(
    transport: &Transport,
    base: &Uri,
    headers: &HeaderMap,
    reference: &Subject,
) -> Result<Uri> {
    let raw = header_str(headers, LOCATION).ok_or_else(|| Error::MissingHeader {
        action: "uploading to",
        reference: reference.clone(),
        header: "Location",
    })?;
    transport
        .resolve_url(base, raw, "upload location")
        .map_err(|e| Error::transport("following the upload location of", reference, e))
}

/// `location` with `name=value` appended to its query.
fn with_query(location: &Uri, name: &str, value: &str) -> Result<Uri> {
    let text = location.to_string();
    let sep = if location.query().is_some() { '&' } else { '?' };
    format!("{text}{sep}{name}={value}").parse().map_err(|_| {
        Error::protocol(
            "building the upload URL",
            Subject::Other(text),
            "invalid URL",
        )
    })
}

/// Opens an upload session and cancels it: whether we may push to `repo`.
pub(crate) async fn probe_push(target: &Target<'_>) -> Result<()> {
    let reference = target.subject();
    let Started::Session(session) = start(target, None).await? else {
        return Ok(());
    };
    let req = request(
        Method::DELETE,
        session.location,
        &[],
        Body::empty(),
        &reference,
    )?;
    match target.transport.send(req).await {
        Ok(r) => discard(r).await,
        Err(e) => debug!(error = %e, "cancelling the probe upload failed"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_appending() {
        let u: Uri = "http://h/v2/r/blobs/uploads/1".parse().unwrap();
        assert_eq!(
            with_query(&u, "digest", "sha256:ab").unwrap().to_string(),
            "http://h/v2/r/blobs/uploads/1?digest=sha256:ab"
        );
        let u: Uri = "http://h/v2/r/blobs/uploads/1?_state=x".parse().unwrap();
        assert_eq!(
            with_query(&u, "digest", "sha256:ab").unwrap().to_string(),
            "http://h/v2/r/blobs/uploads/1?_state=x&digest=sha256:ab"
        );
    }
}
