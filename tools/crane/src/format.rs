//! `--format TEMPLATE`: the commands that print structured data run a Go
//! template over it instead (the engine is `ocireg_crane::Template`).

use std::io::Write as _;

use clap::Args;
use ocireg_crane::{Template, escape_text, is_unsafe_char};
use serde_json::Value;

use crate::commands::stdout;

/// The long help of `--format`.
const FORMAT_HELP: &str = "\
Print the output through a Go text/template instead, e.g. '{{.MediaType}}' or
'{{range .Layers}}{{.Digest}}{{\"\\n\"}}{{end}}'. Fields are named as in the OCI
specs' Go types: .SchemaVersion .MediaType .Config.Digest .Layers .Manifests
.Annotations .Subject; a config's .Architecture .OS .Config.Env .RootFS.DiffIDs
.History; ls: .Name .Tags; catalog: .Registry .Repositories; digest: .Digest
.Reference; index list: .Manifests; validate: .Image .Pass .Error; auth token:
.Token .ExpiresIn .RefreshToken; ratelimit: .Limit .Remaining .WindowSeconds
.ResetSeconds .Source .Reported; registry config: the file's keys (.hosts, or a
host's .tls .repoAuth .api). Actions: if/else/with/range/end, variables,
pipelines; functions: and or not len index slice print printf println eq ne lt
le gt ge, and regclient's default env file join json jsonPretty lower
printPretty split time.Now time.Parse upper. A newline is added unless the
output ends with one.";

/// The `--format` flag of a command.
#[derive(Debug, Args, Default)]
pub(crate) struct FormatArg {
    /// Format the output with a Go template (see --help).
    #[arg(long = "format", value_name = "TEMPLATE", long_help = FORMAT_HELP)]
    pub(crate) format: Option<String>,
}

impl FormatArg {
    /// The parsed template, when `--format` is given: parsed before any request, so a
    /// bad template fails at once (a usage error naming its line and column).
    pub(crate) fn template(&self) -> anyhow::Result<Option<Template>> {
        Ok(self.format.as_deref().map(Template::parse).transpose()?)
    }
}

/// Prints `data` through `template`, escaping what a terminal would act on
/// (tabs and newlines kept), with a final newline.
pub(crate) fn print(template: &Template, data: &Value) -> anyhow::Result<()> {
    let mut text = template.execute(data)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let mut out = std::io::stdout().lock();
    stdout(out.write_all(safe(&text).as_bytes()))?;
    stdout(out.flush())
}

/// Parses JSON bytes for a template (a manifest, a config, a referrers index).
pub(crate) fn json(bytes: &[u8]) -> anyhow::Result<Value> {
    Ok(serde_json::from_slice(bytes)?)
}

/// `text` with unsafe characters escaped, except newlines and tabs.
fn safe(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c != '\n' && c != '\t' && is_unsafe_char(c))
    {
        return text.to_owned();
    }
    text.split('\n')
        .map(|line| {
            line.split('\t')
                .map(escape_text)
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
