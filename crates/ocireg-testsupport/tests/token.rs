//! The token server speaks the docker token protocol, and distribution
//! trusts the JWTs it signs.

use std::time::Duration;

use http::Method;
use ocireg_testsupport::{Distribution, TestClient, TokenFields, TokenServer, User, with_timeout};

const LIMIT: Duration = Duration::from_secs(30);
const DIGEST: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", b64(&format!("{user}:{password}")))
}

async fn alice_server() -> TokenServer {
    TokenServer::builder()
        .user(User::new("alice", "s3cret").allow("foo", ["pull", "push"]))
        .user(User::new("reader", "r").allow("*", ["pull"]))
        .start()
        .await
        .expect("start token server")
}

/// GETs a token from the realm; returns the JSON answer.
async fn get_token(
    server: &TokenServer,
    scope: &str,
    auth: Option<&str>,
) -> (u16, serde_json::Value) {
    let url = format!(
        "{}?service={}&scope={}",
        server.realm(),
        server.service(),
        scope.replace(':', "%3A")
    );
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    let res = TestClient::new()
        .send(Method::GET, &url, &headers, "")
        .await
        .expect("token GET");
    let json = res.json().unwrap_or(serde_json::Value::Null);
    (res.status.as_u16(), json)
}

async fn push_blob(registry: &Distribution, repo: &str, bearer: &str) -> (u16, u16) {
    let client = registry.client();
    let auth = format!("Bearer {bearer}");
    let post = client
        .send(
            Method::POST,
            &format!("{}/v2/{repo}/blobs/uploads/", registry.url()),
            &[("authorization", &auth)],
            "",
        )
        .await
        .expect("POST upload");
    if post.status != 202 {
        return (post.status.as_u16(), 0);
    }
    let location = post.header("location").expect("Location");
    let location = if location.starts_with('/') {
        format!("{}{location}", registry.url())
    } else {
        location.to_owned()
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let put = client
        .send(
            Method::PUT,
            &format!("{location}{sep}digest={DIGEST}"),
            &[
                ("authorization", &auth),
                ("content-type", "application/octet-stream"),
            ],
            "hello",
        )
        .await
        .expect("PUT upload");
    (202, put.status.as_u16())
}

#[tokio::test]
async fn distribution_trusts_our_tokens() {
    with_timeout(LIMIT, async {
        let tokens = alice_server().await;
        let registry = Distribution::builder()
            .token_auth(&tokens)
            .start()
            .await
            .expect("start distribution with token auth");
        let client = registry.client();
        let v2 = format!("{}/v2/", registry.url());

        let anonymous = client.get(&v2).await.expect("GET /v2/");
        assert_eq!(anonymous.status, 401);
        let challenge = anonymous.header("www-authenticate").expect("challenge");
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(
            challenge.contains(&format!("realm=\"{}\"", tokens.realm())),
            "{challenge}"
        );
        assert!(
            challenge.contains(&format!("service=\"{}\"", tokens.service())),
            "{challenge}"
        );

        let (status, answer) = get_token(
            &tokens,
            "repository:foo:pull,push",
            Some(&basic("alice", "s3cret")),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let token = answer["token"].as_str().expect("token");
        assert_eq!(answer["access_token"].as_str(), Some(token));
        assert_eq!(answer["expires_in"], 300);
        assert!(
            answer["issued_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );

        let auth = format!("Bearer {token}");
        let ok = client
            .send(Method::GET, &v2, &[("authorization", &auth)], "")
            .await
            .expect("GET /v2/ with token");
        assert_eq!(ok.status, 200, "{}", ok.text());

        assert_eq!(push_blob(&registry, "foo", token).await, (202, 201));
        let head = client
            .send(
                Method::HEAD,
                &format!("{}/v2/foo/blobs/{DIGEST}", registry.url()),
                &[("authorization", &auth)],
                "",
            )
            .await
            .expect("HEAD blob");
        assert_eq!(head.status, 200);
        // The token names foo only: another repository is out of scope.
        let (status, _) = push_blob(&registry, "bar", token).await;
        assert_eq!(status, 401);
        assert_eq!(tokens.request_count(), 1);
    })
    .await;
}

#[tokio::test]
async fn distribution_rejects_foreign_expired_and_underprivileged_tokens() {
    with_timeout(LIMIT, async {
        let tokens = alice_server().await;
        let stranger = alice_server().await;
        let registry = Distribution::builder()
            .token_auth(&tokens)
            .start()
            .await
            .expect("start distribution with token auth");
        let scopes = ["repository:foo:pull,push"];
        let good = tokens
            .mint_token("alice", &scopes, Duration::from_secs(60))
            .expect("mint");
        assert_eq!(push_blob(&registry, "foo", &good).await, (202, 201));

        // Same claims, signed by a key distribution does not trust.
        let foreign = stranger
            .mint_token("alice", &scopes, Duration::from_secs(60))
            .expect("mint foreign");
        assert_eq!(push_blob(&registry, "foo", &foreign).await.0, 401);

        let expired = tokens
            .mint_expired_token("alice", &scopes)
            .expect("mint expired");
        assert_eq!(push_blob(&registry, "foo", &expired).await.0, 401);

        // A pull-only token cannot start an upload: insufficient scope.
        let (status, answer) = get_token(
            &tokens,
            "repository:foo:pull,push",
            Some(&basic("reader", "r")),
        )
        .await;
        assert_eq!(status, 200);
        let reader = answer["token"].as_str().expect("token");
        let post = registry
            .client()
            .send(
                Method::POST,
                &format!("{}/v2/foo/blobs/uploads/", registry.url()),
                &[("authorization", &format!("Bearer {reader}"))],
                "",
            )
            .await
            .expect("POST");
        assert_eq!(post.status, 401);
        let challenge = post.header("www-authenticate").expect("challenge");
        assert!(challenge.contains("insufficient_scope"), "{challenge}");
        // Distribution lists the actions in no fixed order.
        assert!(
            challenge.contains("scope=\"repository:foo:push,pull\"")
                || challenge.contains("scope=\"repository:foo:pull,push\""),
            "{challenge}"
        );
    })
    .await;
}

#[tokio::test]
async fn get_flow_credentials_anonymous_and_failures() {
    with_timeout(LIMIT, async {
        let tokens = TokenServer::builder()
            .user(User::new("alice", "s3cret").allow("foo", ["*"]))
            .anonymous_pull(true)
            .token_fields(TokenFields::AccessTokenOnly)
            .expires_in(None)
            .start()
            .await
            .expect("start");

        let (status, body) = get_token(
            &tokens,
            "repository:foo:pull",
            Some(&basic("alice", "nope")),
        )
        .await;
        assert_eq!(status, 401);
        assert!(!body.to_string().contains("nope"));

        let (status, body) = get_token(&tokens, "repository:foo:pull,push", None).await;
        assert_eq!(status, 200);
        assert!(body.get("token").is_none());
        assert!(body.get("expires_in").is_none());
        assert!(body["access_token"].as_str().is_some());

        tokens.fail_next(2, 503);
        for _ in 0..2 {
            let (status, _) = get_token(&tokens, "repository:foo:pull", None).await;
            assert_eq!(status, 503);
        }
        let (status, _) = get_token(&tokens, "repository:foo:pull", None).await;
        assert_eq!(status, 200);

        let reqs = tokens.requests();
        assert_eq!(reqs.len(), 5);
        assert_eq!(reqs[0].username.as_deref(), Some("alice"));
        assert!(reqs[0].had_authorization);
        assert_eq!(reqs[1].scopes, ["repository:foo:pull,push"]);
        assert_eq!(reqs[1].service.as_deref(), Some(tokens.service()));
        let statuses: Vec<u16> = reqs.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [401, 200, 503, 503, 200]);
        assert!(!format!("{reqs:?}").contains("nope"));
    })
    .await;
}

#[tokio::test]
async fn anonymous_pull_token_works_at_distribution_but_cannot_push() {
    with_timeout(LIMIT, async {
        let tokens = TokenServer::builder()
            .anonymous_pull(true)
            .start()
            .await
            .expect("start");
        let registry = Distribution::builder()
            .token_auth(&tokens)
            .start()
            .await
            .expect("start distribution");
        let (status, body) = get_token(&tokens, "repository:foo:pull,push", None).await;
        assert_eq!(status, 200);
        let token = body["token"].as_str().expect("token");
        let res = registry
            .client()
            .send(
                Method::GET,
                &format!("{}/v2/foo/tags/list", registry.url()),
                &[("authorization", &format!("Bearer {token}"))],
                "",
            )
            .await
            .expect("tags");
        // Authorised, the repository just does not exist yet.
        assert_eq!(res.status, 404, "{}", res.text());
        assert!(res.text().contains("NAME_UNKNOWN"), "{}", res.text());
        assert_eq!(push_blob(&registry, "foo", token).await.0, 401);
    })
    .await;
}

async fn post_form(server: &TokenServer, form: &str) -> (u16, serde_json::Value) {
    let res = TestClient::new()
        .send(
            Method::POST,
            server.realm(),
            &[("content-type", "application/x-www-form-urlencoded")],
            form.to_owned(),
        )
        .await
        .expect("token POST");
    (
        res.status.as_u16(),
        res.json().unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn oauth2_post_flow_with_password_and_refresh_token() {
    with_timeout(LIMIT, async {
        let tokens = alice_server().await;
        let registry = Distribution::builder()
            .token_auth(&tokens)
            .start()
            .await
            .expect("start distribution");
        let service = tokens.service().to_owned();
        let (status, body) = post_form(
            &tokens,
            &format!(
                "grant_type=password&username=alice&password=s3cret&client_id=ocireg\
                 &access_type=offline&service={service}&scope=repository%3Afoo%3Apull%2Cpush"
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "repository:foo:pull,push");
        let refresh = body["refresh_token"]
            .as_str()
            .expect("refresh token")
            .to_owned();
        let access = body["access_token"].as_str().expect("access token");
        assert_eq!(push_blob(&registry, "foo", access).await, (202, 201));

        let (status, body) = post_form(
            &tokens,
            &format!(
                "grant_type=refresh_token&refresh_token={refresh}&client_id=ocireg\
                 &service={service}&scope=repository%3Afoo%3Apull"
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "repository:foo:pull");
        assert!(body["access_token"].as_str().is_some());

        for (form, want) in [
            (
                "grant_type=password&username=alice&password=bad&client_id=x",
                401,
            ),
            (
                "grant_type=refresh_token&refresh_token=forged&client_id=x",
                401,
            ),
            ("grant_type=password&username=alice&password=s3cret", 400),
            ("grant_type=magic&client_id=x", 400),
            (
                "grant_type=password&username=alice&password=s3cret&client_id=x&service=other",
                400,
            ),
        ] {
            assert_eq!(post_form(&tokens, form).await.0, want, "{form}");
        }

        tokens.set_post_not_found(true);
        let (status, _) = post_form(
            &tokens,
            "grant_type=password&username=alice&password=s3cret&client_id=x",
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = get_token(
            &tokens,
            "repository:foo:pull",
            Some(&basic("alice", "s3cret")),
        )
        .await;
        assert_eq!(status, 200, "GET still works when POST is 404");
        assert_eq!(tokens.request_count(), 9);
        assert_eq!(tokens.requests()[0].grant_type.as_deref(), Some("password"));
        assert_eq!(tokens.requests()[0].client_id.as_deref(), Some("ocireg"));
    })
    .await;
}

#[tokio::test]
async fn get_with_offline_token_returns_a_refresh_token() {
    with_timeout(LIMIT, async {
        let tokens = alice_server().await;
        let url = format!(
            "{}?service={}&offline_token=true",
            tokens.realm(),
            tokens.service()
        );
        let auth = basic("alice", "s3cret");
        let res = TestClient::new()
            .send(Method::GET, &url, &[("authorization", &auth)], "")
            .await
            .expect("GET");
        let body = res.json().expect("json");
        let refresh = body["refresh_token"].as_str().expect("refresh token");
        let (status, _) = post_form(
            &tokens,
            &format!("grant_type=refresh_token&refresh_token={refresh}&client_id=x"),
        )
        .await;
        assert_eq!(status, 200);
    })
    .await;
}
