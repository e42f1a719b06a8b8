//! A scripted HTTP/1.1 server that misbehaves on request, at the byte level.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::ca::TestCa;
use crate::error::{Error, Result};
use crate::server::{self, Background, Conn, lock};

/// The largest request head (request line and headers) we accept.
const MAX_HEAD: usize = 1024 * 1024;

/// What the server does with the body once the headers are out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// Close the connection normally (FIN): the client sees an early EOF.
    Eof,
    /// Reset the connection (RST): the client sees "connection reset".
    Reset,
    /// Keep the connection open and never send another byte.
    Stall,
}

#[derive(Clone, Debug)]
enum Action {
    Respond { cut: Option<(usize, Cut)> },
    Hang,
    Close,
    Reset,
}

/// One scripted answer of a [`FaultServer`].
///
/// Built from a constructor ([`Reply::status`], [`Reply::hang`], ...) and
/// refined with the chained methods. Unless a `Content-Length` header is
/// given explicitly, one matching the body is added (so an explicit one can
/// lie). Answers to `HEAD` carry the headers only.
///
/// ```
/// use ocireg_testsupport::Reply;
/// let r = Reply::status(503).header("Retry-After", "1").body("busy");
/// let cut = Reply::ok().body(vec![7u8; 1000]).reset_after(500);
/// # let _ = (r, cut);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Reply {
    action: Action,
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delay: Duration,
    close: bool,
    chunked: bool,
    trickle: Option<Duration>,
    endless: bool,
}

impl Reply {
    /// Answers with `status`, no extra headers and an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            action: Action::Respond { cut: None },
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
            close: false,
            chunked: false,
            trickle: None,
            endless: false,
        }
    }

    /// Answers 200 with an empty body.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// Answers `status` (301, 302, 303, 307, 308) with `Location: location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::status(status).header("Location", location)
    }

    /// Reads the request and then never answers, keeping the connection open
    /// (until the server is dropped).
    pub fn hang() -> Self {
        Self {
            action: Action::Hang,
            ..Self::status(0)
        }
    }

    /// Reads the request and closes the connection without a byte of answer.
    pub fn close_connection() -> Self {
        Self {
            action: Action::Close,
            ..Self::status(0)
        }
    }

    /// Reads the request and resets the connection (TCP RST) without answering.
    pub fn reset() -> Self {
        Self {
            action: Action::Reset,
            ..Self::status(0)
        }
    }

    /// Adds a response header (repeat for several values).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(value.to_string())
    }

    /// Waits this long before sending anything.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sends `Connection: close` and closes the connection after the answer.
    pub fn close(mut self) -> Self {
        self.close = true;
        self
    }

    /// Sends the body with `Transfer-Encoding: chunked` (one chunk) instead
    /// of a `Content-Length`.
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// Sends the body over and over, one chunk of `Transfer-Encoding:
    /// chunked` per repetition, until the client goes away (or the server is
    /// dropped): a body that never ends. An empty body repeats 64 KiB of zeros.
    /// Answers to `HEAD` carry the headers only.
    pub fn endless(mut self) -> Self {
        self.endless = true;
        self.chunked = true;
        self
    }

    /// Sends the headers and the first `n` body bytes (as they go on the
    /// wire), then resets the connection (TCP RST).
    pub fn reset_after(mut self, n: usize) -> Self {
        self.action = Action::Respond {
            cut: Some((n, Cut::Reset)),
        };
        self
    }

    /// Sends the headers and the first `n` body bytes, then closes the
    /// connection normally: a truncated body, seen as an early EOF.
    pub fn eof_after(mut self, n: usize) -> Self {
        self.action = Action::Respond {
            cut: Some((n, Cut::Eof)),
        };
        self
    }

    /// Sends the body one byte at a time, waiting `every` before each byte (a
    /// slowloris server: never idle long enough for an idle timer to fire).
    pub fn trickle(mut self, every: Duration) -> Self {
        self.trickle = Some(every);
        self
    }

    /// Sends the headers and the first `n` body bytes, then stalls forever
    /// with the connection open (for idle-read timeouts).
    pub fn stall_after(mut self, n: usize) -> Self {
        self.action = Action::Respond {
            cut: Some((n, Cut::Stall)),
        };
        self
    }
}

/// A request as the [`FaultServer`] received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Its position among all requests to this server, from 0.
    pub index: usize,
    /// Which connection it came on, from 0 (tells reuse from reconnects).
    pub connection: usize,
    /// When its head was fully read.
    pub received_at: Instant,
    /// The method.
    pub method: Method,
    /// The request target as sent: `/path?query` (absolute URL when sent to a proxy).
    pub target: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (de-chunked).
    pub body: Bytes,
}

impl RecordedRequest {
    /// The path part of the target.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&*self.target, |(p, _)| p)
    }

    /// The query part of the target, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The first value of header `name` (case-insensitive) as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether header `name` (case-insensitive) arrived at all.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }
}

type Handler = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Reply>>,
    handler: Mutex<Option<Handler>>,
    requests: Mutex<Vec<RecordedRequest>>,
    connections: AtomicUsize,
}

impl Shared {
    fn next_reply(&self, req: &RecordedRequest) -> Reply {
        if let Some(reply) = lock(&self.queue).pop_front() {
            return reply;
        }
        let handler = lock(&self.handler).clone();
        match handler {
            Some(handler) => handler(req),
            None => Reply::status(500).body(format!(
                "ocireg-testsupport FaultServer: no scripted reply left for request #{} ({} {})",
                req.index, req.method, req.target
            )),
        }
    }
}

/// Builds a [`FaultServer`]; see [`FaultServer::builder`].
#[derive(Default)]
#[must_use]
pub struct FaultServerBuilder {
    replies: Vec<Reply>,
    handler: Option<Handler>,
    tls: Option<TestCa>,
}

impl std::fmt::Debug for FaultServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultServerBuilder")
            .field("replies", &self.replies)
            .field("handler", &self.handler.is_some())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl FaultServerBuilder {
    /// Queues replies, used in order, one per request.
    pub fn replies(mut self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.replies.extend(replies);
        self
    }

    /// Answers with `handler` once the queue is empty.
    pub fn handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// Serves https with a certificate from `ca` instead of plain http.
    pub fn tls(mut self, ca: &TestCa) -> Self {
        self.tls = Some(ca.clone());
        self
    }

    /// Binds a free port on 127.0.0.1 and starts serving.
    pub async fn start(self) -> Result<FaultServer> {
        let tls = match &self.tls {
            Some(ca) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
                ca.server_config()?,
            ))),
            None => None,
        };
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::io("binding the fault server to 127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the fault server's address", e))?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(self.replies.into()),
            handler: Mutex::new(self.handler),
            ..Shared::default()
        });
        let background = server::spawn(listener, tls, Arc::clone(&shared));
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        Ok(FaultServer {
            addr,
            url: format!("{scheme}://{addr}"),
            shared,
            _background: background,
        })
    }
}

/// A scripted HTTP/1.1 server on 127.0.0.1 for fault injection.
///
/// Each request gets the next queued [`Reply`], or the handler's answer when
/// the queue is empty, or a 500 saying the script ran out. Every request is
/// recorded ([`FaultServer::requests`]) so tests can check what arrived, for
/// instance that no `Authorization` header reached a redirect target.
/// Connections are kept alive between requests unless a reply closes them.
/// Dropping the server stops it and every connection it holds (hung ones too).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ocireg_testsupport::{FaultServer, Reply};
/// let server = FaultServer::start([Reply::status(503), Reply::ok().body("hello")]).await?;
/// // ... point the client under test at server.url() ...
/// assert_eq!(server.request_count(), 2);
/// # Ok(()) }
/// ```
pub struct FaultServer {
    addr: SocketAddr,
    url: String,
    shared: Arc<Shared>,
    _background: Background,
}

impl std::fmt::Debug for FaultServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl FaultServer {
    /// A builder (queue, handler, TLS).
    pub fn builder() -> FaultServerBuilder {
        FaultServerBuilder::default()
    }

    /// Starts a plain-http server answering with `replies` in order.
    pub async fn start(replies: impl IntoIterator<Item = Reply>) -> Result<Self> {
        Self::builder().replies(replies).start().await
    }

    /// Starts a plain-http server answering every request with `handler`.
    pub async fn with_handler<F>(handler: F) -> Result<Self>
    where
        F: Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    {
        Self::builder().handler(handler).start().await
    }

    /// Queues one more reply.
    pub fn push(&self, reply: Reply) {
        lock(&self.shared.queue).push_back(reply);
    }

    /// Replaces the handler used once the queue is empty.
    pub fn set_handler<F>(&self, handler: F)
    where
        F: Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    {
        *lock(&self.shared.handler) = Some(Arc::new(handler));
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT` (or https), without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of `path` on this server (`path` starts with `/`).
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests arrived so far.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// How many connections were accepted so far.
    pub fn connection_count(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many queued replies are still unused.
    pub fn remaining_replies(&self) -> usize {
        lock(&self.shared.queue).len()
    }
}

impl server::Handler for Shared {
    fn accepted(&self) -> usize {
        self.connections.fetch_add(1, Ordering::SeqCst)
    }

    async fn serve<S: Conn>(self: Arc<Self>, stream: S, connection: usize) {
        serve(stream, connection, &self).await;
    }
}

async fn serve<S: Conn>(mut stream: S, connection: usize, shared: &Shared) {
    let mut buf = Vec::new();
    loop {
        let Ok(Some((head, body))) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let req = {
            let mut requests = lock(&shared.requests);
            let req = RecordedRequest {
                index: requests.len(),
                connection,
                received_at: head.received_at,
                method: head.method,
                target: head.target,
                headers: head.headers,
                body,
            };
            requests.push(req.clone());
            req
        };
        let reply = shared.next_reply(&req);
        let client_close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        match write_reply(&mut stream, &req, reply).await {
            Ok(true) if !client_close => {}
            _ => return,
        }
    }
}

struct Head {
    method: Method,
    target: String,
    headers: HeaderMap,
    received_at: Instant,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads more bytes into `buf`; `Ok(false)` on EOF.
async fn fill<S: Conn>(stream: &mut S, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.reserve(16 * 1024);
    let n = stream.read_buf(buf).await?;
    Ok(n > 0)
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_owned())
}

async fn read_request<S: Conn>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(Head, Bytes)>> {
    let end = loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("request head too large"));
        }
        if !fill(stream, buf).await? {
            return Ok(None);
        }
    };
    let head_bytes: Vec<u8> = buf.drain(..end + 4).collect();
    let text = String::from_utf8_lossy(&head_bytes[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = Method::from_bytes(parts.next().unwrap_or_default().as_bytes())
        .map_err(|_| bad("bad method"))?;
    let target = parts.next().unwrap_or("/").to_owned();
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(name, value);
        }
    }
    let head = Head {
        method,
        target,
        headers,
        received_at: Instant::now(),
    };

    if head
        .headers
        .get("expect")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }

    let chunked = head
        .headers
        .get_all("transfer-encoding")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(stream, buf).await?
    } else {
        let len = head
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < len {
            if !fill(stream, buf).await? {
                return Err(bad("eof in request body"));
            }
        }
        Bytes::from(buf.drain(..len).collect::<Vec<u8>>())
    };
    Ok(Some((head, body)))
}

async fn read_line<S: Conn>(stream: &mut S, buf: &mut Vec<u8>) -> std::io::Result<String> {
    loop {
        if let Some(end) = find(buf, b"\r\n") {
            let line: Vec<u8> = buf.drain(..end + 2).collect();
            return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("chunk line too long"));
        }
        if !fill(stream, buf).await? {
            return Err(bad("eof in chunked body"));
        }
    }
}

async fn read_chunked<S: Conn>(stream: &mut S, buf: &mut Vec<u8>) -> std::io::Result<Bytes> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf).await?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(stream, buf).await?.is_empty() {}
            return Ok(body.into());
        }
        while buf.len() < size + 2 {
            if !fill(stream, buf).await? {
                return Err(bad("eof in chunk"));
            }
        }
        body.extend(buf.drain(..size));
        buf.drain(..2);
    }
}

/// Writes `body` (64 KiB of zeros when empty) as chunk after chunk until a write fails
/// (the client closed the connection): [`Reply::endless`].
async fn write_endless<S: Conn>(stream: &mut S, body: &Bytes) -> std::io::Result<bool> {
    let piece = if body.is_empty() {
        Bytes::from(vec![0u8; 64 * 1024])
    } else {
        body.clone()
    };
    let mut chunk = Vec::with_capacity(piece.len() + 16);
    chunk.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
    chunk.extend_from_slice(&piece);
    chunk.extend_from_slice(b"\r\n");
    // Small bodies repeat several times per write.
    let mut batch = chunk.clone();
    while batch.len() < 64 * 1024 {
        batch.extend_from_slice(&chunk);
    }
    loop {
        stream.write_all(&batch).await?;
    }
}

/// Writes `reply`; `Ok(true)` when the connection may serve another request.
async fn write_reply<S: Conn>(
    stream: &mut S,
    req: &RecordedRequest,
    reply: Reply,
) -> std::io::Result<bool> {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let cut = match reply.action {
        Action::Hang => std::future::pending().await,
        Action::Close => {
            let _ = stream.shutdown().await;
            return Ok(false);
        }
        Action::Reset => {
            stream.tcp().set_zero_linger()?;
            return Ok(false);
        }
        Action::Respond { cut } => cut,
    };

    let status = StatusCode::from_u16(reply.status).map_err(|_| bad("bad scripted status"))?;
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Unknown")
    );
    let has = |name: &str| {
        reply
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    for (name, value) in &reply.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let bodyless_status = status.is_informational() || status == 204 || status == 304;
    if reply.chunked {
        if !has("transfer-encoding") {
            head.push_str("Transfer-Encoding: chunked\r\n");
        }
    } else if !has("content-length") && !bodyless_status {
        let _ = write!(head, "Content-Length: {}\r\n", reply.body.len());
    }
    if reply.close && !has("connection") {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");

    let wire_body: Bytes = if req.method == Method::HEAD || bodyless_status {
        Bytes::new()
    } else if reply.chunked {
        let mut out = Vec::with_capacity(reply.body.len() + 16);
        if !reply.body.is_empty() {
            out.extend_from_slice(format!("{:x}\r\n", reply.body.len()).as_bytes());
            out.extend_from_slice(&reply.body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out.into()
    } else {
        reply.body.clone()
    };

    stream.write_all(head.as_bytes()).await?;
    if reply.endless && req.method != Method::HEAD && !bodyless_status {
        return write_endless(stream, &reply.body).await;
    }
    if let Some(every) = reply.trickle {
        stream.flush().await?;
        for byte in &wire_body {
            tokio::time::sleep(every).await;
            stream.write_all(std::slice::from_ref(byte)).await?;
            stream.flush().await?;
        }
        return Ok(!reply.close);
    }
    match cut {
        None => {
            stream.write_all(&wire_body).await?;
            stream.flush().await?;
            if reply.close {
                let _ = stream.shutdown().await;
                return Ok(false);
            }
            Ok(true)
        }
        Some((n, how)) => {
            let n = n.min(wire_body.len());
            stream.write_all(&wire_body[..n]).await?;
            stream.flush().await?;
            match how {
                Cut::Eof => {
                    let _ = stream.shutdown().await;
                }
                Cut::Reset => {
                    // Give the client a moment to read what we sent, so the
                    // reset lands mid-body rather than before the headers.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    stream.tcp().set_zero_linger()?;
                }
                Cut::Stall => std::future::pending::<()>().await,
            }
            Ok(false)
        }
    }
}
