//! The mutate family: `append`, `mutate`, `flatten`, `export` and `rebase`.

use std::sync::Arc;

use anyhow::Context as _;
use ocireg_crane::{AppendOptions, MutateOptions, Options};

use super::{Outcome, stdout};
use crate::cli_mutate::{AppendArgs, ExportArgs, FlattenArgs, MutateArgs, RebaseArgs};
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

/// `KEY=VALUE` pairs from flags, each of which may hold several separated by
/// commas (`-l a=b,c=d`), as ggcr's `stringToString` flags.
fn pairs(
    values: &[String],
    split_commas: bool,
    what: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for value in values {
        let items: Vec<&str> = if split_commas {
            value.split(',').collect()
        } else {
            vec![value.as_str()]
        };
        for item in items {
            let (k, v) = item
                .split_once('=')
                .with_context(|| format!("parsing {what} {item:?}: expected KEY=VALUE"))?;
            out.push((k.to_owned(), v.to_owned()));
        }
    }
    Ok(out)
}

pub(super) async fn append(
    args: AppendArgs,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if args.base.is_none() {
        printer.info("base unspecified, using empty image");
    }
    let mut a = AppendOptions::default();
    a.base = args.base;
    a.layers = args.new_layer;
    a.tag = args.new_tag;
    a.output = args.output;
    a.oci_empty_base = args.oci_empty_base;
    a.zstd = args.compression == crate::cli_mutate::LayerCompression::Zstd;
    a.set_base_image_annotations = args.set_base_image_annotations;
    let (opts, reporter) = with_progress(opts, printer);
    let run = async {
        if let Some(pushed) = ocireg_crane::append(&a, &opts).await? {
            stdout(Printer::line(&pushed))?;
        }
        Ok::<_, anyhow::Error>(Outcome::Done)
    };
    crate::progress::interruptible(reporter.as_deref(), Box::pin(run)).await
}

pub(super) async fn mutate(
    args: MutateArgs,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let mut m = MutateOptions::default();
    m.annotations = pairs(&args.annotation, true, "annotation")?;
    m.labels = pairs(&args.label, true, "label")?;
    m.env = pairs(&args.env, false, "environment variable")?;
    m.entrypoint = args.entrypoint;
    m.cmd = args.cmd;
    m.user = args.user;
    m.workdir = args.workdir;
    m.exposed_ports = args.exposed_ports;
    m.append = args.append;
    m.set_platform = args.set_platform;
    m.tag = args.tag;
    m.repo = args.repo;
    m.output = args.output;
    let (opts, reporter) = with_progress(opts, printer);
    let image = args.image;
    let run = async {
        if let Some(pushed) = ocireg_crane::mutate(&image, &m, &opts).await? {
            stdout(Printer::line(&pushed))?;
        }
        Ok::<_, anyhow::Error>(Outcome::Done)
    };
    crate::progress::interruptible(reporter.as_deref(), Box::pin(run)).await
}

pub(super) async fn flatten(
    args: FlattenArgs,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let (opts, reporter) = with_progress(opts, printer);
    let run = async {
        let pushed = ocireg_crane::flatten(&args.image, args.tag.as_deref(), &opts).await?;
        stdout(Printer::line(&pushed))?;
        Ok::<_, anyhow::Error>(Outcome::Done)
    };
    crate::progress::interruptible(reporter.as_deref(), Box::pin(run)).await
}

pub(super) async fn export(args: ExportArgs, opts: &Options) -> anyhow::Result<Outcome> {
    if args.tarball == "-" {
        let mut out = std::io::stdout();
        ocireg_crane::export_to_writer(&args.image, &mut out, opts).await?;
    } else {
        ocireg_crane::export_to_file(&args.image, std::path::Path::new(&args.tarball), opts)
            .await?;
    }
    Ok(Outcome::Done)
}

pub(super) async fn rebase(
    args: RebaseArgs,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let image = args.image.or(args.original).unwrap_or_default();
    let tag = args.tag.or(args.rebased);
    let (opts, reporter) = with_progress(opts, printer);
    let run = async {
        let (pushed, no_op) = ocireg_crane::rebase(
            &image,
            args.old_base.as_deref(),
            args.new_base.as_deref(),
            tag.as_deref(),
            &opts,
        )
        .await?;
        if no_op {
            printer.warn("rebasing was no-op");
        }
        stdout(Printer::line(&pushed))?;
        Ok::<_, anyhow::Error>(Outcome::Done)
    };
    crate::progress::interruptible(reporter.as_deref(), Box::pin(run)).await
}
