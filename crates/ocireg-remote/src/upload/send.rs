//! Sending one blob over an open session, resuming and restarting on failure, then
//! committing it (the middle and end of the state machine in [`upload`](super)).

use std::sync::{Arc, Mutex};

use http::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use http::{Method, StatusCode};
use ocireg_transport::Body;
use ocireg_v1::{Blob, Digest, Layer};
use tracing::{debug, warn};

use super::stream::{Meter, SharedMeter, Source, Tap, lock};
use super::{
    MONOLITHIC_MAX, RESUME_CHUNK, Session, Started, Target, UPLOAD_ATTEMPTS, UploadSettings,
    next_location, start, with_query,
};
use crate::error::{Error, Result, Subject};
use crate::progress::Reporter;
use crate::protocol::{
    DOCKER_CONTENT_DIGEST, OCTET_STREAM, check_registry_digest, discard, header_str,
    parse_upload_range, request,
};

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
    reference: &Subject,
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

/// One blob being sent over an open session.
pub(super) struct Upload<'a, 'b> {
    pub(super) target: &'a Target<'b>,
    pub(super) layer: &'a Arc<dyn Layer>,
    /// The layer's digest, `None` for a streaming layer.
    pub(super) digest: Option<Digest>,
    pub(super) size: Option<u64>,
    pub(super) settings: &'a UploadSettings,
    pub(super) session: Session,
    /// Reports progress; for a streaming layer, only once its digest is known.
    pub(super) reporter: Option<Reporter>,
}

impl Upload<'_, '_> {
    /// What errors name: the blob (`repo@digest`), or the streaming layer.
    fn reference(&self) -> Subject {
        match self.digest {
            Some(d) => Subject::from(self.target.repo.digest(d)),
            None => Subject::StreamingLayer(Box::new(self.target.repo.clone())),
        }
    }

    /// What a digest check names (see [`Error::RegistryDigestMismatch`]): the repository
    /// (with the digest we sent), or the streaming layer.
    fn pushed(&self) -> Subject {
        match self.digest {
            Some(_) => self.target.subject(),
            None => Subject::StreamingLayer(Box::new(self.target.repo.clone())),
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
    pub(super) async fn run(&mut self) -> Result<Digest> {
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
        let mut headers = vec![(CONTENT_TYPE, OCTET_STREAM.to_owned())];
        if let Some(len) = length {
            headers.push((CONTENT_LENGTH, len.to_string()));
            if offset > 0 {
                headers.push((
                    CONTENT_RANGE,
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
                (CONTENT_TYPE, OCTET_STREAM.to_owned()),
                (CONTENT_LENGTH, len.to_string()),
                (CONTENT_RANGE, format!("{offset}-{end}")),
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
            if let Some(held) = header_str(response.headers(), RANGE).and_then(parse_upload_range)
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
            (CONTENT_TYPE, OCTET_STREAM.to_owned()),
            (CONTENT_LENGTH, size.to_string()),
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
                        (CONTENT_TYPE, OCTET_STREAM.to_owned()),
                        (CONTENT_LENGTH, "0".to_owned()),
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
        check_registry_digest(said.as_deref(), computed, &self.pushed()).map_err(Failure::fatal)?;
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
        let held = header_str(response.headers(), RANGE).and_then(parse_upload_range);
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
                self.target.subject(),
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
