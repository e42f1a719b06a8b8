//! `--format` templates: Go `text/template` over JSON documents, with
//! regclient's functions.
//!
//! The language: text and `{{actions}}`; fields (`.MediaType`,
//! `.Config.Digest`), variables (`$x := .Layers`, `$`), pipelines
//! (`{{.Tags | join ","}}` passes the value as the last argument),
//! parentheses, `{{if}}`, `{{else if}}`, `{{with}}`, `{{range}}` (with
//! `$i, $e :=`), `{{else}}`, `{{end}}`, `{{/* comments */}}` and `{{-`/`-}}`
//! trimming. Go's functions: `and`, `or`, `not`, `len`, `index`, `slice`,
//! `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`,
//! `urlquery`; regclient's: `default`, `env`, `file`, `join`, `json`,
//! `jsonPretty`, `lower`, `printPretty`, `split`, `time.Now`, `time.Parse`,
//! `upper`. Not supported: `define`, `template`, `block`, `break`,
//! `continue`.
//!
//! The data is a JSON document whose keys are looked up by their Go struct
//! field names ([`go_field_name`]): `.MediaType` finds `mediaType`,
//! `.RootFS.DiffIDs` finds `rootfs.diff_ids`, as the OCI specs' Go types name
//! them; a key is also found by its exact name (`.Config.Env`, an annotation
//! through `index .Annotations "org.opencontainers.image.source"`).
//!
//! ```
//! let t = ocireg_crane::Template::parse(r#"{{.MediaType}} {{len .Layers}}"#)?;
//! let doc = serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": [{}, {}]});
//! assert_eq!(t.execute(&doc)?, "application/vnd.oci.image.manifest.v1+json 2");
//! # Ok::<(), ocireg_crane::Error>(())
//! ```

mod eval;
mod lex;
mod parse;
mod time;

use serde_json::Value;

use crate::{Error, Result};

/// A parsed `--format` template.
#[derive(Clone, Debug)]
pub struct Template {
    nodes: Vec<parse::Node>,
    source: String,
}

impl Template {
    /// Parses `source`; the error names the line and column of the problem.
    ///
    /// # Errors
    ///
    /// [`Error::Template`] when the text is not a valid template.
    pub fn parse(source: &str) -> Result<Self> {
        let nodes = parse::Parser::new(source)
            .parse()
            .map_err(|e| e.into_error(source))?;
        eval::check(&nodes).map_err(|e| e.into_error(source))?;
        Ok(Self {
            nodes,
            source: source.to_owned(),
        })
    }

    /// Runs the template over `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Template`] naming the position of the action that failed (a
    /// function given the wrong arguments, a file that cannot be read).
    pub fn execute(&self, data: &Value) -> Result<String> {
        let mut out = String::new();
        eval::execute(&self.nodes, data, &mut out).map_err(|e| e.into_error(&self.source))?;
        Ok(out)
    }
}

/// An error at a byte offset of the template.
#[derive(Debug)]
pub(crate) struct TemplateError {
    at: usize,
    message: String,
}

impl TemplateError {
    pub(crate) fn new(at: usize, message: impl Into<String>) -> Self {
        Self {
            at,
            message: message.into(),
        }
    }

    fn into_error(self, source: &str) -> Error {
        let at = self.at.min(source.len());
        let before = source.get(..at).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Error::Template {
            line,
            column,
            message: self.message,
        }
    }
}

/// JSON keys whose Go field name is not the key with its first letter upper-cased.
///
/// From the Go types of the OCI image spec (`v1.Descriptor`, `v1.Platform`,
/// `v1.Manifest`, `v1.Index`, `v1.Image`, `v1.RootFS`, `v1.History`), ggcr's
/// `v1.ConfigFile` and Docker's image config, and the token response.
const GO_NAMES: &[(&str, &str)] = &[
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
    ("access_token", "AccessToken"),
    ("refresh_token", "RefreshToken"),
    ("expires_in", "ExpiresIn"),
    ("issued_at", "IssuedAt"),
    ("id", "ID"),
    ("parent", "Parent"),
];

/// The Go struct field name of a JSON key: a table for the irregular
/// ones, else `snake_case` and `camelCase` become `CamelCase`
/// (`mediaType` → `MediaType`, `schemaVersion` → `SchemaVersion`); keys
/// already capitalised (the container config's `Env`, `Cmd`) stay.
///
/// ```
/// assert_eq!(ocireg_crane::go_field_name("mediaType"), "MediaType");
/// assert_eq!(ocireg_crane::go_field_name("diff_ids"), "DiffIDs");
/// assert_eq!(ocireg_crane::go_field_name("Env"), "Env");
/// ```
#[must_use]
pub fn go_field_name(key: &str) -> String {
    if let Some((_, go)) = GO_NAMES.iter().find(|(k, _)| *k == key) {
        return (*go).to_owned();
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = true;
    for c in key.chars() {
        if c == '_' || c == '.' || c == '-' {
            upper = true;
            continue;
        }
        if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
