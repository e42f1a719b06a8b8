//! The read protocol (ggcr's `fetcher`): manifest GET/HEAD with the right `Accept`, bounded
//! and verified; blob HEAD; and the resumable, verified blob download. The requests
//! themselves are the [`protocol`](crate::protocol)'s.

use std::io;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::header::{CONTENT_RANGE, RANGE};
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use ocireg_name::{DigestReference, Reference, Repository};
use ocireg_transport::{Body, ResponseBody, Transport};
use ocireg_v1::{AnyManifest, Blob, Descriptor, Digest, MediaType, digest_of};
use tracing::{debug, warn};

use crate::error::{Error, Result, Subject};
use crate::options::Options;
use crate::progress::{self, BlobOutcome, Direction, Reporter};
use crate::protocol::{
    self, ALL_MANIFESTS, DOCKER_CONTENT_DIGEST, Presence, content_length, content_type, header_str,
    parse_content_range,
};

/// How many reconnects without progress a blob download makes before giving up.
pub(crate) const MAX_RESUMES: u32 = 3;

/// The repository-scoped context every read of one repository shares: the transport (from
/// the session's cache), the repository and the options.
#[derive(Clone, Debug)]
pub(crate) struct Fetcher {
    pub(crate) transport: Transport,
    pub(crate) repository: Repository,
    pub(crate) options: Options,
}

/// A manifest as fetched: exact bytes, the descriptor we built for it, and the parsed
/// document when it is an image or an index.
#[derive(Clone, Debug)]
pub(crate) struct FetchedManifest {
    pub(crate) bytes: Bytes,
    pub(crate) descriptor: Descriptor,
    pub(crate) parsed: Option<AnyManifest>,
}

impl Fetcher {
    /// A fetcher for `repository` with a pull transport from the session.
    pub(crate) async fn new(repository: &Repository, options: &Options) -> Result<Self> {
        let transport = options.session().pull(repository).await?;
        Ok(Self::with_transport(transport, repository, options))
    }

    /// A fetcher for `repository` through `transport` (one that may pull from it, e.g. a
    /// copy's destination transport on the same registry).
    pub(crate) fn with_transport(
        transport: Transport,
        repository: &Repository,
        options: &Options,
    ) -> Self {
        Self {
            transport,
            repository: repository.clone(),
            options: options.clone(),
        }
    }

    /// The same fetcher with another platform (same transport and session).
    pub(crate) fn with_platform(&self, platform: ocireg_v1::Platform) -> Self {
        Self {
            transport: self.transport.clone(),
            repository: self.repository.clone(),
            options: self.options.with_platform(platform),
        }
    }

    /// A blob of this repository.
    fn blob_ref(&self, digest: Digest) -> DigestReference {
        self.repository.digest(digest)
    }

    /// `GET` a manifest by tag or digest, accepting `accept`.
    ///
    /// The body is capped at [`MANIFEST_LIMIT`](ocireg_v1::MANIFEST_LIMIT); a digest
    /// reference is verified against the bytes; the kind is checked against `Content-Type`
    /// (CVE-2021-41190).
    pub(crate) async fn manifest(
        &self,
        reference: &Reference,
        accept: &[MediaType],
    ) -> Result<FetchedManifest> {
        let response = protocol::get_manifest(
            &self.transport,
            reference.repository(),
            reference.identifier(),
            accept,
            &[StatusCode::OK],
            "fetching manifest",
            &Subject::from(reference),
        )
        .await?;
        let (head, bytes) = response.into_parts();
        let content_type = content_type(&head.headers);
        let header_digest =
            header_str(&head.headers, DOCKER_CONTENT_DIGEST).and_then(|d| d.parse::<Digest>().ok());
        let digest = if let Some(wanted) = reference.as_digest() {
            let expected = wanted.digest();
            let actual = digest_of(expected.algorithm(), &bytes);
            if actual != expected {
                return Err(Error::ManifestDigestMismatch {
                    reference: Box::new(wanted.clone()),
                    actual,
                });
            }
            expected
        } else {
            let actual = ocireg_v1::sha256(&bytes);
            if let Some(h) = header_digest
                && h.algorithm() == actual.algorithm()
                && h != actual
            {
                warn!(
                    reference = %reference,
                    header = %h,
                    computed = %actual,
                    "Docker-Content-Digest disagrees with the manifest bytes; using the computed digest"
                );
            }
            actual
        };
        let fetched = describe(reference, bytes, content_type, digest)?;
        progress::manifest_done(
            self.options.progress(),
            &reference.to_string(),
            fetched.descriptor.digest,
            fetched.descriptor.size,
            Direction::Pull,
        );
        Ok(fetched)
    }

    /// `HEAD` a manifest: its descriptor without the body. Falls back to `GET` when the
    /// registry does not answer `HEAD` (405) or omits `Docker-Content-Digest`.
    pub(crate) async fn head_manifest(&self, reference: &Reference) -> Result<Descriptor> {
        const ACTION: &str = "checking manifest";
        let response =
            protocol::head_manifest(&self.transport, reference, ALL_MANIFESTS, ACTION).await?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            debug!(reference = %reference, "HEAD not allowed, falling back to GET");
            return Ok(self.manifest(reference, ALL_MANIFESTS).await?.descriptor);
        }
        let response = self
            .transport
            .check(response, &[StatusCode::OK])
            .await
            .map_err(|e| protocol::manifest_error("fetching manifest", &reference.into(), e))?;
        let headers = response.headers();
        let Some(digest) = header_str(headers, DOCKER_CONTENT_DIGEST) else {
            debug!(reference = %reference, "HEAD without Docker-Content-Digest, falling back to GET");
            return Ok(self.manifest(reference, ALL_MANIFESTS).await?.descriptor);
        };
        let digest: Digest = digest.parse().map_err(|_| {
            Error::protocol(
                ACTION,
                reference,
                format!("invalid Docker-Content-Digest {digest:?}"),
            )
        })?;
        if let Some(wanted) = reference.as_digest()
            && wanted.digest() != digest
        {
            return Err(Error::ManifestDigestMismatch {
                reference: Box::new(wanted.clone()),
                actual: digest,
            });
        }
        let media_type = content_type(headers).ok_or_else(|| Error::MissingHeader {
            action: ACTION,
            reference: reference.into(),
            header: "Content-Type",
        })?;
        let size = content_length(headers).ok_or_else(|| Error::MissingHeader {
            action: ACTION,
            reference: reference.into(),
            header: "Content-Length",
        })?;
        Ok(Descriptor::new(media_type, size, digest))
    }

    /// Whether the manifest `reference` names is there (a copy's check of its source):
    /// the [`manifest_presence`](protocol::manifest_presence) a push makes, through this
    /// fetcher's transport.
    pub(crate) async fn presence(&self, reference: &Reference) -> Result<Presence> {
        protocol::manifest_presence(&self.transport, reference).await
    }

    /// `HEAD` a blob: `Some(size)` when it exists, `None` on 404.
    pub(crate) async fn head_blob(&self, digest: &Digest) -> Result<Option<u64>> {
        const ACTION: &str = "checking blob";
        let what = self.blob_ref(*digest);
        let response = protocol::head_blob(&self.transport, &what, ACTION).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self
            .transport
            .check(response, &[StatusCode::OK])
            .await
            .map_err(|e| Error::transport(ACTION, &what, e))?;
        Ok(Some(content_length(response.headers()).ok_or_else(
            || Error::MissingHeader {
                action: ACTION,
                reference: what.into(),
                header: "Content-Length",
            },
        )?))
    }

    /// A small blob (a config) read whole: verified, capped at `limit`.
    pub(crate) async fn small_blob(&self, digest: Digest, size: u64, limit: u64) -> Result<Bytes> {
        let what = self.blob_ref(digest);
        if size > limit {
            return Err(Error::TooLarge {
                what: "blob",
                reference: what.into(),
                size,
                limit,
            });
        }
        let blob = self.blob(digest, Some(size), None).await?;
        blob.read_to_end(limit)
            .await
            .map_err(|e| Error::content("reading blob", &what, e))
    }

    /// Opens a blob of the registry (or `url` for a foreign layer) as a verified,
    /// resumable stream that holds a download slot until it ends and reports progress.
    pub(crate) async fn blob(
        &self,
        digest: Digest,
        size: Option<u64>,
        url: Option<Uri>,
    ) -> Result<Blob> {
        let permit = self.options.session().pull_permit().await;
        let reporter = Reporter::new(self.options.progress().cloned(), digest);
        let what = self.blob_ref(digest);
        let uri = match url {
            Some(u) => u,
            None => protocol::url(
                &self.transport,
                &protocol::blob(&self.repository, &digest),
                &Subject::from(&what),
            )?,
        };
        let mut download = Download {
            transport: self.transport.clone(),
            uri,
            what,
            size,
            offset: 0,
            skip: 0,
            body: None,
            stalls: 0,
            progress_at_last_stall: 0,
            last_error: None,
        };
        // The first request happens now, so a missing blob or a wrong size fails here, not
        // on the first read.
        download.connect().await?;
        reporter.started(download.size, Direction::Pull);
        let stream = futures_util::stream::unfold(Some(download), |state| async move {
            let mut d = state?;
            match d.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(d))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        // Verification is the blob's own (`Blob::verified`), so uploads that forward it
        // (a copy) can trust it instead of hashing every byte again; progress observes
        // what passes verification, so a mismatch is reported as a failure.
        let mut permit = Some(permit);
        let mut done = 0u64;
        Ok(Blob::new(stream, size)
            .verified(digest, size)
            .inspect(move |item| match item {
                Some(Ok(chunk)) => {
                    done += chunk.len() as u64;
                    reporter.bytes(done);
                }
                Some(Err(_)) => {
                    reporter.failed();
                    drop(permit.take());
                }
                None => {
                    reporter.done(BlobOutcome::Downloaded);
                    // The download slot is free as soon as the blob is read.
                    drop(permit.take());
                }
            }))
    }
}

/// Builds the descriptor and parses the document of fetched manifest bytes.
///
/// The media type is the `Content-Type` when it is a manifest type, else the document's
/// `mediaType`; images and indexes are parsed (rejecting a document whose kind disagrees
/// with its `Content-Type`), schema 1 and unknown types are kept as bytes only.
pub(crate) fn describe(
    reference: &Reference,
    bytes: Bytes,
    content_type: Option<MediaType>,
    digest: Digest,
) -> Result<FetchedManifest> {
    let header = content_type
        .clone()
        .filter(|c| c.is_manifest() || c.is_schema1());
    let parsed = match &header {
        Some(mt) if mt.is_schema1() => None,
        Some(mt) => Some(
            AnyManifest::parse(bytes.clone(), Some(mt))
                .map_err(|e| Error::content("parsing manifest", reference, e))?,
        ),
        // No usable Content-Type: parse by the document's own fields when it is one of
        // ours; anything else is kept as opaque bytes.
        None => AnyManifest::parse(bytes.clone(), None).ok(),
    };
    let media_type = match (&header, &parsed) {
        (Some(mt), _) => mt.clone(),
        (None, Some(p)) => p.media_type().cloned().unwrap_or(match p {
            AnyManifest::Image(_) => MediaType::OciManifest,
            AnyManifest::Index(_) => MediaType::OciImageIndex,
        }),
        (None, None) => content_type.unwrap_or(MediaType::OciManifest),
    };
    let mut descriptor = Descriptor::new(media_type, bytes.len() as u64, digest);
    match &parsed {
        Some(AnyManifest::Image(m)) => {
            descriptor.artifact_type = ocireg_v1::artifact_type_of(m);
            descriptor.annotations.clone_from(&m.annotations);
        }
        Some(AnyManifest::Index(i)) => {
            descriptor.artifact_type.clone_from(&i.artifact_type);
            descriptor.annotations.clone_from(&i.annotations);
        }
        None => {}
    }
    Ok(FetchedManifest {
        bytes,
        descriptor,
        parsed,
    })
}

/// Whether a body read error is worth reconnecting for.
fn is_transient_io(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
    )
}

/// One blob download, possibly over several connections.
///
/// Bytes are passed on exactly once, in order: after a lost connection the next request
/// asks for `Range: bytes=<offset>-`; a `206` must start at `offset` (checked in
/// `Content-Range`); a `200` (the server ignored the range) is read from byte 0 again and
/// its first `offset` bytes are skipped, so the verifying stream downstream still sees the
/// content exactly once and checks its digest over all of it. After [`MAX_RESUMES`]
/// reconnects that gain nothing, the download fails.
struct Download {
    transport: Transport,
    uri: Uri,
    what: DigestReference,
    size: Option<u64>,
    /// Bytes passed on so far.
    offset: u64,
    /// Bytes of the current response to drop (they were passed on before).
    skip: u64,
    body: Option<ResponseBody>,
    stalls: u32,
    progress_at_last_stall: u64,
    last_error: Option<io::Error>,
}

impl Download {
    /// Sends the (range) request for what is still missing.
    async fn connect(&mut self) -> Result<()> {
        let mut headers = Vec::new();
        if self.offset > 0 {
            headers.push((RANGE, format!("bytes={}-", self.offset)));
        }
        let req = protocol::request(
            Method::GET,
            self.uri.clone(),
            &headers,
            Body::empty(),
            &Subject::from(&self.what),
        )?;
        let response = self
            .transport
            .send_expect(req, &[StatusCode::OK, StatusCode::PARTIAL_CONTENT])
            .await
            .map_err(|e| Error::transport("downloading blob", &self.what, e))?;
        self.accept(response)
    }

    fn accept(&mut self, response: Response<ResponseBody>) -> Result<()> {
        let status = response.status();
        let headers = response.headers();
        let length = content_length(headers);
        match (self.offset, status) {
            (0, _) | (_, StatusCode::OK) => {
                if status == StatusCode::PARTIAL_CONTENT {
                    return Err(Error::protocol(
                        "downloading blob",
                        &self.what,
                        "the registry answered 206 to a request without Range",
                    ));
                }
                if let (Some(size), Some(len)) = (self.size, length)
                    && size != len
                {
                    return Err(Error::protocol(
                        "downloading blob",
                        &self.what,
                        format!("the registry announces {len} bytes, the descriptor says {size}"),
                    ));
                }
                if self.offset > 0 {
                    debug!(blob = %self.what, offset = self.offset, "the registry ignored Range; skipping what we have");
                }
                self.skip = self.offset;
                if self.size.is_none() {
                    self.size = length;
                }
            }
            (_, _) => {
                self.check_content_range(headers)?;
                self.skip = 0;
            }
        }
        self.body = Some(response.into_body());
        Ok(())
    }

    fn check_content_range(&self, headers: &HeaderMap) -> Result<()> {
        let bad = |reason: String| Error::protocol("resuming blob", &self.what, reason);
        let mut values = headers.get_all(CONTENT_RANGE).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(bad(
                "a 206 needs exactly one Content-Range header".to_owned()
            ));
        };
        let value = value
            .to_str()
            .map_err(|_| bad("Content-Range is not ASCII".to_owned()))?;
        let (start, total) = parse_content_range(value)
            .ok_or_else(|| bad(format!("malformed Content-Range {value:?}")))?;
        if start != self.offset {
            return Err(bad(format!(
                "Content-Range {value:?} does not start at the requested byte {}",
                self.offset
            )));
        }
        if let (Some(size), Some(total)) = (self.size, total)
            && size != total
        {
            return Err(bad(format!(
                "Content-Range {value:?} gives a total of {total} bytes, the descriptor says {size}"
            )));
        }
        Ok(())
    }

    /// The next chunk to pass on, reconnecting as needed; `None` at the end.
    async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if self.body.is_none() {
                self.reconnect().await?;
            }
            let Some(body) = self.body.as_mut() else {
                continue;
            };
            match body.next().await {
                Some(Ok(mut chunk)) => {
                    if self.skip > 0 {
                        let drop = usize::try_from(self.skip)
                            .unwrap_or(usize::MAX)
                            .min(chunk.len());
                        let _ = chunk.split_to(drop);
                        self.skip -= drop as u64;
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    self.offset += chunk.len() as u64;
                    return Ok(Some(chunk));
                }
                Some(Err(e)) if is_transient_io(&e) => {
                    debug!(blob = %self.what, offset = self.offset, error = %e, "blob download interrupted; resuming");
                    self.body = None;
                    self.last_error = Some(e);
                }
                Some(Err(e)) => return Err(e),
                None => {
                    self.body = None;
                    match self.size {
                        Some(size) if self.offset < size || self.skip > 0 => {
                            // A clean end before the announced size: a truncated response.
                            self.last_error = Some(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                format!("the response ended at byte {} of {size}", self.offset),
                            ));
                        }
                        _ => return Ok(None),
                    }
                }
            }
        }
    }

    async fn reconnect(&mut self) -> io::Result<()> {
        if self.offset > self.progress_at_last_stall {
            self.stalls = 0;
        }
        self.progress_at_last_stall = self.offset;
        self.stalls += 1;
        if self.stalls > MAX_RESUMES {
            let source = self
                .last_error
                .take()
                .unwrap_or_else(|| io::ErrorKind::UnexpectedEof.into());
            return Err(ocireg_v1::Error::from(Error::ResumeExhausted {
                reference: Box::new(self.what.clone()),
                attempts: MAX_RESUMES,
                offset: self.offset,
                source,
            })
            .into_io());
        }
        let wait = self
            .transport_backoff()
            .min(std::time::Duration::from_secs(5));
        tokio::time::sleep(wait).await;
        self.connect().await.map_err(|e| {
            let kind = if e.is_transient() {
                io::ErrorKind::ConnectionReset
            } else {
                io::ErrorKind::Other
            };
            io::Error::new(kind, ocireg_v1::Error::from(e))
        })
    }

    fn transport_backoff(&self) -> std::time::Duration {
        // Quick first retries: the connection was alive a moment ago.
        std::time::Duration::from_millis(50) * self.stalls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_checks_kind_against_content_type() {
        let r: Reference = "reg.example/a:b".parse().expect("valid");
        let index = Bytes::from_static(
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
        );
        let d = ocireg_v1::sha256(&index);
        assert!(describe(&r, index.clone(), Some(MediaType::OciManifest), d).is_err());
        let ok = describe(&r, index.clone(), Some(MediaType::OciImageIndex), d).expect("an index");
        assert!(matches!(ok.parsed, Some(AnyManifest::Index(_))));
        // A generic Content-Type: the document decides.
        let ok = describe(&r, index, Some(MediaType::from("application/json")), d).expect("parsed");
        assert_eq!(ok.descriptor.media_type, MediaType::OciImageIndex);
        // Schema 1 is kept, not parsed.
        let s1 = Bytes::from_static(br#"{"schemaVersion":1}"#);
        let ok = describe(
            &r,
            s1.clone(),
            Some(MediaType::DockerManifestSchema1Signed),
            ocireg_v1::sha256(&s1),
        )
        .expect("kept");
        assert!(ok.parsed.is_none());
    }
}
