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

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt as _;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use ocireg_name::Repository;
use ocireg_transport::{Body, ResponseBody, Transport};
use ocireg_v1::{Blob, BoxByteStream, Digest, Hasher, Layer};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::progress::{BlobOutcome, Direction, Progress, Reporter};

/// The header carrying a blob or manifest digest.
pub(crate) const DOCKER_CONTENT_DIGEST: &str = "Docker-Content-Digest";
/// The header a registry uses to ask for a minimum chunk size (OCI distribution 1.1).
const OCI_CHUNK_MIN_LENGTH: &str = "OCI-Chunk-Min-Length";
/// Blobs up to this size (with a known digest) go in one `PUT` instead of `PATCH` + `PUT`.
const MONOLITHIC_MAX: u64 = 1 << 20;
/// The chunk size used when resuming a blob of unknown size without a configured chunk size.
const RESUME_CHUNK: u64 = 8 << 20;
/// Attempts per blob: the first, then resumes or restarts.
const UPLOAD_ATTEMPTS: u32 = 4;
/// The most of a small response body we read before dropping it.
const SMALL_BODY: u64 = 64 * 1024;

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
    fn path(&self, rest: &str) -> String {
        format!("/v2/{}/{rest}", self.repo.repository_str())
    }

    fn name(&self) -> &str {
        self.repo.name()
    }
}

/// Builds a request; header values we build are always valid, but a bad one is an error,
/// not a panic.
pub(crate) fn request(
    method: Method,
    uri: Uri,
    headers: &[(&str, String)],
    body: Body,
    reference: &str,
) -> Result<Request<Body>> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    builder
        .body(body)
        .map_err(|e| Error::protocol("building a request for", reference, e.to_string()))
}

/// Reads and drops a small response body so the connection can be reused.
pub(crate) async fn discard(response: Response<ResponseBody>) {
    drop(response.into_body().bytes(SMALL_BODY).await);
}

/// The header's value as text, if present and ASCII.
pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
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
    let reference = format!("{}@{digest}", target.name());
    let uri = url(
        target.transport,
        &target.path(&format!("blobs/{digest}")),
        &reference,
    )?;
    let req = request(Method::HEAD, uri, &[], Body::empty(), &reference)?;
    let response = target
        .transport
        .send_expect(req, &[StatusCode::OK, StatusCode::NOT_FOUND])
        .await
        .map_err(|e| Error::transport("checking for blob", &reference, e))?;
    let found = response.status() == StatusCode::OK;
    discard(response).await;
    Ok(found)
}

pub(crate) fn url(transport: &Transport, path: &str, reference: &str) -> Result<Uri> {
    transport
        .url(path)
        .map_err(|e| Error::transport("building the URL for", reference, e))
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
    let reference = target.name().to_owned();
    if let Some((digest, from)) = mount {
        // Never `mount` without `from` (Quay), and only ever within one registry, so the
        // Docker Hub rule of ggcr #1741 (no `from` across registries) cannot arise.
        let path = target.path(&format!(
            "blobs/uploads/?mount={digest}&from={}",
            from.repository_str()
        ));
        match post_upload(target, &path, &reference).await {
            Ok((StatusCode::CREATED, _)) => {
                debug!(repo = %target.name(), %digest, from = %from.name(), "mounted blob");
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
    match post_upload(target, &target.path("blobs/uploads/"), &reference).await? {
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
    reference: &str,
) -> Result<(StatusCode, Option<Session>)> {
    let uri = url(target.transport, path, reference)?;
    let req = request(
        Method::POST,
        uri.clone(),
        &[(CONTENT_LENGTH.as_str(), "0".to_owned())],
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
        .and_then(|v| v.trim().parse::<u64>().ok())
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
    reference: &str,
) -> Result<Uri> {
    let raw = header_str(headers, LOCATION.as_str()).ok_or_else(|| Error::MissingHeader {
        action: "uploading to",
        reference: reference.to_owned(),
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
    format!("{text}{sep}{name}={value}")
        .parse()
        .map_err(|_| Error::protocol("building the upload URL", &text, "invalid URL"))
}

/// Parses an upload `Range` header (`0-N`, optionally `bytes=0-N`): the number of bytes the
/// registry holds, or `None` when it cannot be told (`0-0` means 0 or 1 bytes).
pub(crate) fn parse_upload_range(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("bytes=").unwrap_or(v);
    let (start, end) = v.split_once('-')?;
    if start.trim() != "0" {
        return None;
    }
    let end: u64 = end.trim().parse().ok()?;
    if end == 0 {
        return None;
    }
    end.checked_add(1)
}

/// The count (and, unless the source checks itself, the running hash) of the bytes sent,
/// shared with the body stream.
#[derive(Debug)]
struct Meter {
    check: Check,
    sent: u64,
    ended: bool,
    /// The error the source stream failed with while hyper was sending it (a download cut
    /// short in a copy, a file that failed to read): the upload request then fails too,
    /// and this, not the request's failure, is what went wrong.
    source_error: Option<io::Error>,
}

/// How the content sent is checked against the digest committed.
#[derive(Debug)]
enum Check {
    /// Hash every byte sent.
    Hash(Hasher),
    /// The source is a [`Blob::verified`] stream for this digest: it fails (withholding
    /// its last chunk) unless its content has the digest, so hashing the same bytes
    /// again here would only cost CPU (a copy would hash every layer twice).
    VerifiedSource(Digest),
}

impl Meter {
    fn new(algorithm: ocireg_v1::Algorithm, verified_source: Option<Digest>) -> Self {
        let check = match verified_source {
            Some(d) => Check::VerifiedSource(d),
            None => Check::Hash(Hasher::new(algorithm)),
        };
        Self {
            check,
            sent: 0,
            ended: false,
            source_error: None,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.sent += bytes.len() as u64;
        if let Check::Hash(h) = &mut self.check {
            h.update(bytes);
        }
    }

    /// The digest of what was sent (or the verified source's), and how many bytes.
    fn result(&self) -> (Digest, u64) {
        let digest = match &self.check {
            Check::Hash(h) => h.clone().finish(),
            Check::VerifiedSource(d) => *d,
        };
        (digest, self.sent)
    }
}

type SharedMeter = Arc<Mutex<Meter>>;

fn lock(m: &SharedMeter) -> std::sync::MutexGuard<'_, Meter> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A body stream that hashes and counts what passes and reports progress.
///
/// `complete_at` is the blob size when known: hyper stops polling a body of known length
/// once it has that many bytes, so reaching it counts as the end.
struct Tap {
    inner: BoxByteStream,
    meter: SharedMeter,
    reporter: Option<Reporter>,
    complete_at: Option<u64>,
}

impl Tap {
    /// A tap over `inner`. A body that is complete before its first byte (a 0-byte blob,
    /// or a resume at the very end) counts as ended at once: hyper never polls a body of
    /// length 0, so waiting for its end would wrongly report an early answer.
    fn new(
        inner: BoxByteStream,
        meter: &SharedMeter,
        reporter: Option<Reporter>,
        complete_at: Option<u64>,
    ) -> Self {
        {
            let mut m = lock(meter);
            if complete_at == Some(m.sent) {
                m.ended = true;
            }
        }
        Self {
            inner,
            meter: Arc::clone(meter),
            reporter,
            complete_at,
        }
    }
}

impl Stream for Tap {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = self.inner.as_mut().poll_next(cx);
        match item {
            Poll::Ready(Some(Ok(chunk))) => {
                let done = {
                    let mut m = lock(&self.meter);
                    m.update(&chunk);
                    if self.complete_at == Some(m.sent) {
                        m.ended = true;
                    }
                    m.sent
                };
                if let Some(r) = &self.reporter {
                    r.bytes(done);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                lock(&self.meter).ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                // Keep the real error for the upload's report; hyper gets a stand-in.
                let stand_in = io::Error::new(e.kind(), "the upload source failed");
                lock(&self.meter).source_error = Some(e);
                Poll::Ready(Some(Err(stand_in)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A source stream with one chunk of look-ahead, for skipping and chunking.
struct Source {
    stream: BoxByteStream,
    pending: Option<Bytes>,
}

impl Source {
    fn new(blob: Blob) -> Self {
        Self {
            stream: blob.into_stream(),
            pending: None,
        }
    }

    async fn next(&mut self) -> Option<io::Result<Bytes>> {
        if let Some(p) = self.pending.take() {
            return Some(Ok(p));
        }
        self.stream.next().await
    }

    /// Reads up to `n` bytes (fewer only at the end), feeding them to `meter`.
    async fn take(&mut self, n: u64, meter: &SharedMeter) -> io::Result<Bytes> {
        let want = usize::try_from(n).unwrap_or(usize::MAX);
        let mut buf = BytesMut::new();
        while buf.len() < want {
            let Some(chunk) = self.next().await.transpose()? else {
                break;
            };
            let room = want - buf.len();
            let mut chunk = chunk;
            if chunk.len() > room {
                self.pending = Some(chunk.split_off(room));
            }
            buf.extend_from_slice(&chunk);
        }
        let bytes = buf.freeze();
        lock(meter).update(&bytes);
        Ok(bytes)
    }

    /// Skips `n` bytes, hashing them (they were sent before); fails if the source is shorter.
    async fn skip(&mut self, n: u64, meter: &SharedMeter) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            let Some(chunk) = self.next().await.transpose()? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the re-opened source is shorter than what the registry already holds",
                ));
            };
            let mut chunk = chunk;
            if chunk.len() as u64 > left {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "left < chunk.len(), which is a usize"
                )]
                let rest = chunk.split_off(left as usize);
                self.pending = Some(rest);
            }
            lock(meter).update(&chunk);
            left -= chunk.len() as u64;
        }
        Ok(())
    }

    fn into_stream(self) -> BoxByteStream {
        match self.pending {
            Some(p) => {
                Box::pin(futures_util::stream::once(async move { Ok(p) }).chain(self.stream))
            }
            None => self.stream,
        }
    }
}

/// Why sending failed, and whether asking for the upload status may let us go on.
struct Failure {
    error: Error,
    resumable: bool,
}

impl Failure {
    fn fatal(error: Error) -> Self {
        Self {
            error,
            resumable: false,
        }
    }

    fn classify(error: Error) -> Self {
        let resumable = error.is_transient()
            || matches!(
                error.status(),
                Some(StatusCode::RANGE_NOT_SATISFIABLE | StatusCode::UNAUTHORIZED)
            )
            || matches!(
                &error,
                Error::Transport {
                    source: ocireg_transport::Error::NotReplayable { .. },
                    ..
                }
            );
        Self { error, resumable }
    }
}

/// Why a request streaming the source failed: the source's own error when it broke (a
/// download cut short is a download error, not an upload one), else the request's.
fn send_failure(
    meter: &SharedMeter,
    action: &'static str,
    reference: &str,
    error: ocireg_transport::Error,
) -> Failure {
    match lock(meter).source_error.take() {
        Some(source) => Failure::classify(Error::content(
            "reading the blob to upload to",
            reference,
            ocireg_v1::Error::from_io(source),
        )),
        None => Failure::classify(Error::transport(action, reference, error)),
    }
}

/// What the send stage ended with.
enum Sent {
    /// All bytes are in the session; commit with `PUT ?digest=`.
    Staged,
    /// A monolithic `PUT` already committed the blob; the registry said this digest.
    Committed(Option<String>),
}

struct Upload<'a, 'b> {
    target: &'a Target<'b>,
    layer: &'a Arc<dyn Layer>,
    digest: Option<Digest>,
    size: Option<u64>,
    settings: &'a UploadSettings,
    session: Session,
    reporter: Option<Reporter>,
}

impl Upload<'_, '_> {
    fn reference(&self) -> String {
        match self.digest {
            Some(d) => format!("{}@{d}", self.target.name()),
            None => format!("{} (streaming layer)", self.target.name()),
        }
    }

    /// A meter for sending `blob`; it trusts the blob's own verification when that is
    /// against the digest we are about to commit.
    fn new_meter(&self, blob: &Blob) -> SharedMeter {
        let algorithm = self
            .digest
            .map_or(ocireg_v1::Algorithm::Sha256, |d| d.algorithm());
        // An empty blob is never polled (hyper sends no body of length 0), so its own
        // verification would never run: hash the nothing we send instead, which costs
        // nothing and catches a layer that claims the empty size under another digest.
        let trusted = self
            .digest
            .filter(|d| blob.verified_digest() == Some(*d) && self.size != Some(0));
        Arc::new(Mutex::new(Meter::new(algorithm, trusted)))
    }

    /// Sends, resumes or restarts, then commits; returns the digest committed.
    async fn run(&mut self) -> Result<Digest> {
        let mut offset = 0u64;
        let mut attempt = 0u32;
        let mut last: Option<Error> = None;
        loop {
            attempt += 1;
            let blob = match self.layer.compressed().await {
                Ok(b) => b,
                Err(e) => {
                    let Some(failure) = last else {
                        return Err(Error::View(e));
                    };
                    // Never replay a consumed body: report why the upload failed.
                    warn!(error = %e, "the upload source cannot be re-opened");
                    self.cancel().await;
                    return Err(failure);
                }
            };
            let meter = self.new_meter(&blob);
            let outcome = self.send(blob, offset, &meter).await;
            let failure = match outcome {
                Ok(sent) => match self.finish(sent, &meter).await {
                    Ok(d) => return Ok(d),
                    Err(f) => f,
                },
                Err(f) => f,
            };
            let unauthorized = failure.error.status() == Some(StatusCode::UNAUTHORIZED);
            // A 401 part way (a token that expired mid-push) is met once: the transport
            // fetched a new token with it, and the next attempt carries that. A second 401
            // in a row means the new token is refused too: the credentials are at fault.
            let second_401 = unauthorized
                && last
                    .as_ref()
                    .is_some_and(|e| e.status() == Some(StatusCode::UNAUTHORIZED));
            if !failure.resumable || second_401 || attempt >= UPLOAD_ATTEMPTS {
                self.cancel().await;
                return Err(failure.error);
            }
            if !self.can_reopen() {
                // A one-shot stream cannot be sent again: never replay a consumed body.
                self.cancel().await;
                return Err(failure.error);
            }
            warn!(
                reference = %self.reference(),
                attempt,
                error = %failure.error,
                "blob upload failed part way; asking the registry where it stands"
            );
            tokio::time::sleep((self.settings.backoff)(attempt)).await;
            offset = match self.status().await {
                Some(n) if self.size.is_none_or(|s| n <= s) => n,
                _ => {
                    self.restart().await?;
                    0
                }
            };
            debug!(reference = %self.reference(), offset, "resuming blob upload");
            last = Some(failure.error);
        }
    }

    fn can_reopen(&self) -> bool {
        // A streaming layer reports its values as not computed until consumed, and its
        // stream can be taken once; every other layer re-opens its compressed stream.
        self.digest.is_some()
    }

    /// Sends the blob from `offset` (the bytes the registry holds), re-reading and hashing
    /// what comes before it.
    async fn send(
        &mut self,
        blob: Blob,
        offset: u64,
        meter: &SharedMeter,
    ) -> Result<Sent, Failure> {
        let mut source = Source::new(blob);
        if offset > 0 {
            source.skip(offset, meter).await.map_err(|e| {
                Failure::fatal(Error::content(
                    "re-reading the upload source of",
                    self.reference(),
                    ocireg_v1::Error::from_io(e),
                ))
            })?;
        }
        if let Some(r) = &self.reporter {
            r.bytes(offset);
        }
        let configured = self.settings.chunk_size;
        let min = self.session.min_chunk.unwrap_or(0);
        if offset == 0 && configured.is_none() {
            if let (Some(d), Some(size)) = (self.digest, self.size)
                && size <= MONOLITHIC_MAX.max(min)
            {
                return self.put_whole(source, d, size, meter).await;
            }
            self.patch_stream(source, 0, meter).await?;
            return Ok(Sent::Staged);
        }
        let chunk = match configured {
            Some(c) => c.max(min),
            None => match self.size {
                // Resuming a blob of known size: the rest in one ranged, streamed PATCH.
                Some(size) => {
                    if size > offset {
                        self.patch_stream(source, offset, meter).await?;
                    }
                    return Ok(Sent::Staged);
                }
                None => RESUME_CHUNK.max(min),
            },
        };
        self.patch_chunks(source, offset, chunk, meter).await?;
        Ok(Sent::Staged)
    }

    /// One `PATCH` streaming the rest of the source; with a `Content-Range` when resuming.
    async fn patch_stream(
        &mut self,
        source: Source,
        offset: u64,
        meter: &SharedMeter,
    ) -> Result<(), Failure> {
        let reference = self.reference();
        let length = self.size.map(|s| s - offset);
        let mut headers = vec![(CONTENT_TYPE.as_str(), "application/octet-stream".to_owned())];
        if let Some(len) = length {
            headers.push((CONTENT_LENGTH.as_str(), len.to_string()));
            if offset > 0 {
                headers.push((
                    CONTENT_RANGE.as_str(),
                    format!("{offset}-{}", (offset + len).saturating_sub(1)),
                ));
            }
        }
        let body = Body::from_stream(
            Tap::new(
                source.into_stream(),
                meter,
                self.reporter.clone(),
                self.size,
            ),
            length,
        );
        let uri = self.session.location.clone();
        let req = request(Method::PATCH, uri.clone(), &headers, body, &reference)
            .map_err(Failure::fatal)?;
        let response = self
            .target
            .transport
            .send_expect(
                req,
                &[
                    StatusCode::ACCEPTED,
                    StatusCode::NO_CONTENT,
                    StatusCode::CREATED,
                ],
            )
            .await
            .map_err(|e| send_failure(meter, "uploading blob", &reference, e))?;
        if !lock(meter).ended {
            discard(response).await;
            return Err(Failure::classify(Error::protocol(
                "uploading blob",
                &reference,
                "the registry answered before the whole body was sent",
            )));
        }
        self.session.location =
            next_location(self.target.transport, &uri, response.headers(), &reference)
                .map_err(Failure::fatal)?;
        discard(response).await;
        Ok(())
    }

    /// `PATCH`es of `chunk` bytes with `Content-Range`, from `offset` to the end.
    async fn patch_chunks(
        &mut self,
        mut source: Source,
        mut offset: u64,
        chunk: u64,
        meter: &SharedMeter,
    ) -> Result<(), Failure> {
        let reference = self.reference();
        loop {
            let bytes = source.take(chunk, meter).await.map_err(|e| {
                Failure::classify(Error::content(
                    "reading the upload source of",
                    &reference,
                    ocireg_v1::Error::from_io(e),
                ))
            })?;
            if bytes.is_empty() {
                lock(meter).ended = true;
                return Ok(());
            }
            let len = bytes.len() as u64;
            let end = offset + len - 1;
            let headers = [
                (CONTENT_TYPE.as_str(), "application/octet-stream".to_owned()),
                (CONTENT_LENGTH.as_str(), len.to_string()),
                (CONTENT_RANGE.as_str(), format!("{offset}-{end}")),
            ];
            let uri = self.session.location.clone();
            let req = request(
                Method::PATCH,
                uri.clone(),
                &headers,
                Body::from_bytes(bytes),
                &reference,
            )
            .map_err(Failure::fatal)?;
            let response = self
                .target
                .transport
                .send_expect(
                    req,
                    &[
                        StatusCode::ACCEPTED,
                        StatusCode::NO_CONTENT,
                        StatusCode::CREATED,
                    ],
                )
                .await
                .map_err(|e| {
                    Failure::classify(Error::transport("uploading a chunk of", &reference, e))
                })?;
            if let Some(held) =
                header_str(response.headers(), RANGE.as_str()).and_then(parse_upload_range)
                && held != end + 1
            {
                discard(response).await;
                // The registry holds something else than we think: ask it, then go on.
                return Err(Failure {
                    error: Error::protocol(
                        "uploading a chunk of",
                        &reference,
                        format!(
                            "the registry holds {held} bytes after a chunk ending at byte {end}"
                        ),
                    ),
                    resumable: true,
                });
            }
            self.session.location =
                next_location(self.target.transport, &uri, response.headers(), &reference)
                    .map_err(Failure::fatal)?;
            discard(response).await;
            offset = end + 1;
            if let Some(r) = &self.reporter {
                r.bytes(offset);
            }
        }
    }

    /// A monolithic upload: the whole (small) blob in the closing `PUT`.
    async fn put_whole(
        &mut self,
        source: Source,
        digest: Digest,
        size: u64,
        meter: &SharedMeter,
    ) -> Result<Sent, Failure> {
        let reference = self.reference();
        let uri = with_query(&self.session.location, "digest", &digest.to_string())
            .map_err(Failure::fatal)?;
        let body = Body::from_stream(
            Tap::new(
                source.into_stream(),
                meter,
                self.reporter.clone(),
                Some(size),
            ),
            Some(size),
        );
        let headers = [
            (CONTENT_TYPE.as_str(), "application/octet-stream".to_owned()),
            (CONTENT_LENGTH.as_str(), size.to_string()),
        ];
        let req = request(Method::PUT, uri, &headers, body, &reference).map_err(Failure::fatal)?;
        let response = self
            .target
            .transport
            .send_expect(req, &[StatusCode::CREATED])
            .await
            .map_err(|e| send_failure(meter, "uploading blob", &reference, e))?;
        let said = header_str(response.headers(), DOCKER_CONTENT_DIGEST).map(str::to_owned);
        let ended = lock(meter).ended;
        discard(response).await;
        if !ended {
            return Err(Failure::fatal(Error::protocol(
                "uploading blob",
                &reference,
                "the registry accepted the blob before the whole body was sent",
            )));
        }
        Ok(Sent::Committed(said))
    }

    /// Checks what was sent against the layer, then commits with `PUT ?digest=`.
    async fn finish(&mut self, sent: Sent, meter: &SharedMeter) -> Result<Digest, Failure> {
        let reference = self.reference();
        let (computed, count) = lock(meter).result();
        if let Some(expected) = self.digest
            && expected != computed
        {
            return Err(Failure::fatal(Error::content(
                "uploading blob",
                &reference,
                ocireg_v1::Error::DigestMismatch {
                    expected,
                    actual: computed,
                },
            )));
        }
        if let Some(size) = self.size
            && size != count
        {
            return Err(Failure::fatal(Error::content(
                "uploading blob",
                &reference,
                ocireg_v1::Error::SizeMismatch {
                    digest: computed,
                    expected: size,
                    actual: count,
                },
            )));
        }
        let said = match sent {
            Sent::Committed(said) => said,
            Sent::Staged => {
                let uri = with_query(&self.session.location, "digest", &computed.to_string())
                    .map_err(Failure::fatal)?;
                let req = request(
                    Method::PUT,
                    uri,
                    &[
                        (CONTENT_TYPE.as_str(), "application/octet-stream".to_owned()),
                        (CONTENT_LENGTH.as_str(), "0".to_owned()),
                    ],
                    Body::empty(),
                    &reference,
                )
                .map_err(Failure::fatal)?;
                let response = self
                    .target
                    .transport
                    .send_expect(req, &[StatusCode::CREATED])
                    .await
                    .map_err(|e| {
                        Failure::classify(Error::transport("committing blob", &reference, e))
                    })?;
                let said = header_str(response.headers(), DOCKER_CONTENT_DIGEST).map(str::to_owned);
                discard(response).await;
                said
            }
        };
        check_registry_digest(said.as_deref(), computed, &reference).map_err(Failure::fatal)?;
        Ok(computed)
    }

    /// `GET <location>`: how many bytes the registry holds (`None` when it cannot say).
    async fn status(&mut self) -> Option<u64> {
        let reference = self.reference();
        let uri = self.session.location.clone();
        let req = request(Method::GET, uri.clone(), &[], Body::empty(), &reference).ok()?;
        let response = match self
            .target
            .transport
            .send_expect(
                req,
                &[StatusCode::NO_CONTENT, StatusCode::OK, StatusCode::ACCEPTED],
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                debug!(error = %e, "upload status unavailable; restarting the upload");
                return None;
            }
        };
        let held = header_str(response.headers(), RANGE.as_str()).and_then(parse_upload_range);
        if let Ok(next) = next_location(self.target.transport, &uri, response.headers(), &reference)
        {
            self.session.location = next;
        }
        discard(response).await;
        held
    }

    /// Cancels the session (best effort) and opens a new one, without a mount.
    async fn restart(&mut self) -> Result<()> {
        self.cancel().await;
        match start(self.target, None).await? {
            Started::Session(s) => {
                self.session = s;
                Ok(())
            }
            Started::Mounted => Err(Error::protocol(
                "restarting an upload to",
                self.target.name(),
                "the registry answered 201 to a plain upload request",
            )),
        }
    }

    /// `DELETE <location>`, ignoring failures: the registry expires sessions anyway.
    async fn cancel(&self) {
        let reference = self.reference();
        let Ok(req) = request(
            Method::DELETE,
            self.session.location.clone(),
            &[],
            Body::empty(),
            &reference,
        ) else {
            return;
        };
        match self.target.transport.send(req).await {
            Ok(r) => discard(r).await,
            Err(e) => debug!(error = %e, "cancelling the upload failed"),
        }
    }
}

/// Compares the registry's `Docker-Content-Digest` with what we sent (when it sent one in
/// the same algorithm).
pub(crate) fn check_registry_digest(
    said: Option<&str>,
    sent: Digest,
    reference: &str,
) -> Result<()> {
    let Some(said) = said.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let parsed: Option<Digest> = said.parse().ok();
    match parsed {
        Some(d) if d == sent => Ok(()),
        Some(d) if d.algorithm() != sent.algorithm() => Ok(()),
        _ => Err(Error::RegistryDigestMismatch {
            reference: reference.to_owned(),
            sent,
            registry: said.to_owned(),
        }),
    }
}

/// Opens an upload session and cancels it: whether we may push to `repo`.
pub(crate) async fn probe_push(target: &Target<'_>) -> Result<()> {
    let reference = target.name().to_owned();
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
    fn upload_range_table() {
        let cases = [
            ("0-99", Some(100)),
            ("bytes=0-99", Some(100)),
            (" 0-1 ", Some(2)),
            ("0-0", None),
            ("1-99", None),
            ("0-", None),
            ("garbage", None),
            ("0-18446744073709551615", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_upload_range(input), want, "{input}");
        }
    }

    #[test]
    fn registry_digest_check() {
        let d = ocireg_v1::sha256(b"x");
        assert!(check_registry_digest(None, d, "r").is_ok());
        assert!(check_registry_digest(Some(""), d, "r").is_ok());
        assert!(check_registry_digest(Some(&d.to_string()), d, "r").is_ok());
        let other = ocireg_v1::sha256(b"y").to_string();
        assert!(matches!(
            check_registry_digest(Some(&other), d, "r"),
            Err(Error::RegistryDigestMismatch { .. })
        ));
        assert!(check_registry_digest(Some("nonsense"), d, "r").is_err());
        let sha512 = ocireg_v1::digest_of(ocireg_v1::Algorithm::Sha512, b"x").to_string();
        assert!(check_registry_digest(Some(&sha512), d, "r").is_ok());
    }

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

    #[tokio::test]
    async fn source_skips_and_chunks_across_chunk_boundaries() {
        let chunks = vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"defgh")),
            Ok(Bytes::from_static(b"ij")),
        ];
        let blob = Blob::new(futures_util::stream::iter(chunks), Some(10));
        let meter: SharedMeter =
            Arc::new(Mutex::new(Meter::new(ocireg_v1::Algorithm::Sha256, None)));
        let mut s = Source::new(blob);
        s.skip(4, &meter).await.unwrap();
        assert_eq!(&s.take(3, &meter).await.unwrap()[..], b"efg");
        assert_eq!(&s.take(10, &meter).await.unwrap()[..], b"hij");
        assert!(s.take(10, &meter).await.unwrap().is_empty());
        let (digest, sent) = lock(&meter).result();
        assert_eq!(sent, 10);
        assert_eq!(digest, ocireg_v1::sha256(b"abcdefghij"));
    }

    #[tokio::test]
    async fn skip_past_the_end_fails() {
        let blob = Blob::from_bytes("abc");
        let meter: SharedMeter =
            Arc::new(Mutex::new(Meter::new(ocireg_v1::Algorithm::Sha256, None)));
        let mut s = Source::new(blob);
        assert_eq!(
            s.skip(4, &meter).await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
