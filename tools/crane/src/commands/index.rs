//! `index list|filter|append` and `validate`.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use ocireg_crane::{AppendBase, IndexEntry, Options, Platform};

use super::{Outcome, stdout};
use crate::cli::IndexCommand;

pub(super) async fn run(command: IndexCommand, opts: &Options) -> anyhow::Result<Outcome> {
    match command {
        IndexCommand::List { reference, format } => {
            let template = format.template()?;
            let entries = ocireg_crane::index_list(&reference, opts).await?;
            if let Some(t) = template {
                let manifests = entries
                    .iter()
                    .map(|e| {
                        let mut d = serde_json::json!({
                            "mediaType": e.media_type.as_str(),
                            "digest": e.digest.to_string(),
                        });
                        if let Some(p) = &e.platform {
                            d["platform"] = serde_json::to_value(p)?;
                        }
                        Ok(d)
                    })
                    .collect::<serde_json::Result<Vec<_>>>()?;
                crate::format::print(&t, &serde_json::json!({ "manifests": manifests }))?;
                return Ok(Outcome::Done);
            }
            let mut out = std::io::stdout().lock();
            stdout(writeln!(out, "{}", IndexEntry::header()))?;
            for e in &entries {
                stdout(writeln!(out, "{}", ocireg_crane::escape_text(&e.line())))?;
            }
            stdout(out.flush())?;
        }
        IndexCommand::Filter {
            reference,
            tag,
            platforms,
        } => {
            let platforms = platforms
                .iter()
                .map(|p| {
                    p.parse::<Platform>()
                        .with_context(|| format!("parsing --platform {p:?}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let pushed =
                ocireg_crane::index_filter(&reference, &platforms, tag.as_deref(), opts).await?;
            stdout(writeln!(std::io::stdout(), "{pushed}"))?;
        }
        IndexCommand::Append {
            args,
            mut manifests,
            tag,
            docker_empty_base,
            flatten,
        } => {
            let mut args = args.into_iter();
            let base = match args.next() {
                None => AppendBase::Empty {
                    docker: docker_empty_base,
                },
                Some(b) if ocireg_crane::is_layout_path(&b) => AppendBase::Layout(b.into()),
                Some(b) => AppendBase::Index(b),
            };
            manifests.extend(args);
            if let Some(pushed) =
                ocireg_crane::index_append(&base, &manifests, tag.as_deref(), flatten, opts).await?
            {
                stdout(writeln!(std::io::stdout(), "{pushed}"))?;
            }
        }
    }
    Ok(Outcome::Done)
}

/// `validate`: prints `PASS: <what>` or `FAIL: <what>: <why>` (ggcr's lines) and fails
/// with the error in the second case.
pub(super) async fn validate(
    remote: Option<&str>,
    tarball: Option<&Path>,
    fast: bool,
    format: &crate::format::FormatArg,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let (what, result) = match (remote, tarball) {
        (_, Some(path)) => (
            path.display().to_string(),
            ocireg_crane::validate_tarball(path, fast).await,
        ),
        (Some(r), None) => (
            r.to_owned(),
            ocireg_crane::validate_remote(r, fast, opts).await,
        ),
        (None, None) => anyhow::bail!("crane validate needs --remote or --tarball"),
    };
    if let Some(t) = &template {
        let error = result
            .as_ref()
            .err()
            .map(|e| ocireg_crane::Report::new(e, false).to_string());
        let data = serde_json::json!({"image": what, "pass": result.is_ok(), "error": error});
        crate::format::print(t, &data)?;
        return match result {
            Ok(()) => Ok(Outcome::Done),
            Err(e) => Err(e.into()),
        };
    }
    let what = ocireg_crane::escape_text(&what);
    match result {
        Ok(()) => {
            stdout(writeln!(std::io::stdout(), "PASS: {what}"))?;
            Ok(Outcome::Done)
        }
        Err(e) => {
            let why = ocireg_crane::Report::new(&e, false).to_string();
            stdout(writeln!(std::io::stdout(), "FAIL: {what}: {why}"))?;
            Err(e.into())
        }
    }
}
