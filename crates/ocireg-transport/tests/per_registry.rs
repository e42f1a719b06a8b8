//! Per-registry connection settings (regclient's `tls: disabled|insecure`): plain http only
//! for one registry, certificate checks skipped for one registry and kept for every other.

mod common;

use http::StatusCode;
use ocireg_testsupport::{Distribution, FaultServer, Reply, TestCa, with_timeout};
use ocireg_transport::{Scopes, TrustRoots};
use serde_json::json;

use common::{LIMIT, anonymous, builder, get, registry, render};

/// A plain-http server answering every request with 200 `{}`.
async fn open_server() -> FaultServer {
    FaultServer::with_handler(|_req| Reply::ok().json(&json!({})))
        .await
        .expect("fault server")
}

#[tokio::test]
async fn plain_http_for_never_tries_https() {
    with_timeout(LIMIT, async {
        // Without the setting, 127.0.0.1 may speak http but https is tried first: the
        // ClientHello costs the server a connection that carries no request.
        let server = open_server().await;
        let c = builder().build().unwrap();
        let t = c
            .transport(&registry(&server.host()), Scopes::none(), anonymous())
            .await
            .unwrap();
        assert_eq!(t.scheme(), "http");
        assert!(
            server.connection_count() > server.request_count(),
            "an https attempt was expected: {} connections, {} requests",
            server.connection_count(),
            server.request_count()
        );

        // With it: http from the first byte, every connection carries a request.
        let server = open_server().await;
        let c = builder()
            .plain_http_for(server.host().to_uppercase())
            .build()
            .unwrap();
        let t = c
            .transport(&registry(&server.host()), Scopes::none(), anonymous())
            .await
            .unwrap();
        assert_eq!(t.scheme(), "http");
        // The ping: one request, on the one connection.
        assert_eq!(server.request_count(), 1, "{:?}", server.requests());
        assert_eq!(
            server.connection_count(),
            1,
            "no https attempt before the plain http ping"
        );
        t.send_expect(get("/v2/"), &[StatusCode::OK]).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn plain_http_for_does_not_fall_back_to_https() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().unwrap();
        let reg = Distribution::builder().tls(&ca).start().await.unwrap();
        // The registry speaks only https, and trusts are in place: http only must fail.
        let c = builder()
            .trust_roots(TrustRoots::None)
            .add_ca_pem(ca.cert_pem())
            .plain_http_for(reg.host())
            .build()
            .unwrap();
        let err = c
            .transport(&registry(reg.host()), Scopes::none(), anonymous())
            .await
            .unwrap_err();
        let text = render(&err);
        assert!(text.contains("http://"), "{text}");
        assert!(!text.contains("https://"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn skip_tls_verify_for_one_registry_only() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().unwrap();
        let lax = Distribution::builder().tls(&ca).start().await.unwrap();
        let strict = Distribution::builder().tls(&ca).start().await.unwrap();
        let c = builder()
            .trust_roots(TrustRoots::Bundled)
            .skip_tls_verify_for(lax.host())
            .build()
            .unwrap();

        // The registry marked insecure: https without a trusted certificate.
        let t = c
            .transport(&registry(lax.host()), Scopes::none(), anonymous())
            .await
            .unwrap();
        assert_eq!(t.scheme(), "https");
        t.send_expect(get("/v2/"), &[StatusCode::OK]).await.unwrap();

        // Another registry with a certificate from the same untrusted CA: refused.
        let err = c
            .transport(&registry(strict.host()), Scopes::none(), anonymous())
            .await
            .unwrap_err();
        let text = render(&err);
        assert!(
            text.contains("UnknownIssuer") || text.contains("unknown issuer"),
            "{text}"
        );
    })
    .await;
}
