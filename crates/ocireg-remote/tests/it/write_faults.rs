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
