//! The connector under hyper-util's pooled client: TCP (with a connect timeout), an optional
//! HTTP proxy (CONNECT tunnel for https), then TLS with the per-host rustls configuration
//! (with a handshake timeout), reporting ALPN `h2` so the pool speaks HTTP/2 when offered.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tower_service::Service;

use crate::error::{BoxError, TimeoutPhase};
use crate::target::{HostClass, classify_host};
use crate::tls::TlsConfigs;

/// A connection failure, with the phase when it was a timeout.
#[derive(Debug)]
pub(crate) struct ConnectFailure {
    pub(crate) host: String,
    pub(crate) timeout: Option<(TimeoutPhase, Duration)>,
    /// The TLS handshake failed (not a timeout): never transient, so a plain-http registry
    /// answering our ClientHello makes the ping fall back to http at once.
    pub(crate) tls_failed: bool,
    pub(crate) source: Option<BoxError>,
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.timeout {
            Some((phase, after)) => write!(
                f,
                "connecting to {}: timed out after {after:?} waiting for {phase}",
                self.host
            ),
            None => write!(f, "connecting to {}", self.host),
        }
    }
}

impl std::error::Error for ConnectFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[derive(Clone)]
pub(crate) struct Connector {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpConnector,
    tls: Arc<TlsConfigs>,
    proxy: Option<Matcher>,
    connect_timeout: Duration,
    tls_timeout: Duration,
}

impl Connector {
    pub(crate) fn new(
        tls: Arc<TlsConfigs>,
        proxy: Option<Matcher>,
        connect_timeout: Duration,
        tls_timeout: Duration,
    ) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        Self {
            inner: Arc::new(Inner {
                http,
                tls,
                proxy,
                connect_timeout,
                tls_timeout,
            }),
        }
    }
}

/// Whether `uri` goes through a proxy; loopback destinations never do (as Go's
/// `ProxyFromEnvironment`), so tests against 127.0.0.1 ignore a CI proxy.
pub(crate) fn proxy_for(
    proxy: Option<&Matcher>,
    uri: &Uri,
) -> Option<hyper_util::client::proxy::matcher::Intercept> {
    let host = uri.host()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if classify_host(host) == HostClass::Loopback {
        return None;
    }
    proxy?.intercept(uri)
}

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { inner.connect(dst).await })
    }
}

impl Inner {
    async fn connect(&self, dst: Uri) -> Result<Conn, BoxError> {
        let authority = dst
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let fail = |timeout, source: Option<BoxError>| -> BoxError {
            Box::new(ConnectFailure {
                host: authority.clone(),
                timeout,
                tls_failed: false,
                source,
            })
        };
        let is_https = dst.scheme_str() == Some("https");
        let intercept = proxy_for(self.proxy.as_ref(), &dst);
        let mut http = self.http.clone();
        let tcp = async {
            match (&intercept, is_https) {
                (Some(proxy), true) => {
                    let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                    if let Some(auth) = proxy.basic_auth() {
                        tunnel = tunnel.with_auth(auth.clone());
                    }
                    tunnel.call(dst.clone()).await.map_err(BoxError::from)
                }
                (Some(proxy), false) => {
                    http.call(proxy.uri().clone()).await.map_err(BoxError::from)
                }
                (None, _) => http.call(dst.clone()).await.map_err(BoxError::from),
            }
        };
        let tcp = match tokio::time::timeout(self.connect_timeout, tcp).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(fail(None, Some(e))),
            Err(_) => {
                return Err(fail(
                    Some((TimeoutPhase::Connect, self.connect_timeout)),
                    None,
                ));
            }
        };
        if !is_https {
            return Ok(Conn::Plain {
                io: tcp,
                proxied: intercept.is_some(),
            });
        }
        let config = self
            .tls
            .config_for(&authority)
            .map_err(|e| fail(None, Some(Box::new(e))))?;
        let host = dst.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let server_name =
            ServerName::try_from(host.to_owned()).map_err(|e| fail(None, Some(Box::new(e))))?;
        let tls = TlsConnector::from(config);
        let handshake = tls.connect(server_name, tcp.into_inner());
        match tokio::time::timeout(self.tls_timeout, handshake).await {
            Ok(Ok(stream)) => {
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                Ok(Conn::Tls {
                    io: Box::new(TokioIo::new(stream)),
                    h2,
                })
            }
            Ok(Err(e)) => Err(Box::new(ConnectFailure {
                host: authority.clone(),
                timeout: None,
                tls_failed: true,
                source: Some(Box::new(e)),
            })),
            Err(_) => Err(fail(
                Some((TimeoutPhase::TlsHandshake, self.tls_timeout)),
                None,
            )),
        }
    }
}

/// A connection: plain TCP or TLS over TCP.
pub(crate) enum Conn {
    Plain {
        io: TokioIo<TcpStream>,
        proxied: bool,
    },
    Tls {
        io: Box<TokioIo<TlsStream<TcpStream>>>,
        h2: bool,
    },
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        match self {
            Self::Plain { io, proxied } => io.connected().proxy(*proxied),
            Self::Tls { io, h2 } => {
                let connected = io.inner().get_ref().0.connected();
                if *h2 {
                    connected.negotiated_h2()
                } else {
                    connected
                }
            }
        }
    }
}

impl Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain { io, .. } => Pin::new(io).poll_read(cx, buf),
            Self::Tls { io, .. } => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain { io, .. } => Pin::new(io).poll_write(cx, buf),
            Self::Tls { io, .. } => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain { io, .. } => Pin::new(io).poll_flush(cx),
            Self::Tls { io, .. } => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain { io, .. } => Pin::new(io).poll_shutdown(cx),
            Self::Tls { io, .. } => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain { io, .. } => Pin::new(io).poll_write_vectored(cx, bufs),
            Self::Tls { io, .. } => Pin::new(io.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain { io, .. } => io.is_write_vectored(),
            Self::Tls { io, .. } => io.is_write_vectored(),
        }
    }
}
