//! One function per command: flags into [`Options`], one library call, output.

use anyhow::Context as _;
use ocireg_crane::Options;

use crate::cli::{Command, Global};
use crate::printer::Printer;

mod auth;
mod edit;
mod image;
mod index;
mod local;
mod misc;
mod mutate;
mod ratelimit;
mod registry;

/// How a command that did not fail ends.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0.
    Done,
    /// Exit with this code without an error message (the credential-helper
    /// protocol's "not found").
    Exit(u8),
}

/// The options every command shares, from the global flags (progress is set by the
/// commands that move blobs).
pub(crate) fn options(global: &Global) -> ocireg_crane::Result<Options> {
    let platform = match global.platform.as_slice() {
        [] => "all",
        [one] => one.as_str(),
        [..] => {
            return Err(ocireg_crane::Error::InvalidArgument {
                doing: format!("reading --platform {}", global.platform.join(",")),
                reason: "only `crane index filter` takes several platforms; give one",
            });
        }
    };
    let opts = Options::new()
        .with_insecure(global.insecure)
        .with_platform_str(platform)?
        .with_jobs(global.jobs)
        .with_allow_nondistributable(global.allow_nondistributable_artifacts)
        .with_verbose(global.verbose)
        .with_user_agent_suffix(ocireg_crane::user_agent_suffix())
        .with_registry_settings_from_environment();
    Ok(opts)
}

/// Moves the global `--platform` values into `index filter`, the one command that keeps
/// several (as ggcr's own `--platform` flag of that command does).
pub(crate) fn take_filter_platforms(command: &mut Command, global: &mut Global) {
    if let Command::Index(crate::cli::IndexCommand::Filter { platforms, .. }) = command {
        *platforms = std::mem::take(&mut global.platform)
            .into_iter()
            .filter(|p| p != "all")
            .collect();
    }
}

/// Runs one command.
pub(crate) async fn run(
    command: Command,
    opts: Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    match command {
        Command::Copy {
            src,
            dst,
            all_tags,
            no_clobber,
            referrers,
        } => {
            let opts = opts.with_no_clobber(no_clobber).with_referrers(referrers);
            image::copy(&src, &dst, all_tags, &opts, printer).await
        }
        Command::Manifest { image, format } => image::manifest(&image, &format, &opts).await,
        Command::Digest {
            image,
            full_ref,
            tarball,
            tag,
            format,
        } => match (image, tarball) {
            (_, Some(path)) => local::tarball_digest(&path, tag.as_deref(), &format).await,
            (Some(image), None) => image::digest(&image, full_ref, &format, &opts).await,
            (None, None) => anyhow::bail!("crane digest needs an image or --tarball"),
        },
        Command::Pull {
            mut args,
            format,
            annotate_ref,
            cache_path,
        } => {
            let path = args.pop().unwrap_or_default();
            local::pull(
                &args,
                std::path::Path::new(&path),
                format,
                annotate_ref,
                cache_path.as_deref(),
                &opts,
                printer,
            )
            .await
        }
        Command::Push {
            path,
            image,
            index,
            image_refs,
        } => local::push(&path, &image, index, image_refs.as_deref(), &opts, printer).await,
        Command::Config { image, format } => image::config(&image, &format, &opts).await,
        Command::Blob { blob, output } => {
            image::blob(&blob, output.as_deref(), &opts, printer).await
        }
        Command::Ls {
            repo,
            full_ref,
            omit_digest_tags,
            format,
        } => image::ls(&repo, full_ref, omit_digest_tags, &format, &opts).await,
        Command::Catalog {
            registry,
            full_ref,
            format,
        } => image::catalog(&registry, full_ref, &format, &opts).await,
        Command::Tag { image, tag } => image::tag(&image, &tag, &opts).await,
        Command::Delete { image, tag_only } => image::delete(&image, tag_only, &opts).await,
        Command::Ratelimit { image, format } => ratelimit::ratelimit(&image, &format, &opts).await,
        Command::Attach {
            file,
            media_type,
            artifact_type,
            image,
        } => image::attach(&file, &media_type, &artifact_type, &image, &opts).await,
        Command::Refs {
            image,
            artifact_type,
            format,
        } => image::refs(&image, artifact_type.as_deref(), &format, &opts).await,
        Command::Auth(command) => auth::run(command, &opts, printer).await,
        Command::Registry(command) => registry::run(command, &opts, printer).await,
        Command::Layout(crate::cli::LayoutCommand::Gc { path }) => {
            local::layout_gc(&path, printer).await
        }
        Command::Append(args) => mutate::append(args, &opts, printer).await,
        Command::Mutate(args) => mutate::mutate(*args, &opts, printer).await,
        Command::Flatten(args) => mutate::flatten(args, &opts, printer).await,
        Command::Export(args) => mutate::export(args, &opts).await,
        Command::Rebase(args) => mutate::rebase(args, &opts, printer).await,
        Command::Index(command) => index::run(command, &opts).await,
        Command::Edit(command) => edit::run(command, &opts).await,
        Command::Validate {
            remote,
            tarball,
            fast,
            format,
        } => index::validate(remote.as_deref(), tarball.as_deref(), fast, &format, &opts).await,
        Command::Version => misc::version(),
        Command::Completion { shell } => misc::completion(shell),
    }
}

/// Context for a failed write of data to stdout.
pub(crate) fn stdout<T>(result: std::io::Result<T>) -> anyhow::Result<T> {
    result.context("writing to stdout")
}
