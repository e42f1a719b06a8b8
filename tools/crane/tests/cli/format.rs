//! `--format TEMPLATE` on the commands that print structured data, against the
//! embedded registry seeded with ggcr's images of case f1 (`index.rs`).

use crate::index::seeded;
use crate::support::{Crane, runtime};

const AMD_MANIFEST_DIGEST: &str =
    "sha256:a4054093124ef9646d52a81a8ea86cc7e7b6086031f917f4987ea1fb1f80f02d";
const AMD_CONFIG_DIGEST: &str =
    "sha256:6ebc2c9b1afee1e2b475bfc9139233bb738df7317946da464e610f9bb8b4e0b1";

#[test]
fn format_renders_manifests_configs_tags_and_digests() {
    let rt = runtime();
    let server = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let amd = format!("{host}/golden/plat-amd64:1");

    let run = crane.run(&["manifest", "--format", "{{.MediaType}}", &amd]);
    assert_eq!(
        run.ok(),
        "application/vnd.docker.distribution.manifest.v2+json\n"
    );
    let run = crane.run(&[
        "manifest",
        &amd,
        "--format",
        "{{.SchemaVersion}} {{.Config.Digest}} {{range .Layers}}{{.Size}}{{end}}",
    ]);
    assert_eq!(run.ok(), format!("2 {AMD_CONFIG_DIGEST} 116\n"));

    let run = crane.run(&["config", "--format", "{{.Architecture}}", &amd]);
    assert_eq!(run.ok(), "amd64\n");
    let run = crane.run(&[
        "config",
        &amd,
        "--format",
        "{{.OS}} {{len .RootFS.DiffIDs}} {{.RootFS.Type}}",
    ]);
    assert_eq!(run.ok(), "linux 1 layers\n");

    let run = crane.run(&[
        "ls",
        &format!("{host}/golden/plat-amd64"),
        "--format",
        "{{.Name}}: {{join .Tags \",\"}}",
    ]);
    assert_eq!(run.ok(), format!("{host}/golden/plat-amd64: 1\n"));
    let run = crane.run(&["catalog", &host, "--format", "{{printPretty .}}"]);
    assert_eq!(run.ok(), "golden/plat-amd64\ngolden/plat-arm64\n");

    let run = crane.run(&["digest", &amd, "--format", "{{.Digest}}"]);
    assert_eq!(run.ok(), format!("{AMD_MANIFEST_DIGEST}\n"));
    let run = crane.run(&["digest", &amd, "--format", "{{.Reference}}"]);
    assert_eq!(
        run.ok(),
        format!("{host}/golden/plat-amd64@{AMD_MANIFEST_DIGEST}\n")
    );

    let run = crane.run(&["validate", "--remote", &amd, "--format", "{{.Pass}}"]);
    assert_eq!(run.ok(), "true\n");

    // jsonPretty: Go's two-space indent, keys as in the document.
    let run = crane.run(&["manifest", &amd, "--format", "{{jsonPretty .Config}}"]);
    assert_eq!(
        run.ok(),
        format!(
            "{{\n  \"digest\": \"{AMD_CONFIG_DIGEST}\",\n  \"mediaType\": \
             \"application/vnd.docker.container.image.v1+json\",\n  \"size\": 243\n}}\n"
        )
    );
}

#[test]
fn format_ranges_over_an_index() {
    let rt = runtime();
    let server = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let tag = format!("{host}/golden/index:1");
    crane
        .run(&[
            "index",
            "append",
            "-m",
            &format!("{host}/golden/plat-amd64:1"),
            "-m",
            &format!("{host}/golden/plat-arm64:1"),
            "-t",
            &tag,
        ])
        .ok();
    let each = "{{range .Manifests}}{{.Platform.Architecture}} {{end}}";
    let run = crane.run(&["manifest", &tag, "--format", each]);
    assert_eq!(run.ok(), "amd64 arm64 \n");
    let run = crane.run(&["index", "list", &tag, "--format", each]);
    assert_eq!(run.ok(), "amd64 arm64 \n");
    let run = crane.run(&[
        "index",
        "list",
        &tag,
        "--format",
        "{{range .Manifests}}{{if eq .Platform.Architecture \"arm64\"}}{{.Digest}}{{end}}{{end}}",
    ]);
    assert_eq!(
        run.ok(),
        "sha256:a3219d1df62e0e45572678c301dbf1c5dc8850a1bfef1556c4fc3e5bb3b05a80\n"
    );
}

#[test]
fn a_bad_template_fails_naming_its_position_before_any_request() {
    let crane = Crane::new();
    // Nothing listens on port 9: the template is checked before any request.
    let run = crane.run(&[
        "manifest",
        "127.0.0.1:9/a/b:1",
        "--format",
        "{{.MediaType}}\n{{range .Layers}}",
    ]);
    let stderr = run.failed_with(2);
    assert!(
        stderr.contains("template:2:3: unexpected EOF: no {{end}}"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: --format takes a Go text/template"),
        "{stderr}"
    );
    let run = crane.run(&["config", "127.0.0.1:9/a/b:1", "--format", "{{ nosuch . }}"]);
    let stderr = run.failed_with(2);
    assert!(
        stderr.contains("template:1:4: function \"nosuch\" not defined"),
        "{stderr}"
    );
}

#[test]
fn a_template_that_fails_while_running_names_its_position() {
    let rt = runtime();
    let server = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let amd = format!("{host}/golden/plat-amd64:1");
    let run = crane.run(&["manifest", &amd, "--format", "ok\n  {{index .Layers 3}}"]);
    let stderr = run.failed_with(2);
    assert!(
        stderr.contains("template:2:5: error calling index: index out of range: 3"),
        "{stderr}"
    );
}

#[test]
fn format_output_is_escaped_for_the_terminal() {
    let rt = runtime();
    let server = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let amd = format!("{host}/golden/plat-amd64:1");
    let run = crane.run(&[
        "manifest",
        &amd,
        "--format",
        "{{printf \"%v\\t%s\\x1b[2J\" .SchemaVersion .MediaType}}",
    ]);
    assert_eq!(
        run.ok(),
        "2\tapplication/vnd.docker.distribution.manifest.v2+json\\x1b[2J\n"
    );
}
