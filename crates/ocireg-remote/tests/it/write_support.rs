//! Fixtures of the write-side tests: the shared registries and options (from `common`),
//! registries with auth, and a recording front for ocireg-registry that counts requests
//! and request-body bytes and can cut one request body part way (a connection lost in
//! the middle of an upload).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request};
use http_body::{Body as HttpBody, Frame};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ocireg_name::{Reference, Repository};
use ocireg_remote::Options;

pub(crate) use super::common::{Target, builder, client, distribution, in_process, options};
use super::common::{reference_at, repo_at};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Distribution with htpasswd Basic auth for `user`/`pass`.
pub(crate) async fn distribution_htpasswd() -> Target {
    let d = ocireg_testsupport::Distribution::builder()
        .htpasswd([("user", "pass")])
        .start()
        .await
        .expect("distribution with htpasswd starts");
    Target::from_distribution("distribution+htpasswd", d, None)
}

/// Distribution with bearer tokens from a token server; `user`/`pass` may push and pull
/// everything under `tok/`.
pub(crate) async fn distribution_token() -> Target {
    let token = ocireg_testsupport::TokenServer::builder()
        .user(
            ocireg_testsupport::User::new("user", "pass")
                .allow("tok/a", ["pull", "push"])
                .allow("tok/b", ["pull", "push"]),
        )
        .start()
        .await
        .expect("token server starts");
    let d = ocireg_testsupport::Distribution::builder()
        .token_auth(&token)
        .start()
        .await
        .expect("distribution with token auth starts");
    Target::from_distribution("distribution+token", d, Some(token))
}

/// Both kinds of registry.
pub(crate) async fn both() -> Vec<Target> {
    vec![distribution().await, in_process(true).await]
}

/// Options authenticating as `user`/`pass`.
pub(crate) fn basic_options() -> Options {
    Options::builder()
        .client(client())
        .auth(Arc::new(ocireg_authn::Basic::new("user", "pass")))
        .build()
        .expect("valid options")
}

/// One request as the recording front saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) content_range: Option<String>,
    pub(crate) body_bytes: Arc<AtomicU64>,
}

impl Seen {
    pub(crate) fn bytes(&self) -> u64 {
        self.body_bytes.load(Ordering::SeqCst)
    }
}

/// ocireg-registry behind a recording front.
pub(crate) struct Recording {
    pub(crate) host: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Cut the body of the next PATCH after this many bytes, dropping the connection.
    cut_next_patch: Arc<Mutex<Option<u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recording {
    pub(crate) async fn start() -> Self {
        let registry = ocireg_registry::Registry::builder()
            .build()
            .expect("registry builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let host = listener.local_addr().expect("addr").to_string();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let cut: Arc<Mutex<Option<u64>>> = Arc::default();
        let (seen2, cut2) = (Arc::clone(&seen), Arc::clone(&cut));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (registry, seen, cut) =
                    (registry.clone(), Arc::clone(&seen2), Arc::clone(&cut2));
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (registry, seen, cut) =
                        (registry.clone(), Arc::clone(&seen), Arc::clone(&cut));
                    async move {
                        let counter = Arc::new(AtomicU64::new(0));
                        let limit = if req.method() == Method::PATCH {
                            cut.lock().expect("lock").take()
                        } else {
                            None
                        };
                        seen.lock().expect("lock").push(Seen {
                            method: req.method().clone(),
                            path: req.uri().path().to_owned(),
                            query: req.uri().query().unwrap_or_default().to_owned(),
                            content_range: req
                                .headers()
                                .get("content-range")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                            body_bytes: Arc::clone(&counter),
                        });
                        let (parts, body) = req.into_parts();
                        let body = Counted {
                            inner: body,
                            counter,
                            limit,
                        };
                        let response = registry.handle(Request::from_parts(parts, body)).await;
                        if limit.is_some() {
                            // Drop the connection as if it had been lost.
                            return Err(std::io::Error::other("injected connection loss"));
                        }
                        Ok::<_, std::io::Error>(response)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            host,
            seen,
            cut_next_patch: cut,
            task,
        }
    }

    /// `host/path` as a repository.
    pub(crate) fn repo(&self, path: &str) -> Repository {
        repo_at(&self.host, path)
    }

    /// `host/rest` as a reference.
    pub(crate) fn reference(&self, rest: &str) -> Reference {
        reference_at(&self.host, rest)
    }

    /// Everything seen so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// Forgets what was seen.
    pub(crate) fn reset(&self) {
        self.seen.lock().expect("lock").clear();
    }

    /// Cuts the next PATCH body after `n` bytes and drops its connection.
    pub(crate) fn cut_next_patch_after(&self, n: u64) {
        *self.cut_next_patch.lock().expect("lock") = Some(n);
    }

    /// Bytes of request bodies sent to blob upload endpoints.
    pub(crate) fn upload_bytes(&self) -> u64 {
        self.seen()
            .iter()
            .filter(|s| s.path.contains("/blobs/uploads/"))
            .map(Seen::bytes)
            .sum()
    }
}

/// A request body that counts its bytes and can end in an error after `limit` bytes.
struct Counted {
    inner: Incoming,
    counter: Arc<AtomicU64>,
    limit: Option<u64>,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let seen = self.counter.load(Ordering::SeqCst);
        if let Some(limit) = self.limit
            && seen >= limit
        {
            return Poll::Ready(Some(Err("injected: body cut".into())));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(mut data) => {
                    if let Some(limit) = self.limit {
                        let room = usize::try_from(limit - seen).unwrap_or(usize::MAX);
                        data.truncate(room);
                    }
                    self.counter.fetch_add(data.len() as u64, Ordering::SeqCst);
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs skopeo with `args`; panics with its output when it fails.
pub(crate) fn skopeo(args: &[&str]) -> String {
    let out = std::process::Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo runs (it is installed by scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}
