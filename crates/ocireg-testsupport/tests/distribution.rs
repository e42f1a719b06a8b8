//! Starts the real CNCF distribution in its configurations and talks to it.

use std::time::Duration;

use http::Method;
use ocireg_testsupport::{Distribution, TestClient, with_timeout};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn plain_registry_answers_v2() {
    with_timeout(LIMIT, async {
        let registry = Distribution::start().await.expect("start distribution");
        assert!(registry.host().starts_with("127.0.0.1:"));
        assert_eq!(registry.url(), format!("http://{}", registry.host()));
        assert!(!registry.is_tls());
        let v2 = registry
            .client()
            .get(&format!("{}/v2/", registry.url()))
            .await
            .expect("GET /v2/");
        assert_eq!(v2.status, 200, "body: {}", v2.text());
        assert_eq!(
            v2.header("docker-distribution-api-version"),
            Some("registry/2.0")
        );
    })
    .await;
}

#[tokio::test]
async fn plain_registry_accepts_a_blob_and_serves_it_back() {
    with_timeout(LIMIT, async {
        let registry = Distribution::start().await.expect("start distribution");
        let client = registry.client();
        let digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let location = start_upload(&client, registry.url(), "foo", &[]).await;
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = client
            .send(
                Method::PUT,
                &format!("{location}{sep}digest={digest}"),
                &[("content-type", "application/octet-stream")],
                "hello",
            )
            .await
            .expect("PUT upload");
        assert_eq!(put.status, 201, "body: {}", put.text());
        let get = client
            .get(&format!("{}/v2/foo/blobs/{digest}", registry.url()))
            .await
            .expect("GET blob");
        assert_eq!(get.status, 200);
        assert_eq!(&get.body[..], b"hello");
    })
    .await;
}

#[tokio::test]
async fn two_registries_run_side_by_side_on_different_ports() {
    with_timeout(LIMIT, async {
        let (a, b) = tokio::join!(Distribution::start(), Distribution::start());
        let (a, b) = (a.expect("first"), b.expect("second"));
        assert_ne!(a.port(), b.port());
        assert_ne!(a.storage_dir(), b.storage_dir());
    })
    .await;
}

#[tokio::test]
async fn htpasswd_registry_demands_basic_auth() {
    with_timeout(LIMIT, async {
        let registry = Distribution::builder()
            .htpasswd([("alice", "s3cret"), ("bob", "hunter2")])
            .start()
            .await
            .expect("start distribution with htpasswd");
        let client = registry.client();
        let v2 = format!("{}/v2/", registry.url());

        let anonymous = client.get(&v2).await.expect("GET /v2/");
        assert_eq!(anonymous.status, 401);
        let challenge = anonymous.header("www-authenticate").expect("challenge");
        assert!(
            challenge.starts_with("Basic realm=\"ocireg-test-registry\""),
            "{challenge}"
        );

        for (creds, want) in [
            ("alice:s3cret", 200),
            ("bob:hunter2", 200),
            ("alice:wrong", 401),
            ("nobody:s3cret", 401),
        ] {
            let auth = format!("Basic {}", b64(creds));
            let res = client
                .send(Method::GET, &v2, &[("authorization", &auth)], "")
                .await
                .expect("GET /v2/ with Basic");
            assert_eq!(res.status, want, "credentials {creds}");
        }
    })
    .await;
}

#[tokio::test]
async fn missing_binary_is_a_loud_error() {
    let err = Distribution::builder()
        .program("/nonexistent/docker-registry")
        .start()
        .await
        .expect_err("no such program");
    assert!(
        matches!(err, ocireg_testsupport::Error::NotInstalled { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "docker-registry (CNCF distribution) is not installed: run scripts/install-deps.sh"
    );
}

#[tokio::test]
async fn startup_failure_shows_the_registry_output() {
    with_timeout(LIMIT, async {
        // `true` exits at once without serving: the harness must say so and
        // not wait for the full start timeout.
        let err = Distribution::builder()
            .program("/bin/true")
            .start()
            .await
            .expect_err("a registry that exits");
        let text = err.to_string();
        assert!(text.contains("did not start"), "{text}");
        assert!(text.contains("exited"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn conflicting_auth_is_refused() {
    let err = Distribution::builder()
        .htpasswd([("a", "b")])
        .token_auth_config(ocireg_testsupport::TokenAuthConfig {
            realm: "http://127.0.0.1:1/token".into(),
            service: "s".into(),
            issuer: "i".into(),
            root_cert_bundle_pem: String::new(),
        })
        .start()
        .await
        .expect_err("two auth methods");
    assert!(err.to_string().contains("one auth method"), "{err}");
}

/// POSTs a new upload session and returns its absolute Location.
pub async fn start_upload(
    client: &TestClient,
    base: &str,
    repo: &str,
    headers: &[(&str, &str)],
) -> String {
    let res = client
        .send(
            Method::POST,
            &format!("{base}/v2/{repo}/blobs/uploads/"),
            headers,
            "",
        )
        .await
        .expect("POST upload");
    assert_eq!(res.status, 202, "body: {}", res.text());
    let location = res.header("location").expect("Location").to_owned();
    if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location
    }
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
