//! The commands for images on disk: pull, push and `digest --tarball`.

use std::path::Path;
use std::sync::Arc;

use ocireg_crane::{Options, PullFormat};

use super::{Outcome, stdout};
use crate::cli;
use crate::printer::Printer;
use crate::progress::Reporter;

/// The reporter's options: moving blobs shows progress.
fn with_progress(opts: &Options, printer: &Printer) -> (Options, Option<Arc<Reporter>>) {
    let reporter = crate::progress::reporter(printer);
    let opts = match &reporter {
        Some(r) => opts.clone().with_progress(r.clone()),
        None => opts.clone(),
    };
    (opts, reporter)
}

pub(super) async fn pull(
    images: &[String],
    path: &Path,
    format: cli::PullFormat,
    annotate_ref: bool,
    cache: Option<&Path>,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let format = match format {
        cli::PullFormat::Tarball => PullFormat::Tarball,
        cli::PullFormat::Legacy => PullFormat::Legacy,
        cli::PullFormat::Oci => PullFormat::Oci,
    };
    let (opts, reporter) = with_progress(opts, printer);
    let pull = async {
        ocireg_crane::pull(images, path, format, annotate_ref, cache, &opts).await?;
        Ok::<_, anyhow::Error>(Outcome::Done)
    };
    crate::progress::interruptible(reporter.as_deref(), Box::pin(pull)).await
}

pub(super) async fn push(
    path: &Path,
    image: &str,
    index: bool,
    image_refs: Option<&Path>,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let (opts, reporter) = with_progress(opts, printer);
    let push = async {
        let pushed = ocireg_crane::push(path, image, index, &opts).await?;
        if let Some(file) = image_refs {
            ocireg_crane::write_image_refs(file, &pushed)?;
        }
        stdout(Printer::line(&pushed))?;
        Ok::<_, anyhow::Error>(Outcome::Done)
    };
    crate::progress::interruptible(reporter.as_deref(), Box::pin(push)).await
}

pub(super) async fn tarball_digest(
    path: &Path,
    tag: Option<&str>,
    format: &crate::format::FormatArg,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let digest = ocireg_crane::tarball_digest(path, tag).await?;
    match &template {
        Some(t) => crate::format::print(t, &serde_json::json!({ "digest": digest }))?,
        None => stdout(Printer::line(&digest))?,
    }
    Ok(Outcome::Done)
}

pub(super) async fn layout_gc(path: &Path, printer: &Printer) -> anyhow::Result<Outcome> {
    for digest in ocireg_crane::layout_gc(path).await? {
        printer.info(&format!("garbage collecting: {digest}"));
    }
    Ok(Outcome::Done)
}
