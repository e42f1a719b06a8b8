//! Text a registry chose never reaches the terminal raw: error messages and bodies,
//! `Warning` headers, tag and repository names, annotations and artifact types.

use ocireg_testsupport::{FaultServer, Reply};

use crate::support::{Crane, runtime};

/// Clear the screen, carriage return, BEL, a C1 CSI, a C1 NEL, a right-to-left override.
const HOSTILE: &str = "\u{1b}[2J\r\u{7}\u{9b}31m\u{85}\u{202e}";

/// The characters of [`HOSTILE`] that a terminal would act on, and their kin: any control
/// character but the line breaks crane writes itself, bidi controls.
fn acts_on_a_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    let raw: Vec<char> = text.chars().filter(|&c| acts_on_a_terminal(c)).collect();
    assert!(raw.is_empty(), "{what} holds {raw:?} raw: {text:?}");
}

/// A deprecation warning with a bidi override and a C1 control in it.
const WARNING: &str = "299 - \"deprecated \u{202e}drowssap \u{9b}2J\"";

/// A registry whose every answer carries [`WARNING`], and whose names, errors and
/// referrers are hostile.
fn hostile_registry(rt: &tokio::runtime::Runtime) -> FaultServer {
    let subject = ocireg_v1::sha256(b"subject");
    let referrer = ocireg_v1::sha256(b"referrer");
    rt.block_on(FaultServer::with_handler(move |req| {
        let reply = match req.path() {
            "/v2/" => Reply::ok().body("{}"),
            "/v2/app/tags/list" => Reply::ok().json(&serde_json::json!({
                "name": "app",
                "tags": ["v1", format!("v2{HOSTILE}")],
            })),
            "/v2/_catalog" => Reply::ok().json(&serde_json::json!({
                "repositories": ["app", format!("evil{HOSTILE}")],
            })),
            "/v2/app/manifests/json-error" => Reply::status(404).json(&serde_json::json!({
                "errors": [{
                    "code": "MANIFEST_UNKNOWN",
                    "message": format!("manifest unknown{HOSTILE}\n  caused by: a fake line"),
                    "detail": { "Tag": format!("json-error{HOSTILE}") },
                }],
            })),
            "/v2/app/manifests/text-error" => {
                Reply::status(400).body(format!("<html>bad request{HOSTILE}</html>"))
            }
            path if path == format!("/v2/app/referrers/{subject}") => Reply::ok()
                .header("Content-Type", "application/vnd.oci.image.index.v1+json")
                .body(
                    serde_json::json!({
                        "schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{
                            "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": referrer.to_string(),
                            "size": 100,
                            "artifactType": format!("application/vnd.example{HOSTILE}"),
                            "annotations": { format!("key{HOSTILE}"): format!("value{HOSTILE}") },
                        }],
                    })
                    .to_string(),
                ),
            _ => Reply::status(404),
        };
        reply.header("Warning", WARNING)
    }))
    .expect("fault server")
}

#[test]
fn registry_errors_and_warnings_are_escaped() {
    let rt = runtime();
    let server = hostile_registry(&rt);
    let host = server.host();
    let crane = Crane::new();

    let run = crane.run(&["manifest", &format!("{host}/app:json-error")]);
    let stderr = run.failed_with(3);
    assert_clean("the error", stderr);
    assert!(
        stderr.contains(
            "MANIFEST_UNKNOWN: manifest unknown\\x1b[2J\\r\\x07\\u{9b}31m\\u{85}\\u{202e}\\n  \
             caused by: a fake line\n"
        ),
        "escaped visibly, on the error's own line: {stderr}"
    );
    assert!(
        stderr.contains("[WARNING]: deprecated \\u{202e}drowssap 2J\n"),
        "{stderr}"
    );

    // -v: the detail JSON and the debug logs (which quote the registry) too.
    let run = crane.run(&["-v", "manifest", &format!("{host}/app:json-error")]);
    let stderr = run.failed_with(3);
    assert_clean("the verbose error", stderr);
    assert!(
        stderr.contains(r#"{"Tag":"json-error\u001b[2J\r\u0007\u{9b}31m\u{85}\u{202e}"}"#),
        "{stderr}"
    );

    let run = crane.run(&["manifest", &format!("{host}/app:text-error")]);
    let stderr = run.failed_with(1);
    assert_clean("the error body", stderr);
    assert!(
        stderr.contains("<html>bad request\\x1b[2J\\r\\x07\\u{9b}31m\\u{85}\\u{202e}</html>"),
        "{stderr}"
    );
}

#[test]
fn names_from_the_registry_are_escaped() {
    let rt = runtime();
    let server = hostile_registry(&rt);
    let host = server.host();
    let crane = Crane::new();
    let escaped = "\\x1b[2J\\r\\x07\\u{9b}31m\\u{85}\\u{202e}";

    let run = crane.run(&["ls", &format!("{host}/app")]);
    assert_eq!(run.ok(), format!("v1\nv2{escaped}\n"));
    assert_clean("ls warnings", &run.stderr);

    let run = crane.run(&["catalog", &host]);
    assert_eq!(run.ok(), format!("app\nevil{escaped}\n"));
    assert_clean("catalog warnings", &run.stderr);
}

#[test]
fn referrers_are_escaped_json_with_the_same_value() {
    let rt = runtime();
    let server = hostile_registry(&rt);
    let host = server.host();
    let subject = ocireg_v1::sha256(b"subject");

    let run = Crane::new().run(&["refs", &format!("{host}/app@{subject}")]);
    let out = run.ok();
    assert_clean("refs", out);
    assert_clean("refs warnings", &run.stderr);
    assert!(
        out.contains(r"\u001b[2J\r\u0007\u009b31m\u0085\u202e"),
        "{out}"
    );
    let index: serde_json::Value = serde_json::from_str(out).expect("still JSON");
    let listed = &index["manifests"][0];
    assert_eq!(
        listed["artifactType"],
        format!("application/vnd.example{HOSTILE}")
    );
    assert_eq!(
        listed["annotations"][format!("key{HOSTILE}")],
        format!("value{HOSTILE}")
    );
}
