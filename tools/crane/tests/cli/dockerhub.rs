//! Issue 13's Docker Hub items on the command line: `crane delete --tag-only` (against
//! CNCF distribution and ocireg-registry) and the rate-limit headers (`crane ratelimit`,
//! and the warning when a run gets close), with the fault server standing in for Hub.

use std::sync::Arc;

use ocireg_testsupport::{Distribution, FaultServer, Reply};

use crate::support::{Crane, runtime};

/// Writes a random image to `host/at`; returns its digest.
async fn seed(host: &str, at: &str, seed: u64) -> String {
    let image = ocireg_v1::random::image(1024, 1, seed).expect("random image");
    let opts = ocireg_remote::Options::builder()
        .auth(Arc::new(ocireg_authn::Anonymous))
        .build()
        .expect("remote options");
    let reference: ocireg_name::Reference = format!("{host}/{at}").parse().expect("reference");
    ocireg_remote::write_image(&reference, image, &opts)
        .await
        .expect("seed image")
        .to_string()
}

/// Two tags on one manifest; `delete --tag-only` of one leaves the other and the manifest.
fn tag_only(crane: &Crane, host: &str, digest: &str) {
    crane.run(&["tag", &format!("{host}/app:v1"), "v2"]).ok();
    let run = crane.run(&["delete", "--tag-only", &format!("{host}/app:v1")]);
    assert_eq!(run.ok(), "", "{run:#?}");
    assert_eq!(
        crane.run(&["digest", &format!("{host}/app:v2")]).ok(),
        format!("{digest}\n")
    );
    crane
        .run(&["digest", &format!("{host}/app:v1")])
        .failed_with(3);
    assert_eq!(
        crane.run(&["digest", &format!("{host}/app@{digest}")]).ok(),
        format!("{digest}\n")
    );
    assert_eq!(crane.run(&["ls", &format!("{host}/app")]).ok(), "v2\n");
    let refused = crane.run(&["delete", "--tag-only", &format!("{host}/app@{digest}")]);
    assert!(
        refused.failed_with(2).contains("--tag-only takes a tag"),
        "{refused:#?}"
    );
    crane
        .run(&["delete", "--tag-only", &format!("{host}/app:nope")])
        .failed_with(3);
}

#[test]
fn delete_tag_only_on_distribution() {
    let rt = runtime();
    let d = rt.block_on(async {
        Distribution::start()
            .await
            .expect("distribution starts (scripts/install-deps.sh installs docker-registry)")
    });
    let host = d.host().to_owned();
    let digest = rt.block_on(seed(&host, "app:v1", 21));
    tag_only(&Crane::new(), &host, &digest);
    rt.block_on(d.stop()).expect("stop");
}

#[test]
fn delete_tag_only_on_ocireg_registry() {
    let rt = runtime();
    let server = rt.block_on(async {
        ocireg_registry::Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn")
    });
    let host = server.host();
    let digest = rt.block_on(seed(&host, "app:v1", 22));
    tag_only(&Crane::new(), &host, &digest);
    rt.block_on(server.shutdown()).expect("shutdown");
}

const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;

/// A registry answering `/v2/` and the manifest of `library/app:v1` with `headers`.
fn limited(rt: &tokio::runtime::Runtime, headers: &[(&str, &str)]) -> FaultServer {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let digest = ocireg_v1::sha256(MANIFEST.as_bytes()).to_string();
    rt.block_on(FaultServer::with_handler(move |req| {
        let reply = match req.path() {
            "/v2/" => Reply::ok().body("{}"),
            "/v2/library/app/manifests/v1" => Reply::ok()
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                .header("Docker-Content-Digest", digest.clone())
                .body(MANIFEST),
            _ => return Reply::status(404),
        };
        headers
            .iter()
            .fold(reply, |r, (k, v)| r.header(k.clone(), v.clone()))
    }))
    .expect("fault server")
}

const HUB_HEADERS: &[(&str, &str)] = &[
    ("ratelimit-limit", "100;w=21600"),
    ("ratelimit-remaining", "76;w=21600"),
    ("docker-ratelimit-source", "203.0.113.7"),
];

#[test]
fn ratelimit_prints_the_headers() {
    let rt = runtime();
    let server = limited(&rt, HUB_HEADERS);
    let image = format!("{}/library/app:v1", server.host());
    let crane = Crane::new();
    let run = crane.run(&["ratelimit", &image]);
    assert_eq!(
        run.ok(),
        "limit: 100 per 21600s\nremaining: 76\nsource: 203.0.113.7\n",
        "{run:#?}"
    );
    assert!(
        !run.stderr.contains("WARNING"),
        "76 of 100 is plenty: {run:#?}"
    );
    // One HEAD, which Hub does not count as a pull.
    let heads: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/v2/library/app/manifests/v1")
        .map(|r| r.method)
        .collect();
    assert_eq!(heads, [http::Method::HEAD]);

    let run = crane.run(&[
        "ratelimit",
        "--format",
        "{{.Remaining}} of {{.Limit}} per {{.WindowSeconds}}s ({{.Source}}) {{.Reported}}",
        &image,
    ]);
    assert_eq!(run.ok(), "76 of 100 per 21600s (203.0.113.7) true\n");
}

#[test]
fn ratelimit_without_or_with_garbled_headers() {
    let rt = runtime();
    let crane = Crane::new();
    let none = limited(&rt, &[]);
    let run = crane.run(&["ratelimit", &format!("{}/library/app:v1", none.host())]);
    assert_eq!(run.ok(), "no rate limit reported\n");
    let run = crane.run(&[
        "ratelimit",
        "--format",
        "{{.Reported}} {{.Limit}}",
        &format!("{}/library/app:v1", none.host()),
    ]);
    assert_eq!(run.ok(), "false <no value>\n");

    let garbled = limited(
        &rt,
        &[
            ("ratelimit-limit", "lots;w=forever"),
            ("ratelimit-remaining", "-3"),
            ("docker-ratelimit-source", "caf\u{e9} source"),
        ],
    );
    let run = crane.run(&["ratelimit", &format!("{}/library/app:v1", garbled.host())]);
    assert_eq!(run.ok(), "no rate limit reported\n");

    let partial = limited(&rt, &[("ratelimit-remaining", "12")]);
    let run = crane.run(&["ratelimit", &format!("{}/library/app:v1", partial.host())]);
    assert_eq!(run.ok(), "remaining: 12\n");

    crane
        .run(&["ratelimit", &format!("{}/library/app:nope", none.host())])
        .failed_with(3);
}

#[test]
fn a_run_close_to_the_limit_warns_once() {
    let rt = runtime();
    let crane = Crane::new();
    let low = limited(
        &rt,
        &[
            ("ratelimit-limit", "100;w=21600"),
            ("ratelimit-remaining", "5;w=21600"),
            ("docker-ratelimit-source", "203.0.113.7"),
        ],
    );
    let image = format!("{}/library/app:v1", low.host());
    let digest = ocireg_v1::sha256(MANIFEST.as_bytes()).to_string();
    // `manifest` then `digest`: several requests, each answered with the low count.
    let run = crane.run(&["manifest", &image]);
    assert_eq!(run.ok(), MANIFEST);
    let run = crane.run(&["digest", &image]);
    assert_eq!(run.ok(), format!("{digest}\n"));
    assert_eq!(
        run.stderr.matches("[WARNING]").count(),
        1,
        "one warning: {run:#?}"
    );
    assert!(
        run.stderr
            .contains("only 5 requests left of its rate limit of 100 requests per 21600s"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("203.0.113.7"), "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("registry {}: only 5", low.host())),
        "the warning names the registry: {run:#?}"
    );

    let plenty = limited(&rt, HUB_HEADERS);
    let run = crane.run(&["digest", &format!("{}/library/app:v1", plenty.host())]);
    assert_eq!(run.ok(), format!("{digest}\n"));
    assert!(!run.stderr.contains("WARNING"), "{run:#?}");

    let used_up = limited(
        &rt,
        &[
            ("ratelimit-limit", "100;w=21600"),
            ("ratelimit-remaining", "0;w=21600"),
        ],
    );
    let run = crane.run(&["digest", &format!("{}/library/app:v1", used_up.host())]);
    run.ok();
    assert!(run.stderr.contains("is used up"), "{run:#?}");
}

#[test]
fn a_429_says_it_is_the_rate_limit() {
    let rt = runtime();
    let server = rt
        .block_on(FaultServer::with_handler(|req| match req.path() {
            "/v2/" => Reply::ok().body("{}"),
            _ => Reply::status(429)
                .header("ratelimit-limit", "100;w=21600")
                .header("ratelimit-remaining", "0;w=21600")
                .header("Retry-After", "1")
                .json(&serde_json::json!({"errors": [{
                    "code": "TOOMANYREQUESTS",
                    "message": "You have reached your pull rate limit.",
                }]})),
        }))
        .expect("fault server");
    let crane = Crane::new();
    let run = crane.run(&["digest", &format!("{}/library/app:v1", server.host())]);
    let stderr = run.failed_with(1);
    assert!(stderr.contains("is used up"), "{run:#?}");
    assert!(stderr.contains("resets in 1s"), "{run:#?}");
    assert!(
        stderr.contains("rate limit was reached"),
        "the hint: {run:#?}"
    );

    // `ratelimit` itself answers from a 429's headers.
    let run = crane.run(&["ratelimit", &format!("{}/library/app:v1", server.host())]);
    assert_eq!(run.ok(), "limit: 100 per 21600s\nremaining: 0\n");
}

/// The FAQ's setup end to end: `registry set HOST --api hub --api-token-stdin` stores the
/// token, and `delete --tag-only HOST/REPO:TAG` then goes to that host's Hub API with it
/// (here the fault server on plain http, as `--tls disabled`); nothing else is asked.
#[test]
fn delete_tag_only_uses_the_hub_api_of_a_configured_host() {
    const TOKEN: &str = "hub-token-9f2c";
    let rt = runtime();
    let server = rt.block_on(async {
        FaultServer::with_handler(|req: &ocireg_testsupport::RecordedRequest| {
            let good = req.method == http::Method::DELETE
                && req.path() == "/v2/repositories/team/app/tags/v1/"
                && req.header("authorization") == Some(&format!("JWT {TOKEN}"));
            if good {
                Reply::status(204)
            } else {
                Reply::status(400).json(&serde_json::json!({"detail": "unexpected request"}))
            }
        })
        .await
        .expect("fault server")
    });
    let host = server.host();
    let crane = Crane::new();
    // Without a token the host's `api: hub` is a usage error, before any request.
    crane
        .run(&[
            "registry", "set", &host, "--tls", "disabled", "--api", "hub",
        ])
        .ok();
    let stderr = crane
        .run(&["delete", "--tag-only", &format!("{host}/team/app:v1")])
        .failed_with(2)
        .to_owned();
    assert!(stderr.contains("--api-token-stdin"), "{stderr}");
    assert_eq!(server.request_count(), 0);
    crane
        .run_with_stdin(&["registry", "set", &host, "--api-token-stdin"], TOKEN)
        .ok();
    let config = crane.run(&["registry", "config", &host]).ok().to_owned();
    assert!(!config.contains(TOKEN), "{config}");
    let run = crane.run(&["delete", "--tag-only", &format!("{host}/team/app:v1")]);
    assert_eq!(run.ok(), "", "{run:#?}");
    assert!(!run.stderr.contains(TOKEN), "{run:#?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    // A digest is still refused: deleting by digest is `crane delete`.
    crane
        .run(&[
            "delete",
            "--tag-only",
            &format!("{host}/team/app@sha256:{}", "0".repeat(64)),
        ])
        .failed_with(2);
}
