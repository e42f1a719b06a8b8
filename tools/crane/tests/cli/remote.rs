//! The registry commands against ocireg-registry and CNCF distribution.

use std::sync::Arc;

use ocireg_registry::{Registry, RunningRegistry};
use ocireg_testsupport::{Distribution, TokenServer, User};

use crate::support::{Crane, runtime};

/// The `Error: ...` line of a failed run's stderr (warnings may come first).
fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_default()
}

/// Writes a random image to `host/at`; returns its digest.
async fn seed(host: &str, at: &str, seed: u64) -> String {
    let image = ocireg_v1::random::image(2048, 2, seed).expect("random image");
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

/// A registry with one random image at `app:v1`; returns its digest. CNCF
/// distribution (no referrers API) unless `referrers` asks for ocireg-registry.
fn seeded(rt: &tokio::runtime::Runtime, referrers: bool) -> (Server, String) {
    if !referrers {
        return rt.block_on(async {
            let d = Distribution::start().await.expect("distribution");
            let digest = seed(d.host(), "app:v1", 7).await;
            (Server::Distribution(Box::new(d)), digest)
        });
    }
    rt.block_on(async {
        let server = Registry::builder()
            .referrers(referrers)
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn");
        let digest = seed(&server.host(), "app:v1", 7).await;
        (Server::Ours(server), digest)
    })
}

enum Server {
    Ours(RunningRegistry),
    Distribution(Box<Distribution>),
}

impl Server {
    fn host(&self) -> String {
        match self {
            Self::Ours(s) => s.host(),
            Self::Distribution(d) => d.host().to_owned(),
        }
    }

    async fn shutdown(self) -> Result<(), String> {
        match self {
            Self::Ours(s) => s.shutdown().await.map_err(|e| e.to_string()),
            Self::Distribution(d) => d.stop().await.map_err(|e| e.to_string()),
        }
    }
}

#[test]
fn read_commands() {
    let rt = runtime();
    let (server, digest) = seeded(&rt, false);
    let host = server.host();
    let crane = Crane::new();
    let image = format!("{host}/app:v1");

    let manifest = crane.run(&["manifest", &image]);
    let json: serde_json::Value = serde_json::from_str(manifest.ok()).expect("manifest JSON");
    assert_eq!(json["schemaVersion"], 2);
    let config_digest = json["config"]["digest"]
        .as_str()
        .expect("config digest")
        .to_owned();
    let layer_digest = json["layers"][0]["digest"]
        .as_str()
        .expect("layer")
        .to_owned();

    assert_eq!(crane.run(&["digest", &image]).ok(), format!("{digest}\n"));
    assert_eq!(
        crane.run(&["digest", "--full-ref", &image]).ok(),
        format!("{host}/app@{digest}\n")
    );

    let config = crane.run(&["config", &image]);
    let _: serde_json::Value = serde_json::from_str(config.ok()).expect("config JSON");
    assert_eq!(
        ocireg_v1::sha256(config.stdout.as_bytes()).to_string(),
        config_digest
    );

    let blob = std::process::Command::new(env!("CARGO_BIN_EXE_crane"))
        .args(["blob", &format!("{host}/app@{layer_digest}")])
        .env("HOME", crane.home())
        .env("DOCKER_CONFIG", crane.docker_config_dir())
        .output()
        .expect("crane blob");
    assert!(blob.status.success(), "{blob:?}");
    assert_eq!(ocireg_v1::sha256(&blob.stdout).to_string(), layer_digest);

    crane.run(&["tag", &image, "v2"]).ok();
    assert_eq!(crane.run(&["ls", &format!("{host}/app")]).ok(), "v1\nv2\n");
    assert_eq!(
        crane
            .run(&["ls", "--full-ref", &format!("{host}/app")])
            .ok(),
        format!("{host}/app:v1\n{host}/app:v2\n")
    );
    assert_eq!(crane.run(&["catalog", &host]).ok(), "app\n");
    assert_eq!(
        crane.run(&["catalog", "--full-ref", &host]).ok(),
        format!("{host}/app\n")
    );

    crane.run(&["delete", &format!("{host}/app@{digest}")]).ok();
    let gone = crane.run(&["manifest", &image]);
    gone.failed_with(3);
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn copy_keeps_the_digest_and_no_clobber_refuses() {
    let rt = runtime();
    let (server, digest) = seeded(&rt, false);
    let host = server.host();
    let crane = Crane::new();
    let run = crane.run(&[
        "copy",
        &format!("{host}/app:v1"),
        &format!("{host}/copy:v1"),
    ]);
    run.ok();
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("done: "), "progress summary: {run:?}");
    assert_eq!(
        crane.run(&["digest", &format!("{host}/copy:v1")]).ok(),
        format!("{digest}\n")
    );
    let other = rt.block_on(seed(&host, "app:v2", 8));
    let run = crane.run(&[
        "cp",
        "-n",
        &format!("{host}/app:v2"),
        &format!("{host}/copy:v1"),
    ]);
    let stderr = run.failed_with(1);
    assert!(
        stderr.contains(&format!(
            "refusing to clobber existing tag {host}/copy:v1@{digest}"
        )),
        "{stderr}"
    );
    assert_eq!(
        crane.run(&["digest", &format!("{host}/copy:v1")]).ok(),
        format!("{digest}\n")
    );
    // --all-tags with -n copies only the missing tag; -q keeps stderr empty.
    let run = crane.run(&[
        "-q",
        "copy",
        "-a",
        "-n",
        &format!("{host}/app"),
        &format!("{host}/copy"),
    ]);
    run.ok();
    assert!(run.stderr.is_empty(), "{run:?}");
    assert_eq!(
        crane.run(&["digest", &format!("{host}/copy:v2")]).ok(),
        format!("{other}\n")
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn attach_refs_and_copy_with_referrers() {
    for referrers_api in [false, true] {
        let rt = runtime();
        let (server, digest) = seeded(&rt, referrers_api);
        let host = server.host();
        let crane = Crane::new();
        let file = crane.home().join("sbom.json");
        fs_err::write(&file, br#"{"sbom": true}"#).expect("write");
        let run = crane.run(&[
            "attach",
            file.to_str().expect("utf-8"),
            "application/spdx+json",
            "application/vnd.example.sbom",
            &format!("{host}/app:v1"),
        ]);
        let artifact = run.ok().trim().to_owned();
        assert!(
            artifact.starts_with(&format!("{host}/app@sha256:")),
            "{run:?}"
        );

        let manifest = crane.run(&["manifest", &artifact]);
        let json: serde_json::Value = serde_json::from_str(manifest.ok()).expect("JSON");
        assert_eq!(json["artifactType"], "application/vnd.example.sbom");
        assert_eq!(json["subject"]["digest"], digest.as_str());
        assert_eq!(json["layers"][0]["mediaType"], "application/spdx+json");
        // The bytes ggcr writes for this manifest: Go JSON in its field order.
        let subject = crane.run(&["manifest", &format!("{host}/app:v1")]);
        let subject_json: serde_json::Value =
            serde_json::from_str(subject.ok()).expect("subject JSON");
        let file_digest = ocireg_v1::sha256(br#"{"sbom": true}"#);
        assert_eq!(
            manifest.ok().trim_end(),
            format!(
                "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
                 \"config\":{{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"size\":2,\
                 \"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\
                 \"data\":\"e30=\"}},\
                 \"layers\":[{{\"mediaType\":\"application/spdx+json\",\"size\":14,\"digest\":\"{file_digest}\"}}],\
                 \"subject\":{{\"mediaType\":{},\"size\":{},\"digest\":\"{digest}\"}},\
                 \"artifactType\":\"application/vnd.example.sbom\"}}",
                subject_json["mediaType"],
                subject.stdout.len(),
            ),
        );

        let refs = crane.run(&["refs", &format!("{host}/app:v1")]);
        let index: serde_json::Value = serde_json::from_str(refs.ok()).expect("index JSON");
        let listed = index["manifests"].as_array().expect("manifests");
        assert_eq!(listed.len(), 1, "api={referrers_api}: {index}");
        let filtered = crane.run(&[
            "referrers",
            "--artifact-type",
            "other/type",
            &format!("{host}/app:v1"),
        ]);
        let index: serde_json::Value = serde_json::from_str(filtered.ok()).expect("index JSON");
        assert!(
            index["manifests"].as_array().is_none_or(Vec::is_empty),
            "{index}"
        );

        crane
            .run(&[
                "copy",
                "--referrers",
                &format!("{host}/app:v1"),
                &format!("{host}/mirror:v1"),
            ])
            .ok();
        let refs = crane.run(&["refs", &format!("{host}/mirror:v1")]);
        let index: serde_json::Value = serde_json::from_str(refs.ok()).expect("index JSON");
        assert_eq!(
            index["manifests"].as_array().map(Vec::len),
            Some(1),
            "api={referrers_api}"
        );
        rt.block_on(server.shutdown()).expect("shutdown");
    }
}

#[test]
fn failure_paths_against_distribution() {
    let rt = runtime();
    let (tokens, registry) = rt.block_on(async {
        let tokens = TokenServer::builder()
            .user(
                User::new("alice", "right-pass")
                    .allow("*", ["*"])
                    .allow_catalog(),
            )
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
    let crane = Crane::new();

    // Anonymous: authentication required, with the login hint (said once, in the hint).
    let run = crane.run(&["manifest", &format!("{host}/app:v1")]);
    let stderr = run.failed_with(4);
    assert_eq!(
        error_line(stderr),
        format!(
            "Error: fetching the manifest of {host}/app:v1: GET http://{host}/v2/app/manifests/v1: authentication required for {host}"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches(&format!("crane auth login {host}")).count(),
        1,
        "{stderr}"
    );

    // Wrong credentials: the token service refused them, said once.
    crane
        .run_with_stdin(
            &["auth", "login", &host, "-u", "alice", "--password-stdin"],
            "wrong",
        )
        .ok();
    let run = crane.run(&["ls", &format!("{host}/app")]);
    let stderr = run.failed_with(4);
    let line = error_line(stderr);
    // The remote layer's step (`connecting to {host}`) is left out: the token request's
    // URL says where it failed.
    assert!(
        line.starts_with(&format!(
            "Error: listing the tags of {host}/app: GET http://"
        )),
        "{stderr}"
    );
    assert!(line.contains("/token?scope="), "{stderr}");
    assert!(
        line.ends_with(&format!(
            ": authentication failed for {host} (status 401 Unauthorized)"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("crane auth login").count(), 1, "{stderr}");
    assert!(!stderr.contains("wrong"), "{stderr}");

    // Right credentials, unknown image: each thing said once; the detail and the remote
    // layer's own context only with -v.
    crane
        .run_with_stdin(
            &["auth", "login", &host, "-u", "alice", "--password-stdin"],
            "right-pass",
        )
        .ok();
    let run = crane.run(&["manifest", &format!("{host}/app:nope")]);
    let stderr = run.failed_with(3);
    assert_eq!(
        error_line(stderr),
        format!(
            "Error: fetching the manifest of {host}/app:nope: GET http://{host}/v2/app/manifests/nope: MANIFEST_UNKNOWN: manifest unknown"
        ),
        "{stderr}"
    );
    let run = crane.run(&["-v", "manifest", &format!("{host}/app:nope")]);
    let stderr = run.failed_with(3);
    assert!(
        stderr.contains(&format!(
            "\n  caused by: fetching manifest {host}/app:nope\n"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"MANIFEST_UNKNOWN: manifest unknown; {"Tag":"nope"}"#),
        "{stderr}"
    );

    // Unknown repository.
    let run = crane.run(&["ls", &format!("{host}/nothing")]);
    let stderr = run.failed_with(3);
    assert_eq!(
        error_line(stderr),
        format!(
            "Error: listing the tags of {host}/nothing: GET http://{host}/v2/nothing/tags/list?n=1000: NAME_UNKNOWN: repository name not known to registry"
        ),
        "{stderr}"
    );

    rt.block_on(async { registry.stop().await.expect("stop") });
    drop(tokens);
}

#[test]
fn an_unreachable_registry_fails_after_the_retries_with_a_hint() {
    // Unreachable registry: pinged with the few quick retries of a refused connection
    // (https and http, as for any loopback registry), and the HEAD failure is not retried
    // again as a GET.
    let port = ocireg_testsupport::free_port().expect("port");
    let started = std::time::Instant::now();
    let run = Crane::new().run(&["digest", &format!("127.0.0.1:{port}/app:v1")]);
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(3), "{elapsed:?}");
    let stderr = run.failed_with(1);
    // The ping failure sums up both schemes' failures: not followed by its cause again.
    assert!(
        error_line(stderr).starts_with(&format!(
            "Error: getting the digest of 127.0.0.1:{port}/app:v1: pinging 127.0.0.1:{port} \
             failed over https and over http after 3 attempts (http: connecting to 127.0.0.1:{port}: "
        )),
        "{stderr}"
    );
    assert!(error_line(stderr).ends_with(')'), "{stderr}");
    assert!(
        error_line(stderr).to_lowercase().contains("refused"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("retrying the ping").count(),
        2,
        "3 attempts, once: {stderr}"
    );
    assert!(
        stderr.contains("hint: check that the registry is running"),
        "{stderr}"
    );

    // `-q`: the error and its hint only, no retry warnings.
    let run = Crane::new().run(&["-q", "digest", &format!("127.0.0.1:{port}/app:v1")]);
    let quiet = run.failed_with(1);
    assert_eq!(
        quiet
            .lines()
            .map(|l| l.split(':').next().unwrap_or(l))
            .collect::<Vec<_>>(),
        ["Error", "hint"],
        "{quiet}"
    );
}
