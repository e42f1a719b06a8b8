//! Progress as a user sees it: only for commands that move blobs and only once a blob
//! moves, bars in a terminal that fit 80 columns, plain lines in logs, Ctrl-C that says
//! what was left, a failure that says only the failure.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ocireg_registry::{Registry, RunningRegistry};
use ocireg_testsupport::{FaultServer, RecordedRequest, Reply};
use serde_json::json;

use crate::support::{Crane, runtime};
use crate::terminal::{COLUMNS, Screen, Terminal};

/// No run may take longer.
const LIMIT: Duration = Duration::from_secs(60);

/// Our registry on loopback.
fn registry(rt: &tokio::runtime::Runtime) -> RunningRegistry {
    rt.block_on(async {
        Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn")
    })
}

/// Writes a random image of `layers` layers to `host/at`; returns its digest.
fn seed(rt: &tokio::runtime::Runtime, host: &str, at: &str, layers: usize) -> String {
    rt.block_on(async {
        let image = ocireg_v1::random::image(4096, layers, 7).expect("random image");
        let opts = ocireg_remote::Options::builder()
            .auth(Arc::new(ocireg_authn::Anonymous))
            .build()
            .expect("remote options");
        let reference: ocireg_name::Reference = format!("{host}/{at}").parse().expect("reference");
        ocireg_remote::write_image(&reference, image, &opts)
            .await
            .expect("seed image")
            .to_string()
    })
}

/// A source registry serving `app:v1`, an image of a small config and one layer of
/// `layer_size` bytes whose body `layer` shapes (slow, wrong, ...).
fn source(
    rt: &tokio::runtime::Runtime,
    layer_size: usize,
    layer: impl Fn(Reply) -> Reply + Send + Sync + 'static,
) -> FaultServer {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let content: Vec<u8> = (0..layer_size)
        .map(|i| u8::try_from(i % 251).expect("below 251"))
        .collect();
    let config_digest = ocireg_v1::sha256(config).to_string();
    let layer_digest = ocireg_v1::sha256(&content).to_string();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer_digest,
            "size": layer_size,
        }],
    }))
    .expect("manifest JSON");
    let manifest_digest = ocireg_v1::sha256(&manifest).to_string();
    let config_path = format!("/v2/app/blobs/{config_digest}");
    let layer_path = format!("/v2/app/blobs/{layer_digest}");
    rt.block_on(FaultServer::with_handler(move |req: &RecordedRequest| {
        let path = req.path();
        if path == "/v2/" {
            Reply::ok().body("{}")
        } else if path == "/v2/app/manifests/v1"
            || path == format!("/v2/app/manifests/{manifest_digest}")
        {
            Reply::ok()
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                .header("Docker-Content-Digest", manifest_digest.clone())
                .body(manifest.clone())
        } else if path == config_path {
            Reply::ok().body(config.to_vec())
        } else if path == layer_path {
            layer(Reply::ok().body(content.clone()))
        } else {
            Reply::status(404)
        }
    }))
    .expect("fault server")
}

/// The lines of `stderr` that are not the summary, progress or log lines of a
/// successful or failed run.
fn lines_starting(stderr: &str, prefix: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn read_commands_in_a_terminal_show_their_data_only() {
    let rt = runtime();
    let server = registry(&rt);
    let host = server.host();
    let digest = seed(&rt, &host, "app:v1", 1);
    let crane = Crane::new();
    let image = format!("{host}/app:v1");
    let manifest = crane.run(&["manifest", &image]).ok().to_owned();
    let config = crane.run(&["config", &image]).ok().to_owned();
    for (args, want) in [
        (vec!["ls", &format!("{host}/app")], "v1\n".to_owned()),
        (vec!["digest", image.as_str()], format!("{digest}\n")),
        (vec!["manifest", image.as_str()], manifest),
        (vec!["config", image.as_str()], config),
    ] {
        let (code, transcript) = Terminal::start(&crane, &args).finish(LIMIT);
        assert_eq!(code, 0, "{args:?}: {transcript:?}");
        // The terminal turns each \n into \r\n; anything else is a stray line.
        assert_eq!(transcript.replace("\r\n", "\n"), want, "{args:?}");
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn registry_serve_in_a_terminal_shows_no_spinner() {
    let crane = Crane::new();
    let mut terminal = Terminal::start(&crane, &["registry", "serve", "--address", "127.0.0.1:0"]);
    terminal.wait_for("serving on port", LIMIT);
    // A spinner would have drawn several frames by now.
    std::thread::sleep(Duration::from_millis(600));
    terminal.ctrl_c();
    let (code, transcript) = terminal.finish(LIMIT);
    assert_eq!(code, 0, "{transcript:?}");
    let lines: Vec<&str> = transcript.split("\r\n").collect();
    let port = lines[0].rsplit(':').next().expect("an address");
    assert_eq!(
        lines,
        [
            lines[0],
            &format!("crane registry: serving on port {port}"),
            "^Cshutting down...",
            ""
        ],
        "{transcript:?}"
    );
}

#[test]
fn a_copy_prints_each_blob_once_and_the_summary() {
    let rt = runtime();
    let server = registry(&rt);
    let host = server.host();
    seed(&rt, &host, "app:v1", 2);
    let crane = Crane::new();
    let (src, dst) = (format!("{host}/app:v1"), format!("{host}/copy:v1"));
    let run = crane.run(&["copy", &src, &dst]);
    run.ok();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines[0], format!("copying {src} to {dst}"), "{run:?}");
    // A config and two layers, mounted within one registry: each said once.
    assert_eq!(
        lines.iter().filter(|l| l.ends_with(" mounted")).count(),
        3,
        "{run:?}"
    );
    let done = lines_starting(&run.stderr, "done: ");
    assert_eq!(done.len(), 1, "{run:?}");
    assert!(
        done[0].starts_with("done: 3 blobs (0 transferred), 0 B in "),
        "{run:?}"
    );

    // To another registry the bytes move: each blob once, as uploaded.
    let other = registry(&rt);
    let far = format!("{}/copy:v1", other.host());
    let run = crane.run(&["copy", &src, &far]);
    run.ok();
    assert_eq!(lines_starting(&run.stderr, "  sha256:").len(), 3, "{run:?}");
    let done = lines_starting(&run.stderr, "done: ");
    assert!(
        done[0].starts_with("done: 3 blobs (3 transferred), "),
        "{run:?}"
    );

    // Again: the destination is up to date and nothing moves, so no progress at all.
    let run = crane.run(&["copy", &src, &far]);
    run.ok();
    assert_eq!(
        run.stderr,
        format!("copied {src} to {far} ({})\n", seed_digest(&crane, &src)),
        "{run:?}"
    );
    rt.block_on(other.shutdown()).expect("shutdown");
    rt.block_on(server.shutdown()).expect("shutdown");
}

fn seed_digest(crane: &Crane, image: &str) -> String {
    crane.run(&["digest", image]).ok().trim().to_owned()
}

#[test]
fn a_failed_copy_prints_the_failure_only() {
    let rt = runtime();
    let server = registry(&rt);
    let host = server.host();
    let crane = Crane::new();
    // Nothing moved: the error and its hint, nothing else.
    let run = crane.run(&[
        "copy",
        &format!("{host}/missing:v1"),
        &format!("{host}/x:v1"),
    ]);
    let stderr = run.failed_with(3);
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with("Error: ") || l.starts_with("hint: ")),
        "{stderr}"
    );

    // A layer whose bytes are wrong, once blobs are moving: no summary after the error.
    let wrong = source(&rt, 5000, |reply| reply.body(vec![0u8; 5000]));
    let run = crane.run(&[
        "copy",
        &format!("{}/app:v1", wrong.host()),
        &format!("{host}/x:v1"),
    ]);
    let stderr = run.failed_with(1);
    assert!(stderr.starts_with("copying "), "progress showed: {stderr}");
    assert!(lines_starting(stderr, "done:").is_empty(), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("Error: ") || l.starts_with("hint: ")),
        "{stderr}"
    );
    assert_eq!(lines_starting(stderr, "Error: ").len(), 1, "{stderr}");
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn a_long_copy_in_a_log_prints_progress_every_5s_and_ctrl_c_says_what_was_left() {
    let rt = runtime();
    let server = registry(&rt);
    // One byte a millisecond or slower: the layer takes far longer than the test waits.
    let slow = source(&rt, 60_000, |reply| reply.trickle(Duration::from_millis(1)));
    let crane = Crane::new();
    let mut child = crane
        .command(&[
            "copy",
            &format!("{}/app:v1", slow.host()),
            &format!("{}/copy:v1", server.host()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start crane");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let is_progress = |l: &str| l.starts_with("  ") && l.ends_with("/s") && l.contains(" blobs, ");
    let mut seen: Vec<String> = Vec::new();
    let mut header = None;
    // The first progress line comes 5 s after the first blob started.
    while !seen.last().is_some_and(|l| is_progress(l)) {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no progress line: {seen:?}"));
        if line.starts_with("copying ") {
            header = Some(Instant::now());
        }
        seen.push(line);
    }
    let header = header.expect("the header before the progress");
    assert!(
        header.elapsed() >= Duration::from_millis(4900),
        "progress after {:?}: {seen:?}",
        header.elapsed()
    );
    // `  12.3 KiB of 58.6 KiB (21%), 1 of 2 blobs, 2.4 KiB/s`
    let progress = seen.last().expect("a line");
    assert!(
        progress.contains(" of 58.6 KiB (") && progress.contains("%), 1 of 2 blobs, "),
        "{progress}"
    );
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(kill.success());
    let status = child.wait().expect("wait");
    let rest: Vec<String> = rx.iter().collect();
    assert_eq!(status.code(), Some(130), "{seen:?} {rest:?}");
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(
        rest[0].starts_with("interrupted: 1 of 2 blobs done, ")
            && rest[0].ends_with(" of 58.6 KiB"),
        "{rest:?}"
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn a_copy_in_a_terminal_leaves_its_blob_lines_and_summary_without_bars() {
    let rt = runtime();
    let (from, to) = (registry(&rt), registry(&rt));
    seed(&rt, &from.host(), "app:v1", 2);
    let crane = Crane::new();
    let (src, dst) = (
        format!("{}/app:v1", from.host()),
        format!("{}/app:v1", to.host()),
    );
    let (code, transcript) = Terminal::start(&crane, &["copy", &src, &dst]).finish(LIMIT);
    assert_eq!(code, 0, "{transcript:?}");
    // Log lines with a digest are longer than the terminal and wrap, as any text would.
    let screen = Screen::render(&transcript, COLUMNS);
    let lines = &screen.lines;
    assert_eq!(lines[0], format!("copying {src} to {dst}"), "{screen:#?}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("  sha256:") && l.ends_with(" uploaded"))
            .count(),
        3,
        "{screen:#?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains('[') && !l.contains("ETA")),
        "{screen:#?}"
    );
    let done = lines
        .iter()
        .position(|l| l.starts_with("done: "))
        .expect("a summary");
    assert!(
        lines[done].starts_with("done: 3 blobs (3 transferred), "),
        "{screen:#?}"
    );
    assert!(
        lines[done + 1].starts_with(&format!("copied {src} to {dst} (sha256:")),
        "{screen:#?}"
    );
    rt.block_on(to.shutdown()).expect("shutdown");
    rt.block_on(from.shutdown()).expect("shutdown");
}

#[test]
fn a_copy_in_a_terminal_draws_bars_in_80_columns_and_ctrl_c_clears_them() {
    let rt = runtime();
    let server = registry(&rt);
    let slow = source(&rt, 60_000, |reply| reply.trickle(Duration::from_millis(1)));
    let crane = Crane::new();
    let (src, dst) = (
        format!("{}/app:v1", slow.host()),
        format!("{}/copy:v1", server.host()),
    );
    let mut terminal = Terminal::start(&crane, &["copy", &src, &dst]);
    // The overall bar: blobs, bytes, rate and ETA.
    terminal.wait_for("ETA", LIMIT);
    std::thread::sleep(Duration::from_millis(500));
    let drawing = Screen::render(&terminal.transcript(), COLUMNS);
    terminal.ctrl_c();
    let (code, transcript) = terminal.finish(LIMIT);
    assert_eq!(code, 130, "{transcript:?}");

    assert!(
        !drawing.wrapped,
        "a line longer than {COLUMNS} columns: {drawing:#?}"
    );
    let overall = drawing
        .lines
        .iter()
        .find(|l| l.contains("ETA"))
        .unwrap_or_else(|| panic!("no overall bar: {drawing:#?}"));
    // `⠂ 1/2 blobs [>    ] 259 B/58.67 KiB 937 B/s ETA 64s`: the layer and the config.
    assert!(overall.contains(" 1/2 blobs ["), "{overall}");
    assert!(
        overall.contains("/58.67 KiB ") && overall.contains("/s ETA "),
        "{overall}"
    );
    assert!(overall.chars().count() <= COLUMNS, "{overall}");
    assert!(
        drawing
            .lines
            .iter()
            .any(|l| l.starts_with("  sha256:") && l.contains('[')),
        "{drawing:#?}"
    );

    let screen = Screen::render(&transcript, COLUMNS);
    assert!(!screen.wrapped, "{screen:#?}");
    let shown: Vec<String> = screen
        .lines
        .iter()
        .map(|l| l.replace("^C", ""))
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(shown[0], format!("copying {src} to {dst}"), "{screen:#?}");
    assert!(
        shown.iter().all(|l| !l.contains('[') && !l.contains("ETA")),
        "bars left on the screen: {screen:#?}"
    );
    let last = shown.last().expect("a line");
    assert!(
        last.starts_with("interrupted: 1 of 2 blobs done, ") && last.ends_with(" of 58.6 KiB"),
        "{screen:#?}"
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}
