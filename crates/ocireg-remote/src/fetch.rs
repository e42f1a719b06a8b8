//! The read protocol (ggcr's `fetcher`): manifest GET/HEAD with the right `Accept`, bounded
//! and verified; blob HEAD; and the resumable, verified blob download.

use std::io;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use ocireg_name::{Reference, Repository};
use ocireg_transport::{Body, ResponseBody, Transport};
use ocireg_v1::{AnyManifest, Blob, Descriptor, Digest, MANIFEST_LIMIT, MediaType, digest_of};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::progress::{self, BlobOutcome, Direction, Reporter};

/// `Docker-Content-Digest`.
pub(crate) const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// How many reconnects without progress a blob download makes before giving up.
pub(crate) const MAX_RESUMES: u32 = 3;

/// Every manifest type we read, for `Get`/`Image`/`Head` (ggcr's `allManifestMediaTypes`).
pub(crate) const ALL_MANIFESTS: &[MediaType] = &[
    MediaType::DockerManifestSchema1,
    MediaType::DockerManifestSchema1Signed,
    MediaType::DockerManifestSchema2,
    MediaType::OciManifest,
    MediaType::DockerManifestList,
    MediaType::OciImageIndex,
];

/// The index types, for `Index`.
pub(crate) const INDEXES: &[MediaType] = &[MediaType::DockerManifestList, MediaType::OciImageIndex];

/// The comma-joined `Accept` value (no spaces, as ggcr sends it).
pub(crate) fn accept_header(types: &[MediaType]) -> String {
    types
        .iter()
        .map(MediaType::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

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
        Ok(Self {
            transport,
            repository: repository.clone(),
            options: options.clone(),
        })
    }

    /// The same fetcher with another platform (same transport and session).
    pub(crate) fn with_platform(&self, platform: ocireg_v1::Platform) -> Self {
        Self {
            transport: self.transport.clone(),
            repository: self.repository.clone(),
            options: self.options.with_platform(platform),
        }
    }

    fn manifest_path(&self, identifier: &str) -> String {
        format!(
            "/v2/{}/manifests/{identifier}",
            self.repository.repository_str()
        )
    }

    pub(crate) fn blob_path(&self, digest: &Digest) -> String {
        format!("/v2/{}/blobs/{digest}", self.repository.repository_str())
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(http::header::HeaderName, String)],
    ) -> Result<Request<Body>> {
        let uri = self
            .transport
            .url(path)
            .map_err(|e| Error::transport("building a request for", path, e))?;
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Body::empty())
            .map_err(|e| Error::protocol("building a request for", path, e.to_string()))
    }

    /// `GET` a manifest by tag or digest, accepting `accept`.
    ///
    /// The body is capped at [`MANIFEST_LIMIT`]; a digest reference is verified against the
    /// bytes; the kind is checked against `Content-Type` (CVE-2021-41190).
    pub(crate) async fn manifest(
        &self,
        reference: &Reference,
        accept: &[MediaType],
    ) -> Result<FetchedManifest> {
        let wanted = reference.digest();
        let req = self.request(
            Method::GET,
            &self.manifest_path(reference.identifier()),
            &[(ACCEPT, accept_header(accept))],
        )?;
        let response = self
            .transport
            .fetch_bytes(req, &[StatusCode::OK], MANIFEST_LIMIT)
            .await
            .map_err(|e| manifest_error(reference, e))?;
        let (head, bytes) = response.into_parts();
        let content_type = header_str(&head.headers, CONTENT_TYPE.as_str()).map(media_type_of);
        let header_digest =
            header_str(&head.headers, DOCKER_CONTENT_DIGEST).and_then(|d| d.parse::<Digest>().ok());
        let digest = if let Some(expected) = wanted {
            let actual = digest_of(expected.algorithm(), &bytes);
            if actual != expected {
                return Err(Error::ManifestDigestMismatch {
                    reference: reference.to_string(),
                    expected,
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
        let req = self.request(
            Method::HEAD,
            &self.manifest_path(reference.identifier()),
            &[(ACCEPT, accept_header(ALL_MANIFESTS))],
        )?;
        let response = self
            .transport
            .send(req)
            .await
            .map_err(|e| Error::transport("checking manifest", reference, e))?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            debug!(reference = %reference, "HEAD not allowed, falling back to GET");
            return Ok(self.manifest(reference, ALL_MANIFESTS).await?.descriptor);
        }
        let response = self
            .transport
            .check(response, &[StatusCode::OK])
            .await
            .map_err(|e| manifest_error(reference, e))?;
        let headers = response.headers();
        let Some(digest) = header_str(headers, DOCKER_CONTENT_DIGEST) else {
            debug!(reference = %reference, "HEAD without Docker-Content-Digest, falling back to GET");
            return Ok(self.manifest(reference, ALL_MANIFESTS).await?.descriptor);
        };
        let digest: Digest = digest.parse().map_err(|_| {
            Error::protocol(
                "checking manifest",
                reference,
                format!("invalid Docker-Content-Digest {digest:?}"),
            )
        })?;
        if let Some(expected) = reference.digest()
            && expected != digest
        {
            return Err(Error::ManifestDigestMismatch {
                reference: reference.to_string(),
                expected,
                actual: digest,
            });
        }
        let media_type =
            header_str(headers, CONTENT_TYPE.as_str()).ok_or_else(|| Error::MissingHeader {
                action: "checking manifest",
                reference: reference.to_string(),
                header: "Content-Type",
            })?;
        let size = content_length(headers).ok_or_else(|| Error::MissingHeader {
            action: "checking manifest",
            reference: reference.to_string(),
            header: "Content-Length",
        })?;
        Ok(Descriptor::new(media_type_of(media_type), size, digest))
    }

    /// `HEAD` a blob: `Some(size)` when it exists, `None` on 404.
    pub(crate) async fn head_blob(&self, digest: &Digest) -> Result<Option<u64>> {
        let what = format!("{}@{digest}", self.repository);
        let req = self.request(Method::HEAD, &self.blob_path(digest), &[])?;
        let response = self
            .transport
            .send(req)
            .await
            .map_err(|e| Error::transport("checking blob", &what, e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self
            .transport
            .check(response, &[StatusCode::OK])
            .await
            .map_err(|e| Error::transport("checking blob", &what, e))?;
        Ok(Some(content_length(response.headers()).ok_or_else(
            || Error::MissingHeader {
                action: "checking blob",
                reference: what,
                header: "Content-Length",
            },
        )?))
    }

    /// A small blob (a config) read whole: verified, capped at `limit`.
    pub(crate) async fn small_blob(&self, digest: Digest, size: u64, limit: u64) -> Result<Bytes> {
        let what = format!("{}@{digest}", self.repository);
        if size > limit {
            return Err(Error::TooLarge {
                what: "blob",
                reference: what,
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
        let what = format!("{}@{digest}", self.repository);
        let uri = match url {
            Some(u) => u,
            None => self
                .transport
                .url(&self.blob_path(&digest))
                .map_err(|e| Error::transport("downloading blob", &what, e))?,
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

fn manifest_error(reference: &Reference, e: ocireg_transport::Error) -> Error {
    if let ocireg_transport::Error::BodyTooLarge { limit, .. } = &e {
        return Error::TooLarge {
            what: "manifest",
            reference: reference.to_string(),
            size: limit + 1,
            limit: *limit,
        };
    }
    Error::transport("fetching manifest", reference, e)
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
            descriptor.artifact_type = m
                .artifact_type
                .clone()
                .or_else(|| Some(m.config.media_type.clone()).filter(|c| !c.is_config()));
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

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    header_str(headers, CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok())
}

/// The media type of a `Content-Type` value, without parameters (`; charset=utf-8`).
pub(crate) fn media_type_of(value: &str) -> MediaType {
    MediaType::from(value.split(';').next().unwrap_or_default().trim())
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
    what: String,
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
        let mut builder = Request::builder().method(Method::GET).uri(self.uri.clone());
        if self.offset > 0 {
            builder = builder.header(RANGE, format!("bytes={}-", self.offset));
        }
        let req = builder
            .body(Body::empty())
            .map_err(|e| Error::protocol("downloading blob", &self.what, e.to_string()))?;
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
                reference: self.what.clone(),
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

/// Parses `bytes <start>-<end>/<total|*>` into the start and the total.
pub(crate) fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => {
            let t: u64 = t.parse().ok()?;
            if end >= t {
                return None;
            }
            Some(t)
        }
    };
    Some((start, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Option<(u64, Option<u64>)>;

    #[test]
    fn content_range_table() {
        let cases: &[(&str, Parsed)] = &[
            ("bytes 0-9/10", Some((0, Some(10)))),
            ("bytes 5-9/10", Some((5, Some(10)))),
            ("bytes 5-9/*", Some((5, None))),
            (" bytes 7-7/8 ", Some((7, Some(8)))),
            ("bytes 5-4/10", None),
            ("bytes 5-10/10", None),
            ("bytes=5-9/10", None),
            ("bytes 5-/10", None),
            ("bytes -5/10", None),
            ("items 0-1/2", None),
            ("bytes 0-1", None),
            ("bytes a-b/c", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_content_range(input), *want, "{input}");
        }
    }

    #[test]
    fn accept_is_comma_joined_without_spaces() {
        assert_eq!(
            accept_header(INDEXES),
            "application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.index.v1+json"
        );
    }

    #[test]
    fn media_type_drops_parameters() {
        assert_eq!(
            media_type_of("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            MediaType::OciManifest
        );
    }

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
