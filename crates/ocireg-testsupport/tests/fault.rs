//! The scripted fault server does exactly what it is told, byte for byte.

use std::time::{Duration, Instant};

use http::Method;
use ocireg_testsupport::{FaultServer, Reply, TestCa, TestClient, with_timeout};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn queue_is_served_in_order_then_runs_out_loudly() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([
            Reply::status(503).header("Retry-After", "1").body("busy"),
            Reply::ok().body("hello"),
        ])
        .await
        .expect("start");
        let client = TestClient::new();
        let url = server.url_for("/v2/foo/manifests/latest?x=1");

        let first = client.get(&url).await.expect("first");
        assert_eq!(first.status, 503);
        assert_eq!(first.header("retry-after"), Some("1"));
        assert_eq!(first.text(), "busy");
        let second = client.get(&url).await.expect("second");
        assert_eq!(
            (second.status.as_u16(), second.text().as_str()),
            (200, "hello")
        );
        let third = client.get(&url).await.expect("third");
        assert_eq!(third.status, 500);
        assert!(
            third.text().contains("no scripted reply left"),
            "{}",
            third.text()
        );

        assert_eq!(server.request_count(), 3);
        assert_eq!(server.remaining_replies(), 0);
        let reqs = server.requests();
        assert_eq!(reqs[0].method, Method::GET);
        assert_eq!(reqs[0].path(), "/v2/foo/manifests/latest");
        assert_eq!(reqs[0].query(), Some("x=1"));
        assert_eq!(reqs[1].index, 1);
        assert!(reqs[1].received_at >= reqs[0].received_at);
    })
    .await;
}

#[tokio::test]
async fn records_headers_and_bodies() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([Reply::status(202)])
            .await
            .expect("start");
        TestClient::new()
            .send(
                Method::PATCH,
                &server.url_for("/upload"),
                &[("authorization", "Bearer abc"), ("x-Custom", "1")],
                "payload",
            )
            .await
            .expect("patch");
        let req = &server.requests()[0];
        assert_eq!(req.method, Method::PATCH);
        assert_eq!(req.header("Authorization"), Some("Bearer abc"));
        assert!(req.has_header("x-custom"));
        assert!(!req.has_header("cookie"));
        assert_eq!(&req.body[..], b"payload");
    })
    .await;
}

#[tokio::test]
async fn handler_answers_once_the_queue_is_empty_and_push_adds_more() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(|req| Reply::ok().body(req.target.clone()))
            .await
            .expect("start");
        let client = TestClient::new();
        assert_eq!(
            client.get(&server.url_for("/a")).await.expect("a").text(),
            "/a"
        );
        server.push(Reply::status(418));
        assert_eq!(
            client.get(&server.url_for("/b")).await.expect("b").status,
            418
        );
        assert_eq!(
            client.get(&server.url_for("/c")).await.expect("c").text(),
            "/c"
        );
        server.set_handler(|_| Reply::status(204));
        assert_eq!(
            client.get(&server.url_for("/d")).await.expect("d").status,
            204
        );
    })
    .await;
}

#[tokio::test]
async fn reset_mid_body_is_an_error_for_the_client() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([Reply::ok().body(vec![b'x'; 10_000]).reset_after(5_000)])
            .await
            .expect("start");
        let (status_line, got, err) = raw_get(&server, "/blob").await;
        assert!(status_line.starts_with("HTTP/1.1 200"), "{status_line}");
        assert!(got < 10_000, "got {got} bytes");
        let err = err.expect("the read must fail");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
        // And through an HTTP client: an error, never a short success.
        server.push(Reply::ok().body(vec![b'x'; 10_000]).reset_after(5_000));
        TestClient::new()
            .get(&server.url_for("/blob"))
            .await
            .expect_err("reset mid-body");
    })
    .await;
}

#[tokio::test]
async fn eof_after_truncates_the_body() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([Reply::ok()
            .header("Content-Length", "1000")
            .body(vec![b'y'; 600])
            .eof_after(600)])
        .await
        .expect("start");
        let (_, got, err) = raw_get(&server, "/").await;
        assert!(err.is_none(), "clean EOF expected, got {err:?}");
        assert_eq!(got, 600);
        server.push(Reply::ok().body(vec![b'y'; 1000]).eof_after(10));
        TestClient::new()
            .get(&server.url_for("/"))
            .await
            .expect_err("truncated body");
    })
    .await;
}

#[tokio::test]
async fn endless_bodies_never_end() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([Reply::ok().body("abc").endless()])
            .await
            .expect("start");
        let mut tcp = TcpStream::connect(server.addr()).await.expect("connect");
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        // Far more than any one repetition, and still coming.
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < 4 << 20 {
            let n = tcp.read(&mut buf).await.expect("read");
            assert_ne!(n, 0, "the body ended after {} bytes", got.len());
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got[..200]);
        assert!(
            text.contains("Transfer-Encoding: chunked\r\n")
                && text.contains("\r\n3\r\nabc\r\n3\r\nabc"),
            "{text}"
        );
        drop(tcp);
    })
    .await;
}

#[tokio::test]
async fn hang_and_stall_keep_the_client_waiting() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([Reply::hang(), Reply::ok().body("abcdef").stall_after(3)])
            .await
            .expect("start");
        let client = TestClient::new().timeout(Duration::from_millis(300));
        let started = Instant::now();
        let err = client.get(&server.url_for("/")).await.expect_err("hang");
        assert!(
            matches!(err, ocireg_testsupport::Error::Timeout { .. }),
            "{err:?}"
        );
        let err = client.get(&server.url_for("/")).await.expect_err("stall");
        assert!(
            matches!(err, ocireg_testsupport::Error::Timeout { .. }),
            "{err:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(600));
        assert_eq!(server.request_count(), 2);
    })
    .await;
}

#[tokio::test]
async fn close_and_reset_without_answer() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([Reply::close_connection(), Reply::reset()])
            .await
            .expect("start");
        let (status_line, got, err) = raw_get(&server, "/").await;
        assert_eq!((status_line.as_str(), got), ("", 0));
        assert!(err.is_none());
        let (_, got, err) = raw_get(&server, "/").await;
        assert_eq!(got, 0);
        assert_eq!(
            err.expect("reset").kind(),
            std::io::ErrorKind::ConnectionReset
        );
        assert_eq!(server.connection_count(), 2);
    })
    .await;
}

#[tokio::test]
async fn delay_holds_the_answer_back() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([Reply::ok().delay(Duration::from_millis(200))])
            .await
            .expect("start");
        let started = Instant::now();
        TestClient::new().get(server.url()).await.expect("get");
        assert!(started.elapsed() >= Duration::from_millis(200));
    })
    .await;
}

#[tokio::test]
async fn redirect_points_at_another_server_which_records_what_arrives() {
    with_timeout(LIMIT, async {
        let target = FaultServer::start([Reply::ok().body("blob")])
            .await
            .expect("target");
        let origin = FaultServer::start([Reply::redirect(307, target.url_for("/cdn/blob?sig=s"))])
            .await
            .expect("origin");
        let client = TestClient::new();
        let hop = client
            .send(
                Method::GET,
                &origin.url_for("/v2/foo/blobs/sha256:00"),
                &[("authorization", "Basic c2VjcmV0")],
                "",
            )
            .await
            .expect("origin");
        assert_eq!(hop.status, 307);
        let location = hop.header("location").expect("Location");
        assert_eq!(location, target.url_for("/cdn/blob?sig=s"));
        // A well-behaved client follows without credentials:
        assert_eq!(client.get(location).await.expect("follow").text(), "blob");
        assert!(origin.requests()[0].has_header("authorization"));
        assert!(!target.requests()[0].has_header("authorization"));
        assert_ne!(origin.host(), target.host());
    })
    .await;
}

#[tokio::test]
async fn keep_alive_chunked_requests_head_and_chunked_replies() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([
            Reply::status(202),
            Reply::ok().body("0123456789"),
            Reply::ok().body("chunky").chunked().close(),
        ])
        .await
        .expect("start");
        let mut tcp = TcpStream::connect(server.addr()).await.expect("connect");
        tcp.write_all(
            b"PATCH /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n\
              HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /c HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await
        .expect("write");
        let mut out = Vec::new();
        tcp.read_to_end(&mut out).await.expect("read");
        let out = String::from_utf8(out).expect("utf8");
        assert!(out.starts_with("HTTP/1.1 202 Accepted\r\n"), "{out}");
        assert!(
            out.contains("Content-Length: 10\r\n\r\nHTTP/1.1 200"),
            "HEAD has no body: {out}"
        );
        assert!(out.contains("Transfer-Encoding: chunked"), "{out}");
        assert!(out.ends_with("6\r\nchunky\r\n0\r\n\r\n"), "{out}");
        let reqs = server.requests();
        assert_eq!(&reqs[0].body[..], b"abcdefg");
        assert_eq!(reqs[1].method, Method::HEAD);
        assert!(reqs.iter().all(|r| r.connection == 0));
        assert_eq!(server.connection_count(), 1);
    })
    .await;
}

#[tokio::test]
async fn serves_https_with_the_test_ca() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().expect("ca");
        let server = FaultServer::builder()
            .tls(&ca)
            .replies([
                Reply::ok().body("secure"),
                Reply::ok().body("x").reset_after(0),
            ])
            .start()
            .await
            .expect("start");
        assert!(server.url().starts_with("https://127.0.0.1:"));
        let client = TestClient::with_tls(ca.client_config().expect("client config"));
        assert_eq!(
            client.get(&server.url_for("/")).await.expect("get").text(),
            "secure"
        );
        client
            .get(&server.url_for("/"))
            .await
            .expect_err("reset over TLS");
        let other = TestCa::new().expect("other ca");
        TestClient::with_tls(other.client_config().expect("client config"))
            .get(&server.url_for("/"))
            .await
            .expect_err("untrusted CA");
    })
    .await;
}

/// Sends a bare GET and reads until EOF or error: (status line, body bytes, error).
async fn raw_get(server: &FaultServer, path: &str) -> (String, usize, Option<std::io::Error>) {
    let mut tcp = TcpStream::connect(server.addr()).await.expect("connect");
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let err = loop {
        match tcp.read(&mut buf).await {
            Ok(0) => break None,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => break Some(e),
        }
    };
    let text = String::from_utf8_lossy(&out);
    let (head, body_len) = match text.find("\r\n\r\n") {
        Some(end) => (text[..end].to_owned(), out.len() - end - 4),
        None => (text.into_owned(), 0),
    };
    let status_line = head.lines().next().unwrap_or_default().to_owned();
    (status_line, body_len, err)
}
