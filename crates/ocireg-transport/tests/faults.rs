//! The transport against a scripted fault server: retries, Retry-After, resets, timeouts,
//! redirects, realm validation and the token protocol.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use http::{Request, StatusCode};
use ocireg_authn::{AuthConfig, Authenticator};
use ocireg_testsupport::{FaultServer, RecordedRequest, Reply, TestCa, with_timeout};
use ocireg_transport::{
    Body, Error, ErrorCode, RetryPolicy, Scope, Scopes, TimeoutPhase, TrustRoots,
};
use serde_json::json;

use common::{
    LIMIT, OK, anonymous, basic, builder, client, get, render, short_timeouts, transport,
};

/// A handler answering `GET /v2/` with 200 and other paths from per-path scripts (the last
/// reply of a script repeats).
fn scripted(scripts: Vec<(&'static str, Vec<Reply>)>) -> impl Fn(&RecordedRequest) -> Reply {
    let scripts: Mutex<HashMap<&'static str, Vec<Reply>>> =
        Mutex::new(scripts.into_iter().collect());
    move |req: &RecordedRequest| {
        if req.path() == "/v2/" {
            return Reply::ok().json(&json!({}));
        }
        let mut scripts = scripts.lock().expect("script lock");
        match scripts.get_mut(req.path()) {
            Some(replies) if replies.len() > 1 => replies.remove(0),
            Some(replies) => replies[0].clone(),
            None => Reply::status(404),
        }
    }
}

fn count(server: &FaultServer, path: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path() == path)
        .count()
}

const MANIFEST: &str = "/v2/repo/manifests/latest";

#[tokio::test]
async fn retries_503_then_succeeds() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![
                Reply::status(503),
                Reply::status(503),
                Reply::ok().body("manifest"),
            ],
        )]))
        .await
        .unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;
        let resp = t.fetch_bytes(get(MANIFEST), OK, 1024).await.unwrap();
        assert_eq!(resp.body().as_ref(), b"manifest");
        assert_eq!(count(&server, MANIFEST), 3);
    })
    .await;
}

#[tokio::test]
async fn persistent_503_gives_a_transient_error_after_five_attempts() {
    with_timeout(LIMIT, async {
        let body = json!({"errors": [{"code": "UNAVAILABLE", "message": "down for maintenance"}]});
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![Reply::status(503).json(&body)],
        )]))
        .await
        .unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;
        let err = t.send_expect(get(MANIFEST), OK).await.unwrap_err();
        let reg = err.registry_error().expect("a registry error");
        assert_eq!(reg.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(reg.has_code(&ErrorCode::Unavailable));
        assert!(err.is_transient());
        assert!(
            err.to_string()
                .contains("UNAVAILABLE: down for maintenance"),
            "{err}"
        );
        assert_eq!(count(&server, MANIFEST), 5);
    })
    .await;
}

#[tokio::test]
async fn other_4xx_are_not_retried() {
    with_timeout(LIMIT, async {
        let body = json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]});
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![Reply::status(404).json(&body)],
        )]))
        .await
        .unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;
        let err = t.send_expect(get(MANIFEST), OK).await.unwrap_err();
        assert!(
            err.registry_error()
                .unwrap()
                .has_code(&ErrorCode::ManifestUnknown)
        );
        assert!(!err.is_transient());
        assert_eq!(count(&server, MANIFEST), 1);
    })
    .await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![
                Reply::status(429).header("Retry-After", "1"),
                Reply::ok().body("ok"),
            ],
        )]))
        .await
        .unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;
        let started = Instant::now();
        let resp = t.send_expect(get(MANIFEST), OK).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "waited only {:?} despite Retry-After: 1",
            started.elapsed()
        );
        assert_eq!(resp.into_body().bytes(100).await.unwrap().as_ref(), b"ok");
        assert_eq!(count(&server, MANIFEST), 2);
    })
    .await;
}

#[tokio::test]
async fn retry_after_beyond_the_cap_is_a_typed_rate_limit() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![Reply::status(429).header("Retry-After", "3600")],
        )]))
        .await
        .unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;
        let err = t.send(get(MANIFEST)).await.unwrap_err();
        match &err {
            Error::RateLimited {
                retry_after,
                max_wait,
                ..
            } => {
                assert_eq!(*retry_after, Duration::from_secs(3600));
                assert_eq!(*max_wait, Duration::from_secs(60));
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        assert!(err.to_string().contains("3600s"), "{err}");
        assert_eq!(
            count(&server, MANIFEST),
            1,
            "no retry when told to wait an hour"
        );
    })
    .await;
}

#[tokio::test]
async fn a_reset_mid_body_is_transient_and_fetch_bytes_retries_it() {
    with_timeout(LIMIT, async {
        let full = vec![b'x'; 4096];
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![
                Reply::ok().body(full.clone()).reset_after(100),
                Reply::ok().body(full.clone()).reset_after(100),
                Reply::ok().body(full.clone()),
            ],
        )]))
        .await
        .unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;

        // Streaming: the caller sees a transient io error.
        let resp = t.send_expect(get(MANIFEST), OK).await.unwrap();
        let mut body = resp.into_body();
        let mut got = 0;
        let err = loop {
            match body.next().await {
                Some(Ok(chunk)) => got += chunk.len(),
                Some(Err(e)) => break e,
                None => panic!("body ended cleanly after {got} bytes despite the reset"),
            }
        };
        assert!(got < full.len());
        let wrapped = Error::Body {
            method: http::Method::GET,
            url: String::new(),
            source: err,
        };
        assert!(wrapped.is_transient(), "{wrapped:?}");

        // fetch_bytes retries the whole exchange.
        let resp = t.fetch_bytes(get(MANIFEST), OK, 1 << 20).await.unwrap();
        assert_eq!(resp.body().len(), full.len());
        assert_eq!(count(&server, MANIFEST), 3);
    })
    .await;
}

#[tokio::test]
async fn a_server_that_stops_answering_times_out() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(scripted(vec![
            (MANIFEST, vec![Reply::hang()]),
            (
                "/v2/repo/blobs/sha256:stall",
                vec![Reply::ok().body(vec![0u8; 1000]).stall_after(10)],
            ),
        ]))
        .await
        .unwrap();
        let c = builder()
            .timeouts(short_timeouts(300))
            .retry(RetryPolicy::fast_for_tests().with_max_attempts(2))
            .build()
            .unwrap();
        let t = transport(&c, &server.host(), Scopes::pull("repo"), anonymous()).await;
        let started = Instant::now();
        let err = t.send(get(MANIFEST)).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    phase: TimeoutPhase::ResponseHeaders,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
        assert_eq!(count(&server, MANIFEST), 2, "timeouts are retried");
        assert!(started.elapsed() < Duration::from_secs(5));

        // Idle read: headers arrive, then the body stalls.
        let resp = t
            .send_expect(get("/v2/repo/blobs/sha256:stall"), OK)
            .await
            .unwrap();
        let err = resp.into_body().bytes(1 << 20).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert!(
            render(&err).contains("more of the response body"),
            "{}",
            render(&err)
        );
    })
    .await;
}

#[tokio::test]
async fn redirects_to_another_host_never_carry_credentials() {
    with_timeout(LIMIT, async {
        // The CDN: /1 redirects to /2 on the same CDN host (CVE-2024-45336 shape).
        let cdn = FaultServer::with_handler(|req: &RecordedRequest| match req.path() {
            "/1" => Reply::redirect(302, "/2?X-Amz-Signature=canary-signature"),
            _ => Reply::ok().body("blob"),
        })
        .await
        .unwrap();
        let cdn_url = cdn.url_for("/1?X-Amz-Signature=canary-signature");
        let registry = FaultServer::with_handler(move |req: &RecordedRequest| match req.path() {
            "/v2/" => Reply::status(401).header("WWW-Authenticate", r#"Basic realm="test""#),
            _ => Reply::redirect(307, cdn_url.clone()),
        })
        .await
        .unwrap();
        let t = transport(
            &client(),
            &registry.host(),
            Scopes::pull("repo"),
            basic("user", "canary-password"),
        )
        .await;
        let resp = t
            .send_expect(get("/v2/repo/blobs/sha256:abc"), OK)
            .await
            .unwrap();
        assert_eq!(resp.into_body().bytes(100).await.unwrap().as_ref(), b"blob");

        let reg_req = registry
            .requests()
            .into_iter()
            .find(|r| r.path() == "/v2/repo/blobs/sha256:abc")
            .unwrap();
        assert!(
            reg_req
                .header("authorization")
                .unwrap()
                .starts_with("Basic ")
        );
        let cdn_reqs = cdn.requests();
        assert_eq!(cdn_reqs.len(), 2);
        for r in &cdn_reqs {
            assert!(
                !r.has_header("authorization"),
                "credentials leaked to {}",
                r.target
            );
        }
    })
    .await;
}

#[tokio::test]
async fn unsafe_redirects_are_refused_before_connecting() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().unwrap();
        let plain = FaultServer::start([]).await.unwrap();
        let downgrade = plain.url_for("/blob");
        let registry = FaultServer::builder()
            .tls(&ca)
            .handler(move |req: &RecordedRequest| match req.path() {
                "/v2/" => Reply::ok(),
                "/v2/repo/blobs/sha256:meta" => {
                    Reply::redirect(302, "https://169.254.169.254/latest/meta-data")
                }
                "/v2/repo/blobs/sha256:private" => Reply::redirect(302, "https://10.1.2.3/x"),
                _ => Reply::redirect(302, downgrade.clone()),
            })
            .start()
            .await
            .unwrap();
        let c = builder()
            .trust_roots(TrustRoots::None)
            .add_ca_pem(ca.cert_pem())
            .build()
            .unwrap();
        let t = transport(&c, &registry.host(), Scopes::pull("repo"), anonymous()).await;
        assert_eq!(t.scheme(), "https");
        for (path, reason) in [
            ("/v2/repo/blobs/sha256:meta", "link-local"),
            ("/v2/repo/blobs/sha256:private", "private"),
            ("/v2/repo/blobs/sha256:down", "downgrades https to http"),
        ] {
            let err = t.send(get(path)).await.unwrap_err();
            assert!(matches!(err, Error::UnsafeUrl { .. }), "{err:?}");
            assert!(err.to_string().contains(reason), "{err}");
        }
        assert_eq!(plain.request_count(), 0, "the downgraded URL was contacted");
        assert_eq!(plain.connection_count(), 0);
    })
    .await;
}

/// A fault registry whose `/v2/` asks for Bearer tokens from `realm`.
async fn bearer_registry(
    realm: String,
    blob: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
) -> FaultServer {
    FaultServer::with_handler(move |req: &RecordedRequest| {
        if req.path() == "/v2/" {
            Reply::status(401).header(
                "WWW-Authenticate",
                format!(r#"Bearer realm="{realm}",service="fault-registry""#),
            )
        } else {
            blob(req)
        }
    })
    .await
    .expect("fault registry starts")
}

fn token_reply(token: &str) -> Reply {
    Reply::ok().json(&json!({ "token": token, "expires_in": 300 }))
}

#[tokio::test]
async fn an_http_realm_for_an_https_registry_is_refused() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().unwrap();
        let realm_server = FaultServer::start([]).await.unwrap();
        let realm = realm_server.url_for("/token");
        let registry = FaultServer::builder()
            .tls(&ca)
            .handler(move |_: &RecordedRequest| {
                Reply::status(401).header(
                    "WWW-Authenticate",
                    format!(r#"Bearer realm="{realm}",service="s""#),
                )
            })
            .start()
            .await
            .unwrap();
        let c = builder()
            .trust_roots(TrustRoots::None)
            .add_ca_pem(ca.cert_pem())
            .build()
            .unwrap();
        let err = c
            .transport(
                &common::registry(&registry.host()),
                Scopes::pull("repo"),
                basic("u", "canary-password"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsafeUrl {
                    what: "token realm",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("plain http for an https registry"),
            "{err}"
        );
        assert_eq!(
            realm_server.connection_count(),
            0,
            "no connection to the http realm"
        );
    })
    .await;
}

#[tokio::test]
async fn a_token_endpoint_failing_twice_then_answering() {
    with_timeout(LIMIT, async {
        let auth = FaultServer::start([
            Reply::status(503),
            Reply::status(500),
            token_reply("good-token"),
        ])
        .await
        .unwrap();
        let registry = bearer_registry(auth.url_for("/token"), |_| Reply::ok().body("m")).await;
        let t = transport(
            &client(),
            &registry.host(),
            Scopes::pull("repo"),
            anonymous(),
        )
        .await;
        assert_eq!(auth.request_count(), 3);
        let r = auth.requests().pop().unwrap();
        assert_eq!(
            r.query(),
            Some("scope=repository%3Arepo%3Apull&service=fault-registry")
        );
        t.send_expect(get(MANIFEST), OK).await.unwrap();
        let last = registry.requests().pop().unwrap();
        assert_eq!(last.header("authorization"), Some("Bearer good-token"));
        // Cached: no further token request.
        t.send_expect(get(MANIFEST), OK).await.unwrap();
        assert_eq!(auth.request_count(), 3);
    })
    .await;
}

#[tokio::test]
async fn a_401_naming_a_new_scope_refreshes_once_and_retries_once() {
    with_timeout(LIMIT, async {
        let auth = FaultServer::with_handler(|req: &RecordedRequest| {
            let n = req.query().unwrap_or_default().matches("scope=").count();
            token_reply(&format!("token-with-{n}-scopes"))
        })
        .await
        .unwrap();
        let registry = bearer_registry(auth.url_for("/token"), |req| {
            match req.header("authorization") {
                _ if req.path().starts_with("/v2/other/") => Reply::status(401).header(
                    "WWW-Authenticate",
                    r#"Bearer realm="ignored",scope="repository:forever:pull""#,
                ),
                Some("Bearer token-with-2-scopes") => Reply::ok().body("ok"),
                _ => Reply::status(401).header(
                    "WWW-Authenticate",
                    r#"Bearer realm="ignored",scope="repository:src:pull""#,
                ),
            }
        })
        .await;
        let t = transport(
            &client(),
            &registry.host(),
            Scopes::push("repo"),
            anonymous(),
        )
        .await;
        assert_eq!(auth.request_count(), 1);
        let resp = t
            .send_expect(get("/v2/repo/blobs/sha256:x"), OK)
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(auth.request_count(), 2);
        let q = auth.requests().pop().unwrap().target;
        assert!(
            q.contains("scope=repository%3Asrc%3Apull&scope=repository%3Arepo%3Apush%2Cpull"),
            "challenged scope first: {q}"
        );
        assert_eq!(t.scopes().iter().next(), Some(&Scope::pull("src")));

        // A 401 that survives the refresh is an error after exactly two tries.
        let before = registry.request_count();
        let err = t
            .send_expect(get("/v2/other/manifests/x"), OK)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationRequired { .. }),
            "{err:?}"
        );
        assert_eq!(registry.request_count() - before, 2);
    })
    .await;
}

#[tokio::test]
async fn per_repository_auth_asks_one_token_per_repository() {
    with_timeout(LIMIT, async {
        let auth = FaultServer::with_handler(|req: &RecordedRequest| {
            token_reply(&format!("t-{}", req.query().unwrap_or_default().len()))
        })
        .await
        .unwrap();
        let registry = bearer_registry(auth.url_for("/token"), |_| Reply::ok()).await;
        let c = builder()
            .per_repository_auth_for(registry.host())
            .build()
            .unwrap();
        let scopes = Scopes::push("dst").with_mount_from("src");
        let t = transport(&c, &registry.host(), scopes, anonymous()).await;
        let queries: Vec<String> = auth
            .requests()
            .iter()
            .map(|r| r.query().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            queries,
            [
                "scope=repository%3Adst%3Apush%2Cpull&service=fault-registry",
                "scope=repository%3Asrc%3Apull&service=fault-registry",
            ]
        );
        t.send_expect(get("/v2/src/blobs/sha256:a"), OK)
            .await
            .unwrap();
        t.send_expect(get("/v2/dst/blobs/uploads/"), OK)
            .await
            .unwrap();
        assert_eq!(auth.request_count(), 2, "tokens are cached per repository");
        let reqs = registry.requests();
        let n = reqs.len();
        assert_ne!(
            reqs[n - 1].header("authorization"),
            reqs[n - 2].header("authorization")
        );
    })
    .await;
}

#[tokio::test]
async fn identity_tokens_use_the_oauth2_post_and_fall_back_to_get_on_404() {
    with_timeout(LIMIT, async {
        let auth = FaultServer::with_handler(|req: &RecordedRequest| {
            if req.method == http::Method::POST {
                Reply::status(404)
            } else {
                Reply::ok().json(&json!({ "access_token": "from-get" }))
            }
        })
        .await
        .unwrap();
        let registry = bearer_registry(auth.url_for("/token"), |_| Reply::ok()).await;
        let idt: Arc<dyn Authenticator> = Arc::new(AuthConfig::identity_token(
            "<token>",
            "canary-identity-token",
        ));
        let t = transport(&client(), &registry.host(), Scopes::pull("repo"), idt).await;
        let reqs = auth.requests();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].method, http::Method::POST);
        assert_eq!(
            reqs[0].header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let form = String::from_utf8(reqs[0].body.to_vec()).unwrap();
        assert!(form.contains("grant_type=refresh_token"), "{form}");
        assert!(
            form.contains("refresh_token=canary-identity-token"),
            "{form}"
        );
        assert!(form.contains("service=fault-registry"), "{form}");
        assert!(form.contains("scope=repository%3Arepo%3Apull"), "{form}");
        assert_eq!(reqs[1].method, http::Method::GET);
        t.send_expect(get(MANIFEST), OK).await.unwrap();
        assert_eq!(
            registry.requests().pop().unwrap().header("authorization"),
            Some("Bearer from-get")
        );
    })
    .await;
}

#[tokio::test]
async fn token_expiry_is_honoured() {
    with_timeout(LIMIT, async {
        let auth = FaultServer::with_handler(|_: &RecordedRequest| {
            Reply::ok().json(&json!({ "token": "short", "expires_in": 1 }))
        })
        .await
        .unwrap();
        let registry = bearer_registry(auth.url_for("/token"), |_| Reply::ok()).await;
        let t = transport(
            &client(),
            &registry.host(),
            Scopes::pull("repo"),
            anonymous(),
        )
        .await;
        t.send_expect(get(MANIFEST), OK).await.unwrap();
        assert_eq!(auth.request_count(), 1);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        t.send_expect(get(MANIFEST), OK).await.unwrap();
        assert_eq!(auth.request_count(), 2, "an expired token is fetched again");
    })
    .await;
}

#[tokio::test]
async fn token_responses_are_limited_and_checked() {
    with_timeout(LIMIT, async {
        let huge = format!(r#"{{"token":"{}"}}"#, "a".repeat(2 << 20));
        let auth = FaultServer::start([
            Reply::ok().body(huge),
            Reply::ok().json(&json!({"nope": 1})),
        ])
        .await
        .unwrap();
        let registry = bearer_registry(auth.url_for("/token"), |_| Reply::ok()).await;
        let c = client();
        let reg = common::registry(&registry.host());
        let err = c
            .transport(&reg, Scopes::pull("repo"), anonymous())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::BodyTooLarge {
                    limit: 1_048_576,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = c
            .transport(&reg, Scopes::pull("repo"), anonymous())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("no token in the response"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn user_agent_and_extra_headers_go_to_the_registry_only() {
    with_timeout(LIMIT, async {
        let auth = FaultServer::with_handler(|_: &RecordedRequest| token_reply("t"))
            .await
            .unwrap();
        let registry = bearer_registry(auth.url_for("/token"), |_| Reply::ok()).await;
        let c = builder()
            .user_agent_suffix("crane/9.9")
            .http_headers([("X-Meta-Source", "config")])
            .build()
            .unwrap();
        let t = transport(&c, &registry.host(), Scopes::pull("repo"), anonymous()).await;
        t.send_expect(get(MANIFEST), OK).await.unwrap();
        let r = registry.requests().pop().unwrap();
        let ua = r.header("user-agent").unwrap();
        assert!(
            ua.starts_with("ocireg/") && ua.ends_with(" crane/9.9"),
            "{ua}"
        );
        assert_eq!(r.header("x-meta-source"), Some("config"));
        let a = auth.requests().pop().unwrap();
        assert!(a.header("user-agent").unwrap().starts_with("ocireg/"));
        assert!(!a.has_header("x-meta-source"));
    })
    .await;
}

#[tokio::test]
async fn streaming_bodies_are_sent_once_and_never_replayed() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(scripted(vec![(
            "/v2/repo/blobs/uploads/1",
            vec![Reply::status(503), Reply::status(202)],
        )]))
        .await
        .unwrap();
        let t = transport(&client(), &server.host(), Scopes::push("repo"), anonymous()).await;
        let chunks = futures_util::stream::iter(vec![Ok(bytes::Bytes::from_static(b"layer"))]);
        let req = Request::patch("/v2/repo/blobs/uploads/1")
            .body(Body::from_stream(chunks, Some(5)))
            .unwrap();
        let resp = t.send(req).await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "no retry of a stream"
        );
        assert_eq!(count(&server, "/v2/repo/blobs/uploads/1"), 1);
        assert_eq!(server.requests().pop().unwrap().body.as_ref(), b"layer");
        // A replayable body is retried.
        let req = Request::patch("/v2/repo/blobs/uploads/1")
            .body(Body::from_bytes("layer"))
            .unwrap();
        assert_eq!(t.send(req).await.unwrap().status(), StatusCode::ACCEPTED);
    })
    .await;
}

#[tokio::test]
async fn upload_locations_and_links_are_checked() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(scripted(vec![])).await.unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;
        let base = t.url("/v2/repo/blobs/uploads/").unwrap();
        let ok = t
            .resolve_url(
                &base,
                "/v2/repo/blobs/uploads/abc?_state=x",
                "upload location",
            )
            .unwrap();
        assert_eq!(
            ok.to_string(),
            format!(
                "http://{}/v2/repo/blobs/uploads/abc?_state=x",
                server.host()
            )
        );
        // Loopback on another port is fine for a loopback registry; metadata is not.
        assert!(t.resolve_url(&base, "http://127.0.0.1:1/x", "link").is_ok());
        let err = t
            .resolve_url(&base, "http://169.254.169.254/x", "upload location")
            .unwrap_err();
        assert!(
            err.to_string().contains("refusing upload location"),
            "{err}"
        );
        assert!(t.resolve_url(&base, "file:///etc/passwd", "link").is_err());
    })
    .await;
}

#[tokio::test]
async fn ping_errors_name_both_schemes_and_404_is_fatal() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(|_: &RecordedRequest| Reply::status(404))
            .await
            .unwrap();
        let err = quick_https_give_up()
            .transport(
                &common::registry(&server.host()),
                Scopes::none(),
                anonymous(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Ping { attempts: 1, .. }),
            "a 404 is an answer, not retried: {err:?}"
        );
        let text = render(&err);
        assert!(text.contains("over https and over http"), "{text}");
        assert!(!err.to_string().contains("attempts"), "{err}");
        assert!(text.contains("404"), "{text}");
        assert_eq!(count(&server, "/v2/"), 1);
    })
    .await;
}

#[tokio::test]
async fn an_http_registry_answering_503_twice_is_pinged_again() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([
            Reply::status(503),
            Reply::status(503).header("Retry-After", "0"),
            Reply::ok().json(&json!({})),
        ])
        .await
        .unwrap();
        // 127.0.0.1 races https against http: each attempt's https handshake times out
        // (the fault server never answers a ClientHello) and its http request gets a 503,
        // both transient, until http answers 200 on the third attempt.
        let t = transport(
            &quick_https_give_up(),
            &server.host(),
            Scopes::none(),
            anonymous(),
        )
        .await;
        assert_eq!(t.scheme(), "http");
        assert_eq!(count(&server, "/v2/"), 3);
        assert_eq!(server.request_count(), 3);
    })
    .await;
}

/// A client whose https handshake with a plain-http fault server (which waits for a request
/// head and never answers a ClientHello) times out after 100 ms instead of 5 s.
fn quick_https_give_up() -> ocireg_transport::Client {
    builder()
        .timeouts(short_timeouts(5_000).with_tls_handshake(Duration::from_millis(100)))
        .build()
        .expect("test client builds")
}

/// A policy with waits long enough to measure: 3 attempts, 40 ms between them (refused
/// connections too).
fn measurable_retries() -> RetryPolicy {
    RetryPolicy::fast_for_tests()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(40))
        .with_max_backoff(Duration::from_millis(40))
        .with_jitter(0.0)
        .with_max_refused_backoff(Duration::from_millis(40))
}

/// A loopback port that refuses connections: bound, then closed.
async fn refusing_port() -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind a loopback port");
    let host = listener.local_addr().expect("its address").to_string();
    drop(listener);
    host
}

#[tokio::test]
async fn a_refusing_registry_is_pinged_the_policys_refused_attempts() {
    with_timeout(LIMIT, async {
        let host = refusing_port().await;
        // Five attempts for other failures, three while every one is refused.
        let policy = measurable_retries().with_max_attempts(5);
        let client = builder().retry(policy).build().unwrap();
        let started = Instant::now();
        let err = client
            .transport(&common::registry(&host), Scopes::none(), anonymous())
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, Error::Ping { attempts: 3, .. }), "{err:?}");
        assert!(err.is_transient(), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("over https and over http after 3 attempts"),
            "{text}"
        );
        // Two waits of 40 ms between the three attempts.
        assert!(elapsed >= Duration::from_millis(80), "{elapsed:?}");

        // The default policy gives up on a dead registry within about a second, not the
        // fifteen its full backoff would take.
        let client = builder().retry(RetryPolicy::default()).build().unwrap();
        let started = Instant::now();
        let err = client
            .transport(&common::registry(&host), Scopes::none(), anonymous())
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, Error::Ping { attempts: 3, .. }), "{err:?}");
        assert!(
            elapsed >= Duration::from_millis(800) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );

        // Without retries, one attempt and no wait.
        let client = builder().retry(RetryPolicy::never()).build().unwrap();
        let err = client
            .transport(&common::registry(&host), Scopes::none(), anonymous())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Ping { attempts: 1, .. }), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn a_registry_closing_every_connection_is_pinged_the_policys_attempts() {
    with_timeout(LIMIT, async {
        // Accepts and closes at once: https fails its handshake (not retried), http sees an
        // early EOF (retried).
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        let server = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(socket);
            }
        });
        // Early EOFs are not refusals: the full attempts, not the refused ones.
        let policy = measurable_retries().with_max_refused_attempts(1);
        let client = builder().retry(policy).build().unwrap();
        let err = client
            .transport(&common::registry(&host), Scopes::none(), anonymous())
            .await
            .unwrap_err();
        server.abort();
        assert!(matches!(err, Error::Ping { attempts: 3, .. }), "{err:?}");
        // One https handshake, then three http requests.
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1 + 3);
    })
    .await;
}

/// A registry that goes away after the ping: its requests are refused, and retried the
/// refused attempts with the refused waits, not the full policy.
#[tokio::test]
async fn a_request_to_a_registry_gone_away_gets_the_refused_retries() {
    with_timeout(LIMIT, async {
        // No connection is kept for reuse: the request after the ping connects anew.
        let server = FaultServer::with_handler(|_: &RecordedRequest| Reply::ok().close())
            .await
            .unwrap();
        // Long waits, except after refusals: 5 attempts would take 4 s, 2 take 300 ms.
        let policy = RetryPolicy::fast_for_tests()
            .with_max_attempts(5)
            .with_initial_backoff(Duration::from_secs(1))
            .with_max_backoff(Duration::from_secs(1))
            .with_jitter(0.0)
            .with_max_refused_attempts(2)
            .with_max_refused_backoff(Duration::from_millis(300));
        let c = builder().retry(policy).build().unwrap();
        let t = transport(&c, &server.host(), Scopes::pull("repo"), anonymous()).await;
        drop(server);
        // The listener closes once its task is cancelled: until then a connection would
        // wait in its backlog and be reset, not refused.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let err = t.send(get(MANIFEST)).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, Error::Connect { .. }), "{err:?}");
        assert!(
            elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(2500),
            "{elapsed:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn plain_http_goes_through_the_configured_proxy() {
    with_timeout(LIMIT, async {
        let proxy = FaultServer::with_handler(|req: &RecordedRequest| {
            if req.method == http::Method::CONNECT {
                Reply::status(502)
            } else {
                Reply::ok().body("via proxy")
            }
        })
        .await
        .unwrap();
        let proxy_url = format!("http://puser:canary-proxy-pw@{}", proxy.host());
        let c = builder()
            .plain_http(true)
            .proxy(
                ocireg_transport::ProxyConfig::none()
                    .http(proxy_url.clone())
                    .https(proxy_url),
            )
            .build()
            .unwrap();
        let t = transport(&c, "registry.test:5000", Scopes::none(), anonymous()).await;
        assert_eq!(t.scheme(), "http");
        let resp = t.send_expect(get("/v2/x/tags/list"), OK).await.unwrap();
        assert_eq!(
            resp.into_body().bytes(100).await.unwrap().as_ref(),
            b"via proxy"
        );
        let reqs = proxy.requests();
        let connect = reqs
            .iter()
            .find(|r| r.method == http::Method::CONNECT)
            .unwrap();
        assert_eq!(connect.target, "registry.test:5000");
        assert!(
            connect
                .header("proxy-authorization")
                .unwrap()
                .starts_with("Basic ")
        );
        let last = reqs.last().unwrap();
        assert_eq!(last.target, "http://registry.test:5000/v2/x/tags/list");
        assert!(
            last.header("proxy-authorization")
                .unwrap()
                .starts_with("Basic ")
        );
        assert!(!last.has_header("authorization"));
    })
    .await;
}

/// A `tracing` writer that appends to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Canaries as password, identity token, issued token and signed-URL signature: none may
/// appear in trace-level logs or in any error, while the flows run for real.
#[tokio::test]
async fn trace_logs_and_errors_never_show_secrets() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    with_timeout(LIMIT, async {
        let cdn = FaultServer::with_handler(|_: &RecordedRequest| Reply::ok().body("blob"))
            .await
            .unwrap();
        let signed = cdn.url_for("/b?X-Amz-Signature=canary-sig&X-Amz-Credential=canary-cred");
        let auth = FaultServer::with_handler(|_: &RecordedRequest| {
            Reply::ok()
                .json(&json!({"token": "canary-issued-token", "refresh_token": "canary-refresh"}))
        })
        .await
        .unwrap();
        let registry = bearer_registry(auth.url_for("/token"), move |req| match req.path() {
            "/v2/repo/blobs/sha256:r" => Reply::redirect(307, signed.clone()),
            "/v2/repo/manifests/denied" => Reply::status(401).header(
                "WWW-Authenticate",
                r#"Bearer realm="x",scope="repository:repo:pull""#,
            ),
            _ => Reply::status(500).body("oops"),
        })
        .await;
        let c = client();
        let t = transport(
            &c,
            &registry.host(),
            Scopes::pull("repo"),
            basic("u", "canary-password"),
        )
        .await;
        t.send_expect(get("/v2/repo/blobs/sha256:r"), OK)
            .await
            .unwrap();
        let e1 = t
            .send_expect(get("/v2/repo/manifests/denied"), OK)
            .await
            .unwrap_err();
        let e2 = t
            .send_expect(get("/v2/repo/manifests/x?token=canary-query"), OK)
            .await
            .unwrap_err();
        let idt: Arc<dyn Authenticator> =
            Arc::new(AuthConfig::identity_token("<token>", "canary-identity"));
        let t2 = transport(&c, &registry.host(), Scopes::pull("repo"), idt).await;
        let e3 = t2
            .send_expect(get("/v2/repo/manifests/denied"), OK)
            .await
            .unwrap_err();
        let mut everything = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        for e in [&e1, &e2, &e3] {
            everything.push_str(&render(e));
        }
        everything.push_str(&render(&e1));
        let debugs = format!("{t:?} {t2:?} {c:?}");
        everything.push_str(&debugs);
        assert!(
            everything.contains("--> request"),
            "logging was captured: {everything}"
        );
        assert!(everything.contains("Bearer <redacted>"), "{everything}");
        for canary in [
            "canary-password",
            "canary-identity",
            "canary-issued-token",
            "canary-refresh",
            "canary-sig",
            "canary-cred",
            "canary-query",
        ] {
            assert!(
                !everything.contains(canary),
                "{canary} leaked:\n{everything}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn registry_warnings_reach_the_sink_but_token_and_cdn_warnings_do_not() {
    with_timeout(LIMIT, async {
        let auth = FaultServer::with_handler(|_: &RecordedRequest| {
            token_reply("t").header("Warning", r#"299 - "from the token service""#)
        })
        .await
        .unwrap();
        let cdn = FaultServer::with_handler(|_: &RecordedRequest| {
            Reply::ok()
                .body("blob")
                .header("Warning", r#"299 - "from the cdn""#)
        })
        .await
        .unwrap();
        let blob_url = cdn.url_for("/blob");
        let attempts = Arc::new(Mutex::new(0));
        let registry = bearer_registry(auth.url_for("/token"), move |req| {
            let deprecated = r#"299 - "this \"registry\" is deprecated""#;
            match req.path() {
                MANIFEST => {
                    let mut n = attempts.lock().unwrap();
                    *n += 1;
                    let reply = if *n == 1 {
                        Reply::status(503)
                    } else {
                        Reply::ok().body("m")
                    };
                    reply
                        .header("Warning", deprecated)
                        .header("Warning", r#"199 - "not a registry warning""#)
                        .header("Warning", format!(r#"299 - "{}""#, "x".repeat(5000)))
                }
                "/v2/repo/blobs/sha256:00" => Reply::redirect(307, blob_url.clone())
                    .header("Warning", r#"299 - "redirecting", 299 - "twice""#),
                _ => Reply::status(404),
            }
        })
        .await;
        let got = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&got);
        let client = builder()
            .warning_sink(move |text| sink.lock().unwrap().push(text.to_owned()))
            .build()
            .unwrap();
        let t = transport(&client, &registry.host(), Scopes::pull("repo"), anonymous()).await;
        let resp = t.fetch_bytes(get(MANIFEST), OK, 1024).await.unwrap();
        assert_eq!(resp.body().as_ref(), b"m");
        let resp = t
            .fetch_bytes(get("/v2/repo/blobs/sha256:00"), OK, 1024)
            .await
            .unwrap();
        assert_eq!(resp.body().as_ref(), b"blob");
        assert_eq!(auth.request_count(), 1, "the token service was asked");
        assert_eq!(cdn.request_count(), 1, "the cdn was asked");
        // Once per response that carried it (the 503 and the retried 200): deduplicating is
        // the caller's job.
        assert_eq!(
            *got.lock().unwrap(),
            [
                r#"this "registry" is deprecated"#,
                r#"this "registry" is deprecated"#,
                "redirecting",
                "twice",
            ]
        );
    })
    .await;
}

/// Timeouts for the slow-body tests: an idle timer (2 s) that a trickle at one byte every
/// 200 ms never trips, a 1 s grace and a minimum rate of 1 KiB/s.
fn paced_client() -> ocireg_transport::Client {
    builder()
        .timeouts(
            short_timeouts(2_000)
                .with_idle_read(Duration::from_secs(2))
                .with_body_grace(Duration::from_secs(1))
                .with_min_body_rate(1024),
        )
        .retry(RetryPolicy::fast_for_tests().with_max_attempts(2))
        .build()
        .expect("test client builds")
}

/// A body trickled one byte every 200 ms never trips the idle timer, but fails the
/// minimum average rate after about the grace period (it used to hold `crane manifest`
/// for tens of minutes); `fetch_bytes` retries it within the policy, then gives up.
#[tokio::test]
async fn a_trickled_body_fails_the_minimum_rate() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![
                Reply::ok()
                    .body(vec![b'x'; 4096])
                    .trickle(Duration::from_millis(200)),
            ],
        )]))
        .await
        .unwrap();
        let t = transport(
            &paced_client(),
            &server.host(),
            Scopes::pull("repo"),
            anonymous(),
        )
        .await;
        let started = Instant::now();
        let err = t.fetch_bytes(get(MANIFEST), OK, 1 << 20).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(err.is_transient(), "{err:?}");
        assert!(
            render(&err).contains("below the minimum rate"),
            "{}",
            render(&err)
        );
        assert_eq!(count(&server, MANIFEST), 2, "retried once, then given up");
        // Two attempts of about 1.2 s each, far below 4096 bytes x 200 ms = 13 min.
        assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    })
    .await;
}

/// A large body that arrives at a healthy rate is not cut off by the rate rule, even when
/// it takes longer than the grace period.
#[tokio::test]
async fn a_body_at_a_healthy_rate_passes() {
    with_timeout(LIMIT, async {
        // 30 bytes every 20 ms (about 1.5 KiB/s, above the 1 KiB/s floor) for ~1.6 s.
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![
                Reply::ok()
                    .body(vec![b'y'; 80])
                    .trickle(Duration::from_millis(20)),
            ],
        )]))
        .await
        .unwrap();
        let c = builder()
            .timeouts(
                short_timeouts(2_000)
                    .with_body_grace(Duration::from_millis(500))
                    .with_min_body_rate(20),
            )
            .build()
            .unwrap();
        let t = transport(&c, &server.host(), Scopes::pull("repo"), anonymous()).await;
        let got = t.fetch_bytes(get(MANIFEST), OK, 1 << 20).await.unwrap();
        assert_eq!(got.body().len(), 80);
    })
    .await;
}

/// An upload that takes longer than the response-header timeout is not cut off as long as
/// the registry keeps reading it: the header timer starts when the last byte is taken.
#[tokio::test]
async fn a_long_upload_is_not_cut_off_by_the_header_timeout() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(|req: &RecordedRequest| match req.path() {
            "/v2/" => Reply::ok(),
            _ => Reply::status(201),
        })
        .await
        .unwrap();
        let c = builder().timeouts(short_timeouts(400)).build().unwrap();
        let t = transport(&c, &server.host(), Scopes::push("repo"), anonymous()).await;
        // 10 chunks, 100 ms apart: 1 s in all, well past the 400 ms header timeout.
        let chunks = futures_util::stream::unfold(0u32, |i| async move {
            if i == 10 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok(bytes::Bytes::from(vec![b'z'; 100])), i + 1))
        });
        let req = Request::put(format!("{}/v2/repo/blobs/uploads/x", t.base_url()))
            .body(Body::from_stream(chunks, Some(1000)))
            .unwrap();
        let resp = t
            .send_expect(req, &[StatusCode::CREATED])
            .await
            .expect("a slow but steady upload completes");
        assert_eq!(resp.status(), StatusCode::CREATED);
        let put = server
            .requests()
            .into_iter()
            .find(|r| r.method == http::Method::PUT)
            .unwrap();
        assert_eq!(put.body.len(), 1000);
    })
    .await;
}

/// More than 100 response headers (hyper's default limit) used to fail the request; now
/// up to 1024 are read and repeated values are deduplicated and capped.
#[tokio::test]
async fn hundreds_of_response_headers_are_tolerated_and_capped() {
    with_timeout(LIMIT, async {
        let mut reply = Reply::ok().body("ok");
        for i in 0..300 {
            reply = reply.header(format!("x-noise-{i}"), "1");
        }
        for _ in 0..200 {
            reply = reply.header("x-repeat", "same");
        }
        for i in 0..200 {
            reply = reply.header("x-many", format!("v{i}"));
        }
        let server = FaultServer::with_handler(scripted(vec![(MANIFEST, vec![reply])]))
            .await
            .unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;
        let resp = t.send_expect(get(MANIFEST), OK).await.expect("700 headers");
        assert_eq!(resp.headers().get_all("x-repeat").iter().count(), 1);
        assert_eq!(
            resp.headers().get_all("x-many").iter().count(),
            ocireg_transport::MAX_VALUES_PER_HEADER
        );
        assert_eq!(resp.into_body().bytes(100).await.unwrap().as_ref(), b"ok");
    })
    .await;
}

/// A `Retry-After` date in the past gets the normal backoff, not an instant retry.
#[tokio::test]
async fn a_retry_after_date_in_the_past_uses_the_backoff() {
    with_timeout(LIMIT, async {
        let past =
            httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(3600));
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![
                Reply::status(503).header("Retry-After", past),
                Reply::ok().body("ok"),
            ],
        )]))
        .await
        .unwrap();
        let c = builder().retry(measurable_retries()).build().unwrap();
        let t = transport(&c, &server.host(), Scopes::pull("repo"), anonymous()).await;
        let started = Instant::now();
        t.send_expect(get(MANIFEST), OK).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(35),
            "retried after {:?}, without the backoff",
            started.elapsed()
        );
        assert_eq!(count(&server, MANIFEST), 2);
    })
    .await;
}

/// A registry that accepts connections and never answers fails with the timeout waiting
/// for its answer as the cause, not with the https handshake that a plain-http server
/// cannot complete.
#[tokio::test]
async fn a_registry_that_never_answers_reports_the_timeout() {
    with_timeout(LIMIT, async {
        let server = FaultServer::with_handler(|_: &RecordedRequest| Reply::hang())
            .await
            .unwrap();
        let c = builder()
            .timeouts(short_timeouts(300).with_tls_handshake(Duration::from_millis(100)))
            .retry(RetryPolicy::fast_for_tests().with_max_attempts(1))
            .build()
            .unwrap();
        let err = c
            .transport(
                &common::registry(&server.host()),
                Scopes::none(),
                anonymous(),
            )
            .await
            .unwrap_err();
        let Error::Ping { scheme, error, .. } = &err else {
            panic!("expected a ping error: {err:?}");
        };
        assert_eq!(*scheme, "http", "{err:?}");
        assert!(
            matches!(
                **error,
                Error::Timeout {
                    phase: TimeoutPhase::ResponseHeaders,
                    ..
                }
            ),
            "{err:?}"
        );
        let root = std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .last()
        .unwrap()
        .to_string();
        assert!(root.contains("the response headers"), "{root}");
    })
    .await;
}

/// A 401 from the CDN a blob request was redirected to is not the user's credentials
/// (they never go there): a distinct, transient error instead of "authentication failed".
#[tokio::test]
async fn a_401_from_a_redirect_target_is_not_blamed_on_the_credentials() {
    with_timeout(LIMIT, async {
        let cdn = FaultServer::with_handler(|_: &RecordedRequest| {
            Reply::status(401).body("<Error>Request has expired</Error>")
        })
        .await
        .unwrap();
        let cdn_url = cdn.url_for("/blob?X-Amz-Signature=canary-signature");
        let registry = FaultServer::with_handler(move |req: &RecordedRequest| match req.path() {
            "/v2/" => Reply::status(401).header("WWW-Authenticate", r#"Basic realm="test""#),
            _ => Reply::redirect(307, cdn_url.clone()),
        })
        .await
        .unwrap();
        let t = transport(
            &client(),
            &registry.host(),
            Scopes::pull("repo"),
            basic("user", "canary-password"),
        )
        .await;
        let err = t
            .send_expect(get("/v2/repo/blobs/sha256:abc"), OK)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::RedirectRefused { .. }), "{err:?}");
        assert!(err.is_transient());
        let text = err.to_string();
        assert!(
            text.contains("not a problem with your credentials"),
            "{text}"
        );
        assert!(!text.contains("canary-signature"), "{text}");
        // A 401 from the registry itself still is an authentication failure.
        let own = FaultServer::with_handler(|req: &RecordedRequest| match req.path() {
            "/v2/" => Reply::status(401).header("WWW-Authenticate", r#"Basic realm="test""#),
            _ => Reply::status(401),
        })
        .await
        .unwrap();
        let t = transport(
            &client(),
            &own.host(),
            Scopes::pull("repo"),
            basic("u", "p"),
        )
        .await;
        let err = t
            .send_expect(get("/v2/repo/blobs/sha256:abc"), OK)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
    })
    .await;
}

/// One ping per registry and client: transports with other scopes (and concurrent ones)
/// reuse what it learned; a failed ping is not remembered.
#[tokio::test]
async fn a_registry_is_pinged_once_per_client() {
    with_timeout(LIMIT, async {
        let server = FaultServer::start([Reply::status(503)]).await.unwrap();
        server.set_handler(|_: &RecordedRequest| Reply::ok().json(&json!({})));
        let client = builder()
            .retry(RetryPolicy::never())
            .timeouts(short_timeouts(5_000).with_tls_handshake(Duration::from_millis(100)))
            .build()
            .unwrap();
        let registry = common::registry(&server.host());
        // The first ping meets the 503 and fails: nothing is remembered.
        let err = client
            .transport(&registry, Scopes::pull("a"), anonymous())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Ping { .. }), "{err:?}");
        assert_eq!(count(&server, "/v2/"), 1);
        // Three transports at once, with three scope sets: one more ping between them.
        let (a, b, c) = tokio::join!(
            Box::pin(client.transport(&registry, Scopes::pull("a"), anonymous())),
            Box::pin(client.transport(&registry, Scopes::push("b"), anonymous())),
            Box::pin(client.transport(
                &registry,
                Scopes::push("c").with_mount_from("a"),
                anonymous()
            )),
        );
        for t in [a.unwrap(), b.unwrap(), c.unwrap()] {
            assert_eq!(t.scheme(), "http");
        }
        assert_eq!(count(&server, "/v2/"), 2);
        // And none later.
        let t = transport(&client, &server.host(), Scopes::catalog(), anonymous()).await;
        t.send_expect(get("/v2/_catalog"), OK).await.unwrap();
        assert_eq!(count(&server, "/v2/"), 2);
        // Another client pings for itself.
        transport(
            &quick_https_give_up(),
            &server.host(),
            Scopes::none(),
            anonymous(),
        )
        .await;
        assert_eq!(count(&server, "/v2/"), 3);
    })
    .await;
}

/// A response body comes in chunks bounded by `HTTP1_MAX_BUFFER`, however fast the registry
/// sends it (each chunk is what a copy holds between download and upload). A read fills the
/// buffer's spare capacity, which may be up to twice the bound (a reservation can double the
/// allocation); with hyper's default of about 400 KiB the chunks reach several hundred KiB.
#[tokio::test]
async fn body_chunks_are_bounded_by_the_connection_buffer() {
    with_timeout(LIMIT, async {
        let size = 4 << 20;
        let server = FaultServer::with_handler(scripted(vec![(
            MANIFEST,
            vec![Reply::ok().body(vec![b'z'; size])],
        )]))
        .await
        .unwrap();
        let t = transport(&client(), &server.host(), Scopes::pull("repo"), anonymous()).await;
        let mut body = t.send_expect(get(MANIFEST), OK).await.unwrap().into_body();
        let first = body.next().await.unwrap().unwrap();
        // Let the server fill the socket, so that every read can fill the buffer.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (mut total, mut largest) = (first.len(), first.len());
        while let Some(chunk) = body.next().await {
            let chunk = chunk.unwrap();
            total += chunk.len();
            largest = largest.max(chunk.len());
        }
        assert_eq!(total, size);
        assert!(
            largest <= 2 * ocireg_transport::HTTP1_MAX_BUFFER,
            "a chunk of {largest} bytes"
        );
        // The buffer did grow to its bound (reads are not stuck at hyper's first 8 KiB).
        assert!(largest > 8 * 1024, "largest chunk {largest} bytes");
    })
    .await;
}

/// `Client::send_api` (a registry's web API, e.g. Docker Hub's tag deletion): the
/// authorization goes to the URL's origin and never to a redirect target elsewhere; any
/// status comes back for the caller to judge.
#[tokio::test]
async fn send_api_keeps_the_authorization_on_its_origin() {
    let elsewhere = FaultServer::with_handler(|_: &RecordedRequest| Reply::status(204))
        .await
        .expect("server");
    let target = elsewhere.url_for("/landed");
    let api = FaultServer::with_handler(move |req: &RecordedRequest| match req.path() {
        "/v2/repositories/team/app/tags/v1/" => Reply::redirect(307, target.clone()),
        _ => Reply::status(404),
    })
    .await
    .expect("server");
    let secret = ocireg_authn::Secret::new("JWT s3cr3t");
    let request = Request::builder()
        .method(http::Method::DELETE)
        .uri(api.url_for("/v2/repositories/team/app/tags/v1/"))
        .body(Body::empty())
        .expect("request");
    let response = client()
        .send_api(request, Some(&secret))
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let first = &api.requests()[0];
    assert_eq!(first.header("authorization"), Some("JWT s3cr3t"));
    let landed = &elsewhere.requests()[0];
    assert_eq!(landed.path(), "/landed");
    assert!(!landed.has_header("authorization"), "{landed:?}");

    let bad = Request::builder()
        .uri("ftp://example.com/x")
        .body(Body::empty())
        .expect("request");
    assert!(client().send_api(bad, None).await.is_err());
}
