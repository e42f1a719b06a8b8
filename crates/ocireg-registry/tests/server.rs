//! Serving: shutdown, concurrency, and use as a plain hyper service.

mod common;

use bytes::Bytes;
use common::{Harness, pseudo_random};
use http_body_util::{BodyExt as _, Full};
use ocireg_registry::Registry;
use std::time::{Duration, Instant};
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

/// Reads until the server closes the connection (a reset counts as closed),
/// failing the test if that takes more than `limit`.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    out
}

/// Issue 9: a slowloris client held connections forever. Headers that never
/// end, and a kept-alive connection that never sends its next request, are
/// both closed after the header read timeout.
#[tokio::test]
async fn slowloris_headers_are_cut_off() {
    let timeout = Duration::from_millis(300);
    let h = Harness::with(Registry::builder().header_read_timeout(timeout)).await;
    let addr = h.running.addr();

    let started = Instant::now();
    let mut partial = tokio::net::TcpStream::connect(addr).await.expect("connect");
    partial
        .write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
        .await
        .expect("write");
    let answer = read_until_closed(&mut partial, Duration::from_secs(10)).await;
    assert!(started.elapsed() >= timeout);
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "no request was made");

    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "the request was served"
    );

    // Others are served meanwhile.
    assert_eq!(h.get("/v2/").await.status, 200);
}

/// A body that stops half way gets 408; the bytes received are kept.
#[tokio::test]
async fn stalled_request_body_times_out() {
    let h = Harness::with(Registry::builder().body_idle_timeout(Duration::from_millis(300))).await;
    let start = h
        .send("POST", "/v2/slow/blobs/uploads/", Bytes::new())
        .await;
    assert_eq!(start.status, 202);
    let location = start.header("Location").expect("Location").to_owned();

    let mut stream = tokio::net::TcpStream::connect(h.running.addr())
        .await
        .expect("connect");
    let head = format!("PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&[7u8; 10]).await.expect("write");
    let answer = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("BLOB_UPLOAD_INVALID"), "{text}");

    let status = h.get(&location).await;
    assert_eq!(status.status, 204);
    assert_eq!(status.header("Range"), Some("0-9"));
}

/// Connections past the cap wait until one closes.
#[tokio::test]
async fn connections_beyond_the_cap_wait() {
    let h = Harness::with(Registry::builder().max_connections(1)).await;
    let addr = h.running.addr();
    let holder = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // Give the server time to accept the first connection.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut waiting = tokio::net::TcpStream::connect(addr).await.expect("connect");
    waiting
        .write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut buf)).await;
    assert!(early.is_err(), "served past the connection cap");
    drop(holder);
    let answer = read_until_closed(&mut waiting, Duration::from_secs(10)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"));
}

/// A HEAD response never has a body, errors included, also when the
/// registry is called without a server (which would strip it).
#[tokio::test]
async fn head_errors_have_no_body_without_a_server() {
    let registry = Registry::default();
    for uri in [
        "/v2/none/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "/v2/none/manifests/latest",
        "/v2/none/blobs/not-a-digest",
        "/v2/",
    ] {
        let request = http::Request::builder()
            .method("HEAD")
            .uri(uri)
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = registry.handle(request).await;
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert!(body.is_empty(), "{uri}: {body:?}");
    }
}
