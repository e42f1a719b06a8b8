//! Per-registry settings (`crane registry set` / `config`, regclient's FAQ) against CNCF
//! distribution: `--tls disabled` and `--tls insecure` decide how crane connects,
//! `--repo-auth` how it asks for tokens, and the settings file is private, atomic and
//! updated under a lock.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ocireg_testsupport::{Distribution, TestCa, TokenServer, User};

use crate::support::{Crane, runtime};

/// Writes a random image to `host/at` over plain http; returns its digest.
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

/// A TCP forwarder listening on `listen` (e.g. `127.0.0.2:0`) to `to`: the registry under
/// another name. Counts the connections that opened with a TLS ClientHello (a record of
/// type 22, handshake).
async fn forwarder(listen: &str, to: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::AsyncReadExt as _;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .expect("bind the forwarder (is 127.0.0.0/8 routed to lo?)");
    let addr = listener.local_addr().expect("forwarder address");
    let hellos = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&hellos);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut first = [0u8; 1];
                if inbound.peek(&mut first).await.is_ok_and(|n| n == 1) && first[0] == 22 {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                let _ = inbound.read(&mut first).await;
            });
        }
    });
    (addr, hellos)
}

fn settings_file(crane: &Crane) -> PathBuf {
    crane.home().join(".config/ocireg/config.json")
}

#[test]
fn tls_disabled_speaks_plain_http_to_a_registry_that_is_not_local() {
    let rt = runtime();
    let (registry, digest, addr, hellos) = rt.block_on(async {
        let registry = Distribution::start()
            .await
            .expect("distribution (run scripts/install-deps.sh)");
        let digest = seed(registry.host(), "app:v1", 3).await;
        let to: SocketAddr = registry.host().parse().expect("address");
        // 127.0.0.2 is loopback, but not one of the names ggcr speaks http to unasked.
        let (addr, hellos) = forwarder("127.0.0.2:0", to).await;
        (registry, digest, addr, hellos)
    });
    let host = addr.to_string();
    assert_eq!(
        ocireg_name::Registry::new(&host).expect("host").scheme(),
        "https",
        "the name must not be one that may speak http by default"
    );
    let crane = Crane::new();

    // No settings: https only, and the registry speaks http.
    let run = crane.run(&["digest", &format!("{host}/app:v1")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(hellos.load(Ordering::SeqCst) > 0, "https was tried");

    crane
        .run(&["registry", "set", "--tls", "disabled", &host])
        .ok();
    hellos.store(0, Ordering::SeqCst);
    let run = crane.run(&["digest", &format!("{host}/app:v1")]);
    assert_eq!(run.ok(), format!("{digest}\n"));
    crane
        .run(&[
            "copy",
            &format!("{host}/app:v1"),
            &format!("{host}/copy:v1"),
        ])
        .ok();
    assert_eq!(
        hellos.load(Ordering::SeqCst),
        0,
        "no https attempt once tls is disabled"
    );
    // The copy landed (read back at the registry's own name).
    let run = crane.run(&["digest", &format!("{}/copy:v1", registry.host())]);
    assert_eq!(run.ok(), format!("{digest}\n"));

    // Back to enabled: https again, and it fails again.
    crane
        .run(&["registry", "set", "--tls", "enabled", &host])
        .ok();
    let run = crane.run(&["digest", &format!("{host}/app:v1")]);
    assert_eq!(run.code, 1, "{run:?}");
    drop(registry);
}

#[test]
fn tls_insecure_skips_verification_for_that_registry_only() {
    let rt = runtime();
    let ca = TestCa::new().expect("test CA");
    let (plain, lax, strict, digest) = rt.block_on(async {
        let plain = Distribution::start()
            .await
            .expect("distribution (run scripts/install-deps.sh)");
        let digest = seed(plain.host(), "app:v1", 4).await;
        let lax = Distribution::builder()
            .tls(&ca)
            .start()
            .await
            .expect("TLS distribution");
        let strict = Distribution::builder()
            .tls(&ca)
            .start()
            .await
            .expect("TLS distribution");
        (plain, lax, strict, digest)
    });
    let crane = Crane::new();
    // --insecure everywhere puts the image on both TLS registries.
    for reg in [&lax, &strict] {
        crane
            .run(&[
                "--insecure",
                "copy",
                &format!("{}/app:v1", plain.host()),
                &format!("{}/app:v1", reg.host()),
            ])
            .ok();
    }
    let lax_ref = format!("{}/app:v1", lax.host());
    let strict_ref = format!("{}/app:v1", strict.host());

    // Without settings the test CA is unknown.
    let run = crane.run(&["digest", &lax_ref]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("UnknownIssuer") || run.stderr.contains("certificate"),
        "{run:?}"
    );

    crane
        .run(&["registry", "set", "--tls", "insecure", lax.host()])
        .ok();
    assert_eq!(crane.run(&["digest", &lax_ref]).ok(), format!("{digest}\n"));
    // The other registry, same CA, same host, another port: still verified.
    let run = crane.run(&["digest", &strict_ref]);
    assert_eq!(run.code, 1, "{run:?}");
    // --insecure still applies to every registry.
    assert_eq!(
        crane.run(&["--insecure", "digest", &strict_ref]).ok(),
        format!("{digest}\n")
    );
    drop((plain, lax, strict));
}

/// The token requests made since `from`.
fn token_scopes(tokens: &TokenServer, from: usize) -> Vec<Vec<String>> {
    tokens.requests()[from..]
        .iter()
        .map(|r| r.scopes.clone())
        .collect()
}

/// The repositories a scope list names (`repository:NAME:ACTIONS`).
fn repositories(scopes: &[String]) -> Vec<String> {
    let mut repos: Vec<String> = scopes
        .iter()
        .filter_map(|s| s.strip_prefix("repository:"))
        .filter_map(|s| s.rsplit_once(':').map(|(name, _)| name.to_owned()))
        .collect();
    repos.sort();
    repos.dedup();
    repos
}

#[test]
fn repo_auth_asks_one_token_per_repository() {
    let rt = runtime();
    let (tokens, registry, plain) = rt.block_on(async {
        let tokens = TokenServer::builder()
            .user(User::new("alice", "pa55").allow("*", ["*"]))
            .start()
            .await
            .expect("token server");
        let registry = Distribution::builder()
            .token_auth(&tokens)
            .start()
            .await
            .expect("distribution (run scripts/install-deps.sh)");
        let plain = Distribution::start().await.expect("distribution");
        seed(plain.host(), "app:v1", 5).await;
        (tokens, registry, plain)
    });
    let host = registry.host().to_owned();
    let crane = Crane::new();
    crane
        .run_with_stdin(
            &["auth", "login", &host, "-u", "alice", "--password-stdin"],
            "pa55",
        )
        .ok();
    crane
        .run(&[
            "copy",
            &format!("{}/app:v1", plain.host()),
            &format!("{host}/team/a:v1"),
        ])
        .ok();

    // By default a copy between two repositories asks for one token covering both.
    let from = tokens.request_count();
    crane
        .run(&[
            "copy",
            &format!("{host}/team/a:v1"),
            &format!("{host}/team/b:v1"),
        ])
        .ok();
    let asked = token_scopes(&tokens, from);
    assert!(
        asked.iter().any(|s| repositories(s).len() == 2),
        "one token for both repositories: {asked:?}"
    );

    // With --repo-auth, one token per repository scope.
    crane.run(&["registry", "set", "--repo-auth", &host]).ok();
    let from = tokens.request_count();
    crane
        .run(&[
            "copy",
            &format!("{host}/team/a:v1"),
            &format!("{host}/team/c:v1"),
        ])
        .ok();
    let asked = token_scopes(&tokens, from);
    assert!(
        asked.iter().all(|s| repositories(s).len() <= 1),
        "one repository per token: {asked:?}"
    );
    let mut seen: Vec<String> = asked.iter().flat_map(|s| repositories(s)).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["team/a", "team/c"], "{asked:?}");

    // And off again.
    crane
        .run(&["registry", "set", "--repo-auth=false", &host])
        .ok();
    assert_eq!(crane.run(&["registry", "config", &host]).ok(), "{}\n");
    drop((tokens, registry, plain));
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .expect("read settings dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_settings_file_is_private_atomic_and_locked() {
    use std::os::unix::fs::PermissionsExt as _;
    let crane = Crane::new();
    let path = settings_file(&crane);
    crane
        .run_with_stdin(
            &[
                "registry",
                "set",
                "--api",
                "hub",
                "--api-token-stdin",
                "hub.docker.com",
            ],
            "hub-t0ken-canary\n",
        )
        .ok();
    let mode = fs_err::metadata(&path)
        .expect("settings file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let dir = path.parent().expect("dir");
    let mode = fs_err::metadata(dir).expect("dir").permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    let text = fs_err::read_to_string(&path).expect("read settings");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        json,
        serde_json::json!({"hosts": {"hub.docker.com": {"api": "hub", "token": "hub-t0ken-canary"}}})
    );
    // Shown, the token is ***.
    let run = crane.run(&["registry", "config"]);
    assert!(!run.ok().contains("canary"), "{run:?}");
    assert!(run.stdout.contains("\"token\": \"***\""), "{run:?}");
    let run = crane.run(&[
        "registry",
        "config",
        "hub.docker.com",
        "--format",
        "{{.api}}/{{.token}}",
    ]);
    assert_eq!(run.ok(), "hub/***\n");

    // Concurrent updates of different hosts from separate processes all land.
    let hosts: Vec<String> = (0..8).map(|i| format!("r{i}.example:5000")).collect();
    let children: Vec<_> = hosts
        .iter()
        .map(|h| {
            crane
                .command(&["registry", "set", "--tls", "disabled", "--repo-auth", h])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start crane")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    let text = fs_err::read_to_string(&path).expect("read settings");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for h in &hosts {
        assert_eq!(
            json["hosts"][h],
            serde_json::json!({"tls": "disabled", "repoAuth": true}),
            "{h} missing: {text}"
        );
    }
    assert_eq!(json["hosts"]["hub.docker.com"]["api"], "hub", "{text}");
    // No temporary file is left beside it.
    assert_eq!(dir_names(dir), ["config.json", "config.json.lock"]);

    // A corrupt file: commands that talk to registries fail naming it; others run.
    fs_err::write(
        &path,
        "{\"hosts\": {\"r.example\": {\"tls\": \"sometimes\"}}}",
    )
    .expect("corrupt the file");
    let run = crane.run(&["digest", "r.example/app:v1"]);
    let stderr = run.failed_with(1);
    assert!(
        stderr.contains(&format!("reading registry settings {}", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("unknown variant `sometimes`"), "{stderr}");
    crane.run(&["version"]).ok();
    let run = crane.run(&["registry", "set", "--repo-auth", "gcr.io"]);
    run.failed_with(1);
    assert_eq!(
        fs_err::read_to_string(&path).expect("read settings"),
        "{\"hosts\": {\"r.example\": {\"tls\": \"sometimes\"}}}",
        "a file that cannot be read is not overwritten"
    );

    // OCIREG_CONFIG names another file.
    let other = crane.home().join("elsewhere.json");
    let crane = Crane::new().env("OCIREG_CONFIG", &other.to_string_lossy());
    crane
        .run(&["registry", "set", "--repo-auth", "Docker.io"])
        .ok();
    let text = fs_err::read_to_string(&other).expect("read settings");
    assert!(text.contains("\"index.docker.io\""), "{text}");
}
