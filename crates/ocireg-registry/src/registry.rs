//! The registry: its builder, its in-memory state and request dispatch.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use ocireg_v1::Digest;
use tokio::time::Instant;

use crate::body::ResponseBody;
use crate::error::{ApiError, Code, Error};
use crate::limits::{DRAIN_LIMIT, Limits};
use crate::memory::{Charge, MemoryBudget};
use crate::names::is_valid_repository;
use crate::route::{Route, query_pairs};
use crate::storage::{BlobStore, Storage, UploadBytes};
use crate::{blobs, lists, manifests};

/// The error type of request bodies the registry accepts.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body, type-erased.
pub(crate) type ReqBody = UnsyncBoxBody<Bytes, BoxError>;

/// Builds a [`Registry`]; see [`Registry::builder`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RegistryBuilder {
    limits: Limits,
    referrers: bool,
    storage: Storage,
    warning: Option<String>,
}

impl RegistryBuilder {
    /// Whether to serve the referrers API (`GET /v2/<name>/referrers/<digest>`).
    ///
    /// Off by default, as in ggcr (`WithReferrersSupport`): clients then
    /// see 404 and fall back to the `<alg>-<hex>` tag schema.
    pub fn referrers(mut self, enabled: bool) -> Self {
        self.referrers = enabled;
        self
    }

    /// Where blob contents are kept (memory by default).
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// Adds `Warning: 299 - "<text>"` to every response (ggcr's `WithWarning`),
    /// for testing how clients surface registry warnings. `None` removes it.
    pub fn warning(mut self, text: Option<String>) -> Self {
        self.warning = text;
        self
    }

    /// The largest manifest a PUT may carry, in bytes (default
    /// [`DEFAULT_MAX_MANIFEST_SIZE`](crate::limits::DEFAULT_MAX_MANIFEST_SIZE),
    /// 4 MiB); a larger one gets 413 `SIZE_INVALID`.
    pub fn max_manifest_size(mut self, bytes: u64) -> Self {
        self.limits.max_manifest_size = bytes;
        self
    }

    /// The cap on client data held in memory, in bytes: every manifest,
    /// and with [`Storage::Memory`] every blob and upload in progress
    /// (default [`DEFAULT_MEMORY_LIMIT`](crate::limits::DEFAULT_MEMORY_LIMIT),
    /// 2 GiB). What would go over it is refused with 507 `SIZE_INVALID`.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.limits.memory_limit = bytes;
        self
    }

    /// How long a client has to send a request's headers, on a new or an
    /// idle kept-alive connection, before the server closes the connection
    /// (default [`DEFAULT_HEADER_READ_TIMEOUT`](crate::limits::DEFAULT_HEADER_READ_TIMEOUT),
    /// 30 seconds). Applies when the registry serves connections itself.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long a request body may go without a byte before the request is
    /// answered with 408 and the connection closed (default
    /// [`DEFAULT_BODY_IDLE_TIMEOUT`](crate::limits::DEFAULT_BODY_IDLE_TIMEOUT),
    /// 60 seconds). Applies when the registry serves connections itself.
    pub fn body_idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_idle_timeout = timeout;
        self
    }

    /// How many connections are served at once; more wait to be accepted
    /// (default [`DEFAULT_MAX_CONNECTIONS`](crate::limits::DEFAULT_MAX_CONNECTIONS),
    /// 256; at least 1).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections.max(1);
        self
    }

    /// How long an upload session may sit unused before it is dropped with
    /// its bytes (default
    /// [`DEFAULT_UPLOAD_IDLE_TIMEOUT`](crate::limits::DEFAULT_UPLOAD_IDLE_TIMEOUT),
    /// 1 hour).
    pub fn upload_idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.upload_idle_timeout = timeout;
        self
    }

    /// How many upload sessions may be open at once; a `POST` for one more
    /// gets 429 `TOOMANYREQUESTS` (default
    /// [`DEFAULT_MAX_UPLOAD_SESSIONS`](crate::limits::DEFAULT_MAX_UPLOAD_SESSIONS),
    /// 256). Monolithic uploads and mounts open no session.
    pub fn max_upload_sessions(mut self, sessions: usize) -> Self {
        self.limits.max_upload_sessions = sessions;
        self
    }

    /// Builds the registry, creating the storage directories for
    /// [`Storage::Disk`].
    pub fn build(self) -> Result<Registry, Error> {
        let warning = self.warning.as_deref().map(warning_header).transpose()?;
        let memory = MemoryBudget::new(self.limits.memory_limit);
        let blobs = BlobStore::open(&self.storage, &memory)?;
        Ok(Registry {
            inner: Arc::new(Inner {
                limits: self.limits,
                referrers: self.referrers,
                warning,
                memory,
                blobs,
                blob_lock: tokio::sync::Mutex::new(()),
                state: Mutex::new(State::default()),
                ids: IdGen {
                    seed: RandomState::new(),
                    counter: AtomicU64::new(0),
                },
            }),
        })
    }
}

/// Formats `text` as a `Warning` header value with code 299 and agent `-`.
fn warning_header(text: &str) -> Result<HeaderValue, Error> {
    if text.len() > 4000 {
        return Err(Error::InvalidWarning {
            reason: "registries must not send more than 4096 bytes of warnings",
        });
    }
    if text.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(Error::InvalidWarning {
            reason: "only printable ASCII can be sent in a header",
        });
    }
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    HeaderValue::try_from(format!("299 - \"{escaped}\"")).map_err(|_| Error::InvalidWarning {
        reason: "not a valid header value",
    })
}

/// An in-process OCI distribution registry (ggcr's `registry.New()`).
///
/// A test and development server, not a production registry: no
/// authentication, state in memory (blob bytes optionally on disk), no
/// garbage collection. Cloning is cheap and clones share all state.
///
/// Serve it with [`Registry::serve`] or [`Registry::spawn_on`], or call
/// [`Registry::handle`] (or use it as a hyper `Service`) from your own server.
#[derive(Clone)]
pub struct Registry {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let storage = match self.inner.blobs {
            BlobStore::Memory { .. } => "memory",
            BlobStore::Disk { .. } => "disk",
        };
        f.debug_struct("Registry")
            .field("referrers", &self.inner.referrers)
            .field("storage", &storage)
            .finish_non_exhaustive()
    }
}

impl Default for Registry {
    /// An in-memory registry without the referrers API.
    fn default() -> Self {
        RegistryBuilder::default()
            .build()
            .expect("memory storage without a warning cannot fail to build")
    }
}

pub(crate) struct Inner {
    pub(crate) limits: Limits,
    pub(crate) referrers: bool,
    warning: Option<HeaderValue>,
    /// What client data in memory is charged to (see
    /// [`RegistryBuilder::memory_limit`]).
    pub(crate) memory: Arc<MemoryBudget>,
    pub(crate) blobs: BlobStore,
    /// Serialises changes to which blobs exist (commit + link, mount,
    /// unlink + delete), so a blob is never removed from storage while
    /// another repository is linking it.
    pub(crate) blob_lock: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    ids: IdGen,
}

/// Everything but blob bytes.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) repos: BTreeMap<String, Repo>,
    pub(crate) uploads: HashMap<String, Slot>,
}

/// One repository: its manifests, tags, and the blobs it may serve.
#[derive(Default)]
pub(crate) struct Repo {
    pub(crate) manifests: HashMap<Digest, StoredManifest>,
    pub(crate) tags: BTreeMap<String, Digest>,
    pub(crate) blobs: HashSet<Digest>,
}

impl Repo {
    pub(crate) fn is_empty(&self) -> bool {
        self.manifests.is_empty() && self.tags.is_empty() && self.blobs.is_empty()
    }
}

/// A manifest exactly as pushed, with what the referrers API needs and its
/// charge to the memory budget.
pub(crate) struct StoredManifest {
    pub(crate) media_type: HeaderValue,
    pub(crate) bytes: Bytes,
    pub(crate) _charge: Charge,
    pub(crate) subject: Option<Digest>,
    pub(crate) artifact_type: Option<String>,
    pub(crate) annotations: BTreeMap<String, String>,
}

/// An upload session: idle between requests (since `touched`), busy while
/// one writes to it.
pub(crate) enum Slot {
    Idle {
        repo: String,
        bytes: Box<UploadBytes>,
        touched: Instant,
    },
    Busy {
        repo: String,
        len: u64,
    },
}

impl Slot {
    pub(crate) fn repo(&self) -> &str {
        match self {
            Self::Idle { repo, .. } | Self::Busy { repo, .. } => repo,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Idle { bytes, .. } => bytes.len(),
            Self::Busy { len, .. } => *len,
        }
    }
}

/// Upload session ids: unpredictable per registry, unique by a counter.
struct IdGen {
    seed: RandomState,
    counter: AtomicU64,
}

impl IdGen {
    fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let a = self.seed.hash_one((n, 0u8));
        let b = self.seed.hash_one((n, 1u8));
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

/// A parsed request, handed to the endpoint handlers.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Vec<(String, String)>,
}

impl Req {
    /// A header as a string, if present and visible ASCII.
    pub(crate) fn header(&self, name: &header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Registry {
    /// A builder; `Registry::builder().build()` is an in-memory registry
    /// without the referrers API.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The bytes of client data held in memory now: manifests, and with
    /// [`Storage::Memory`] blobs and uploads in progress. At most
    /// [`RegistryBuilder::memory_limit`].
    pub fn memory_in_use(&self) -> u64 {
        self.inner.memory.used()
    }

    /// Answers one request. Never fails: every error is a distribution
    /// error response.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let req = Req {
            method: parts.method,
            headers: parts.headers,
            query: query_pairs(parts.uri.query()),
        };
        let mut body: ReqBody = body.map_err(Into::into).boxed_unsync();
        let path = parts.uri.path();
        let result = match Route::parse(path) {
            Some(route) => self.inner.dispatch(route, &req, &mut body).await,
            None => Err(ApiError::not_found()),
        };
        // A HEAD answer has no content, errors included (RFC 9110 9.3.2); hyper drops it
        // on the wire, but callers of `handle` get the response as it is.
        let mut response = head_if(result.unwrap_or_else(ApiError::into_response), &req);
        drain(&mut body).await;
        if let Some(warning) = &self.inner.warning {
            response
                .headers_mut()
                .insert(header::WARNING, warning.clone());
        }
        tracing::debug!(method = %req.method, path, status = response.status().as_u16(), "registry request");
        response
    }
}

/// Reads and discards what is left of a request body, up to [`DRAIN_LIMIT`].
async fn drain(body: &mut ReqBody) {
    let mut seen = 0u64;
    while !body.is_end_stream() && seen < DRAIN_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len() as u64;
                }
            }
            Some(Err(_)) | None => break,
        }
    }
}

impl Inner {
    async fn dispatch(
        &self,
        route: Route,
        req: &Req,
        body: &mut ReqBody,
    ) -> Result<Response<ResponseBody>, ApiError> {
        match (route, req.method.clone()) {
            (Route::Base, Method::GET | Method::HEAD) => {
                let mut response = json_response(StatusCode::OK, b"{}".to_vec());
                response.headers_mut().insert(
                    "Docker-Distribution-API-Version",
                    HeaderValue::from_static("registry/2.0"),
                );
                Ok(head_if(response, req))
            }
            (Route::Catalog, Method::GET) => lists::catalog(self, req),
            (Route::Tags { name }, Method::GET) => lists::tags(self, &name, req),
            (Route::Referrers { name, digest }, Method::GET) if self.referrers => {
                lists::referrers(self, &name, &digest, req)
            }
            (Route::Manifest { name, reference }, Method::GET | Method::HEAD) => {
                manifests::get(self, &name, &reference, req)
            }
            (Route::Manifest { name, reference }, Method::PUT) => {
                manifests::put(self, &name, &reference, req, body).await
            }
            (Route::Manifest { name, reference }, Method::DELETE) => {
                manifests::delete(self, &name, &reference)
            }
            (Route::Blob { name, digest }, Method::GET | Method::HEAD) => {
                blobs::get(self, &name, &digest, req).await
            }
            (Route::Blob { name, digest }, Method::DELETE) => {
                blobs::delete(self, &name, &digest).await
            }
            (Route::UploadStart { name }, Method::POST) => {
                self.expire_uploads();
                blobs::start_upload(self, &name, req, body).await
            }
            (Route::Upload { name, id }, method) => {
                self.expire_uploads();
                match method {
                    Method::GET => blobs::upload_status(self, &name, &id),
                    Method::PATCH => blobs::patch_upload(self, &name, &id, req, body).await,
                    Method::PUT => blobs::finish_upload(self, &name, &id, req, body).await,
                    Method::DELETE => blobs::cancel_upload(self, &name, &id),
                    _ => Err(ApiError::unsupported()),
                }
            }
            (Route::Referrers { .. }, _) => Err(ApiError::not_found()),
            _ => Err(ApiError::unsupported()),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn new_upload_id(&self) -> String {
        self.ids.next()
    }

    /// Drops the upload sessions unused for longer than the upload idle
    /// timeout, with their bytes (memory freed, temporary files removed).
    pub(crate) fn expire_uploads(&self) {
        let ttl = self.limits.upload_idle_timeout;
        let expired: Vec<(String, Slot)> = self
            .state()
            .uploads
            .extract_if(
                |_, slot| matches!(slot, Slot::Idle { touched, .. } if touched.elapsed() >= ttl),
            )
            .collect();
        for (id, slot) in expired {
            tracing::debug!(id, repo = slot.repo(), "upload session expired");
            // Dropped outside the state lock.
            drop(slot);
        }
    }
}

/// Checks a repository name against the distribution grammar.
pub(crate) fn valid_name(name: &str) -> Result<&str, ApiError> {
    if is_valid_repository(name) {
        Ok(name)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::NameInvalid,
            "invalid repository name",
        )
        .detail(serde_json::json!({ "name": name })))
    }
}

/// Parses a digest from a URL or query with the strict grammar.
pub(crate) fn parse_digest(input: &str) -> Result<Digest, ApiError> {
    input.parse::<Digest>().map_err(|e| {
        ApiError::digest_invalid("invalid digest")
            .detail(serde_json::json!({ "digest": input, "reason": e.to_string() }))
    })
}

/// A header value built from text we produced or validated (digests,
/// validated names, numbers): always visible ASCII.
pub(crate) fn header_value(text: impl Into<String>) -> HeaderValue {
    HeaderValue::try_from(text.into()).expect("registry-built header values are visible ASCII")
}

/// A response with an exact-length body.
pub(crate) fn response(status: StatusCode, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// An empty response with `Content-Length: 0`.
pub(crate) fn empty_response(status: StatusCode) -> Response<ResponseBody> {
    let mut response = response(status, ResponseBody::empty());
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response<ResponseBody> {
    let len = body.len();
    let mut response = response(status, ResponseBody::full(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// For HEAD, drops the body but keeps the headers (including `Content-Length`).
pub(crate) fn head_if(response: Response<ResponseBody>, req: &Req) -> Response<ResponseBody> {
    if req.method == Method::HEAD {
        let (parts, _) = response.into_parts();
        Response::from_parts(parts, ResponseBody::empty())
    } else {
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        method: &str,
        uri: &str,
        body: &'static [u8],
    ) -> Request<http_body_util::Full<Bytes>> {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(http_body_util::Full::new(Bytes::from_static(body)))
            .expect("request")
    }

    /// Each use of a session restarts its idle clock; a session unused
    /// for the whole timeout is gone at the next request, without a server.
    #[tokio::test(start_paused = true)]
    async fn upload_sessions_expire_only_when_unused() {
        let minute = Duration::from_secs(60);
        let registry = Registry::builder()
            .upload_idle_timeout(10 * minute)
            .build()
            .expect("builds");
        let start = registry
            .handle(request("POST", "/v2/a/blobs/uploads/", b""))
            .await;
        assert_eq!(start.status(), StatusCode::ACCEPTED);
        let location = start.headers()[header::LOCATION]
            .to_str()
            .expect("ascii")
            .to_owned();
        for _ in 0..5 {
            tokio::time::advance(9 * minute).await;
            let patch = registry.handle(request("PATCH", &location, b"abc")).await;
            assert_eq!(patch.status(), StatusCode::ACCEPTED);
        }
        let status = registry.handle(request("GET", &location, b"")).await;
        assert_eq!(status.status(), StatusCode::NO_CONTENT);
        assert_eq!(status.headers()[header::RANGE], "0-14");
        tokio::time::advance(10 * minute).await;
        assert_eq!(registry.inner.state().uploads.len(), 1, "dropped lazily");
        let status = registry.handle(request("GET", &location, b"")).await;
        assert_eq!(status.status(), StatusCode::NOT_FOUND);
        assert!(registry.inner.state().uploads.is_empty());
    }

    #[test]
    fn warning_values() {
        let v = warning_header("hello \"you\"").expect("valid");
        assert_eq!(v.to_str().expect("ascii"), r#"299 - "hello \"you\"""#);
        assert!(warning_header("line\nbreak").is_err());
        assert!(warning_header(&"x".repeat(5000)).is_err());
        assert!(warning_header("caf\u{e9}").is_err());
    }

    #[tokio::test]
    async fn head_errors_have_no_body() {
        // Found by the `registry_routes` fuzz target: a HEAD of a missing manifest got
        // the JSON error document as its body.
        let registry = Registry::builder().build().expect("in-memory registry");
        for method in [Method::HEAD, Method::GET] {
            let request = Request::builder()
                .method(method.clone())
                .uri("/v2/a/manifests/missing")
                .body(http_body_util::Empty::<Bytes>::new())
                .expect("valid request");
            let response = registry.handle(request).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            assert_eq!(body.is_empty(), method == Method::HEAD, "{method}");
        }
    }

    #[test]
    fn ids_are_unique_and_uuid_shaped() {
        let ids = IdGen {
            seed: RandomState::new(),
            counter: AtomicU64::new(0),
        };
        let all: HashSet<String> = (0..1000).map(|_| ids.next()).collect();
        assert_eq!(all.len(), 1000);
        for id in &all {
            let lens: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(lens, [8, 4, 4, 4, 12], "{id}");
        }
    }
}
