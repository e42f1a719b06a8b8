//! Login and logout writing docker's config file.

use std::os::unix::fs::PermissionsExt as _;

use ocireg_authn::{AuthConfig, DockerConfigKeychain, Error, Resource, Stored, login, logout};

use crate::common::{Sandbox, encode, path_str, resolve};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn login_creates_private_dir_and_file() {
    let sb = Sandbox::new();
    let dir = sb.path("fresh/docker");
    let env = sb.env().with_var("DOCKER_CONFIG", path_str(&dir));
    let out = login(
        &env,
        "https://Registry.example:5000/v2/",
        &AuthConfig::basic("u", "pw-canary"),
    )
    .await
    .unwrap();
    assert_eq!(out.key, "Registry.example:5000");
    assert_eq!(out.stored, Stored::File(dir.join("config.json")));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("config.json")), 0o600);
    assert_eq!(
        entries(&dir),
        vec!["config.json".to_owned()],
        "no temp files left"
    );

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"auths": {"Registry.example:5000": {"auth": encode("u", "pw-canary")}}})
    );
}

#[tokio::test]
async fn login_in_home_docker_dir_by_default() {
    let sb = Sandbox::new();
    let env = sb.env();
    let out = login(&env, "docker.io", &AuthConfig::basic("hub", "p"))
        .await
        .unwrap();
    assert_eq!(out.path, sb.home().join(".docker/config.json"));
    assert_eq!(out.key, "https://index.docker.io/v1/");
    let kc = DockerConfigKeychain::new(env);
    let (cfg, _) = resolve(&kc, &Resource::repository("docker.io", "library/alpine"))
        .await
        .unwrap();
    assert_eq!(cfg, AuthConfig::basic("hub", "p"));
    // Without HOME or DOCKER_CONFIG there is nowhere to write.
    let err = login(
        &ocireg_authn::Environment::empty(),
        "r.io",
        &AuthConfig::basic("u", "p"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NoConfigDir), "{err}");
}

#[tokio::test]
async fn login_preserves_other_content_and_tightens_mode() {
    let sb = Sandbox::new();
    let original = concat!(
        "{\n",
        "  \"auths\": {\n",
        "    \"keep.io\": {\"auth\": \"a2VlcDpw\", \"email\": \"me@example.com\"},\n",
        "    \"r.io\": {\"auth\": \"b2xkOm9sZA==\"}\n",
        "  },\n",
        "  \"credHelpers\": {},\n",
        "  \"proxies\": {\"default\": {\"httpProxy\": \"http://proxy:3128\"}},\n",
        "  \"experimentalFuture\": [1.50, true, null]\n",
        "}\n"
    );
    let cfg = sb.write("d/config.json", original);
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = sb.env().with_var("DOCKER_CONFIG", path_str(&sb.path("d")));
    login(&env, "r.io", &AuthConfig::basic("new", "new"))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains(r#""keep.io": {"auth": "a2VlcDpw", "email": "me@example.com"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""proxies": {"default": {"httpProxy": "http://proxy:3128"}}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""experimentalFuture": [1.50, true, null]"#),
        "{text}"
    );
    assert!(
        !text.contains("b2xkOm9sZA=="),
        "old secret replaced: {text}"
    );
    let order: Vec<usize> = [
        "\"auths\"",
        "\"credHelpers\"",
        "\"proxies\"",
        "\"experimentalFuture\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "member order kept: {text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["auths"]["r.io"],
        serde_json::json!({"auth": encode("new", "new")})
    );
    assert_eq!(mode(&cfg), 0o600);
    assert_eq!(entries(&sb.path("d")), vec!["config.json".to_owned()]);
}

#[tokio::test]
async fn symlinked_config_stays_a_symlink() {
    let sb = Sandbox::new();
    let real = sb.write("real/config.json", "{}");
    std::fs::create_dir_all(sb.path("d")).unwrap();
    std::os::unix::fs::symlink(&real, sb.path("d/config.json")).unwrap();
    let env = sb.env().with_var("DOCKER_CONFIG", path_str(&sb.path("d")));
    login(&env, "r.io", &AuthConfig::basic("u", "p"))
        .await
        .unwrap();
    assert!(
        std::fs::symlink_metadata(sb.path("d/config.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&real).unwrap().contains("r.io"));
}

#[tokio::test]
async fn logout_removes_every_form_of_the_key() {
    let sb = Sandbox::new();
    let cfg = sb.write(
        "d/config.json",
        &format!(
            r#"{{"auths": {{"r.io": {{"auth": "{a}"}}, "https://r.io/v1/": {{"auth": "{a}"}}, "r.io/team/app": {{"auth": "{a}"}}, "other.io": {{"auth": "{a}"}}}}, "x": 1}}"#,
            a = encode("u", "p")
        ),
    );
    let env = sb.env().with_var("DOCKER_CONFIG", path_str(&sb.path("d")));
    let out = logout(&env, "r.io").await.unwrap();
    assert!(out.removed);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    let keys: Vec<&String> = json["auths"].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["other.io", "r.io/team/app"]);
    assert_eq!(json["x"], 1);
    assert_eq!(mode(&cfg), 0o600);

    // Not logged in: not an error, and the file is left alone.
    let before = std::fs::read(&cfg).unwrap();
    assert!(!logout(&env, "r.io").await.unwrap().removed);
    assert_eq!(std::fs::read(&cfg).unwrap(), before);
    // No file at all: nothing created.
    let empty = sb
        .env()
        .with_var("DOCKER_CONFIG", path_str(&sb.path("none")));
    assert!(!logout(&empty, "r.io").await.unwrap().removed);
    assert!(!sb.path("none").exists());
}

#[tokio::test]
async fn bad_input_is_refused() {
    let sb = Sandbox::new();
    let env = sb.env().with_var("DOCKER_CONFIG", path_str(&sb.path("d")));
    for server in ["", "  ", "r.io x", "user@r.io"] {
        let err = login(&env, server, &AuthConfig::basic("u", "p"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidServer { .. }),
            "{server:?}: {err}"
        );
    }
    let err = login(&env, "r.io", &AuthConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err}");
    assert!(!sb.path("d").exists());
}

#[tokio::test]
async fn unreadable_existing_config_is_an_error_not_overwritten() {
    let sb = Sandbox::new();
    let cfg = sb.write("d/config.json", "{not json");
    let env = sb.env().with_var("DOCKER_CONFIG", path_str(&sb.path("d")));
    let err = login(&env, "r.io", &AuthConfig::basic("u", "p"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ParseConfig { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "{not json");
}
