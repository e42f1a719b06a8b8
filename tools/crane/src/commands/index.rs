//! `index list|filter|append` and `validate`.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use ocireg_crane::{AppendBase, IndexEntry, Options, Platform};

use super::{Outcome, stdout};
use crate::cli::IndexCommand;

pub(super) async fn run(command: IndexCommand, opts: &Options) -> anyhow::Result<Outcome> {
    match command {
        IndexCommand::List { reference } => {
            let entries = ocireg_crane::index_list(&reference, opts).await?;
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
    opts: &Options,
) -> anyhow::Result<Outcome> {
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
