//! `crane blob`: bounded by the size the registry announces, verified, and with `-o`
//! a file that only exists once it is right.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ocireg_testsupport::{FaultServer, RecordedRequest, Reply};

use crate::support::{Crane, RawRun, runtime};

/// No run may take longer: a crane that reads an endless body forever fails the test.
const LIMIT: Duration = Duration::from_secs(60);

/// The blob every fault server offers under `app@<digest>`.
fn content() -> Vec<u8> {
    (0..200_000u32)
        .map(|i| u8::try_from((i * 7 + i / 251) % 253).expect("below 253"))
        .collect()
}

type Script = dyn Fn(&RecordedRequest) -> Reply + Send + Sync;

/// A registry that answers the ping, `HEAD` of the blob with `head` and `GET` of it with
/// `get`; anything else is a 404.
fn blob_server(
    rt: &tokio::runtime::Runtime,
    digest: &str,
    head: Arc<Script>,
    get: Arc<Script>,
) -> FaultServer {
    let path = format!("/v2/app/blobs/{digest}");
    rt.block_on(FaultServer::with_handler(move |req| {
        if req.path() == "/v2/" {
            Reply::ok().body("{}")
        } else if req.path() == path && req.method == "HEAD" {
            head(req)
        } else if req.path() == path && req.method == "GET" {
            get(req)
        } else {
            Reply::status(404)
        }
    }))
    .expect("fault server")
}

/// An honest `HEAD`: the size and the digest.
fn honest_head(size: usize, digest: &str) -> Arc<Script> {
    let digest = digest.to_owned();
    Arc::new(move |_| {
        Reply::ok()
            .header("Content-Length", size.to_string())
            .header("Docker-Content-Digest", digest.clone())
    })
}

/// The files in `dir`, by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `crane blob` to stdout and with `-o`; both must fail with exit 1 and an error
/// line holding `expect`, and `-o` must leave nothing behind.
fn assert_refused(crane: &Crane, blob: &str, expect: &str) -> (RawRun, RawRun) {
    let to_stdout = crane.run_bounded(&["blob", blob], LIMIT);
    assert_eq!(to_stdout.code, 1, "{to_stdout:#?}");
    let line = to_stdout.error_line();
    assert!(
        line.starts_with(&format!("Error: reading blob {blob}: ")) && line.contains(expect),
        "wanted {expect:?}: {to_stdout:#?}"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("blob.bin");
    let to_file = crane.run_bounded(&["blob", "-o", file.to_str().expect("utf-8"), blob], LIMIT);
    assert_eq!(to_file.code, 1, "{to_file:#?}");
    assert!(to_file.error_line().contains(expect), "{to_file:#?}");
    assert!(to_file.stdout.is_empty(), "{to_file:#?}");
    assert!(!file.exists(), "no file after a failure");
    assert!(
        listing(dir.path()).is_empty(),
        "the temporary file is removed: {:?}",
        listing(dir.path())
    );
    (to_stdout, to_file)
}

#[test]
fn an_endless_body_stops_at_the_announced_size() {
    let rt = runtime();
    let bytes = content();
    let digest = ocireg_v1::sha256(&bytes).to_string();
    for repeat in [bytes.clone(), Vec::new()] {
        // The right bytes and then more of them, or zeros, forever.
        let server = blob_server(
            &rt,
            &digest,
            honest_head(bytes.len(), &digest),
            Arc::new(move |_| Reply::ok().body(repeat.clone()).endless()),
        );
        let blob = format!("{}/app@{digest}", server.host());
        let crane = Crane::new();
        let (to_stdout, _) =
            assert_refused(&crane, &blob, &format!("expected {} bytes", bytes.len()));
        assert!(
            to_stdout.stdout_len <= bytes.len(),
            "nothing past the announced size reaches stdout: {} bytes",
            to_stdout.stdout_len
        );
    }
}

#[test]
fn wrong_bytes_of_the_right_size_are_refused() {
    let rt = runtime();
    let bytes = content();
    let digest = ocireg_v1::sha256(&bytes).to_string();
    let mut wrong = bytes.clone();
    wrong[123_456] ^= 0xff;
    let server = blob_server(
        &rt,
        &digest,
        honest_head(bytes.len(), &digest),
        Arc::new(move |_| Reply::ok().body(wrong.clone())),
    );
    let blob = format!("{}/app@{digest}", server.host());
    let (to_stdout, _) = assert_refused(&Crane::new(), &blob, "digest mismatch: expected ");
    assert!(
        to_stdout.stdout_len < bytes.len(),
        "the chunk that completes wrong content is withheld: {} bytes",
        to_stdout.stdout_len
    );
}

#[test]
fn a_truncated_body_is_refused() {
    let rt = runtime();
    let bytes = content();
    let digest = ocireg_v1::sha256(&bytes).to_string();
    // Every answer (the first and each resume) stops half way.
    let half = bytes.len() / 2;
    let server = blob_server(
        &rt,
        &digest,
        honest_head(bytes.len(), &digest),
        Arc::new(move |_| Reply::ok().body(bytes.clone()).eof_after(half)),
    );
    let blob = format!("{}/app@{digest}", server.host());
    assert_refused(&Crane::new(), &blob, "gave up after 3 reconnects");
}

#[test]
fn a_head_size_that_the_body_contradicts_is_refused() {
    let rt = runtime();
    let bytes = content();
    let digest = ocireg_v1::sha256(&bytes).to_string();
    let crane = Crane::new();

    // The GET announces its true length: refused before a byte is passed on.
    let body = bytes.clone();
    let server = blob_server(
        &rt,
        &digest,
        honest_head(bytes.len() - 1000, &digest),
        Arc::new(move |_| Reply::ok().body(body.clone())),
    );
    let blob = format!("{}/app@{digest}", server.host());
    let (to_stdout, _) = assert_refused(
        &crane,
        &blob,
        &format!(
            "the registry announces {} bytes, the descriptor says {}",
            bytes.len(),
            bytes.len() - 1000
        ),
    );
    assert_eq!(to_stdout.stdout_len, 0, "{to_stdout:#?}");

    // The GET announces nothing (chunked) and sends more than the HEAD said.
    let body = bytes.clone();
    let server = blob_server(
        &rt,
        &digest,
        honest_head(bytes.len() - 1000, &digest),
        Arc::new(move |_| Reply::ok().body(body.clone()).chunked()),
    );
    let blob = format!("{}/app@{digest}", server.host());
    let (to_stdout, _) = assert_refused(
        &crane,
        &blob,
        &format!("expected {} bytes", bytes.len() - 1000),
    );
    assert!(to_stdout.stdout_len <= bytes.len() - 1000, "{to_stdout:#?}");
}

#[test]
fn a_head_that_names_another_blob_or_an_absurd_size_is_refused_before_the_get() {
    let rt = runtime();
    let bytes = content();
    let digest = ocireg_v1::sha256(&bytes).to_string();
    let other = ocireg_v1::sha256(b"other").to_string();
    let crane = Crane::new();
    let cases: [(Arc<Script>, String); 2] = [
        (
            honest_head(bytes.len(), &other),
            format!("the registry's Docker-Content-Digest names another blob: {other}"),
        ),
        (
            Arc::new(|_| Reply::ok().header("Content-Length", "9223372036854775807")),
            format!(
                "the registry announces 9223372036854775807 bytes, more than the {} bytes crane reads",
                1u64 << 40
            ),
        ),
    ];
    for (head, expect) in cases {
        let body = bytes.clone();
        let server = blob_server(
            &rt,
            &digest,
            head,
            Arc::new(move |_| Reply::ok().body(body.clone()).endless()),
        );
        let blob = format!("{}/app@{digest}", server.host());
        let (to_stdout, _) = assert_refused(&crane, &blob, &expect);
        assert_eq!(to_stdout.stdout_len, 0, "{to_stdout:#?}");
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.method != "GET" || r.path() == "/v2/"),
            "no GET of the blob: {:?}",
            server.requests()
        );
    }
}

#[test]
fn a_missing_blob_is_not_found() {
    let rt = runtime();
    let digest = ocireg_v1::sha256(b"nothing").to_string();
    let server = blob_server(
        &rt,
        &digest,
        Arc::new(|_| Reply::status(404)),
        Arc::new(|_| Reply::status(404)),
    );
    let blob = format!("{}/app@{digest}", server.host());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("blob.bin");
    let run =
        Crane::new().run_bounded(&["blob", "-o", file.to_str().expect("utf-8"), &blob], LIMIT);
    assert_eq!(run.code, 3, "{run:#?}");
    assert!(listing(dir.path()).is_empty());
}

/// Uploads `bytes` to `host/app` in one `POST` and one `PUT`, by hand (the simplest
/// protocol, for the 0-byte blob too).
async fn push_blob(host: &str, bytes: &[u8]) {
    let client = ocireg_testsupport::TestClient::new();
    let started = client
        .send(
            http::Method::POST,
            &format!("http://{host}/v2/app/blobs/uploads/"),
            &[],
            Vec::new(),
        )
        .await
        .expect("start upload");
    assert_eq!(started.status.as_u16(), 202, "{}", started.text());
    let location = started.header("location").expect("Location");
    let url = if location.starts_with('/') {
        format!("http://{host}{location}")
    } else {
        location.to_owned()
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let digest = ocireg_v1::sha256(bytes);
    let done = client
        .send(
            http::Method::PUT,
            &format!("{url}{separator}digest={digest}"),
            &[("content-type", "application/octet-stream")],
            bytes.to_vec(),
        )
        .await
        .expect("finish upload");
    assert_eq!(done.status.as_u16(), 201, "{}", done.text());
}

#[test]
fn blobs_to_stdout_and_to_a_file() {
    let rt = runtime();
    let (server, blobs) = rt.block_on(async {
        let server = ocireg_registry::Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn");
        let mut blobs = Vec::new();
        for bytes in [content(), Vec::new()] {
            push_blob(&server.host(), &bytes).await;
            blobs.push(bytes);
        }
        (server, blobs)
    });
    let crane = Crane::new();
    for bytes in blobs {
        let digest = ocireg_v1::sha256(&bytes);
        let blob = format!("{}/app@{digest}", server.host());

        let run = crane.run_bounded(&["blob", &blob], LIMIT);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(run.stdout, bytes, "{} bytes", bytes.len());

        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("out.bin");
        fs_err::write(&file, b"an older file is replaced").expect("old file");
        let run = crane.run_bounded(
            &["blob", "--output", file.to_str().expect("utf-8"), &blob],
            LIMIT,
        );
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stdout.is_empty(), "{run:#?}");
        assert_eq!(fs_err::read(&file).expect("the file"), bytes);
        assert_eq!(listing(dir.path()), ["out.bin"], "no temporary file left");
    }
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn file_errors_name_the_file() {
    let crane = Crane::new();
    let missing = crane.home().join("no-such-dir").join("blob.bin");
    // The file is checked before the registry is asked: none is listening here.
    let port = ocireg_testsupport::free_port().expect("port");
    let digest = ocireg_v1::sha256(b"x");
    let run = crane.run_bounded(
        &[
            "blob",
            "-o",
            missing.to_str().expect("utf-8"),
            &format!("127.0.0.1:{port}/app@{digest}"),
        ],
        LIMIT,
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.error_line().starts_with(&format!(
            "Error: creating a temporary file beside {}: ",
            missing.display()
        )),
        "{run:#?}"
    );
}

#[test]
fn help_says_what_stdout_holds() {
    let run = Crane::new().run(&["blob", "--help"]);
    let help = run.ok();
    for needed in [
        "-o, --output <FILE>",
        "a consumer of stdout must check crane's",
        "exit status and discard the output on failure",
        "renamed to FILE only once the size and digest are right",
    ] {
        assert!(help.contains(needed), "{needed:?} in {help}");
    }
}
