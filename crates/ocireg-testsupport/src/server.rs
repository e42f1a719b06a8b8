//! The accept loop shared by [`FaultServer`](crate::FaultServer) and
//! [`TokenServer`](crate::TokenServer): accept on loopback, do the TLS handshake
//! when asked, serve each connection in its own task, and stop everything when the
//! server is dropped.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Locks `m`, going on after a panic in another test task (the data is test state).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection, plain or TLS, that can also be reset at the TCP level.
pub(crate) trait Conn: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Conn for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// What a server does with its connections.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Called in accept order, before any TLS handshake; returns the connection's number.
    fn accepted(&self) -> usize;

    /// Serves one connection until it closes.
    fn serve<S: Conn>(
        self: Arc<Self>,
        stream: S,
        connection: usize,
    ) -> impl Future<Output = ()> + Send;
}

/// The running accept loop and connection tasks; dropping it stops them all.
pub(crate) struct Background {
    accept: JoinHandle<()>,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        self.accept.abort();
        lock(&self.tasks).abort_all();
    }
}

/// Accepts connections on `listener` and serves each with `handler` (after the TLS
/// handshake when `tls` is set; a failed handshake just closes the connection).
pub(crate) fn spawn<H: Handler>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: Arc<H>,
) -> Background {
    let tasks = Arc::new(Mutex::new(JoinSet::new()));
    let set = Arc::clone(&tasks);
    let accept = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let connection = handler.accepted();
            let handler = Arc::clone(&handler);
            let tls = tls.clone();
            let mut set = lock(&set);
            while set.try_join_next().is_some() {}
            set.spawn(async move {
                match tls {
                    None => handler.serve(tcp, connection).await,
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            handler.serve(stream, connection).await;
                        }
                    }
                }
            });
        }
    });
    Background { accept, tasks }
}
