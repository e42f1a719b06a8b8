//! `validate` (ggcr's `crane validate`): checks that an image or index in a registry, in
//! an OCI image layout (`ocidir://`) or in a `docker save` tarball is well formed, with
//! [`ocireg_v1::validate`].

use std::path::Path;

use ocireg_v1::validate;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::setup::{Doing, remote_err, remote_options};

/// What failed a validation: the problems [`ocireg_v1::validate`] found, or the error
/// that kept the image from being read at all (an [`Error`] of its own kind).
fn invalid(what: String) -> impl FnOnce(ocireg_v1::Error) -> Error {
    move |source| Error::Invalid {
        what,
        source: Box::new(source),
    }
}

fn options(fast: bool) -> validate::Options {
    if fast {
        validate::Options::fast()
    } else {
        validate::Options::default()
    }
}

/// Validates the image or index `reference` (a registry reference or `ocidir://`): a
/// whole index, or with a platform that platform's image. `fast` skips downloading and
/// hashing layers (ggcr's `--fast`).
pub async fn validate_remote(reference: &str, fast: bool, opts: &Options) -> Result<()> {
    let opts_v = options(fast);
    if crate::ocidir::is_ocidir(reference) {
        let r = crate::ocidir::parse(reference)?;
        let layout = r.open().await?;
        let desc = r.descriptor(&layout).await?;
        let err = |doing| crate::local::layout_err(doing, &r.path);
        return if desc.media_type.is_index() {
            let idx = layout
                .index_from(&desc)
                .await
                .map_err(err("reading an index of the image layout"))?;
            validate::index(&*idx, opts_v)
                .await
                .map_err(invalid(reference.to_owned()))
        } else {
            let img = layout
                .image_from(&desc)
                .await
                .map_err(err("reading an image of the image layout"))?;
            validate::image(&*img, opts_v)
                .await
                .map_err(invalid(reference.to_owned()))
        };
    }
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("fetching", &r);
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    if desc.is_index() && opts.platform().is_none() {
        let idx = desc.image_index().map_err(remote_err(doing))?;
        validate::index(&*idx, opts_v)
            .await
            .map_err(invalid(reference.to_owned()))
    } else {
        let img = match opts.platform() {
            Some(p) if desc.is_index() => desc.image_for_platform(p).await,
            _ => desc.image().await,
        }
        .map_err(remote_err(doing))?;
        validate::image(&*img, opts_v)
            .await
            .map_err(invalid(reference.to_owned()))
    }
}

/// Validates the image in the `docker save` tarball at `path` (its only image).
pub async fn validate_tarball(path: &Path, fast: bool) -> Result<()> {
    let img = ocireg_tarball::image_from_path(path, None)
        .await
        .map_err(|source| Error::Tarball {
            doing: "reading the tarball",
            path: path.to_owned(),
            source: Box::new(source),
        })?;
    validate::image(&*img, options(fast))
        .await
        .map_err(invalid(path.display().to_string()))
}
