//! What `--help` shows: the commands that exist, global flags apart, an example per
//! command; and a bare `crane` (or command group) shows its help.

use crate::support::Crane;

/// Every command and subcommand path crane has.
const COMMANDS: &[&[&str]] = &[
    &["copy"],
    &["manifest"],
    &["digest"],
    &["config"],
    &["blob"],
    &["ls"],
    &["catalog"],
    &["tag"],
    &["delete"],
    &["ratelimit"],
    &["attach"],
    &["refs"],
    &["pull"],
    &["push"],
    &["layout", "gc"],
    &["version"],
    &["completion"],
    &["auth", "get"],
    &["auth", "login"],
    &["auth", "logout"],
    &["auth", "token"],
    &["registry", "serve"],
    &["append"],
    &["mutate"],
    &["flatten"],
    &["export"],
    &["rebase"],
];

#[test]
fn a_bare_crane_shows_its_help_and_exits_0() {
    let crane = Crane::new();
    for args in [&[][..], &["auth"], &["registry"]] {
        let run = crane.run(args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("Usage: crane"),
            "{args:?}: help on stderr, as ggcr: {run:?}"
        );
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
    }
    let run = crane.run(&[]);
    assert!(run.stderr.contains("Commands:"), "{run:?}");
    assert!(run.stderr.contains("copy"), "{run:?}");
}

#[test]
fn help_advertises_only_commands_that_exist() {
    let crane = Crane::new();
    let help = crane.run(&["--help"]).ok().to_owned();
    let short = crane.run(&["-h"]).ok().to_owned();
    for text in [&help, &short] {
        let about = text.split("\n\n").next().unwrap_or_default();
        assert_eq!(
            about, "crane is a tool for interacting with remote images and registries.",
            "{text}"
        );
        for line in text.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            assert!(
                !["edit", "squash"].contains(&first),
                "help lists a command that does not exist: {line:?}\n{text}"
            );
        }
    }
    for word in ["edit", "squash"] {
        let run = crane.run(&[word, "r.example/app:v1"]);
        run.failed_with(2);
    }
}

#[test]
fn global_flags_are_shown_apart() {
    let crane = Crane::new();
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let run = crane.run(&args);
        let out = run.ok();
        let (own, global) = out
            .split_once("\nGlobal Flags:\n")
            .unwrap_or_else(|| panic!("{command:?}: no Global Flags section:\n{out}"));
        for flag in [
            "--insecure",
            "--platform",
            "--verbose",
            "--allow-nondistributable-artifacts",
            "--jobs",
            "--quiet",
            "--timeout",
        ] {
            assert!(
                global.contains(flag),
                "{command:?}: {flag} not global:\n{out}"
            );
            assert!(
                !own.contains(flag),
                "{command:?}: {flag} among the command's own options:\n{out}"
            );
        }
    }
    // The command's own flags stay among its options.
    let out = crane.run(&["copy", "--help"]).ok().to_owned();
    let (own, _) = out.split_once("\nGlobal Flags:\n").expect("sections");
    assert!(
        own.contains("--all-tags") && own.contains("--no-clobber"),
        "{out}"
    );
}

#[test]
fn every_command_has_an_example() {
    let crane = Crane::new();
    for command in COMMANDS {
        for help in ["-h", "--help"] {
            let mut args = command.to_vec();
            args.push(help);
            let run = crane.run(&args);
            let out = run.ok();
            let Some((_, examples)) = out.split_once("\nExamples:\n") else {
                panic!("{command:?} {help}: no Examples:\n{out}");
            };
            let invocation = format!("crane {}", command.join(" "));
            assert!(
                examples.lines().any(|l| l.contains(&invocation)),
                "{command:?} {help}: no example runs `{invocation}`:\n{out}"
            );
        }
    }
    let out = crane.run(&["copy", "--help"]).ok().to_owned();
    assert!(
        out.contains("  crane copy gcr.io/a/b:v1 r.example/b:v1\n"),
        "{out}"
    );
}
