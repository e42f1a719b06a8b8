//! Running crane with an isolated environment.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The outcome of one run.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "crane failed: {self:#?}");
        &self.stdout
    }

    /// Asserts the exit code, an empty stdout and an `Error:` line on stderr.
    #[track_caller]
    pub(crate) fn failed_with(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        assert!(
            self.stdout.is_empty(),
            "stdout must stay empty on failure: {self:#?}"
        );
        &self.stderr
    }
}

/// A crane with its own HOME and docker config directory.
pub(crate) struct Crane {
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Crane {
    pub(crate) fn new() -> Self {
        Self {
            home: tempfile::tempdir().expect("temp HOME"),
            env: Vec::new(),
        }
    }

    /// Adds an environment variable to every run.
    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn docker_config_dir(&self) -> PathBuf {
        self.home.path().join("docker-config")
    }

    pub(crate) fn home(&self) -> &Path {
        self.home.path()
    }

    /// The command, not yet started, with the isolated environment.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crane"));
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("DOCKER_CONFIG", self.docker_config_dir())
            .env("NO_COLOR", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    pub(crate) fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start crane");
        {
            let mut input = child.stdin.take().expect("stdin");
            // A command that does not read stdin may exit first: ignore a closed pipe.
            let _ = input.write_all(stdin.as_bytes());
        }
        let out = child.wait_with_output().expect("wait for crane");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// A multi-thread runtime for the async fixtures (distribution, token server).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}
