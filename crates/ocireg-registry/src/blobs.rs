//! Blob endpoints: HEAD/GET (with `Range`), DELETE, and uploads (monolithic,
//! streamed, chunked), upload status, cancel and cross-repository mount.
//!
//! Blob bytes are content addressed and shared; each repository records the
//! digests it may serve (like distribution's per-repository links, unlike
//! ggcr, whose blobs are global). A blob is linked into a repository by an
//! upload or a mount there, and unlinked by DELETE; the bytes go when no
//! repository links them any more.

use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use ocireg_v1::Digest;
use tokio::time::Instant;

use crate::body::ResponseBody;
use crate::error::{ApiError, Code};
use crate::limits::UPLOAD_RETRY_AFTER;
use crate::registry::{
    BoxError, Inner, Req, ReqBody, Slot, empty_response, header_value, parse_digest, response,
    valid_name,
};
use crate::route::{RangeRequest, parse_content_range, parse_range, query_get};
use crate::storage::{BlobStore, UploadBytes};

const DOCKER_CONTENT_DIGEST: &str = "Docker-Content-Digest";
const DOCKER_UPLOAD_UUID: &str = "Docker-Upload-UUID";

fn blob_location(name: &str, digest: &Digest) -> HeaderValue {
    header_value(format!("/v2/{name}/blobs/{digest}"))
}

fn upload_location(name: &str, id: &str) -> HeaderValue {
    header_value(format!("/v2/{name}/blobs/uploads/{id}"))
}

/// The `Range` header of an upload holding `len` bytes: `0-<len-1>`, and
/// `0-0` when empty (as distribution answers).
fn upload_range(len: u64) -> HeaderValue {
    header_value(format!("0-{}", len.saturating_sub(1)))
}

/// An empty `status` answer with the headers describing an upload
/// session's progress.
fn upload_response(status: StatusCode, name: &str, id: &str, len: u64) -> Response<ResponseBody> {
    let mut response = empty_response(status);
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, upload_location(name, id));
    headers.insert(header::RANGE, upload_range(len));
    headers.insert(DOCKER_UPLOAD_UUID, header_value(id));
    response
}

/// The 201 answer to a completed upload or mount.
fn created(name: &str, digest: &Digest) -> Response<ResponseBody> {
    let mut response = empty_response(StatusCode::CREATED);
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, blob_location(name, digest));
    headers.insert(DOCKER_CONTENT_DIGEST, header_value(digest.to_string()));
    response
}

/// An upload id is only ever looked up, but reject anything that is not one
/// of ours early (and keep odd bytes out of error details).
fn valid_upload_id(id: &str) -> Result<&str, ApiError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        Ok(id)
    } else {
        Err(ApiError::upload_unknown("<invalid>"))
    }
}

/// The repository name and upload id of an upload session's URL, both
/// checked.
fn valid_session<'a>(name: &'a str, id: &'a str) -> Result<(&'a str, &'a str), ApiError> {
    Ok((valid_name(name)?, valid_upload_id(id)?))
}

impl Inner {
    /// Whether `repo` links `digest`.
    fn linked(&self, repo: &str, digest: &Digest) -> bool {
        self.state()
            .repos
            .get(repo)
            .is_some_and(|r| r.blobs.contains(digest))
    }

    fn link(&self, repo: &str, digest: Digest) {
        self.state()
            .repos
            .entry(repo.to_owned())
            .or_default()
            .blobs
            .insert(digest);
    }
}

/// `GET`/`HEAD /v2/<name>/blobs/<digest>`.
pub(crate) async fn get(
    reg: &Inner,
    name: &str,
    digest: &str,
    req: &Req,
) -> Result<Response<ResponseBody>, ApiError> {
    let name = valid_name(name)?;
    let digest = parse_digest(digest)?;
    if !reg.linked(name, &digest) {
        return Err(ApiError::blob_unknown(digest));
    }
    let reader = reg
        .blobs
        .open_blob(&digest)
        .await
        .map_err(|e| ApiError::internal("opening a blob", &e))?
        .ok_or_else(|| ApiError::blob_unknown(digest))?;
    let len = reader.len();
    let head = req.method == http::Method::HEAD;
    let range = match req.header(&header::RANGE) {
        Some(value) if !head => parse_range(value, len),
        _ => RangeRequest::Full,
    };
    let (status, range, sent) = match range {
        RangeRequest::Full => (StatusCode::OK, None, len),
        RangeRequest::Partial { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            Some((start, end)),
            end - start + 1,
        ),
        RangeRequest::Unsatisfiable => {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                Code::SizeInvalid,
                "requested range not satisfiable",
            )
            .header(
                header::CONTENT_RANGE,
                header_value(format!("bytes */{len}")),
            ));
        }
    };
    let body = if head {
        ResponseBody::empty()
    } else {
        reader
            .into_body(range)
            .await
            .map_err(|e| ApiError::internal("reading a blob", &e))?
    };
    let mut response = response(status, body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(sent));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(DOCKER_CONTENT_DIGEST, header_value(digest.to_string()));
    if let Some((start, end)) = range {
        headers.insert(
            header::CONTENT_RANGE,
            header_value(format!("bytes {start}-{end}/{len}")),
        );
    }
    Ok(response)
}

/// `DELETE /v2/<name>/blobs/<digest>`: unlinks the blob from the repository
/// (202), and removes its bytes once no repository links it.
pub(crate) async fn delete(
    reg: &Inner,
    name: &str,
    digest: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let name = valid_name(name)?;
    let digest = parse_digest(digest)?;
    let _guard = reg.blob_lock.lock().await;
    let orphaned = {
        let mut state = reg.state();
        let removed = state
            .repos
            .get_mut(name)
            .is_some_and(|r| r.blobs.remove(&digest));
        if !removed {
            return Err(ApiError::blob_unknown(digest));
        }
        if state
            .repos
            .get(name)
            .is_some_and(crate::registry::Repo::is_empty)
        {
            state.repos.remove(name);
        }
        !state.repos.values().any(|r| r.blobs.contains(&digest))
    };
    if orphaned {
        reg.blobs
            .delete(&digest)
            .await
            .map_err(|e| ApiError::internal("deleting a blob", &e))?;
    }
    Ok(empty_response(StatusCode::ACCEPTED))
}

/// Why streaming a request body into an upload stopped.
enum DrainError {
    /// The client's body failed (e.g. the connection dropped).
    Body(BoxError),
    /// Writing to storage failed.
    Storage(std::io::Error),
}

/// Streams the request body into `bytes`; returns how many bytes it had.
async fn drain_into(body: &mut ReqBody, bytes: &mut UploadBytes) -> Result<u64, DrainError> {
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(DrainError::Body)?;
        if let Ok(data) = frame.into_data() {
            written += data.len() as u64;
            bytes.write(data).await.map_err(DrainError::Storage)?;
        }
    }
    Ok(written)
}

fn body_failed(err: &BoxError) -> ApiError {
    ApiError::body_failed(Code::BlobUploadInvalid, "uploading a blob", err)
}

/// Checks the upload's digest and, when it matches, stores and links the blob.
async fn verify_and_commit(
    reg: &Inner,
    name: &str,
    mut bytes: UploadBytes,
    digest: &Digest,
) -> Result<Response<ResponseBody>, ApiError> {
    let actual = bytes
        .digest(digest.algorithm())
        .await
        .map_err(|e| ApiError::internal("hashing an upload", &e))?;
    if actual != *digest {
        // Dropping `bytes` removes the temporary file.
        return Err(
            ApiError::digest_invalid("provided digest did not match uploaded content").detail(
                serde_json::json!({ "expected": digest.to_string(), "actual": actual.to_string() }),
            ),
        );
    }
    let _guard = reg.blob_lock.lock().await;
    reg.blobs
        .commit(bytes, digest)
        .await
        .map_err(|e| ApiError::internal("storing a blob", &e))?;
    reg.link(name, *digest);
    Ok(created(name, digest))
}

/// With memory storage, refuses a body declared (by `Content-Length`)
/// larger than the memory cap (413) or than the room left (507) before
/// reading it. The bytes are charged as they arrive whatever is declared.
fn check_declared_size(reg: &Inner, req: &Req) -> Result<(), ApiError> {
    const WHAT: &str = "receiving a blob";
    if !matches!(reg.blobs, BlobStore::Memory { .. }) {
        return Ok(());
    }
    let Some(declared) = req
        .header(&header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Ok(());
    };
    let limit = reg.memory.limit();
    if declared > limit {
        return Err(ApiError::over_memory_limit(WHAT, declared, limit));
    }
    reg.memory
        .check_room(declared)
        .map_err(|full| ApiError::storage_full(WHAT, &full))
}

/// Fresh storage for an upload's bytes.
async fn new_upload(reg: &Inner) -> Result<UploadBytes, ApiError> {
    reg.blobs
        .new_upload()
        .await
        .map_err(|e| ApiError::internal("starting an upload", &e))
}

/// `POST /v2/<name>/blobs/uploads/`: a monolithic upload (`?digest=`), a
/// mount (`?mount=&from=`), or the start of an upload session.
pub(crate) async fn start_upload(
    reg: &Inner,
    name: &str,
    req: &Req,
    body: &mut ReqBody,
) -> Result<Response<ResponseBody>, ApiError> {
    let name = valid_name(name)?;
    if let Some(mount) = query_get(&req.query, "mount") {
        let digest = parse_digest(mount)?;
        let from =
            query_get(&req.query, "from").filter(|from| crate::names::is_valid_repository(from));
        if let Some(from) = from {
            let _guard = reg.blob_lock.lock().await;
            let present = reg.linked(from, &digest)
                && reg
                    .blobs
                    .stat(&digest)
                    .await
                    .map_err(|e| ApiError::internal("checking a blob", &e))?
                    .is_some();
            if present {
                reg.link(name, digest);
                return Ok(created(name, &digest));
            }
        }
        // Not mountable: fall back to an upload session, as the spec asks.
    } else if let Some(digest) = query_get(&req.query, "digest") {
        let digest = parse_digest(digest)?;
        check_declared_size(reg, req)?;
        let mut bytes = new_upload(reg).await?;
        match drain_into(body, &mut bytes).await {
            Ok(_) => {}
            Err(DrainError::Body(e)) => return Err(body_failed(&e)),
            Err(DrainError::Storage(e)) => return Err(ApiError::internal("writing an upload", &e)),
        }
        return verify_and_commit(reg, name, bytes, &digest).await;
    }
    reg.check_session_room()?;
    let bytes = new_upload(reg).await?;
    let id = reg.new_upload_id();
    {
        let mut state = reg.state();
        // Checked again: others may have opened sessions meanwhile. On
        // failure `bytes` is dropped (after the lock), removing its file.
        if state.uploads.len() >= reg.limits.max_upload_sessions {
            drop(state);
            return Err(too_many_sessions(reg));
        }
        state.uploads.insert(
            id.clone(),
            Slot::Idle {
                repo: name.to_owned(),
                bytes: Box::new(bytes),
                touched: Instant::now(),
            },
        );
    }
    Ok(upload_response(StatusCode::ACCEPTED, name, &id, 0))
}

/// 429 `TOOMANYREQUESTS`: the upload session cap is reached.
fn too_many_sessions(reg: &Inner) -> ApiError {
    let limit = reg.limits.max_upload_sessions;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Code::TooManyRequests,
        format!("too many upload sessions: the limit is {limit}"),
    )
    .detail(serde_json::json!({ "limit": limit }))
    .header(
        header::RETRY_AFTER,
        HeaderValue::from(UPLOAD_RETRY_AFTER.as_secs()),
    )
}

impl Inner {
    /// Fails with 429 when no further upload session may be opened.
    fn check_session_room(&self) -> Result<(), ApiError> {
        if self.state().uploads.len() >= self.limits.max_upload_sessions {
            Err(too_many_sessions(self))
        } else {
            Ok(())
        }
    }
}

/// Exclusive use of an upload session for one request.
///
/// Dropping the lease (also when the request's future is dropped because
/// the client went away) puts the session back with every byte written so
/// far, so the client can ask for the upload status and resume.
struct Lease<'a> {
    reg: &'a Inner,
    id: String,
    repo: String,
    bytes: Option<UploadBytes>,
}

impl<'a> Lease<'a> {
    fn take(reg: &'a Inner, name: &str, id: &str) -> Result<Self, ApiError> {
        let mut state = reg.state();
        let slot = state
            .uploads
            .get_mut(id)
            .filter(|slot| slot.repo() == name)
            .ok_or_else(|| ApiError::upload_unknown(id))?;
        let len = slot.len();
        match std::mem::replace(
            slot,
            Slot::Busy {
                repo: name.to_owned(),
                len,
            },
        ) {
            Slot::Idle { repo, bytes, .. } => Ok(Self {
                reg,
                id: id.to_owned(),
                repo,
                bytes: Some(*bytes),
            }),
            busy @ Slot::Busy { .. } => {
                *slot = busy;
                Err(ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    Code::BlobUploadInvalid,
                    "another request is writing to this upload",
                ))
            }
        }
    }

    fn bytes(&mut self) -> &mut UploadBytes {
        self.bytes
            .as_mut()
            .expect("a lease holds its bytes until finished")
    }

    /// Ends the session and hands over its bytes.
    fn finish(mut self) -> UploadBytes {
        self.reg.state().uploads.remove(&self.id);
        self.bytes
            .take()
            .expect("a lease holds its bytes until finished")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(bytes) = self.bytes.take() else {
            return;
        };
        let mut state = self.reg.state();
        // The session may have been cancelled meanwhile: then `bytes` is dropped.
        if let Some(slot @ Slot::Busy { .. }) = state.uploads.get_mut(&self.id) {
            *slot = Slot::Idle {
                repo: std::mem::take(&mut self.repo),
                bytes: Box::new(bytes),
                touched: Instant::now(),
            };
        }
    }
}

/// Checks an optional `Content-Range` against the upload's current length.
fn check_chunk_start(
    req: &Req,
    name: &str,
    id: &str,
    current: u64,
) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(value) = req.header(&header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let Some((start, end)) = parse_content_range(value) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::BlobUploadInvalid,
            "malformed Content-Range",
        ));
    };
    let declared = req
        .header(&header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared.filter(|&length| length != end - start + 1) {
        // Refused before a byte is written, so the upload stays as it was.
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::BlobUploadInvalid,
            "Content-Length does not match Content-Range",
        )
        .detail(serde_json::json!({ "range": value, "length": length })));
    }
    if start != current {
        return Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            Code::BlobUploadInvalid,
            "chunk does not start at the end of the upload",
        )
        .detail(serde_json::json!({ "offset": current, "start": start }))
        .header(header::LOCATION, upload_location(name, id))
        .header(header::RANGE, upload_range(current))
        .header(
            header::HeaderName::from_static("docker-upload-uuid"),
            header_value(id),
        ));
    }
    Ok(Some((start, end)))
}

/// Streams the body into a leased upload, checking it against `Content-Range`.
async fn append(
    lease: &mut Lease<'_>,
    req: &Req,
    body: &mut ReqBody,
    name: &str,
    id: &str,
) -> Result<(), ApiError> {
    let current = lease.bytes().len();
    let range = check_chunk_start(req, name, id, current)?;
    check_declared_size(lease.reg, req)?;
    let written = match drain_into(body, lease.bytes()).await {
        Ok(n) => n,
        Err(DrainError::Body(e)) => return Err(body_failed(&e)),
        Err(DrainError::Storage(e)) => {
            // Storage is broken for this session: drop it and its file.
            drop(lease.bytes.take());
            lease.reg.state().uploads.remove(id);
            return Err(ApiError::internal("writing an upload", &e));
        }
    };
    if let Some((start, end)) = range
        && written != end - start + 1
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::BlobUploadInvalid,
            "chunk length does not match Content-Range",
        )
        .detail(serde_json::json!({ "declared": end - start + 1, "received": written })));
    }
    Ok(())
}

/// `PATCH /v2/<name>/blobs/uploads/<id>`: appends a streamed body or a
/// `Content-Range` chunk (which must start where the upload ends: 416).
pub(crate) async fn patch_upload(
    reg: &Inner,
    name: &str,
    id: &str,
    req: &Req,
    body: &mut ReqBody,
) -> Result<Response<ResponseBody>, ApiError> {
    let (name, id) = valid_session(name, id)?;
    let mut lease = Lease::take(reg, name, id)?;
    append(&mut lease, req, body, name, id).await?;
    let len = lease.bytes().len();
    drop(lease);
    Ok(upload_response(StatusCode::ACCEPTED, name, id, len))
}

/// `PUT /v2/<name>/blobs/uploads/<id>?digest=`: appends an optional final
/// chunk, verifies the digest (400 `DIGEST_INVALID`, and the session is
/// discarded) and stores the blob (201).
pub(crate) async fn finish_upload(
    reg: &Inner,
    name: &str,
    id: &str,
    req: &Req,
    body: &mut ReqBody,
) -> Result<Response<ResponseBody>, ApiError> {
    let (name, id) = valid_session(name, id)?;
    let digest = query_get(&req.query, "digest")
        .ok_or_else(|| ApiError::digest_invalid("the digest query parameter is required"))?;
    let digest = parse_digest(digest)?;
    let mut lease = Lease::take(reg, name, id)?;
    append(&mut lease, req, body, name, id).await?;
    let bytes = lease.finish();
    verify_and_commit(reg, name, bytes, &digest).await
}

/// `GET /v2/<name>/blobs/uploads/<id>`: 204 with the upload's `Range`.
pub(crate) fn upload_status(
    reg: &Inner,
    name: &str,
    id: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let (name, id) = valid_session(name, id)?;
    let len = reg
        .state()
        .uploads
        .get(id)
        .filter(|slot| slot.repo() == name)
        .map(Slot::len)
        .ok_or_else(|| ApiError::upload_unknown(id))?;
    Ok(upload_response(StatusCode::NO_CONTENT, name, id, len))
}

/// `DELETE /v2/<name>/blobs/uploads/<id>`: cancels the upload (204).
pub(crate) fn cancel_upload(
    reg: &Inner,
    name: &str,
    id: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let (name, id) = valid_session(name, id)?;
    let removed = {
        let mut state = reg.state();
        if state
            .uploads
            .get(id)
            .is_some_and(|slot| slot.repo() == name)
        {
            state.uploads.remove(id)
        } else {
            None
        }
    };
    // Dropped outside the lock: removes the temporary file.
    match removed {
        Some(slot) => {
            drop(slot);
            Ok(empty_response(StatusCode::NO_CONTENT))
        }
        None => Err(ApiError::upload_unknown(id)),
    }
}
