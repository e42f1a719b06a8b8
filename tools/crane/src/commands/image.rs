//! The registry commands: copy, manifest, digest, config, blob, ls,
//! catalog, tag, delete, attach and refs.

use std::io::Write as _;
use std::path::Path;

use ocireg_crane::Options;

use super::{Outcome, stdout};
use crate::format::{self, FormatArg};
use crate::printer::Printer;

pub(super) async fn copy(
    src: &str,
    dst: &str,
    all_tags: bool,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    // Copies move blobs: they show progress, and Ctrl-C says how far they got.
    let reporter = crate::progress::reporter(printer);
    let opts = match &reporter {
        Some(r) => opts.clone().with_progress(r.clone()),
        None => opts.clone(),
    };
    let copy = async {
        if all_tags {
            let tags = ocireg_crane::copy_repository(src, dst, &opts).await?;
            printer.info(&format!("copied {} tags from {src} to {dst}", tags.len()));
        } else {
            let digest = ocireg_crane::copy(src, dst, &opts).await?;
            printer.info(&format!("copied {src} to {dst} ({digest})"));
        }
        Ok::<_, anyhow::Error>(Outcome::Done)
    };
    crate::progress::interruptible(reporter.as_deref(), Box::pin(copy)).await
}

pub(super) async fn manifest(
    reference: &str,
    format: &FormatArg,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let bytes = ocireg_crane::manifest(reference, opts).await?;
    match &template {
        Some(t) => format::print(t, &format::json(&bytes)?)?,
        None => stdout(Printer::data(bytes))?,
    }
    Ok(Outcome::Done)
}

pub(super) async fn digest(
    reference: &str,
    full_ref: bool,
    format: &FormatArg,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let Some(template) = &template else {
        let digest = ocireg_crane::digest(reference, full_ref, opts).await?;
        stdout(Printer::line(&digest))?;
        return Ok(Outcome::Done);
    };
    // The full reference is REPO@DIGEST (ocidir://DIR@DIGEST): the digest is after the last `@`.
    let pinned = ocireg_crane::digest(reference, true, opts).await?;
    let digest = pinned.rsplit('@').next().unwrap_or(&pinned);
    let data = serde_json::json!({"digest": digest, "reference": pinned});
    format::print(template, &data)?;
    Ok(Outcome::Done)
}

pub(super) async fn config(
    reference: &str,
    format: &FormatArg,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let bytes = ocireg_crane::config(reference, opts).await?;
    match &template {
        Some(t) => format::print(t, &format::json(&bytes)?)?,
        None => stdout(Printer::data(bytes))?,
    }
    Ok(Outcome::Done)
}

pub(super) async fn blob(
    reference: &str,
    output: Option<&Path>,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if let Some(path) = output {
        let size = ocireg_crane::blob_to_file(reference, path, opts).await?;
        printer.info(&format!(
            "wrote {} ({size} bytes, verified)",
            path.display()
        ));
        return Ok(Outcome::Done);
    }
    // Streamed as it arrives: on a failure crane exits non-zero and what is on stdout must
    // be discarded (said in `crane blob --help`).
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    ocireg_crane::blob(reference, &mut out, opts).await?;
    stdout(out.flush())?;
    Ok(Outcome::Done)
}

pub(super) async fn ls(
    repository: &str,
    full_ref: bool,
    omit_digest_tags: bool,
    format: &FormatArg,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let tags = ocireg_crane::list_tags(repository, full_ref, omit_digest_tags, opts).await?;
    match &template {
        Some(t) => format::print(t, &serde_json::json!({"name": repository, "tags": tags}))?,
        None => stdout(Printer::lines(tags))?,
    }
    Ok(Outcome::Done)
}

pub(super) async fn catalog(
    registry: &str,
    full_ref: bool,
    format: &FormatArg,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let repos = ocireg_crane::catalog(registry, full_ref, opts).await?;
    match &template {
        Some(t) => format::print(
            t,
            &serde_json::json!({"registry": registry, "repositories": repos}),
        )?,
        None => stdout(Printer::lines(repos))?,
    }
    Ok(Outcome::Done)
}

pub(super) async fn tag(reference: &str, tag: &str, opts: &Options) -> anyhow::Result<Outcome> {
    ocireg_crane::tag(reference, tag, opts).await?;
    Ok(Outcome::Done)
}

pub(super) async fn delete(
    reference: &str,
    tag_only: bool,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    if tag_only {
        // The Docker Hub API is used once a host's settings name it (`api: hub`).
        ocireg_crane::delete_tag(reference, opts, None).await?;
    } else {
        ocireg_crane::delete(reference, opts).await?;
    }
    Ok(Outcome::Done)
}

pub(super) async fn attach(
    file: &Path,
    media_type: &str,
    artifact_type: &str,
    image: &str,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let written = ocireg_crane::attach(file, media_type, artifact_type, image, opts).await?;
    stdout(Printer::line(&written))?;
    Ok(Outcome::Done)
}

pub(super) async fn refs(
    image: &str,
    artifact_type: Option<&str>,
    format: &FormatArg,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let template = format.template()?;
    let index = ocireg_crane::referrers(image, artifact_type, opts).await?;
    match &template {
        Some(t) => format::print(t, &format::json(index.as_ref())?)?,
        None => stdout(Printer::data(index))?,
    }
    Ok(Outcome::Done)
}
