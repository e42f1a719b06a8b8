//! Request and response bodies.

use std::fmt;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::Method;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::error::{Error, Result, TimeoutPhase};

type BoxStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'static>>;

/// A request body.
///
/// Bodies held in memory ([`Body::empty`], [`Body::from_bytes`], and the `From` conversions)
/// are **replayable**: the transport may send them again to retry, to follow a 307/308
/// redirect or to re-authenticate after a 401. A streaming body ([`Body::from_stream`]) is
/// sent exactly once; if the request must be repeated the transport fails with
/// [`Error::NotReplayable`](crate::Error::NotReplayable) and the caller restarts the
/// operation from its source (for a blob upload: a new upload session).
pub struct Body {
    kind: Kind,
}

enum Kind {
    Bytes(Bytes),
    Stream {
        // In a mutex only to make `Body` `Sync` (it is never locked while shared), so that
        // futures holding `&Body` across an await are `Send`.
        stream: std::sync::Mutex<BoxStream>,
        length: Option<u64>,
    },
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Self::from_bytes(Bytes::new())
    }

    /// A replayable in-memory body.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self {
            kind: Kind::Bytes(bytes.into()),
        }
    }

    /// A streaming body, sent once. `length`, when known, becomes the `Content-Length`
    /// (otherwise the body is sent chunked).
    pub fn from_stream(
        stream: impl Stream<Item = io::Result<Bytes>> + Send + 'static,
        length: Option<u64>,
    ) -> Self {
        Self {
            kind: Kind::Stream {
                stream: std::sync::Mutex::new(Box::pin(stream)),
                length,
            },
        }
    }

    /// Whether the transport can send this body again.
    pub fn is_replayable(&self) -> bool {
        matches!(self.kind, Kind::Bytes(_))
    }

    /// The length when known.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Bytes(b) => Some(b.len() as u64),
            Kind::Stream { length, .. } => *length,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// A copy of a replayable body; `None` for a stream.
    pub(crate) fn try_clone(&self) -> Option<Self> {
        match &self.kind {
            Kind::Bytes(b) => Some(Self::from_bytes(b.clone())),
            Kind::Stream { .. } => None,
        }
    }

    /// The body for hyper, and for a streaming body the clock that tells how its sending
    /// goes (the response-header timeout starts when the last byte is taken).
    pub(crate) fn into_hyper(self) -> (HyperBody, Option<Arc<UploadClock>>) {
        match self.kind {
            Kind::Bytes(b) => (HyperBody::Full(Some(b)), None),
            Kind::Stream { stream, length } => {
                let clock = Arc::new(UploadClock::new());
                if length == Some(0) {
                    // hyper never polls a body of length 0.
                    clock.finished();
                }
                let body = HyperBody::Stream {
                    stream: stream
                        .into_inner()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                    length,
                    sent: 0,
                    clock: Arc::clone(&clock),
                };
                (body, Some(clock))
            }
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Kind::Stream { length, .. } => write!(f, "Body::Stream(length: {length:?})"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Self::from_bytes(b)
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Self::from_bytes(b)
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Self::from_bytes(s)
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Self::from_bytes(s)
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Self::from_bytes(s)
    }
}

/// How the sending of a streaming request body goes: when the registry last took a chunk,
/// and whether (since when) the whole body is sent.
#[derive(Debug)]
pub(crate) struct UploadClock {
    state: std::sync::Mutex<(Instant, Option<Instant>)>,
}

impl UploadClock {
    fn new() -> Self {
        Self {
            state: std::sync::Mutex::new((Instant::now(), None)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Instant, Option<Instant>)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn progressed(&self) {
        self.lock().0 = Instant::now();
    }

    fn finished(&self) {
        let mut s = self.lock();
        if s.1.is_none() {
            s.1 = Some(Instant::now());
        }
    }

    /// When the registry last took a chunk, and when the body was complete.
    pub(crate) fn state(&self) -> (Instant, Option<Instant>) {
        *self.lock()
    }
}

/// The body type handed to hyper.
pub(crate) enum HyperBody {
    Full(Option<Bytes>),
    Stream {
        stream: BoxStream,
        length: Option<u64>,
        sent: u64,
        clock: Arc<UploadClock>,
    },
}

impl http_body::Body for HyperBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        match self.get_mut() {
            Self::Full(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            Self::Stream {
                stream,
                length,
                sent,
                clock,
            } => {
                // Being polled means hyper wrote what it had: the registry is reading.
                clock.progressed();
                let item = ready!(stream.as_mut().poll_next(cx));
                match &item {
                    Some(Ok(chunk)) => {
                        *sent += chunk.len() as u64;
                        if *length == Some(*sent) {
                            clock.finished();
                        }
                    }
                    Some(Err(_)) | None => clock.finished(),
                }
                Poll::Ready(item.map(|r| r.map(Frame::data)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            Self::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Stream {
                length: Some(n), ..
            } => SizeHint::with_exact(*n),
            Self::Stream { .. } => SizeHint::default(),
        }
    }
}

/// A response body: a `'static` stream of `io::Result<Bytes>` with the idle-read timeout
/// applied between chunks and a minimum average rate over the whole body.
///
/// The rate rule: after [`Timeouts::body_grace`](crate::Timeouts::body_grace), the bytes
/// received must keep up with [`Timeouts::min_body_rate`](crate::Timeouts::min_body_rate),
/// so a body of `n` bytes may take at most `grace + n / rate`, whatever its size or
/// whether its length was announced. A server that trickles a byte every few seconds (which
/// the idle timer alone never catches) fails with a [`TimeoutPhase::SlowBody`] timeout.
///
/// Errors are `io::Error`s whose kind says what happened (`UnexpectedEof` when the
/// connection closed early, `ConnectionReset`, `TimedOut` for the timeouts) and whose
/// inner error is a [`crate::Error`] when we produced it; [`crate::Error::is_transient`]
/// (through [`Error::Body`](crate::Error::Body)) classifies them.
pub struct ResponseBody {
    inner: Inner,
    method: Method,
    url: String,
    idle: Duration,
    sleep: Option<(Pin<Box<Sleep>>, TimeoutPhase)>,
    pace: Option<Pace>,
}

/// The minimum-average-rate rule of a response body.
#[derive(Clone, Copy, Debug)]
struct Pace {
    started: Instant,
    grace: Duration,
    rate: u64,
    received: u64,
}

impl Pace {
    /// When the body is late unless more bytes arrive.
    fn deadline(&self) -> Option<Instant> {
        let nanos = u128::from(self.received) * 1_000_000_000 / u128::from(self.rate.max(1));
        let earned = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        self.started.checked_add(self.grace)?.checked_add(earned)
    }

    /// The time allowed so far, for the error message.
    fn allowed(&self) -> Duration {
        self.deadline()
            .map_or(Duration::MAX, |d| d.saturating_duration_since(self.started))
    }
}

enum Inner {
    Incoming(Incoming),
    Buffered(Option<Bytes>),
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ResponseBody {
    pub(crate) fn incoming(
        body: Incoming,
        method: Method,
        url: String,
        timeouts: &crate::Timeouts,
    ) -> Self {
        let pace = (timeouts.min_body_rate > 0).then(|| Pace {
            started: Instant::now(),
            grace: timeouts.body_grace,
            rate: timeouts.min_body_rate,
            received: 0,
        });
        Self {
            inner: Inner::Incoming(body),
            method,
            url,
            idle: timeouts.idle_read,
            sleep: None,
            pace,
        }
    }

    pub(crate) fn buffered(bytes: Bytes, method: Method, url: String) -> Self {
        Self {
            inner: Inner::Buffered(Some(bytes)),
            method,
            url,
            idle: Duration::MAX,
            sleep: None,
            pace: None,
        }
    }

    /// An empty body (for responses built by hand, for example in tests of callers).
    pub fn empty() -> Self {
        Self::buffered(Bytes::new(), Method::GET, String::new())
    }

    /// The method of the request this body answers.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The redacted URL of the request this body answers.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Reads the whole body, failing with [`Error::BodyTooLarge`] past `limit` bytes.
    pub async fn bytes(mut self, limit: u64) -> Result<Bytes> {
        use futures_util::StreamExt;
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.next().await {
            let chunk = chunk.map_err(|source| Error::Body {
                method: self.method.clone(),
                url: self.url.clone(),
                source,
            })?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(Error::BodyTooLarge {
                    method: self.method.clone(),
                    url: self.url.clone(),
                    limit,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    /// Reads at most `limit` bytes and says whether more followed (the rest is not read).
    pub(crate) async fn bytes_truncated(mut self, limit: usize) -> Result<(Bytes, bool)> {
        use futures_util::StreamExt;
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.next().await {
            let chunk = chunk.map_err(|source| Error::Body {
                method: self.method.clone(),
                url: self.url.clone(),
                source,
            })?;
            let room = limit - buf.len();
            if chunk.len() > room {
                buf.extend_from_slice(&chunk[..room]);
                return Ok((buf.freeze(), true));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok((buf.freeze(), false))
    }

    fn map_hyper_error(e: hyper::Error) -> io::Error {
        let kind = if e.is_incomplete_message() {
            io::ErrorKind::UnexpectedEof
        } else if let Some(io) =
            std::error::Error::source(&e).and_then(|s| s.downcast_ref::<io::Error>())
        {
            io.kind()
        } else {
            io::ErrorKind::Other
        };
        io::Error::new(kind, e)
    }
}

impl ResponseBody {
    fn timeout(&mut self, phase: TimeoutPhase, after: Duration) -> io::Error {
        self.sleep = None;
        self.inner = Inner::Buffered(None);
        let err = Error::Timeout {
            method: self.method.clone(),
            url: self.url.clone(),
            phase,
            after,
        };
        io::Error::new(io::ErrorKind::TimedOut, err)
    }
}

impl Stream for ResponseBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let incoming = match &mut this.inner {
                Inner::Buffered(b) => return Poll::Ready(b.take().map(Ok)),
                Inner::Incoming(i) => i,
            };
            match http_body::Body::poll_frame(Pin::new(incoming), cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    this.sleep = None;
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        if let Some(pace) = &mut this.pace {
                            // Checked before counting: the bytes must have come in time.
                            if pace.deadline().is_some_and(|d| Instant::now() > d) {
                                let allowed = pace.allowed();
                                return Poll::Ready(Some(Err(
                                    this.timeout(TimeoutPhase::SlowBody, allowed)
                                )));
                            }
                            pace.received = pace.received.saturating_add(data.len() as u64);
                        }
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.sleep = None;
                    return Poll::Ready(Some(Err(Self::map_hyper_error(e))));
                }
                Poll::Ready(None) => {
                    this.sleep = None;
                    this.inner = Inner::Buffered(None);
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if this.sleep.is_none() {
                        let idle = Instant::now().checked_add(this.idle);
                        let paced = this.pace.as_ref().and_then(Pace::deadline);
                        let next = match (idle, paced) {
                            (Some(i), Some(p)) if p < i => Some((p, TimeoutPhase::SlowBody)),
                            (Some(i), _) => Some((i, TimeoutPhase::IdleRead)),
                            (None, Some(p)) => Some((p, TimeoutPhase::SlowBody)),
                            // No practical limit.
                            (None, None) => None,
                        };
                        let Some((deadline, phase)) = next else {
                            return Poll::Pending;
                        };
                        this.sleep = Some((Box::pin(tokio::time::sleep_until(deadline)), phase));
                    }
                    let Some((sleep, phase)) = this.sleep.as_mut() else {
                        return Poll::Pending;
                    };
                    ready!(sleep.as_mut().poll(cx));
                    let phase = *phase;
                    let after = match (phase, &this.pace) {
                        (TimeoutPhase::SlowBody, Some(pace)) => pace.allowed(),
                        _ => this.idle,
                    };
                    return Poll::Ready(Some(Err(this.timeout(phase, after))));
                }
            }
        }
    }
}
