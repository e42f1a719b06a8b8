//! The docker/podman config keychain (ggcr's TestVariousPaths and
//! TestPodmanConfig), and the default composition with the environment.

use ocireg_authn::{
    AuthConfig, DEFAULT_AUTH_KEY, DefaultKeychain, DockerConfigKeychain, Error, MultiKeychain,
    Resource,
};

use crate::common::{Sandbox, encode, path_str, resolve};

fn test_registry() -> Resource {
    Resource::registry("test.io")
}

fn test_repo() -> Resource {
    Resource::repository("test.io", "my-repo")
}

enum Want {
    Error(&'static str),
    Creds(&'static str, &'static str),
    Anonymous,
    Tokens,
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one table, one row per case")]
async fn various_paths() {
    let cases: Vec<(&str, Resource, String, Want)> = vec![
        (
            "invalid config file",
            test_registry(),
            "}{".into(),
            Want::Error("parsing credentials file"),
        ),
        (
            "creds store does not exist",
            test_registry(),
            r#"{"credsStore":"definitely-does-not-exist"}"#.into(),
            Want::Error("docker-credential-definitely-does-not-exist not found"),
        ),
        (
            "creds store with an unusable name",
            test_registry(),
            r##"{"credsStore":"#definitely-does-not-exist"}"##.into(),
            Want::Error("#definitely-does-not-exist"),
        ),
        (
            "valid config file",
            test_registry(),
            format!(
                r#"{{"auths": {{"test.io": {{"auth": "{}"}}}}}}"#,
                encode("foo", "bar")
            ),
            Want::Creds("foo", "bar"),
        ),
        (
            "valid config file; default registry",
            Resource::registry("index.docker.io"),
            format!(
                r#"{{"auths": {{"{DEFAULT_AUTH_KEY}": {{"auth": "{}"}}}}}}"#,
                encode("foo", "bar")
            ),
            Want::Creds("foo", "bar"),
        ),
        (
            "docker hub repository via the default key",
            Resource::repository("docker.io", "library/ubuntu"),
            format!(
                r#"{{"auths": {{"{DEFAULT_AUTH_KEY}": {{"auth": "{}"}}}}}}"#,
                encode("hub", "pw")
            ),
            Want::Creds("hub", "pw"),
        ),
        (
            "matches registry w/ v1",
            test_registry(),
            format!(
                r#"{{"auths": {{"http://test.io/v1/": {{"auth": "{}"}}}}}}"#,
                encode("baz", "quux")
            ),
            Want::Creds("baz", "quux"),
        ),
        (
            "matches registry w/ v2",
            test_registry(),
            format!(
                r#"{{"auths": {{"https://test.io/v2/": {{"auth": "{}"}}}}}}"#,
                encode("baz", "quux")
            ),
            Want::Creds("baz", "quux"),
        ),
        (
            "matches repo",
            test_repo(),
            format!(
                r#"{{"auths": {{"test.io/my-repo": {{"auth": "{}"}}, "test.io/another-repo": {{"auth": "{}"}}, "test.io": {{"auth": "{}"}}}}}}"#,
                encode("foo", "bar"),
                encode("bar", "baz"),
                encode("baz", "quux")
            ),
            Want::Creds("foo", "bar"),
        ),
        (
            "repo key order does not matter",
            test_repo(),
            format!(
                r#"{{"auths": {{"test.io": {{"auth": "{}"}}, "test.io/my-repo": {{"auth": "{}"}}}}}}"#,
                encode("baz", "quux"),
                encode("foo", "bar")
            ),
            Want::Creds("foo", "bar"),
        ),
        (
            "ignore unrelated repo",
            test_repo(),
            format!(
                r#"{{"auths": {{"test.io/another-repo": {{"auth": "{}"}}, "test.io": {{}}}}}}"#,
                encode("bar", "baz")
            ),
            Want::Anonymous,
        ),
        (
            "unrelated repo key never stands in for the registry",
            test_registry(),
            format!(
                r#"{{"auths": {{"test.io/another-repo": {{"auth": "{}"}}}}}}"#,
                encode("bar", "baz")
            ),
            Want::Anonymous,
        ),
        (
            "registry key serves every repo",
            test_repo(),
            format!(
                r#"{{"auths": {{"test.io": {{"auth": "{}"}}}}}}"#,
                encode("baz", "quux")
            ),
            Want::Creds("baz", "quux"),
        ),
        (
            "identity and registry tokens",
            test_registry(),
            r#"{"auths": {"test.io": {"identitytoken": "idt", "registrytoken": "rt"}}}"#.into(),
            Want::Tokens,
        ),
        (
            "empty file",
            test_registry(),
            String::new(),
            Want::Anonymous,
        ),
        (
            "other registry only",
            test_registry(),
            format!(
                r#"{{"auths": {{"other.io": {{"auth": "{}"}}}}}}"#,
                encode("a", "b")
            ),
            Want::Anonymous,
        ),
    ];
    for (desc, target, content, want) in cases {
        let sb = Sandbox::new();
        let cfg = sb.write("docker/config.json", &content);
        let env = sb
            .env()
            .with_var("DOCKER_CONFIG", path_str(cfg.parent().unwrap()));
        let kc = DockerConfigKeychain::new(env);
        let got = resolve(&kc, &target).await;
        match want {
            Want::Error(needle) => {
                let err = got
                    .err()
                    .unwrap_or_else(|| panic!("{desc}: wanted an error"));
                assert!(err.to_string().contains(needle), "{desc}: {err}");
            }
            Want::Anonymous => {
                let (cfg, anonymous) = got.unwrap_or_else(|e| panic!("{desc}: {e}"));
                assert!(anonymous, "{desc}");
                assert_eq!(cfg, AuthConfig::default(), "{desc}");
            }
            Want::Tokens => {
                let (cfg, anonymous) = got.unwrap_or_else(|e| panic!("{desc}: {e}"));
                assert!(!anonymous, "{desc}");
                assert_eq!(cfg.identity_token.unwrap().expose(), "idt", "{desc}");
                assert_eq!(cfg.registry_token.unwrap().expose(), "rt", "{desc}");
            }
            Want::Creds(user, pass) => {
                let (cfg, anonymous) = got.unwrap_or_else(|e| panic!("{desc}: {e}"));
                assert!(!anonymous, "{desc}");
                assert_eq!(cfg, AuthConfig::basic(user, pass), "{desc}");
            }
        }
    }
}

#[tokio::test]
async fn no_config_is_anonymous() {
    let sb = Sandbox::new();
    let kc = DockerConfigKeychain::new(
        sb.env()
            .with_var("DOCKER_CONFIG", path_str(&sb.path("nothing-here"))),
    );
    let (cfg, anonymous) = resolve(&kc, &test_registry()).await.unwrap();
    assert!(anonymous);
    assert!(cfg.is_anonymous());
    // No HOME at all is also fine.
    let kc = DockerConfigKeychain::new(ocireg_authn::Environment::empty());
    assert!(resolve(&kc, &test_registry()).await.unwrap().1);
}

#[tokio::test]
async fn config_file_that_is_a_directory_is_not_found() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("docker/config.json")).unwrap();
    let kc = DockerConfigKeychain::new(
        sb.env()
            .with_var("DOCKER_CONFIG", path_str(&sb.path("docker"))),
    );
    assert!(resolve(&kc, &test_registry()).await.unwrap().1);
}

fn auths(user: &str, pass: &str) -> String {
    format!(
        r#"{{"auths": {{"test.io": {{"auth": "{}"}}}}}}"#,
        encode(user, pass)
    )
}

#[tokio::test]
async fn podman_locations_and_docker_precedence() {
    let sb = Sandbox::new();
    let config_home = sb.path("xdg-config");
    let runtime = sb.path("xdg-runtime");
    let env = sb
        .env()
        .with_var("XDG_CONFIG_HOME", path_str(&config_home))
        .with_var("XDG_RUNTIME_DIR", path_str(&runtime));
    let get = |env: ocireg_authn::Environment| async move {
        resolve(&DockerConfigKeychain::new(env), &test_registry())
            .await
            .unwrap()
            .0
    };

    assert!(get(env.clone()).await.is_anonymous());

    // ${XDG_CONFIG_HOME}/containers/auth.json
    sb.write(
        "xdg-config/containers/auth.json",
        &auths("config-home", "p"),
    );
    assert_eq!(
        get(env.clone()).await,
        AuthConfig::basic("config-home", "p")
    );

    // ~/.config/containers/auth.json when XDG_CONFIG_HOME is unset
    sb.write(
        "home/.config/containers/auth.json",
        &auths("dot-config", "p"),
    );
    assert_eq!(
        get(env.clone().without_var("XDG_CONFIG_HOME")).await,
        AuthConfig::basic("dot-config", "p")
    );

    // $XDG_RUNTIME_DIR/containers/auth.json beats the config home
    sb.write("xdg-runtime/containers/auth.json", &auths("runtime", "p"));
    assert_eq!(get(env.clone()).await, AuthConfig::basic("runtime", "p"));

    // $REGISTRY_AUTH_FILE beats both, if it names a file
    let file = sb.write("elsewhere/auth.json", &auths("registry-auth-file", "p"));
    assert_eq!(
        get(env
            .clone()
            .with_var("REGISTRY_AUTH_FILE", path_str(&sb.path("missing.json"))))
        .await,
        AuthConfig::basic("runtime", "p")
    );
    let env = env.with_var("REGISTRY_AUTH_FILE", path_str(&file));
    assert_eq!(
        get(env.clone()).await,
        AuthConfig::basic("registry-auth-file", "p")
    );

    // ~/.docker/config.json beats podman
    sb.write("home/.docker/config.json", &auths("home-docker", "p"));
    assert_eq!(
        get(env.clone()).await,
        AuthConfig::basic("home-docker", "p")
    );

    // $DOCKER_CONFIG beats ~/.docker
    let dc = sb.write("docker-config/config.json", &auths("docker-config", "p"));
    let env = env.with_var("DOCKER_CONFIG", path_str(dc.parent().unwrap()));
    assert_eq!(
        get(env.clone()).await,
        AuthConfig::basic("docker-config", "p")
    );

    // The kind is reported.
    let kc = DockerConfigKeychain::new(env);
    let file = kc.config_file().await.unwrap().unwrap();
    assert_eq!(file.kind(), ocireg_authn::ConfigKind::Docker);
    assert_eq!(file.path(), dc);
}

#[tokio::test]
async fn docker_config_set_without_file_still_means_docker() {
    // ggcr: ~/.docker/config.json exists, so docker's loader runs with
    // $DOCKER_CONFIG, whose config.json is missing: empty config, podman ignored.
    let sb = Sandbox::new();
    sb.write("home/.docker/config.json", &auths("home", "p"));
    sb.write("rt/containers/auth.json", &auths("podman", "p"));
    let env = sb
        .env()
        .with_var("DOCKER_CONFIG", path_str(&sb.path("empty-docker-config")))
        .with_var("XDG_RUNTIME_DIR", path_str(&sb.path("rt")));
    assert!(
        resolve(&DockerConfigKeychain::new(env), &test_registry())
            .await
            .unwrap()
            .1
    );
}

#[tokio::test]
async fn podman_docker_io_keys_serve_docker_hub() {
    let sb = Sandbox::new();
    sb.write(
        "rt/containers/auth.json",
        &format!(
            r#"{{"auths": {{"docker.io/team/app": {{"auth": "{}"}}, "docker.io": {{"auth": "{}"}}}}}}"#,
            encode("repo", "p"),
            encode("registry", "p")
        ),
    );
    let kc = DockerConfigKeychain::new(
        sb.env()
            .with_var("XDG_RUNTIME_DIR", path_str(&sb.path("rt"))),
    );
    let repo = Resource::repository("docker.io", "team/app");
    assert_eq!(
        resolve(&kc, &repo).await.unwrap().0,
        AuthConfig::basic("repo", "p")
    );
    let other = Resource::repository("docker.io", "library/ubuntu");
    assert_eq!(
        resolve(&kc, &other).await.unwrap().0,
        AuthConfig::basic("registry", "p")
    );
}

#[tokio::test]
async fn environment_beats_files_and_files_fill_in() {
    let sb = Sandbox::new();
    let dc = sb.write(
        "docker/config.json",
        &format!(
            r#"{{"auths": {{"test.io": {{"auth": "{}"}}, "other.io": {{"auth": "{}"}}}}}}"#,
            encode("file", "p"),
            encode("file-other", "p")
        ),
    );
    let env = sb
        .env()
        .with_var("DOCKER_CONFIG", path_str(dc.parent().unwrap()))
        .with_var("OCIREG_REGISTRY_HOSTNAME", "test.io")
        .with_var("OCIREG_REGISTRY_USERNAME", "env")
        .with_var("OCIREG_REGISTRY_PASSWORD", "env-pw");
    let kc = DefaultKeychain::new(env.clone()).unwrap();
    assert_eq!(
        resolve(&kc, &test_repo()).await.unwrap().0,
        AuthConfig::basic("env", "env-pw")
    );
    assert_eq!(
        resolve(&kc, &Resource::registry("other.io"))
            .await
            .unwrap()
            .0,
        AuthConfig::basic("file-other", "p")
    );
    assert!(
        resolve(&kc, &Resource::registry("none.io"))
            .await
            .unwrap()
            .1
    );

    // The environment answers before a broken file is even read.
    std::fs::write(&dc, "}{").unwrap();
    assert_eq!(
        resolve(&kc, &test_repo()).await.unwrap().0,
        AuthConfig::basic("env", "env-pw")
    );
    assert!(matches!(
        resolve(&kc, &Resource::registry("other.io")).await,
        Err(Error::ParseConfig { .. })
    ));

    // Inconsistent variables fail construction.
    let bad = env.with_var("OCIREG_REGISTRY_PASSWORD_1", "x");
    assert!(matches!(
        DefaultKeychain::new(bad),
        Err(Error::EnvConfig { .. })
    ));
}

#[tokio::test]
async fn multi_keychain_over_real_keychains() {
    let sb = Sandbox::new();
    let first = sb.write(
        "one/config.json",
        &format!(
            r#"{{"auths": {{"a.io": {{"auth": "{}"}}}}}}"#,
            encode("one", "p")
        ),
    );
    let second = sb.write(
        "two/config.json",
        &format!(
            r#"{{"auths": {{"a.io": {{"auth": "{}"}}, "b.io": {{"auth": "{}"}}}}}}"#,
            encode("two-a", "p"),
            encode("two-b", "p")
        ),
    );
    let kc_for = |p: &std::path::Path| {
        std::sync::Arc::new(DockerConfigKeychain::new(
            sb.env()
                .with_var("DOCKER_CONFIG", path_str(p.parent().unwrap())),
        )) as std::sync::Arc<dyn ocireg_authn::Keychain>
    };
    let multi = MultiKeychain::new([kc_for(&first), kc_for(&second)]);
    assert_eq!(
        resolve(&multi, &Resource::registry("a.io"))
            .await
            .unwrap()
            .0,
        AuthConfig::basic("one", "p")
    );
    assert_eq!(
        resolve(&multi, &Resource::registry("b.io"))
            .await
            .unwrap()
            .0,
        AuthConfig::basic("two-b", "p")
    );
    assert!(
        resolve(&multi, &Resource::registry("c.io"))
            .await
            .unwrap()
            .1
    );
}
