//! A tiny HTTP/1.1 client for seeding and probing fixtures.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// A deliberately simple HTTP/1.1 client: one connection per request, no
/// redirects, no retries, no auth logic. It exists so that tests can set up
/// and probe fixtures without depending on the client under test.
#[derive(Clone, Debug)]
pub struct TestClient {
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
}

impl Default for TestClient {
    fn default() -> Self {
        Self::new()
    }
}

/// A fully read response.
#[derive(Clone, Debug)]
pub struct TestResponse {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl TestResponse {
    /// The first value of header `name` as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Config {
            reason: format!("response body is not JSON ({e}): {}", self.text()),
        })
    }
}

impl TestClient {
    /// A client for plain http (https URLs fail: there are no trusted roots).
    pub fn new() -> Self {
        Self {
            tls: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// A client that uses `config` for https URLs.
    pub fn with_tls(config: ClientConfig) -> Self {
        Self {
            tls: Some(Arc::new(config)),
            timeout: Duration::from_secs(30),
        }
    }

    /// Sets the limit for a whole request (connect to last body byte).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> Result<TestResponse> {
        self.send(Method::GET, url, &[], Bytes::new()).await
    }

    /// Sends one request with the given headers and body and reads the whole
    /// response. `Host` is set from the URL; `Content-Length` from the body.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<TestResponse> {
        let body = body.into();
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| Error::Http {
            method: method.to_string(),
            url: url.to_owned(),
            source,
        };
        let work = self.send_inner(method.clone(), url, headers, body);
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(Error::Timeout {
                what: format!("{method} {url}"),
                after: self.timeout,
            }),
        }
    }

    async fn send_inner(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> std::result::Result<TestResponse, Box<dyn std::error::Error + Send + Sync>> {
        let uri: Uri = url.parse()?;
        let scheme = uri.scheme_str().unwrap_or("http");
        let authority = uri.authority().ok_or("URL has no host")?.clone();
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string);

        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, authority.as_str());
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body))?;

        let tcp = TcpStream::connect((host, port)).await?;
        match scheme {
            "http" => exchange(tcp, request).await,
            "https" => {
                let config = self
                    .tls
                    .clone()
                    .ok_or("https URL but the TestClient has no TLS configuration")?;
                let name = ServerName::try_from(host.to_owned())?;
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await?;
                exchange(tls, request).await
            }
            other => Err(format!("unsupported scheme {other}").into()),
        }
    }
}

async fn exchange<S>(
    io: S,
    request: Request<Full<Bytes>>,
) -> std::result::Result<TestResponse, Box<dyn std::error::Error + Send + Sync>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    let driver = tokio::spawn(conn);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    driver.abort();
    Ok(TestResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}
