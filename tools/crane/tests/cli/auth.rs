//! auth login, get and logout against docker's config file.

use std::os::unix::fs::PermissionsExt as _;

use crate::support::Crane;

const PASSWORD: &str = "canary-Pa55word-7f3a";

#[test]
fn login_get_logout_round_trip() {
    let crane = Crane::new();
    let login = crane.run_with_stdin(
        &[
            "auth",
            "login",
            "registry.example:5000",
            "-u",
            "alice",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    login.ok();
    assert!(login.stdout.is_empty(), "{login:?}");
    assert!(login.stderr.contains("logged in via "), "{login:?}");
    assert!(!login.stderr.contains(PASSWORD) && !login.stdout.contains(PASSWORD));

    let config = crane.docker_config_dir().join("config.json");
    let mode = fs_err::metadata(&config)
        .expect("config written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "config.json mode {mode:o}");
    let text = fs_err::read_to_string(&config).expect("read config");
    assert!(text.contains("registry.example:5000"), "{text}");
    assert!(
        !text.contains(PASSWORD),
        "the password is stored encoded, not in the clear"
    );

    let get = crane.run(&["auth", "get", "registry.example:5000"]);
    let json: serde_json::Value = serde_json::from_str(get.ok()).expect("JSON on stdout");
    assert_eq!(json["Username"], "alice");
    assert_eq!(json["Secret"], PASSWORD);
    assert!(get.stderr.is_empty(), "{get:?}");

    // The credential-helper form: the server on stdin.
    let get = crane.run_with_stdin(&["auth", "get"], "registry.example:5000\n");
    assert!(get.ok().contains("\"Username\":\"alice\""), "{get:?}");

    let logout = crane.run(&["auth", "logout", "registry.example:5000"]);
    logout.ok();
    assert!(logout.stderr.contains("logged out via "), "{logout:?}");
    assert!(!logout.stderr.contains(PASSWORD) && !logout.stdout.contains(PASSWORD));

    let get = crane.run(&["auth", "get", "registry.example:5000"]);
    assert_eq!(get.code, 1, "{get:?}");
    assert_eq!(get.stdout, "credentials not found in native keychain\n");
    let text = fs_err::read_to_string(&config).expect("read config");
    assert!(!text.contains("registry.example:5000"), "{text}");
}

#[test]
fn password_flag_warns_and_is_never_printed() {
    let crane = Crane::new();
    let login = crane.run(&["auth", "login", "r.example", "-u", "bob", "-p", PASSWORD]);
    login.ok();
    assert!(login.stderr.contains("--password-stdin"), "{login:?}");
    assert!(!login.stderr.contains(PASSWORD) && !login.stdout.contains(PASSWORD));
    let quiet = crane.run(&["-q", "auth", "logout", "r.example"]);
    assert_eq!(quiet.ok(), "");
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
}

#[test]
fn login_without_a_password_is_a_usage_error() {
    let crane = Crane::new();
    let run = crane.run(&["auth", "login", "r.example", "-u", "bob"]);
    let stderr = run.failed_with(2);
    assert!(
        stderr.contains("username and password required"),
        "{stderr}"
    );
    assert!(!crane.docker_config_dir().join("config.json").exists());
}

#[test]
fn get_for_an_unknown_host_exits_1_with_the_protocol_message() {
    let crane = Crane::new();
    let run = crane.run(&["auth", "get", "unknown.example"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "credentials not found in native keychain\n");
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[test]
fn get_reads_credentials_from_the_environment_keychain() {
    let crane = Crane::new()
        .env("OCIREG_REGISTRY_HOSTNAME", "env.example")
        .env("OCIREG_REGISTRY_USERNAME", "carol")
        .env("OCIREG_REGISTRY_PASSWORD", PASSWORD);
    let run = crane.run(&["auth", "get", "env.example"]);
    let json: serde_json::Value = serde_json::from_str(run.ok()).expect("JSON");
    assert_eq!(json["Username"], "carol");
    assert!(crane.home().exists());
}

#[test]
fn a_broken_config_file_is_an_error_with_its_path() {
    let crane = Crane::new();
    fs_err::create_dir_all(crane.docker_config_dir()).expect("mkdir");
    fs_err::write(crane.docker_config_dir().join("config.json"), "{not json").expect("write");
    let run = crane.run(&["auth", "get", "r.example"]);
    let stderr = run.failed_with(1);
    assert!(stderr.starts_with("Error: "), "{stderr}");
    assert!(stderr.contains("config.json"), "{stderr}");
}
