//! Registry `Warning` headers: shown once, at the end, on stderr.

use std::sync::Arc;

use ocireg_registry::Registry;

use crate::support::{Crane, runtime};

const DEPRECATED: &str = "this registry is deprecated";

#[test]
fn registry_warnings_are_shown_once_at_the_end() {
    let rt = runtime();
    let server = rt.block_on(async {
        let server = Registry::builder()
            .warning(Some(DEPRECATED.into()))
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn");
        let image = ocireg_v1::random::image(1024, 2, 11).expect("random image");
        let opts = ocireg_remote::Options::builder()
            .auth(Arc::new(ocireg_authn::Anonymous))
            .build()
            .expect("remote options");
        let reference: ocireg_name::Reference = format!("{}/app:v1", server.host())
            .parse()
            .expect("reference");
        ocireg_remote::write_image(&reference, image, &opts)
            .await
            .expect("seed image");
        server
    });
    let host = server.host();
    let crane = Crane::new();
    let expected_tail = format!("[WARNING]: {DEPRECATED}\n");

    // A copy makes many requests (ping, manifests, blob checks), every one with the warning.
    let copy = crane.run(&["copy", &format!("{host}/app:v1"), &format!("{host}/app:v2")]);
    copy.ok();
    let ls = crane.run(&["ls", &format!("{host}/app")]);
    assert_eq!(ls.ok(), "v1\nv2\n", "{ls:#?}");
    for run in [&copy, &ls] {
        assert!(run.stderr.ends_with(&expected_tail), "{run:#?}");
        assert_eq!(run.stderr.matches(DEPRECATED).count(), 1, "{run:#?}");
        assert!(!run.stdout.contains(DEPRECATED), "{run:#?}");
    }

    // A failure shows it once too, just before the error line, which stays last.
    let missing = crane.run(&["manifest", &format!("{host}/app:nope")]);
    let stderr = missing.failed_with(3);
    assert_eq!(stderr.matches(DEPRECATED).count(), 1, "{missing:#?}");
    let warning_at = stderr.find(&expected_tail).expect("the warning line");
    let error_at = stderr.find("Error: ").expect("the error line");
    assert!(warning_at < error_at, "{missing:#?}");

    rt.block_on(server.shutdown()).expect("shutdown");
}
