//! version, help, usage errors, completions, not-yet-implemented commands.

use crate::support::Crane;

#[test]
fn version_prints_the_version() {
    let run = Crane::new().run(&["version"]);
    assert_eq!(run.ok(), format!("{}\n", env!("CARGO_PKG_VERSION")));
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[test]
fn help_lists_commands_and_exit_codes() {
    let run = Crane::new().run(&["--help"]);
    let out = run.ok();
    for needle in [
        "copy",
        "manifest",
        "digest",
        "config",
        "blob",
        "ls",
        "catalog",
        "tag",
        "delete",
        "auth",
        "registry",
        "version",
        "attach",
        "refs",
        "completion",
        "--insecure",
        "--platform",
        "--verbose",
        "--allow-nondistributable-artifacts",
        "--jobs",
        "--quiet",
        "Exit codes:",
        "2  usage error",
        "3  not found",
        "4  authentication",
    ] {
        assert!(out.contains(needle), "help lacks {needle:?}:\n{out}");
    }
}

#[test]
fn usage_errors_exit_2_with_nothing_on_stdout() {
    let crane = Crane::new();
    for args in [
        &["copy", "only-one"][..],
        &["no-such-command"],
        &["--jobs", "0", "version"],
        &["auth", "login", "r.example", "-p", "x", "--password-stdin"],
        &["completion", "tcsh"],
    ] {
        let run = crane.run(args);
        let stderr = run.failed_with(2);
        assert!(stderr.contains("error:"), "{args:?}: {stderr}");
    }
}

#[test]
fn bad_references_and_platforms_exit_2_with_a_hint() {
    let crane = Crane::new();
    for (args, what) in [
        (
            &["manifest", "r.example/UPPER:v1"][..],
            "parsing reference \"r.example/UPPER:v1\"",
        ),
        (&["digest", "r.example/app:bad tag"], "parsing reference"),
        (&["ls", "r.example/App"], "parsing repository"),
        (&["catalog", "bad host"], "parsing registry"),
        (
            &["copy", "r.example/a:1", "r.example/B:1"],
            "parsing reference",
        ),
        (
            &["--platform", "a/b/c/d", "manifest", "r.example/app"],
            "parsing platform",
        ),
    ] {
        let run = crane.run(args);
        let stderr = run.failed_with(2);
        let mut lines = stderr.lines();
        let first = lines.next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("Error: {what}")),
            "{args:?}: {stderr}"
        );
        assert!(!first.contains("invalid reference"), "said twice: {stderr}");
        assert!(
            lines.next().is_some_and(|l| l.starts_with("hint: ")),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn an_unknown_host_is_a_failure_with_a_hint() {
    let run = Crane::new().run(&["manifest", "unknown.invalid/app:v1"]);
    let stderr = run.failed_with(1);
    assert!(
        stderr.starts_with("Error: fetching the manifest of unknown.invalid/app:v1: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nhint: check that the registry is running"),
        "{stderr}"
    );
}

#[test]
fn verbose_shows_the_cause_chain() {
    let run = Crane::new().run(&["manifest", "r.example/UPPER"]);
    let stderr = run.failed_with(2);
    assert!(
        stderr.starts_with(
            "Error: parsing reference \"r.example/UPPER\": invalid repository \"UPPER\": "
        ),
        "{stderr}"
    );
    let run = Crane::new().run(&["-v", "manifest", "r.example/UPPER"]);
    let stderr = run.failed_with(2);
    assert!(
        stderr.contains("\n  caused by: invalid reference \"r.example/UPPER\": "),
        "{stderr}"
    );
}

#[test]
fn completions_are_scripts() {
    let crane = Crane::new();
    for (shell, marker) in [
        ("bash", "complete"),
        ("zsh", "#compdef crane"),
        ("fish", "complete -c crane"),
    ] {
        let run = crane.run(&["completion", shell]);
        let script = run.ok();
        assert!(script.len() > 1000, "{shell}: {} bytes", script.len());
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        assert!(
            script.contains("manifest"),
            "{shell} script lacks the commands"
        );
    }
}

#[test]
fn a_closed_stdout_is_not_a_failure() {
    let crane = Crane::new();
    let mut child = crane
        .command(&["completion", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
