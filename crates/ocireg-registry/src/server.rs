//! Serving a [`Registry`] over HTTP/1.1 on a tokio listener, with graceful
//! shutdown. Nothing here builds a runtime: it runs on the caller's.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{self, Either};
use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::body::{IdleTimeout, ResponseBody};
use crate::error::Error;
use crate::limits::SHUTDOWN_GRACE;
use crate::registry::{BoxError, Registry};

impl<B> hyper::service::Service<Request<B>> for Registry
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

    fn call(&self, request: Request<B>) -> Self::Future {
        let registry = self.clone();
        Box::pin(async move { Ok(registry.handle(request).await) })
    }
}

impl Registry {
    /// Serves HTTP/1.1 on `listener` until the task is dropped.
    pub async fn serve(self, listener: TcpListener) -> Result<(), Error> {
        self.serve_with_shutdown(listener, future::pending()).await
    }

    /// Serves HTTP/1.1 on `listener` until `signal` completes, then stops
    /// accepting, lets requests in flight finish (up to 10 seconds) and
    /// closes idle connections.
    ///
    /// At most [`max_connections`](crate::RegistryBuilder::max_connections)
    /// connections are served at once; each has the
    /// [header read](crate::RegistryBuilder::header_read_timeout) and
    /// [body idle](crate::RegistryBuilder::body_idle_timeout) timeouts.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send,
    ) -> Result<(), Error> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let slots = Arc::new(Semaphore::new(self.inner.limits.max_connections));
        let mut connections = JoinSet::new();
        connections.spawn(sweep_uploads(self.clone(), stop_rx.clone()));
        let mut signal = pin!(signal);
        loop {
            while connections.try_join_next().is_some() {}
            // Wait for a free connection slot before accepting.
            let slot = pin!(Arc::clone(&slots).acquire_owned());
            let slot = match future::select(signal.as_mut(), slot).await {
                Either::Right((Ok(slot), _)) => slot,
                // Stopping (the semaphore itself is never closed).
                Either::Left(((), _)) | Either::Right((Err(_), _)) => break,
            };
            let accept = pin!(listener.accept());
            match future::select(signal.as_mut(), accept).await {
                Either::Left(((), _)) => break,
                Either::Right((Ok((stream, peer)), _)) => {
                    tracing::trace!(%peer, "registry connection");
                    connections.spawn(serve_connection(
                        self.clone(),
                        stream,
                        stop_rx.clone(),
                        slot,
                    ));
                }
                Either::Right((Err(err), _)) => {
                    // Per-connection failures (reset before accept) and
                    // resource exhaustion (EMFILE) are both worth a retry.
                    tracing::warn!(error = %err, "registry accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        drop(listener);
        // No receiver left is fine: then there are no connections.
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("registry shutdown: cutting off connections still busy");
            connections.abort_all();
        }
        Ok(())
    }

    /// Binds `addr` (e.g. `"127.0.0.1:0"`) and serves in a task on the
    /// current tokio runtime.
    pub async fn spawn_on(
        self,
        addr: impl ToSocketAddrs + std::fmt::Debug,
    ) -> Result<RunningRegistry, Error> {
        let shown = format!("{addr:?}");
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: shown,
                source,
            })?;
        self.spawn_with_listener(listener)
    }

    /// Serves on an already bound listener in a task on the current runtime.
    pub fn spawn_with_listener(self, listener: TcpListener) -> Result<RunningRegistry, Error> {
        let addr = listener
            .local_addr()
            .map_err(|source| Error::LocalAddr { source })?;
        let (tx, rx) = oneshot::channel::<()>();
        let signal = async move {
            // A dropped sender also means stop.
            let _ = rx.await;
        };
        let task = tokio::spawn(self.serve_with_shutdown(listener, signal));
        Ok(RunningRegistry {
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }
}

/// Drops expired upload sessions every
/// [upload sweep interval](crate::limits::MAX_UPLOAD_SWEEP_INTERVAL) until
/// `stop` turns true, so that their bytes go even when no request comes.
async fn sweep_uploads(registry: Registry, mut stop: watch::Receiver<bool>) {
    let every = registry.inner.limits.upload_sweep_interval();
    loop {
        let tick = pin!(tokio::time::sleep(every));
        let stopping = pin!(stop.wait_for(|stop| *stop));
        match future::select(tick, stopping).await {
            Either::Left(_) => registry.inner.expire_uploads(),
            // Stopping, or the sender is gone, which also means stop.
            Either::Right(_) => break,
        }
    }
}

/// Serves one connection until it closes or `stop` turns true; `_slot` is
/// its place among the connections served at once.
async fn serve_connection(
    registry: Registry,
    stream: tokio::net::TcpStream,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let limits = registry.inner.limits;
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let registry = registry.clone();
        async move {
            let request = request.map(|body| IdleTimeout::new(body, limits.body_idle_timeout));
            Ok::<_, Infallible>(registry.handle(request).await)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = pin!(connection);
    let stopping = pin!(async move {
        // An error means the sender is gone, which also means stop.
        let _ = stop.wait_for(|stop| *stop).await;
    });
    let result = match future::select(connection.as_mut(), stopping).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "registry connection ended with an error");
    }
}

/// A registry serving in a background task; see [`Registry::spawn_on`].
///
/// Dropping it stops the server too (without waiting); [`shutdown`](Self::shutdown)
/// waits for requests in flight.
#[derive(Debug)]
pub struct RunningRegistry {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl RunningRegistry {
    /// The address the registry listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port`, what image references use as their registry
    /// (e.g. `127.0.0.1:40123/repo:tag`).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish and
    /// waits for the server task.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|join| {
                Err(Error::Serve {
                    source: io::Error::other(join),
                })
            }),
            None => Ok(()),
        }
    }
}

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
