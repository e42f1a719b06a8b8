//! The transport against the real registry (CNCF distribution on loopback): anonymous, htpasswd
//! Basic, bearer tokens from the test token server, TLS (test CA, skip-verify, certs.d client
//! certificates) and plain http.

mod common;

use std::sync::Arc;

use http::{Request, StatusCode};
use ocireg_authn::{DefaultKeychain, Environment, Keychain as _, Resource};
use ocireg_testsupport::{Distribution, TestCa, TokenServer, User, with_timeout};
use ocireg_transport::{Body, Error, ErrorCode, Scopes, TrustRoots};

use common::{LIMIT, OK, anonymous, basic, builder, client, get, render, transport};

/// sha256 of the empty blob.
const EMPTY_DIGEST: &str =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Uploads the empty blob to `repo` (POST, then PUT to the returned Location) and reads it
/// back, all through `t`.
async fn push_and_pull_empty_blob(t: &ocireg_transport::Transport, repo: &str) {
    let start = Request::post(format!("/v2/{repo}/blobs/uploads/"))
        .body(Body::empty())
        .expect("helper step succeeds");
    let resp = t
        .send_expect(start, &[StatusCode::ACCEPTED])
        .await
        .expect("helper step succeeds");
    let base = t
        .url(&format!("/v2/{repo}/blobs/uploads/"))
        .expect("helper step succeeds");
    let location = resp.headers()["location"]
        .to_str()
        .expect("helper step succeeds")
        .to_owned();
    let mut upload = t
        .resolve_url(&base, &location, "upload location")
        .expect("helper step succeeds")
        .to_string();
    upload.push(if upload.contains('?') { '&' } else { '?' });
    upload.push_str("digest=");
    upload.push_str(EMPTY_DIGEST);
    let put = Request::put(upload)
        .body(Body::empty())
        .expect("helper step succeeds");
    t.send_expect(put, &[StatusCode::CREATED])
        .await
        .expect("helper step succeeds");
    let blob = t
        .fetch_bytes(get(&format!("/v2/{repo}/blobs/{EMPTY_DIGEST}")), OK, 1024)
        .await
        .expect("helper step succeeds");
    assert!(blob.body().is_empty());
}

#[tokio::test]
async fn plain_http_anonymous_registry() {
    with_timeout(LIMIT, async {
        let reg = Distribution::start().await.unwrap();
        let t = transport(
            &client(),
            reg.host(),
            Scopes::push("open/repo"),
            anonymous(),
        )
        .await;
        assert_eq!(t.scheme(), "http");
        assert!(t.challenge().is_none());
        push_and_pull_empty_blob(&t, "open/repo").await;
        let err = t
            .send_expect(get("/v2/open/repo/manifests/nope"), OK)
            .await
            .unwrap_err();
        assert!(
            err.registry_error()
                .unwrap()
                .has_code(&ErrorCode::ManifestUnknown),
            "{err}"
        );
        assert!(err.to_string().contains("GET http://"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn htpasswd_basic_auth_and_its_clear_denials() {
    with_timeout(LIMIT, async {
        let reg = Distribution::builder()
            .htpasswd([("alice", "canary-password-1")])
            .start()
            .await
            .unwrap();
        let c = client();

        let t = transport(
            &c,
            reg.host(),
            Scopes::push("team/app"),
            basic("alice", "canary-password-1"),
        )
        .await;
        assert!(t.challenge().unwrap().is_basic());
        push_and_pull_empty_blob(&t, "team/app").await;

        // Anonymous: a clear "log in" error naming the registry.
        let t = transport(&c, reg.host(), Scopes::pull("team/app"), anonymous()).await;
        let err = t.send_expect(get("/v2/_catalog"), OK).await.unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationRequired { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("authentication required for {}", reg.host())),
            "{text}"
        );
        // What to do about it is the application's to say (crane's hint).
        assert!(!text.contains("crane auth login"), "{text}");

        // Wrong password: one clear error, the password nowhere.
        let t = transport(
            &c,
            reg.host(),
            Scopes::pull("team/app"),
            basic("alice", "canary-wrong-pw"),
        )
        .await;
        let err = t.send_expect(get("/v2/_catalog"), OK).await.unwrap_err();
        assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
        assert!(err.to_string().contains(reg.host()), "{err}");
        let all = render(&err);
        assert!(
            !all.contains("canary-wrong-pw") && !all.contains("canary-password-1"),
            "{all}"
        );
        assert!(!format!("{t:?}").contains("canary"), "{t:?}");
    })
    .await;
}

async fn token_setup() -> (TokenServer, Distribution) {
    let tokens = TokenServer::builder()
        .user(User::new("bob", "canary-token-pw").allow("bob/app", ["pull", "push"]))
        .start()
        .await
        .expect("helper step succeeds");
    let reg = Distribution::builder()
        .token_auth(&tokens)
        .start()
        .await
        .expect("helper step succeeds");
    (tokens, reg)
}

#[tokio::test]
async fn bearer_tokens_from_the_token_server() {
    with_timeout(LIMIT, async {
        let (tokens, reg) = token_setup().await;
        let t = transport(
            &client(),
            reg.host(),
            Scopes::push("bob/app"),
            basic("bob", "canary-token-pw"),
        )
        .await;
        assert!(t.challenge().unwrap().is_bearer());
        assert_eq!(tokens.request_count(), 1, "one token fetched up front");
        push_and_pull_empty_blob(&t, "bob/app").await;
        assert_eq!(tokens.request_count(), 1, "the token is reused");
        let first = &tokens.requests()[0];
        assert_eq!(first.username.as_deref(), Some("bob"));
        assert_eq!(first.scopes, ["repository:bob/app:push,pull"]);
        assert!(t.bearer_token().await.unwrap().is_some());
    })
    .await;
}

#[tokio::test]
async fn wrong_password_with_tokens_is_one_clear_error_without_retry_storm() {
    with_timeout(LIMIT, async {
        let (tokens, reg) = token_setup().await;
        let err = client()
            .transport(
                &common::registry(reg.host()),
                Scopes::pull("bob/app"),
                basic("bob", "canary-wrong-token-pw"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("authentication failed for {}", reg.host())),
            "{text}"
        );
        assert!(!text.contains("crane auth login"), "{text}");
        assert!(!render(&err).contains("canary"), "{}", render(&err));
        assert!(!err.is_transient());
        assert_eq!(
            tokens.request_count(),
            1,
            "no retry storm against the token server"
        );
    })
    .await;
}

#[tokio::test]
async fn anonymous_tokens_are_scoped_and_denials_are_clear() {
    with_timeout(LIMIT, async {
        let (tokens, reg) = token_setup().await;
        // Without anonymous pull, the token server grants nothing: the registry says 401.
        let t = transport(&client(), reg.host(), Scopes::pull("bob/app"), anonymous()).await;
        let err = t
            .send_expect(get(&format!("/v2/bob/app/blobs/{EMPTY_DIGEST}")), OK)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationRequired { .. }),
            "{err:?}"
        );
        // One token up front, one refresh after the 401, then the error: no storm.
        assert_eq!(tokens.request_count(), 2);
        assert!(tokens.requests().iter().all(|r| !r.had_authorization));
    })
    .await;
}

#[tokio::test]
async fn tls_with_a_test_ca_skip_verify_and_certs_d_client_certificates() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().unwrap();
        let reg = Distribution::builder().tls(&ca).start().await.unwrap();

        // Verified against the test CA.
        let c = builder()
            .trust_roots(TrustRoots::None)
            .add_ca_pem(ca.cert_pem())
            .build()
            .unwrap();
        let t = transport(&c, reg.host(), Scopes::push("tls/app"), anonymous()).await;
        assert_eq!(t.scheme(), "https");
        let resp = t.send_expect(get("/v2/"), OK).await.unwrap();
        assert_eq!(
            resp.version(),
            http::Version::HTTP_2,
            "h2 negotiated by ALPN"
        );
        push_and_pull_empty_blob(&t, "tls/app").await;

        // Unknown CA: refused (https fails on the certificate; http gets a 400 from a TLS port).
        let err = client()
            .transport(&common::registry(reg.host()), Scopes::none(), anonymous())
            .await
            .unwrap_err();
        let text = render(&err);
        assert!(
            text.contains("UnknownIssuer") || text.contains("unknown issuer"),
            "{text}"
        );

        // Skip-verify: accepted without the CA, still https.
        let c = builder().skip_tls_verify(true).build().unwrap();
        let t = transport(&c, reg.host(), Scopes::none(), anonymous()).await;
        assert_eq!(t.scheme(), "https");
        t.send_expect(get("/v2/"), OK).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn certs_d_supplies_the_ca_and_the_client_certificate() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().unwrap();
        let reg = Distribution::builder()
            .tls(&ca)
            .require_client_cert()
            .start()
            .await
            .unwrap();
        let dir = reg.dir().join("certs.d-test");
        ca.write_certs_d(&dir, reg.host(), Some(reg.client_cert().unwrap()))
            .unwrap();
        let c = builder()
            .trust_roots(TrustRoots::None)
            .certs_dirs([&dir])
            .build()
            .unwrap();
        let t = transport(&c, reg.host(), Scopes::none(), anonymous()).await;
        t.send_expect(get("/v2/"), OK).await.unwrap();

        // The CA alone (no client certificate) is not enough.
        let bare = reg.dir().join("certs.d-ca-only");
        ca.write_certs_d(&bare, reg.host(), None).unwrap();
        let c = builder()
            .trust_roots(TrustRoots::None)
            .certs_dirs([&bare])
            .build()
            .unwrap();
        assert!(
            c.transport(&common::registry(reg.host()), Scopes::none(), anonymous())
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn credentials_resolved_through_an_authn_keychain() {
    with_timeout(LIMIT, async {
        let reg = Distribution::builder()
            .htpasswd([("carol", "canary-keychain-pw")])
            .start()
            .await
            .unwrap();
        let home = reg.dir().join("docker-home");
        fs_err::create_dir_all(&home).unwrap();
        let config = serde_json::json!({
            "auths": { reg.host(): {
                "auth": base64_encode("carol:canary-keychain-pw")
            }}
        });
        fs_err::write(home.join("config.json"), config.to_string()).unwrap();
        let env = Environment::empty().with_var("DOCKER_CONFIG", home.display().to_string());
        let keychain = DefaultKeychain::new(env).unwrap();
        let auth = keychain
            .resolve(&Resource::repository(reg.host(), "team/app"))
            .await
            .unwrap();
        assert!(!auth.is_anonymous());
        let t = transport(
            &client(),
            reg.host(),
            Scopes::push("team/app"),
            Arc::clone(&auth),
        )
        .await;
        push_and_pull_empty_blob(&t, "team/app").await;
    })
    .await;
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
