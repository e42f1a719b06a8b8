//! Uploads against scripted servers: a wrong `Docker-Content-Digest`, an upload `Location`
//! pointing at a private address, and `OCI-Chunk-Min-Length`.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ocireg_name::Repository;
use ocireg_testsupport::{FaultServer, RecordedRequest, Reply};
use ocireg_v1::{MediaType, StaticLayer};

use super::write_support as support;

/// A tiny upload endpoint: `location` for POST, `Range` accounting for PATCH, and `put`
/// deciding the answer to the final PUT.
fn uploads(
    location: &'static str,
    min_chunk: Option<u64>,
    put: impl Fn(&[u8]) -> Reply + Send + Sync + 'static,
) -> impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static {
    let held: Arc<Mutex<Vec<u8>>> = Arc::default();
    move |req| {
        let path = req.path();
        match req.method.as_str() {
            "GET" if path == "/v2/" => Reply::ok(),
            "HEAD" => Reply::status(404),
            "POST" => {
                let mut r = Reply::status(202).header("Location", location);
                if let Some(n) = min_chunk {
                    r = r.header("OCI-Chunk-Min-Length", n.to_string());
                }
                r
            }
            "PATCH" => {
                let mut held = held.lock().expect("lock");
                held.extend_from_slice(&req.body);
                Reply::status(202)
                    .header("Location", location)
                    .header("Range", format!("0-{}", held.len().saturating_sub(1)))
            }
            "PUT" => {
                let mut held = held.lock().expect("lock");
                held.extend_from_slice(&req.body);
                put(&held)
            }
            "DELETE" => Reply::status(204),
            _ => Reply::status(405),
        }
    }
}

fn repo(server: &FaultServer) -> Repository {
    Repository::new(&format!("{}/r", server.host())).expect("repo")
}

#[tokio::test]
async fn a_wrong_registry_digest_is_an_error() {
    let server = FaultServer::with_handler(uploads("/v2/r/blobs/uploads/1", None, |_| {
        Reply::status(201).header(
            "Docker-Content-Digest",
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        )
    }))
    .await
    .expect("server");
    let layer = StaticLayer::new("hello", MediaType::OciUncompressedLayer);
    let err = ocireg_remote::write_layer(&repo(&server), Arc::new(layer), &support::options())
        .await
        .expect_err("the registry stored something else");
    assert!(
        matches!(err, ocireg_remote::Error::RegistryDigestMismatch { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_upload_location_on_a_private_address_is_refused() {
    let server = FaultServer::with_handler(uploads(
        "http://169.254.169.254/v2/r/blobs/uploads/1",
        None,
        |_| Reply::status(201),
    ))
    .await
    .expect("server");
    let layer = StaticLayer::new("hello", MediaType::OciUncompressedLayer);
    let err = ocireg_remote::write_layer(&repo(&server), Arc::new(layer), &support::options())
        .await
        .expect_err("refused");
    let text = format!("{err:?}");
    assert!(text.contains("UnsafeUrl"), "{text}");
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.method == http::Method::PATCH),
        "nothing was sent after the refusal"
    );
}

#[tokio::test]
async fn chunks_respect_the_registry_minimum() {
    let bytes = Bytes::from((0..20_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let digest = ocireg_v1::sha256(&bytes);
    let server =
        FaultServer::with_handler(uploads("/v2/r/blobs/uploads/1", Some(4096), move |held| {
            let d = ocireg_v1::sha256(held);
            Reply::status(201).header("Docker-Content-Digest", d.to_string())
        }))
        .await
        .expect("server");
    let opts = support::builder()
        .chunk_size(1000)
        .build()
        .expect("options");
    let layer = StaticLayer::new(bytes, MediaType::OciUncompressedLayer);
    let pushed = ocireg_remote::write_layer(&repo(&server), Arc::new(layer), &opts)
        .await
        .expect("chunked upload");
    assert_eq!(pushed, digest);
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .filter(|r| r.method == http::Method::PATCH)
        .map(|r| r.body.len())
        .collect();
    assert_eq!(
        sizes,
        [4096, 4096, 4096, 4096, 3616],
        "chunks of at least the minimum"
    );
}

/// A bearer-token registry whose blob PUT refuses `bad` tokens with 401 `invalid_token`;
/// its token endpoint hands out `t1`, `t2`, ... in turn.
fn expiring_tokens(
    host: &str,
    bad: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static {
    let issued = Arc::new(Mutex::new(0u32));
    let challenge = format!("Bearer realm=\"http://{host}/token\",service=\"fault\"");
    move |req| {
        let path = req.path();
        let challenge = challenge.as_str();
        match (req.method.as_str(), path) {
            ("GET", "/v2/") => Reply::status(401).header("WWW-Authenticate", challenge),
            ("GET", "/token") => {
                let mut n = issued.lock().expect("lock");
                *n += 1;
                Reply::ok().json(&serde_json::json!({ "token": format!("t{n}") }))
            }
            ("HEAD", _) => Reply::status(404),
            ("POST", _) => Reply::status(202).header("Location", "/v2/r/blobs/uploads/1"),
            ("PUT", _) => {
                let token = req
                    .header("authorization")
                    .and_then(|a| a.strip_prefix("Bearer "))
                    .unwrap_or_default()
                    .to_owned();
                if bad(&token) {
                    Reply::status(401)
                        .header(
                            "WWW-Authenticate",
                            format!("{challenge},error=\"invalid_token\""),
                        )
                        .json(&serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "token expired"}]}))
                } else {
                    let d = ocireg_v1::sha256(&req.body);
                    Reply::status(201).header("Docker-Content-Digest", d.to_string())
                }
            }
            ("DELETE", _) => Reply::status(204),
            _ => Reply::status(405),
        }
    }
}

/// A token that expires in the middle of a push is renewed once and the upload goes on
/// (it used to restart four times with the same cached token, then fail with "log in
/// again").
#[tokio::test]
async fn a_token_that_expires_mid_push_is_renewed_once() {
    let server = FaultServer::with_handler(|_| Reply::status(500))
        .await
        .expect("server");
    server.set_handler(expiring_tokens(&server.host(), |t| t == "t1"));
    let layer = StaticLayer::new("hello", MediaType::OciUncompressedLayer);
    let want = ocireg_v1::sha256(b"hello");
    let got = ocireg_remote::write_layer(&repo(&server), Arc::new(layer), &support::options())
        .await
        .expect("the upload goes on with a new token");
    assert_eq!(got, want);
    let requests = server.requests();
    let tokens = requests.iter().filter(|r| r.path() == "/token").count();
    let puts: Vec<_> = requests
        .iter()
        .filter(|r| r.method == http::Method::PUT)
        .map(|r| r.header("authorization").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(tokens, 2, "one token at the start, one renewal");
    assert_eq!(puts, ["Bearer t1", "Bearer t2"], "{requests:?}");
}

/// When the renewed token is refused too, the second 401 in a row is final.
#[tokio::test]
async fn a_second_401_in_a_row_fails_the_push() {
    let server = FaultServer::with_handler(|_| Reply::status(500))
        .await
        .expect("server");
    server.set_handler(expiring_tokens(&server.host(), |_| true));
    let layer = StaticLayer::new("hello", MediaType::OciUncompressedLayer);
    let err = ocireg_remote::write_layer(&repo(&server), Arc::new(layer), &support::options())
        .await
        .expect_err("refused twice");
    assert_eq!(
        err.status(),
        Some(http::StatusCode::UNAUTHORIZED),
        "{err:?}"
    );
    let puts = server
        .requests()
        .iter()
        .filter(|r| r.method == http::Method::PUT)
        .count();
    assert_eq!(puts, 2, "one PUT per token, no more");
}
