//! The credential-helper protocol against a real `docker-credential-test`
//! shell script on a temp `PATH` (passed through the injected environment).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ocireg_authn::{
    AuthConfig, CredentialHelper, DockerConfigKeychain, Environment, Error, Resource, Secret,
    Stored,
};

use crate::common::{Sandbox, encode, path_str, resolve};

/// Stores credentials as files in `$HELPER_STORE`, logs each call's argv and
/// stdin to `$HELPER_LOG`, and misbehaves on purpose for some servers.
const SCRIPT: &str = r#"#!/bin/sh
action="$1"
input="$(cat)"
printf '%s %s\n' "$action" "$input" >> "$HELPER_LOG"
key() { printf '%s' "$1" | tr '/:' '__'; }
case "$action" in
get)
    case "$input" in
    fail.io) echo "the keychain is locked"; exit 1 ;;
    garbage.io) echo "this is not json"; exit 0 ;;
    hang.io) exec sleep 30 ;;
    token.io) printf '{"ServerURL":"token.io","Username":"<token>","Secret":"identity-canary"}'; exit 0 ;;
    esac
    f="$HELPER_STORE/$(key "$input")"
    if [ -f "$f" ]; then cat "$f"; exit 0; fi
    echo "credentials not found in native keychain"; exit 1 ;;
store)
    server="$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p')"
    [ -n "$server" ] || { echo "no credentials server URL"; exit 1; }
    [ "$server" = "echo.io" ] && { echo "cannot store $input"; exit 1; }
    printf '%s' "$input" > "$HELPER_STORE/$(key "$server")" ;;
erase)
    f="$HELPER_STORE/$(key "$input")"
    if [ -f "$f" ]; then rm "$f"; exit 0; fi
    echo "credentials not found in native keychain"; exit 1 ;;
list)
    printf '{'
    sep=''
    for f in "$HELPER_STORE"/*; do
        [ -f "$f" ] || continue
        s="$(sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p' "$f")"
        u="$(sed -n 's/.*"Username":"\([^"]*\)".*/\1/p' "$f")"
        printf '%s"%s":"%s"' "$sep" "$s" "$u"
        sep=','
    done
    printf '}' ;;
*) echo "unknown action"; exit 1 ;;
esac
"#;

pub(crate) struct HelperSandbox {
    pub(crate) sb: Sandbox,
}

/// The script's directory, written once per test process before any test
/// can run a helper: a file being written while another thread forks can
/// make `exec` fail with "text file busy".
fn bin_dir() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("authn-helper-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("helper bin dir");
        let script = dir.join("docker-credential-test");
        std::fs::write(&script, SCRIPT).expect("write helper script");
        make_executable(&script);
        dir
    })
}

impl HelperSandbox {
    pub(crate) fn new() -> Self {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.path("store")).expect("store dir");
        Self { sb }
    }

    pub(crate) fn env(&self) -> Environment {
        self.sb
            .env()
            .with_var("PATH", format!("{}:/usr/bin:/bin", path_str(bin_dir())))
            .with_var("HELPER_STORE", path_str(&self.sb.path("store")))
            .with_var("HELPER_LOG", path_str(&self.sb.path("helper.log")))
            .with_var("DOCKER_CONFIG", path_str(&self.sb.path("docker")))
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.sb.path("helper.log")).unwrap_or_default()
    }

    pub(crate) fn seed(&self, server: &str, user: &str, secret: &str) {
        let name = server.replace(['/', ':'], "_");
        std::fs::write(
            self.sb.path("store").join(name),
            format!(r#"{{"ServerURL":"{server}","Username":"{user}","Secret":"{secret}"}}"#),
        )
        .expect("seed the helper store");
    }

    pub(crate) fn config(&self, json: &str) -> PathBuf {
        self.sb.write("docker/config.json", json)
    }
}

#[cfg(unix)]
fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod script");
}

#[tokio::test]
async fn get_hit_not_found_and_token() {
    let hs = HelperSandbox::new();
    hs.seed("test.io", "helper-user", "helper-pw");
    let helper = CredentialHelper::new("test", &hs.env()).unwrap();
    assert_eq!(helper.name(), "test");
    assert_eq!(
        helper.program().unwrap(),
        bin_dir().join("docker-credential-test")
    );

    let got = helper.get("test.io").await.unwrap().unwrap();
    assert_eq!(got.username, "helper-user");
    assert_eq!(got.secret, Secret::new("helper-pw"));
    assert_eq!(got.server_url, "test.io");
    assert!(helper.get("nothing.io").await.unwrap().is_none());

    let token = helper.get("token.io").await.unwrap().unwrap();
    let cfg = token.to_auth_config();
    assert_eq!(cfg.identity_token.unwrap().expose(), "identity-canary");
    assert!(cfg.password.is_none());

    // The helper saw the action as its only argument and the bare server on stdin.
    let log = hs.log();
    assert!(log.contains("get test.io\n"), "{log}");
    assert!(log.contains("get nothing.io\n"), "{log}");
}

#[tokio::test]
async fn helper_as_a_keychain() {
    use ocireg_authn::Keychain as _;
    let hs = HelperSandbox::new();
    hs.seed("https://index.docker.io/v1/", "hub", "pw");
    let helper = CredentialHelper::new("test", &hs.env()).unwrap();
    let (cfg, _) = resolve(
        &helper,
        &Resource::repository("docker.io", "library/alpine"),
    )
    .await
    .unwrap();
    assert_eq!(cfg, AuthConfig::basic("hub", "pw"));
    assert!(
        helper
            .resolve(&Resource::registry("none.io"))
            .await
            .unwrap()
            .is_anonymous()
    );
    assert!(
        helper
            .resolve(&Resource::registry("fail.io"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn failures_are_errors_naming_the_helper() {
    let hs = HelperSandbox::new();
    let helper = CredentialHelper::new("test", &hs.env()).unwrap();

    let err = helper.get("fail.io").await.unwrap_err();
    assert!(matches!(err, Error::HelperFailed { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("docker-credential-test"), "{msg}");
    assert!(msg.contains("the keychain is locked"), "{msg}");
    assert!(msg.contains("exit status 1"), "{msg}");

    let err = helper.get("garbage.io").await.unwrap_err();
    assert!(matches!(err, Error::HelperOutput { .. }), "{err}");
    assert!(!err.to_string().contains("this is not json"), "{err}");

    let missing = CredentialHelper::new("absent", &hs.env()).unwrap();
    let err = missing.get("test.io").await.unwrap_err();
    assert!(
        matches!(err, Error::HelperNotFound { ref helper } if helper == "absent"),
        "{err}"
    );

    for bad in ["../bin/docker-credential-test", "a/b", ""] {
        assert!(matches!(
            CredentialHelper::new(bad, &hs.env()),
            Err(Error::InvalidHelperName { .. })
        ));
    }
}

#[tokio::test]
async fn hanging_helper_times_out() {
    let hs = HelperSandbox::new();
    let env = hs.env().with_helper_timeout(Duration::from_millis(300));
    let helper = CredentialHelper::new("test", &env).unwrap();
    let start = Instant::now();
    let err = helper.get("hang.io").await.unwrap_err();
    assert!(matches!(err, Error::HelperTimeout { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn relative_path_entries_are_never_searched() {
    let hs = HelperSandbox::new();
    // A relative PATH entry that does lead to the script from the current
    // directory (up to the root, then down to the bin dir).
    let cwd = std::env::current_dir().expect("cwd");
    let mut relative = PathBuf::new();
    for _ in cwd.components() {
        relative.push("..");
    }
    relative.push(bin_dir().strip_prefix("/").expect("absolute bin dir"));
    assert!(
        relative.join("docker-credential-test").is_file(),
        "the entry would work if searched"
    );
    let env = hs
        .env()
        .with_var("PATH", format!("{}:/usr/bin:/bin", relative.display()));
    let helper = CredentialHelper::new("test", &env).unwrap();
    assert!(matches!(
        helper.program(),
        Err(Error::HelperNotFound { .. })
    ));
    assert!(matches!(
        helper.get("r.io").await,
        Err(Error::HelperNotFound { .. })
    ));
}

#[tokio::test]
async fn store_list_erase_round_trip() {
    let hs = HelperSandbox::new();
    let helper = CredentialHelper::new("test", &hs.env()).unwrap();
    helper
        .store("r.io", "alice", &Secret::new("s3cret"))
        .await
        .unwrap();
    helper
        .store("https://index.docker.io/v1/", "bob", &Secret::new("x"))
        .await
        .unwrap();
    let list = helper.list().await.unwrap();
    assert_eq!(list.get("r.io").map(String::as_str), Some("alice"));
    assert_eq!(
        list.get("https://index.docker.io/v1/").map(String::as_str),
        Some("bob")
    );
    assert_eq!(
        helper.get("r.io").await.unwrap().unwrap().secret.expose(),
        "s3cret"
    );
    assert!(helper.erase("r.io").await.unwrap());
    assert!(
        !helper.erase("r.io").await.unwrap(),
        "not found is not an error"
    );
    assert!(helper.get("r.io").await.unwrap().is_none());

    // A helper that echoes its input on failure: the secret is scrubbed.
    let err = helper
        .store("echo.io", "u", &Secret::new("echo-canary"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cannot store"), "{msg}");
    assert!(!msg.contains("echo-canary"), "{msg}");
    // The store request carried the protocol JSON.
    assert!(
        hs.log()
            .contains(r#"store {"ServerURL":"r.io","Username":"alice","Secret":"s3cret"}"#),
        "{}",
        hs.log()
    );
}

#[tokio::test]
async fn keychain_uses_creds_store_and_never_falls_back_to_auths() {
    let hs = HelperSandbox::new();
    hs.config(&format!(
        r#"{{"credsStore": "test", "auths": {{"test.io": {{"auth": "{}"}}, "fail.io": {{"auth": "{}"}}}}}}"#,
        encode("plaintext", "p"),
        encode("plaintext", "p")
    ));
    let kc = DockerConfigKeychain::new(hs.env());

    // Helper has nothing: anonymous, the plaintext entry is not consulted.
    let (cfg, anonymous) = resolve(&kc, &Resource::registry("test.io")).await.unwrap();
    assert!(anonymous, "{cfg:?}");

    hs.seed("test.io", "from-helper", "pw");
    let (cfg, _) = resolve(&kc, &Resource::repository("test.io", "team/app"))
        .await
        .unwrap();
    assert_eq!(cfg, AuthConfig::basic("from-helper", "pw"));
    // Repository key asked first, then the registry.
    let log = hs.log();
    let repo_at = log.find("get test.io/team/app\n").expect("repo key asked");
    let reg_at = log.rfind("get test.io\n").expect("registry key asked");
    assert!(repo_at < reg_at, "{log}");

    // A failing helper is an error, not a fall back.
    let err = resolve(&kc, &Resource::registry("fail.io"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("docker-credential-test"), "{err}");

    // `<token>` becomes an identity token.
    let (cfg, _) = resolve(&kc, &Resource::registry("token.io")).await.unwrap();
    assert_eq!(
        cfg,
        AuthConfig::identity_token("<token>", "identity-canary")
    );
}

#[tokio::test]
async fn cred_helpers_beat_creds_store_per_registry() {
    let hs = HelperSandbox::new();
    hs.config(&format!(
        r#"{{"credsStore": "absent", "credHelpers": {{"test.io": "test"}}, "auths": {{"plain.io": {{"auth": "{}"}}}}}}"#,
        encode("u", "p")
    ));
    hs.seed("test.io", "helper-user", "pw");
    let kc = DockerConfigKeychain::new(hs.env());
    let (cfg, _) = resolve(&kc, &Resource::registry("test.io")).await.unwrap();
    assert_eq!(cfg, AuthConfig::basic("helper-user", "pw"));
    // Everything else goes to the missing credsStore: an error naming it.
    let err = resolve(&kc, &Resource::registry("plain.io"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HelperNotFound { ref helper } if helper == "absent"),
        "{err}"
    );
}

#[tokio::test]
async fn login_and_logout_through_the_helper() {
    let hs = HelperSandbox::new();
    let cfg_path = hs.config(r#"{"credsStore": "test"}"#);
    let out = ocireg_authn::login(
        &hs.env(),
        "docker.io",
        &AuthConfig::basic("hubuser", "hub-canary"),
    )
    .await
    .unwrap();
    assert_eq!(out.key, "https://index.docker.io/v1/");
    assert_eq!(out.stored, Stored::Helper("test".into()));
    assert_eq!(out.path, cfg_path);
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    assert!(
        !text.contains("hub-canary") && !text.contains(&encode("hubuser", "hub-canary")),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["auths"]["https://index.docker.io/v1/"],
        serde_json::json!({})
    );
    assert_eq!(json["credsStore"], "test");

    let kc = DockerConfigKeychain::new(hs.env());
    let (got, _) = resolve(
        &kc,
        &Resource::repository("index.docker.io", "library/ubuntu"),
    )
    .await
    .unwrap();
    assert_eq!(got, AuthConfig::basic("hubuser", "hub-canary"));

    // Identity tokens are stored as `<token>`.
    ocireg_authn::login(
        &hs.env(),
        "id.io",
        &AuthConfig::identity_token("someone", "idt"),
    )
    .await
    .unwrap();
    let (got, _) = resolve(&kc, &Resource::registry("id.io")).await.unwrap();
    assert_eq!(got, AuthConfig::identity_token("<token>", "idt"));

    let out = ocireg_authn::logout(&hs.env(), "index.docker.io")
        .await
        .unwrap();
    assert!(out.removed);
    assert!(
        resolve(&kc, &Resource::registry("index.docker.io"))
            .await
            .unwrap()
            .1
    );
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    assert!(!text.contains("index.docker.io"), "{text}");
    let out = ocireg_authn::logout(&hs.env(), "docker.io").await.unwrap();
    assert!(!out.removed);
}

#[tokio::test]
async fn login_with_missing_helper_fails_and_writes_nothing() {
    // CVE-2021-41092: a helper that cannot run must not lead to plaintext
    // storage or to another registry.
    let hs = HelperSandbox::new();
    let original = r#"{"credHelpers": {"private.example": "does-not-exist"}}"#;
    let cfg_path = hs.config(original);
    let err = ocireg_authn::login(
        &hs.env(),
        "private.example",
        &AuthConfig::basic("u", "typed-canary"),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("docker-credential-does-not-exist"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&cfg_path).unwrap(), original);
    let err = ocireg_authn::logout(&hs.env(), "private.example")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HelperNotFound { .. }), "{err}");
}
