//! `crane auth token` against CNCF distribution with token auth.

use ocireg_testsupport::{Distribution, TokenServer, User};

use crate::support::{Crane, runtime};

const PASSWORD: &str = "canary-t0ken-pa55";

#[test]
fn token_from_a_real_registry() {
    let rt = runtime();
    let (tokens, registry) = rt.block_on(async {
        let tokens = TokenServer::builder()
            .user(User::new("alice", PASSWORD).allow("team/app", ["pull", "push"]))
            .start()
            .await
            .expect("token server");
        let registry = Distribution::builder()
            .token_auth(&tokens)
            .start()
            .await
            .expect("distribution (run scripts/install-deps.sh)");
        (tokens, registry)
    });
    let host = registry.host().to_owned();
    let repo = format!("{host}/team/app");
    let crane = Crane::new();

    // Anonymous: token services hand out tokens without access, as Docker Hub does.
    let run = crane.run(&["auth", "token", &repo]);
    assert!(run.ok().starts_with("{\"token\":"), "{run:?}");
    assert!(
        run.ok()
            .ends_with(",\"refresh_token\":\"\",\"expires_in\":300}\n"),
        "{run:?}"
    );
    assert!(tokens.requests().iter().all(|r| r.username.is_none()));

    crane
        .run_with_stdin(
            &["auth", "login", &host, "-u", "alice", "--password-stdin"],
            PASSWORD,
        )
        .ok();

    let run = crane.run(&["auth", "token", &repo]);
    let json: serde_json::Value = serde_json::from_str(run.ok()).expect("token JSON");
    let token = json["token"].as_str().expect("token field");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD));
    // What the token service said along with the token, in ggcr's fields and order: its
    // lifetime (300 s here), and no refresh token (the GET flow without offline_token).
    assert_eq!(
        run.stdout,
        format!("{{\"token\":\"{token}\",\"refresh_token\":\"\",\"expires_in\":300}}\n"),
    );

    // --format: the token response by its Go field names.
    let run = crane.run(&[
        "auth",
        "token",
        &repo,
        "--format",
        "{{.ExpiresIn}} {{len (split .Token \".\")}} [{{.RefreshToken}}]",
    ]);
    assert_eq!(run.ok(), "300 3 []\n");
    let run = crane.run(&["auth", "token", "-H", "--format", "{{.Token}}", &repo]);
    assert_eq!(run.code, 2, "--header and --format conflict: {run:?}");

    let run = crane.run(&["auth", "token", "-H", "--push", &repo]);
    assert!(run.ok().starts_with("Authorization: Bearer "), "{run:?}");
    let push = tokens.requests().iter().any(|r| {
        r.scopes
            .iter()
            .any(|s| s == "repository:team/app:push,pull")
    });
    assert!(push, "{:?}", tokens.requests());

    // Wrong credentials are an authentication failure.
    crane
        .run_with_stdin(
            &["auth", "login", &host, "-u", "alice", "--password-stdin"],
            "wrong",
        )
        .ok();
    let run = crane.run(&["auth", "token", &repo]);
    let stderr = run.failed_with(4);
    assert!(
        stderr.starts_with(&format!("Error: getting a token for {repo}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("crane auth login {host}")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong\n") && !stderr.contains(PASSWORD),
        "{stderr}"
    );

    rt.block_on(async {
        registry.stop().await.expect("stop");
    });
    drop(tokens);
}

#[test]
fn token_from_an_unreachable_registry_fails_with_a_hint() {
    let port = ocireg_testsupport::free_port().expect("port");
    let run = Crane::new().run(&["auth", "token", &format!("127.0.0.1:{port}/app")]);
    let stderr = run.failed_with(1);
    // The ping is retried as a refused connection is (a warning per retry), then fails
    // for both schemes.
    let line = stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_default();
    assert!(
        line.starts_with(&format!(
            "Error: getting a token for 127.0.0.1:{port}/app: pinging 127.0.0.1:{port} failed over https and over http after 3 attempts (http: connecting to 127.0.0.1:{port}: "
        )),
        "{stderr}"
    );
    assert_eq!(
        line.matches(&format!("connecting to 127.0.0.1:{port}"))
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: check that the registry is running"),
        "{stderr}"
    );
}
