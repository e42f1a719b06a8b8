//! `--format` templates (ocireg-crane): any text either fails to parse with a
//! positioned error or runs over a manifest without panicking, within its
//! step and output bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_crane::{Error, Template};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `file` and `env` read the machine, not the input.
    if text.contains("file") || text.contains("env") {
        return;
    }
    let doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:aa", "size": 2},
        "layers": [{"mediaType": "x", "digest": "sha256:bb", "size": 3, "urls": ["u"]}],
        "annotations": {"a": "b", "os.version": "1"}
    });
    let result = Template::parse(text).and_then(|t| t.execute(&doc));
    match result {
        Ok(out) => assert!(out.len() <= (64 << 20) + (1 << 20), "output bound"),
        Err(Error::Template { line, column, .. }) => {
            assert!(line >= 1 && column >= 1);
            assert!(line <= text.matches('\n').count() + 1, "line past the end");
        }
        Err(e) => panic!("not a template error: {e}"),
    }
});
