use serde_json::{Value, json};

use super::{Template, go_field_name};
use crate::Error;

fn manifest() -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:aaaa",
            "size": 1234
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:l1", "size": 10},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:l2", "size": 20}
        ],
        "annotations": {"org.opencontainers.image.source": "https://x.example/<src>", "b": ""}
    })
}

fn config() -> Value {
    json!({
        "architecture": "arm64",
        "os": "linux",
        "os.version": "10.0",
        "created": "2024-03-04T05:06:07Z",
        "config": {"Env": ["PATH=/bin", "A=b"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:d1", "sha256:d2"]},
        "history": [{"created_by": "ADD x", "empty_layer": true}]
    })
}

fn index() -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "m", "digest": "sha256:a", "size": 1, "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "m", "digest": "sha256:b", "size": 2, "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}
        ]
    })
}

fn run(template: &str, data: &Value) -> String {
    Template::parse(template)
        .and_then(|t| t.execute(data))
        .unwrap_or_else(|e| panic!("{template:?}: {e}"))
}

fn fails(template: &str, data: &Value) -> (usize, usize, String) {
    match Template::parse(template).and_then(|t| t.execute(data)) {
        Err(Error::Template {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("{template:?}: expected a template error, got {other:?}"),
    }
}

#[test]
fn fields_use_go_names() {
    let m = manifest();
    let c = config();
    let cases: &[(&str, &Value, &str)] = &[
        (
            "{{.MediaType}}",
            &m,
            "application/vnd.oci.image.manifest.v1+json",
        ),
        ("{{.SchemaVersion}}", &m, "2"),
        (
            "{{.Config.Digest}} {{.Config.Size}}",
            &m,
            "sha256:aaaa 1234",
        ),
        ("{{len .Layers}}", &m, "2"),
        ("{{(index .Layers 1).Digest}}", &m, "sha256:l2"),
        (
            "{{index .Annotations \"org.opencontainers.image.source\"}}",
            &m,
            "https://x.example/<src>",
        ),
        ("{{.Missing}}", &m, "<no value>"),
        (
            "{{.Architecture}}/{{.OS}} {{.OSVersion}}",
            &c,
            "arm64/linux 10.0",
        ),
        ("{{.Config.Env}}", &c, "[PATH=/bin A=b]"),
        (
            "{{index .RootFS.DiffIDs 0}} {{.RootFS.Type}}",
            &c,
            "sha256:d1 layers",
        ),
        (
            "{{range .History}}{{.CreatedBy}} {{.EmptyLayer}}{{end}}",
            &c,
            "ADD x true",
        ),
        (
            "{{.mediaType}}",
            &m,
            "application/vnd.oci.image.manifest.v1+json",
        ),
        ("{{.}}", &json!("x"), "x"),
        ("{{$.Config.Size}}", &m, "1234"),
        (
            "{{.Config}}",
            &json!({"Config": {"b": 1, "a": [true, null]}}),
            "map[a:[true <nil>] b:1]",
        ),
    ];
    for (t, d, want) in cases {
        assert_eq!(run(t, d), *want, "{t}");
    }
}

#[test]
fn go_field_names() {
    for (key, go) in [
        ("mediaType", "MediaType"),
        ("schemaVersion", "SchemaVersion"),
        ("artifactType", "ArtifactType"),
        ("urls", "URLs"),
        ("os", "OS"),
        ("os.version", "OSVersion"),
        ("os.features", "OSFeatures"),
        ("rootfs", "RootFS"),
        ("diff_ids", "DiffIDs"),
        ("created_by", "CreatedBy"),
        ("empty_layer", "EmptyLayer"),
        ("docker_version", "DockerVersion"),
        ("container_config", "ContainerConfig"),
        ("Env", "Env"),
        ("WorkingDir", "WorkingDir"),
        ("expires_in", "ExpiresIn"),
    ] {
        assert_eq!(go_field_name(key), go, "{key}");
    }
}

#[test]
fn control_structures() {
    let m = manifest();
    let i = index();
    let cases: &[(&str, &Value, &str)] = &[
        (
            "{{range .Manifests}}{{.Platform.Architecture}} {{end}}",
            &i,
            "amd64 arm64 ",
        ),
        (
            "{{range $i, $m := .Manifests}}{{$i}}={{$m.Digest}};{{end}}",
            &i,
            "0=sha256:a;1=sha256:b;",
        ),
        ("{{range $m := .Manifests}}{{$m.Size}}{{end}}", &i, "12"),
        ("{{range .Nothing}}x{{else}}empty{{end}}", &i, "empty"),
        (
            "{{range $k, $v := .Annotations}}{{$k}}={{$v}},{{end}}",
            &m,
            "b=,org.opencontainers.image.source=https://x.example/<src>,",
        ),
        ("{{range 3}}{{.}}{{end}}", &m, "012"),
        ("{{if .Layers}}yes{{else}}no{{end}}", &m, "yes"),
        ("{{if .Subject}}yes{{else}}no{{end}}", &m, "no"),
        (
            "{{if eq .SchemaVersion 1}}one{{else if eq .SchemaVersion 2}}two{{else}}other{{end}}",
            &m,
            "two",
        ),
        ("{{with .Config}}{{.Digest}}{{end}}", &m, "sha256:aaaa"),
        (
            "{{with .Subject}}{{.Digest}}{{else}}none{{end}}",
            &m,
            "none",
        ),
        ("{{with $c := .Config}}{{$c.Size}}{{end}}", &m, "1234"),
        (
            "{{if .Subject}}a{{else with .Config}}{{.Size}}{{end}}",
            &m,
            "1234",
        ),
        ("{{$n := len .Layers}}{{$n}}", &m, "2"),
        ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", &m, "2"),
        ("a  {{- /* comment */ -}}  b", &m, "ab"),
        ("{{- .SchemaVersion }}\n{{- \"x\" -}}\n", &m, "2x"),
        (
            "{{range .Layers}}{{.Digest}}{{\"\\n\"}}{{end}}",
            &m,
            "sha256:l1\nsha256:l2\n",
        ),
        ("{{ .Config.Digest | printf \"%s!\" }}", &m, "sha256:aaaa!"),
        ("{{ (len .Layers) | printf \"%03d\" }}", &m, "002"),
        (
            "{{ and 1 0 }} {{ or 0 \"x\" }} {{ not .Layers }}",
            &m,
            "0 x false",
        ),
        (
            "{{ if and (gt .Config.Size 1000) (lt .SchemaVersion 3) }}ok{{end}}",
            &m,
            "ok",
        ),
        (
            "{{ ne .MediaType \"x\" }} {{ le 2 2 }} {{ ge 1 2 }} {{ eq \"a\" \"b\" \"a\" }}",
            &m,
            "true true false true",
        ),
        (
            "{{ slice \"abcdef\" 1 3 }} {{ slice .Layers 1 | len }}",
            &m,
            "bc 1",
        ),
        (
            "{{ print 1 2 \"a\" \"b\" }}|{{ println 1 \"a\" }}",
            &m,
            "1 2ab|1 a\n",
        ),
    ];
    for (t, d, want) in cases {
        assert_eq!(run(t, d), *want, "{t}");
    }
}

#[test]
fn regclient_functions() {
    // SAFETY-free: a variable only this test sets.
    let var = "OCIREG_TEMPLATE_TEST_VAR";
    let file = tempfile::NamedTempFile::new().expect("temp file");
    #[expect(clippy::disallowed_methods, reason = "test set-up")]
    std::fs::write(file.path(), "  hello file \n").expect("write temp file");
    let path = file.path().display().to_string();
    let m = manifest();
    let tags = json!({"name": "r.example/a", "tags": ["v1", "v2"]});
    let empty = json!({"Empty": {"a": [], "b": {}}});
    let cases: Vec<(String, &Value, String)> = vec![
        (format!("{{{{ env \"{var}\" | default \"undefined\" }}}}"), &m, "undefined".into()),
        (format!("[{{{{ env \"{var}\" }}}}]"), &m, "[]".into()),
        ("{{ .Subject | default \"none\" }} {{ .SchemaVersion | default 7 }}".into(), &m, "none 2".into()),
        (format!("{{{{ file \"{path}\" }}}}"), &m, "hello file".into()),
        ("{{ join .Tags \", \" }}".into(), &tags, "v1, v2".into()),
        ("{{ range split \"a:b:c\" \":\" }}<{{.}}>{{end}}".into(), &m, "<a><b><c>".into()),
        ("{{ json .Config }}".into(), &m, r#"{"digest":"sha256:aaaa","mediaType":"application/vnd.oci.image.config.v1+json","size":1234}"#.into()),
        ("{{ json .Annotations }}".into(), &m, r#"{"b":"","org.opencontainers.image.source":"https://x.example/\u003csrc\u003e"}"#.into()),
        ("{{ jsonPretty .Tags }}".into(), &tags, "[\n  \"v1\",\n  \"v2\"\n]".into()),
        ("{{ jsonPretty .Config }}".into(), &m, "{\n  \"digest\": \"sha256:aaaa\",\n  \"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n  \"size\": 1234\n}".into()),
        ("{{ jsonPretty .Empty }}".into(), &empty, "{\n  \"a\": [],\n  \"b\": {}\n}".into()),
        ("{{ lower \"AbC\" }} {{ upper .Config.Digest }}".into(), &m, "abc SHA256:AAAA".into()),
        ("{{ printPretty . }}".into(), &tags, "v1\nv2\n".into()),
        ("{{ printPretty .Config }}".into(), &m, "{\n  \"digest\": \"sha256:aaaa\",\n  \"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n  \"size\": 1234\n}".into()),
        ("{{ $t := time.Parse \"2006-01-02\" \"2020-06-07\" }}{{printf \"%d%d%d\" $t.Year $t.Month $t.Day}}".into(), &m, "202067".into()),
        ("{{ (time.Parse \"2006-01-02T15:04:05Z07:00\" \"2024-03-04T05:06:07+02:00\").Unix }}".into(), &m, "1709521567".into()),
        ("{{ $t := time.Parse \"2006-01-02T15:04:05Z07:00\" \"2024-03-04T05:06:07Z\" }}{{ $t.Format \"Mon Jan _2 15:04:05 2006\" }}".into(), &m, "Mon Mar  4 05:06:07 2024".into()),
        ("{{ time.Parse \"2006-01-02\" \"2020-06-07\" }}".into(), &m, "2020-06-07 00:00:00 +0000 UTC".into()),
        ("{{ if gt (time.Now).Year 2020 }}later{{end}}".into(), &m, "later".into()),
        ("{{ $t := time.Now }}{{ if ge $t.Unix 1700000000 }}ok{{end}}".into(), &m, "ok".into()),
    ];
    for (t, d, want) in &cases {
        assert_eq!(run(t, d), *want, "{t}");
    }
    let index = index();
    let pretty = run("{{ printPretty . }}", &index);
    assert!(
        pretty.contains("MediaType:  application/vnd.oci.image.index.v1+json\nManifests:\n"),
        "{pretty}"
    );
    assert!(pretty.contains("Platform:   linux/arm64/v8"), "{pretty}");
}

#[test]
fn printf_verbs() {
    let d = json!({"n": 42, "s": "str", "f": 1.5, "b": true});
    let cases: &[(&str, &str)] = &[
        (
            "{{printf \"%v|%s|%d|%q\" .n .s .n .s}}",
            "42|str|42|\"str\"",
        ),
        (
            "{{printf \"%5d|%-5d|%05d|%x|%X\" .n .n .n .n .n}}",
            "   42|42   |00042|2a|2A",
        ),
        (
            "{{printf \"%.2f|%t|%5s|%-5s|%.2s\" .f .b .s .s .s}}",
            "1.50|true|  str|str  |st",
        ),
        ("{{printf \"%d%%\" .n}}", "42%"),
        ("{{printf \"%d %d\" .n}}", "42 %!d(MISSING)"),
        ("{{printf \"%d\" .n .n}}", "42%!(EXTRA number=42)"),
        // Found by the fuzzer: a width that overflows, and one that would allocate a lot.
        (
            "{{printf \"%88888888888888888888888d|%2000000d\" 1 2}}",
            "%!(BADWIDTH)1|%!(BADWIDTH)2",
        ),
        ("{{printf \"%.2000000f\" .f}}", "%!(BADPREC)1.500000"),
    ];
    for (t, want) in cases {
        assert_eq!(run(t, &d), *want, "{t}");
    }
}

#[test]
fn errors_name_the_position() {
    let m = manifest();
    let cases: &[(&str, usize, usize, &str)] = &[
        ("{{.MediaType", 1, 1, "unclosed action"),
        (
            "ok {{ nosuch .X }}",
            1,
            7,
            "function \"nosuch\" not defined",
        ),
        ("line1\n  {{if .X}}", 2, 5, "unexpected EOF"),
        ("{{end}}", 1, 3, "unexpected {{end}}"),
        ("{{ .A ) }}", 1, 7, "unexpected \")\""),
        ("{{ \"abc }}", 1, 4, "unterminated quoted string"),
        ("{{ len .Layers .Config }}", 1, 4, "wrong number of args"),
        ("a\nb {{ index .Layers 5 }}", 2, 6, "index out of range: 5"),
        (
            "{{ .MediaType.Foo }}",
            1,
            4,
            "can't evaluate field Foo in type string",
        ),
        ("{{ $x }}", 1, 4, "undefined variable: $x"),
        (
            "{{ range .MediaType }}{{end}}",
            1,
            10,
            "range can't iterate over",
        ),
        (
            "{{ file \"/nonexistent/ocireg\" }}",
            1,
            4,
            "/nonexistent/ocireg",
        ),
        ("{{ time.Parse \"2006\" \"x\" }}", 1, 4, "parsing time"),
        ("{{ define \"x\" }}{{end}}", 1, 4, "not supported"),
        ("{{ upper 1 }}", 1, 4, "expected string"),
        ("{{ .MediaType 1 }}", 1, 4, "can't give argument"),
    ];
    for (t, line, column, message) in cases {
        let (l, c, m) = fails(t, &m);
        assert_eq!((l, c), (*line, *column), "{t}: {m}");
        assert!(m.contains(message), "{t}: {m:?} lacks {message:?}");
    }
    let err = Template::parse("x\n {{ .A | }}").expect_err("an empty command");
    assert_eq!(err.to_string(), "template:2:8: missing value for command");
}

#[test]
fn runaway_templates_stop() {
    let big = json!({"L": (0..300).collect::<Vec<_>>()});
    let (_, _, m) = fails(
        "{{range .L}}{{range $.L}}{{range $.L}}{{end}}{{end}}{{end}}",
        &big,
    );
    assert!(m.contains("steps"), "{m}");
    let (_, _, m) = fails("{{range 1000000000000}}{{end}}", &big);
    assert!(m.contains("steps"), "{m}");
    let deep = "{{if 1}}".repeat(200);
    let (_, _, m) = fails(&deep, &big);
    assert!(m.contains("nested too deeply"), "{m}");
}
