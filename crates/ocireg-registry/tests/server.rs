//! Serving: shutdown, concurrency, and use as a plain hyper service.

mod common;

use bytes::Bytes;
use common::{Harness, pseudo_random};
use http_body_util::{BodyExt as _, Full};
use ocireg_registry::Registry;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::test]
async fn graceful_shutdown_stops_listening() {
    let h = Harness::start().await;
    let addr = h.running.addr();
    assert_eq!(h.get("/v2/").await.status, 200);
    let Harness { running, .. } = h;
    running.shutdown().await.expect("clean shutdown");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn serve_on_a_listener_until_the_task_is_dropped() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(Registry::default().serve(listener));
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    assert!(out.starts_with(b"HTTP/1.1 200"));
    task.abort();
}

#[tokio::test]
async fn concurrent_uploads_of_the_same_blob() {
    let h = std::sync::Arc::new(Harness::start().await);
    let data = pseudo_random(200_000, 9);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let h = h.clone();
        let data = data.clone();
        tasks.push(tokio::spawn(async move {
            h.push_blob(&format!("conc/r{}", i % 2), &data).await
        }));
    }
    for task in tasks {
        let digest = task.await.expect("task");
        let resp = h.get(&format!("/v2/conc/r0/blobs/{digest}")).await;
        assert_eq!(&resp.body[..], &data[..]);
    }
}

#[tokio::test]
async fn handle_without_a_server() {
    let registry = Registry::default();
    let digest = ocireg_v1::sha256(b"direct");
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("/v2/direct/blobs/uploads/?digest={digest}"))
        .body(Full::new(Bytes::from_static(b"direct")))
        .expect("request");
    let response = registry.handle(request).await;
    assert_eq!(response.status(), 201);
    let request = http::Request::builder()
        .uri(format!("/v2/direct/blobs/{digest}"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = registry.handle(request).await;
    assert_eq!(response.status(), 200);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], b"direct");
}
