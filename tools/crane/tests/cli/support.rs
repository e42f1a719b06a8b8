//! Running crane with an isolated environment.

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// The outcome of one run whose stdout is bytes (a blob), bounded in time.
pub(crate) struct RawRun {
    pub(crate) code: i32,
    /// The first [`KEPT_STDOUT`] bytes of stdout.
    pub(crate) stdout: Vec<u8>,
    /// How many bytes crane wrote to stdout in all.
    pub(crate) stdout_len: usize,
    pub(crate) stderr: String,
}

/// How much of a [`RawRun`]'s stdout is kept (the rest is counted).
const KEPT_STDOUT: usize = 64 << 20;

impl std::fmt::Debug for RawRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRun")
            .field("code", &self.code)
            .field("stdout_len", &self.stdout_len)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

impl RawRun {
    /// The `Error: ...` line of stderr (warnings or logs may come first).
    pub(crate) fn error_line(&self) -> &str {
        self.stderr
            .lines()
            .find(|l| l.starts_with("Error: "))
            .unwrap_or_default()
    }
}

/// Reads `from` to the end on a thread: the first [`KEPT_STDOUT`] bytes and the count.
fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<(Vec<u8>, usize)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut total = 0;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return (kept, total),
                Ok(n) => {
                    total += n;
                    let room = KEPT_STDOUT.saturating_sub(kept.len()).min(n);
                    kept.extend_from_slice(&buf[..room]);
                }
            }
        }
    })
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
        cmd.args(args);
        self.isolate(&mut cmd);
        cmd
    }

    /// Gives `cmd` the isolated environment.
    pub(crate) fn isolate(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("DOCKER_CONFIG", self.docker_config_dir())
            .env("NO_COLOR", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    /// Runs crane with stdin closed; kills it and fails the test when it has not
    /// exited within `limit` (a crane that reads forever).
    #[track_caller]
    pub(crate) fn run_bounded(&self, args: &[&str], limit: Duration) -> RawRun {
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start crane");
        let stdout = drain(child.stdout.take().expect("stdout"));
        let stderr = drain(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for crane") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let (_, written) = stdout.join().expect("stdout reader");
                let (err, _) = stderr.join().expect("stderr reader");
                panic!(
                    "crane {args:?} still running after {limit:?} ({written} bytes on stdout); \
                     stderr: {}",
                    String::from_utf8_lossy(&err)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (stdout, stdout_len) = stdout.join().expect("stdout reader");
        let (stderr, _) = stderr.join().expect("stderr reader");
        RawRun {
            code: status.code().unwrap_or(-1),
            stdout,
            stdout_len,
            stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
        }
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
