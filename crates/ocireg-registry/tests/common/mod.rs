//! A small HTTP client harness for driving the registry over loopback.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use ocireg_registry::{Registry, RegistryBuilder, RunningRegistry};
use ocireg_v1::Digest;

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A registry on loopback and a plain-HTTP client for it.
pub(crate) struct Harness {
    pub(crate) running: RunningRegistry,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A response with its body read.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a 201 for a blob stored in `repo` under `digest`, with its
    /// `Location` and `Docker-Content-Digest`.
    pub(crate) fn assert_blob_created(&self, repo: &str, digest: &Digest) {
        assert_eq!(self.status, 201, "{self:?}");
        assert_eq!(
            self.header("Location"),
            Some(format!("/v2/{repo}/blobs/{digest}").as_str())
        );
        assert_eq!(
            self.header("Docker-Content-Digest"),
            Some(digest.to_string().as_str())
        );
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("response body is JSON")
    }

    /// The `code` of the first distribution error in the body.
    pub(crate) fn error_code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .expect("error envelope with a code")
            .to_owned()
    }
}

impl Harness {
    pub(crate) async fn start() -> Self {
        Self::with(Registry::builder()).await
    }

    pub(crate) async fn with(builder: RegistryBuilder) -> Self {
        Self::serve(builder.build().expect("registry builds")).await
    }

    /// Serves `registry` (keep a clone to look at its state).
    pub(crate) async fn serve(registry: Registry) -> Self {
        let running = registry
            .spawn_on("127.0.0.1:0")
            .await
            .expect("registry binds");
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self { running, client }
    }

    /// Sends a request whose body goes in `Transfer-Encoding: chunked`
    /// pieces (no `Content-Length`) over a fresh connection; returns the
    /// status code.
    pub(crate) async fn send_chunked(&self, method: &str, path: &str, body: &[u8]) -> u16 {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(self.running.addr())
            .await
            .expect("connect");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .into_bytes();
        for piece in body.chunks(4096) {
            request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            request.extend_from_slice(piece);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        // The server may answer (and close) before reading everything.
        let _ = stream.write_all(&request).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer);
        text.get(9..12)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer: {text}"))
    }

    /// Sends a request to `path` (which may carry a query).
    pub(crate) async fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        let mut builder = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(format!("{}{path}", self.running.url()));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body.into())).expect("request");
        let response = self.client.request(request).await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body read")
            .to_bytes();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Sends a request with no extra headers.
    pub(crate) async fn send(&self, method: &str, path: &str, body: impl Into<Bytes>) -> Resp {
        self.req(method, path, &[], body).await
    }

    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, Bytes::new()).await
    }

    /// Uploads a blob monolithically; asserts 201.
    pub(crate) async fn push_blob(&self, repo: &str, data: &[u8]) -> Digest {
        let digest = ocireg_v1::sha256(data);
        let resp = self
            .send(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
                Bytes::copy_from_slice(data),
            )
            .await;
        assert_eq!(resp.status, 201, "{resp:?}");
        digest
    }

    pub(crate) async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Resp {
        self.req(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Content-Type", media_type)],
            Bytes::copy_from_slice(body),
        )
        .await
    }

    /// Pushes a config and one layer, then an image manifest under `tag`;
    /// returns the manifest bytes and digest.
    pub(crate) async fn push_image(&self, repo: &str, tag: &str, seed: u64) -> (Vec<u8>, Digest) {
        let config = format!("{{\"seed\":{seed}}}").into_bytes();
        let layer = pseudo_random(1000, seed);
        let config_digest = self.push_blob(repo, &config).await;
        let layer_digest = self.push_blob(repo, &layer).await;
        let manifest = image_manifest(
            (&config_digest, config.len()),
            &[(&layer_digest, layer.len())],
            None,
        );
        let resp = self.put_manifest(repo, tag, OCI_MANIFEST, &manifest).await;
        assert_eq!(resp.status, 201, "{resp:?}");
        let digest = ocireg_v1::sha256(&manifest);
        (manifest, digest)
    }
}

/// Deterministic pseudo-random bytes (xorshift).
pub(crate) fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// An OCI image manifest for a config and layers, with an optional extra
/// JSON fragment spliced in (e.g. `"subject":{...}`).
pub(crate) fn image_manifest(
    config: (&Digest, usize),
    layers: &[(&Digest, usize)],
    extra: Option<&str>,
) -> Vec<u8> {
    let layers: Vec<String> = layers
        .iter()
        .map(|(d, n)| format!(r#"{{"mediaType":"{OCI_LAYER}","size":{n},"digest":"{d}"}}"#))
        .collect();
    let extra = extra.map(|e| format!(",{e}")).unwrap_or_default();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","size":{},"digest":"{}"}},"layers":[{}]{extra}}}"#,
        config.1,
        config.0,
        layers.join(",")
    )
    .into_bytes()
}

/// An OCI index of the given manifests.
pub(crate) fn index_manifest(children: &[(&Digest, usize)]) -> Vec<u8> {
    let children: Vec<String> = children
        .iter()
        .map(|(d, n)| format!(r#"{{"mediaType":"{OCI_MANIFEST}","size":{n},"digest":"{d}"}}"#))
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#,
        children.join(",")
    )
    .into_bytes()
}
