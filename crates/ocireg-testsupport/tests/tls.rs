//! TLS with the test CA: distribution and the token server over https.

use std::time::Duration;

use base64::Engine as _;
use http::Method;
use ocireg_testsupport::{Distribution, TestCa, TestClient, TokenServer, User, with_timeout};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn tls_registry_is_reachable_with_the_ca_and_rejected_without() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().expect("ca");
        let registry = Distribution::builder()
            .tls(&ca)
            .start()
            .await
            .expect("start distribution with TLS");
        assert!(registry.is_tls());
        assert_eq!(registry.url(), format!("https://{}", registry.host()));
        let v2 = format!("{}/v2/", registry.url());

        let trusted = TestClient::with_tls(ca.client_config().expect("config"));
        assert_eq!(trusted.get(&v2).await.expect("trusted").status, 200);
        assert_eq!(
            registry.client().get(&v2).await.expect("own client").status,
            200
        );
        // localhost is in the certificate too.
        let by_name = format!("https://localhost:{}/v2/", registry.port());
        assert_eq!(trusted.get(&by_name).await.expect("by name").status, 200);

        let other = TestCa::new().expect("other ca");
        let err = TestClient::with_tls(other.client_config().expect("config"))
            .get(&v2)
            .await
            .expect_err("untrusted CA must fail");
        assert!(
            format!("{err:?}").to_lowercase().contains("certificate"),
            "{err:?}"
        );

        // Plain http to the TLS port never gets a registry answer.
        let plain = TestClient::new()
            .get(&format!("http://{}/v2/", registry.host()))
            .await;
        assert!(plain.is_err() || plain.is_ok_and(|r| r.status == 400));
    })
    .await;
}

#[tokio::test]
async fn client_certificates_can_be_required() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().expect("ca");
        let registry = Distribution::builder()
            .tls(&ca)
            .require_client_cert()
            .start()
            .await
            .expect("start distribution with client auth");
        let v2 = format!("{}/v2/", registry.url());
        assert!(registry.client_cert().is_some());
        assert_eq!(
            registry.client().get(&v2).await.expect("with cert").status,
            200
        );
        let own = ca.client_cert("someone").expect("client cert");
        let with_own = TestClient::with_tls(ca.client_config_with_cert(&own).expect("config"));
        assert_eq!(with_own.get(&v2).await.expect("with own cert").status, 200);
        TestClient::with_tls(ca.client_config().expect("config"))
            .get(&v2)
            .await
            .expect_err("no client certificate must fail");
    })
    .await;
}

#[tokio::test]
async fn token_auth_over_tls_end_to_end() {
    with_timeout(LIMIT, async {
        let ca = TestCa::new().expect("ca");
        let tokens = TokenServer::builder()
            .tls(&ca)
            .user(
                User::new("alice", "s3cret")
                    .allow("*", ["pull"])
                    .allow_catalog(),
            )
            .start()
            .await
            .expect("start token server");
        assert!(tokens.realm().starts_with("https://127.0.0.1:"));
        let registry = Distribution::builder()
            .tls(&ca)
            .token_auth(&tokens)
            .start()
            .await
            .expect("start distribution");
        let client = registry.client();
        let catalog = format!("{}/v2/_catalog", registry.url());
        let denied = client.get(&catalog).await.expect("catalog");
        assert_eq!(denied.status, 401);
        let challenge = denied.header("www-authenticate").expect("challenge");
        assert!(
            challenge.contains("scope=\"registry:catalog:*\""),
            "{challenge}"
        );

        let url = format!(
            "{}?service={}&scope=registry%3Acatalog%3A%2A",
            tokens.realm(),
            tokens.service()
        );
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
        );
        let answer = client
            .send(Method::GET, &url, &[("authorization", &basic)], "")
            .await
            .expect("token over https")
            .json()
            .expect("json");
        let token = answer["token"].as_str().expect("token");
        let listed = client
            .send(
                Method::GET,
                &catalog,
                &[("authorization", &format!("Bearer {token}"))],
                "",
            )
            .await
            .expect("catalog with token");
        assert_eq!(listed.status, 200, "{}", listed.text());
        assert_eq!(
            listed.json().expect("json")["repositories"],
            serde_json::json!([])
        );
    })
    .await;
}

#[test]
fn certs_d_layout() {
    let ca = TestCa::new().expect("ca");
    let root = tempfile::tempdir().expect("tempdir");
    let client = ca.client_cert("me").expect("client");
    let dir = ca
        .write_certs_d(root.path(), "127.0.0.1:5000", Some(&client))
        .expect("write");
    assert_eq!(dir, root.path().join("127.0.0.1:5000"));
    let read = |name: &str| fs_err::read_to_string(dir.join(name)).expect(name);
    assert_eq!(read("ca.crt"), ca.cert_pem());
    assert_eq!(read("client.cert"), client.cert_pem());
    assert_eq!(read("client.key"), client.key_pem());
}
