//! `crane registry serve` as a child process.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ocireg_testsupport::TestClient;

use crate::support::{Crane, runtime};

/// A running `crane registry serve`, killed on drop.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(crane: &Crane, args: &[&str]) -> Self {
        let mut child = crane
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start crane registry serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the address within 20s");
        let address = line.trim().to_owned();
        assert!(!address.is_empty(), "no address printed");
        Self { child, address }
    }

    fn terminate(mut self) -> (bool, String) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let (tx, rx) = mpsc::channel();
        let mut stderr = self.child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = tx.send(text);
        });
        let text = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("exit within 20s");
        let exit = self.child.wait().expect("wait");
        (exit.success(), text)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_answers_v2_and_stops_on_sigterm() {
    let crane = Crane::new();
    let disk = crane.home().join("blobs");
    let server = Server::start(
        &crane,
        &[
            "registry",
            "serve",
            "--address",
            "127.0.0.1:0",
            "--disk",
            disk.to_str().expect("utf-8"),
        ],
    );
    assert!(
        server.address.starts_with("127.0.0.1:"),
        "{}",
        server.address
    );
    assert!(!server.address.ends_with(":0"), "{}", server.address);
    let url = format!("http://{}/v2/", server.address);
    let response = runtime()
        .block_on(TestClient::new().get(&url))
        .expect("GET /v2/");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("Docker-Distribution-API-Version"),
        Some("registry/2.0")
    );
    let (success, stderr) = server.terminate();
    assert!(success, "{stderr}");
    let port = url
        .split(':')
        .nth(2)
        .unwrap_or_default()
        .trim_end_matches("/v2/")
        .to_owned();
    assert!(
        stderr.contains(&format!("serving on port {port}")),
        "{stderr}"
    );
    assert!(stderr.contains("storing blobs in "), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}

#[test]
fn serve_honours_port() {
    let port = ocireg_testsupport::free_port().expect("free port");
    let crane = Crane::new().env("PORT", &port.to_string());
    let server = Server::start(&crane, &["registry", "serve"]);
    assert_eq!(server.address, format!("0.0.0.0:{port}"));
    let response = runtime()
        .block_on(TestClient::new().get(&format!("http://127.0.0.1:{port}/v2/")))
        .expect("GET /v2/");
    assert_eq!(response.status, 200);
}

#[test]
fn serve_on_a_busy_address_fails() {
    let crane = Crane::new();
    let server = Server::start(&crane, &["registry", "serve", "--address", "127.0.0.1:0"]);
    let run = crane.run(&["registry", "serve", "--address", &server.address]);
    let stderr = run.failed_with(1);
    assert!(
        stderr.starts_with(&format!(
            "Error: serving the registry on {}",
            server.address
        )),
        "{stderr}"
    );
}
