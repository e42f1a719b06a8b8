//! Reading from registries: `manifest`, `digest`, `config`, `blob` (to a writer or a
//! verified file), `ls`, `catalog` and `refs`.

use std::io::Write;
use std::path::Path;

use futures_util::StreamExt as _;
use ocireg_name::{DigestReference, Reference};
use ocireg_v1::MediaType;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::setup::{Doing, remote_err, remote_options, view_err};
use crate::text::escape_json;

/// The manifest of `reference`, exactly as the registry sent it (crane's
/// `manifest`); with a platform, the manifest of that image in an index.
pub async fn manifest(reference: &str, opts: &Options) -> Result<Vec<u8>> {
    if crate::ocidir::is_ocidir(reference) {
        return crate::ocidir::manifest(&crate::ocidir::parse(reference)?).await;
    }
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("fetching the manifest of", &r);
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    if desc.is_index()
        && let Some(p) = opts.platform()
    {
        let image = desc
            .image_for_platform(p)
            .await
            .map_err(remote_err(doing.clone()))?;
        let bytes = image.raw_manifest().await.map_err(view_err(doing))?;
        return Ok(bytes.to_vec());
    }
    Ok(desc.raw_manifest().to_vec())
}

/// The digest of `reference`'s manifest (of the platform's image with a
/// platform), as `sha256:...` or, with `full_ref`, as `repo@sha256:...`
/// (crane's `digest`). Asks with `HEAD` and falls back to `GET` (for registries
/// that answer `HEAD` badly), except after a not-found or a transient failure.
pub async fn digest(reference: &str, full_ref: bool, opts: &Options) -> Result<String> {
    if crate::ocidir::is_ocidir(reference) {
        return crate::ocidir::digest(&crate::ocidir::parse(reference)?, full_ref).await;
    }
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("getting the digest of", &r);
    let digest = if opts.platform().is_none() {
        match ocireg_remote::head(&r, &remote).await {
            Ok(d) => d.digest,
            // A transient failure (an unreachable registry) was retried already: a GET
            // would only go through the same retries again.
            Err(e) if e.is_not_found() || e.is_transient() => return Err(doing.remote(e)),
            Err(_) => ocireg_remote::get(&r, &remote)
                .await
                .map_err(remote_err(doing))?
                .digest(),
        }
    } else {
        let desc = ocireg_remote::get(&r, &remote)
            .await
            .map_err(remote_err(doing.clone()))?;
        match (desc.is_index(), opts.platform()) {
            (true, Some(p)) => desc
                .image_for_platform(p)
                .await
                .map_err(remote_err(doing.clone()))?
                .digest()
                .await
                .map_err(view_err(doing))?,
            _ => desc.digest(),
        }
    };
    Ok(if full_ref {
        format!("{}@{digest}", r.repository().name())
    } else {
        digest.to_string()
    })
}

/// The config blob of the image `reference`, bytes as stored (crane's
/// `config`); an index resolves to the platform's image.
pub async fn config(reference: &str, opts: &Options) -> Result<Vec<u8>> {
    if crate::ocidir::is_ocidir(reference) {
        return crate::ocidir::config(&crate::ocidir::parse(reference)?).await;
    }
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("fetching the config of", &r);
    let image = ocireg_remote::image(&r, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    let bytes = image.raw_config_file().await.map_err(view_err(doing))?;
    Ok(bytes.to_vec())
}

/// The largest blob [`blob`] and [`blob_to_file`] read (1 TiB): a registry that announces
/// more is refused, since the announced size is what bounds the read.
pub const MAX_BLOB_SIZE: u64 = 1 << 40;

/// `reference` as a blob reference (`REPO@DIGEST`).
fn blob_reference(reference: &str, opts: &Options) -> Result<DigestReference> {
    match opts.parse_reference(reference)? {
        Reference::Digest(d) => Ok(d),
        Reference::Tag(_) => Err(Error::InvalidArgument {
            doing: format!("reading blob {reference}"),
            reason: "a blob is named by digest: REPO@sha256:...",
        }),
    }
}

/// Asks the registry for the size of the blob `d` (refusing an absurd one or a
/// `Docker-Content-Digest` that names another blob), then opens it bounded by that size.
async fn open_blob(d: &DigestReference, opts: &Options) -> Result<(Doing, ocireg_v1::Blob)> {
    let doing = Doing::on("reading blob", d);
    let remote = remote_options(opts, None).await?;
    let desc = ocireg_remote::head_blob(d, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    if desc.size > MAX_BLOB_SIZE {
        return Err(Error::BlobTooLarge {
            reference: d.to_string(),
            size: desc.size,
            limit: MAX_BLOB_SIZE,
        });
    }
    let blob = ocireg_remote::fetch_blob(d, desc.size, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    Ok((doing, blob))
}

/// Opens the blob `reference`: `REPO@DIGEST` in a registry, or `ocidir://DIR@DIGEST` in an
/// image layout (the file verified as it is read).
async fn open_any_blob(reference: &str, opts: &Options) -> Result<(Doing, ocireg_v1::Blob)> {
    if crate::ocidir::is_ocidir(reference) {
        let r = crate::ocidir::parse(reference)?;
        let blob = crate::ocidir::blob(&r).await?;
        return Ok((Doing::on("reading blob", &r), blob));
    }
    let r = blob_reference(reference, opts)?;
    open_blob(&r, opts).await
}

/// Passes each chunk of `blob` to `write` as it arrives; the byte count at the clean end.
async fn stream_blob(
    doing: &Doing,
    mut blob: ocireg_v1::Blob,
    mut write: impl FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let mut written = 0u64;
    while let Some(chunk) = blob.next().await {
        let chunk = chunk.map_err(|e| doing.clone().view(ocireg_v1::Error::from_io(e)))?;
        write(&chunk)?;
        written += chunk.len() as u64;
    }
    Ok(written)
}

/// Streams the blob `reference` (`REPO@DIGEST`, or `ocidir://DIR@DIGEST` for a blob of an
/// OCI image layout on disk) into `out` as it arrives (crane's `blob`). Returns the byte
/// count.
///
/// The registry is asked for the blob's size first (`HEAD`); a size over
/// [`MAX_BLOB_SIZE`] or a `Docker-Content-Digest` naming another blob is refused before a
/// byte is read. The read is bounded by that size: a body that goes on past it fails when
/// byte `size + 1` arrives (that byte is not written), one that ends short or has the wrong
/// digest fails at its end (the chunk that would complete wrong content is not written).
/// The bytes written to `out` before such a failure are not the blob: whoever reads `out`
/// must discard them when this returns an error. [`blob_to_file`] gives a file only once it
/// is verified.
pub async fn blob(reference: &str, out: &mut (dyn Write + Send), opts: &Options) -> Result<u64> {
    let (doing, stream) = open_any_blob(reference, opts).await?;
    stream_blob(&doing, stream, |chunk| {
        out.write_all(chunk).map_err(|source| Error::Io {
            doing: "writing the blob to stdout".to_owned(),
            source,
        })
    })
    .await
}

/// Writes the blob `reference` (`REPO@DIGEST`) to the file `path`, verified (crane's
/// `blob -o`). Returns the byte count.
///
/// The blob is read as by [`blob`] into a temporary file beside `path` (same directory, so
/// the rename cannot cross file systems); only when its size and digest are right is the
/// temporary file synced to disk and renamed over `path`, and the directory synced. On any
/// failure before the rename the temporary file is removed and `path` is left as it was:
/// absent, or the file that was there before. (Should syncing the directory fail after the
/// rename, the error is returned and the verified file stays.) Errors about the file name
/// `path`.
pub async fn blob_to_file(reference: &str, path: &Path, opts: &Options) -> Result<u64> {
    if !crate::ocidir::is_ocidir(reference) {
        blob_reference(reference, opts)?;
    }
    let file_err = |action: &'static str| {
        let path = path.to_owned();
        move |source| Error::File {
            action,
            path,
            source,
        }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let prefix = format!(
        ".{}.",
        path.file_name()
            .map_or_else(|| "blob".into(), |n| n.to_string_lossy())
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // As an ordinary new file: the umask decides, not tempfile's private 0600.
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // The temporary file is removed when `tmp` is dropped, on every early return.
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(file_err("creating a temporary file beside"))?;
    let (doing, stream) = open_any_blob(reference, opts).await?;
    let written = stream_blob(&doing, stream, |chunk| {
        tmp.write_all(chunk)
            .map_err(file_err("writing a temporary file beside"))
    })
    .await?;
    tmp.as_file()
        .sync_all()
        .map_err(file_err("syncing the temporary file beside"))?;
    tmp.persist(path)
        .map_err(|e| file_err("moving the verified blob to")(e.error))?;
    sync_dir(dir).map_err(file_err("syncing the directory of"))?;
    Ok(written)
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        fs_err::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Whether a tag is a digest tag (`sha256-<hex>`, `sha512-...`: signatures,
/// attestations and the referrers fallback).
fn is_digest_tag(tag: &str) -> bool {
    tag.starts_with("sha256-") || tag.starts_with("sha512-")
}

/// The tags of `repository` (crane's `ls`): with `full_ref` as
/// `repo:tag`; with `omit_digest_tags` without the `sha256-...` tags of
/// signatures, attestations and the referrers fallback. The names are as the
/// registry sent them: pass them through [`escape_text`](crate::escape_text)
/// before printing.
pub async fn list_tags(
    repository: &str,
    full_ref: bool,
    omit_digest_tags: bool,
    opts: &Options,
) -> Result<Vec<String>> {
    if crate::ocidir::is_ocidir(repository) {
        return crate::ocidir::list_tags(&crate::ocidir::parse(repository)?).await;
    }
    let repo = opts.parse_repository(repository)?;
    let remote = remote_options(opts, None).await?;
    let tags = ocireg_remote::list_tags(&repo, &remote)
        .await
        .map_err(remote_err(Doing::on("listing the tags of", &repo)))?;
    Ok(tags
        .into_iter()
        .filter(|t| !(omit_digest_tags && is_digest_tag(t)))
        .map(|t| {
            if full_ref {
                format!("{}:{t}", repo.name())
            } else {
                t
            }
        })
        .collect())
}

/// The repositories of `registry` (crane's `catalog`), with `full_ref` as
/// `registry/repo`. The names are as the registry sent them: pass them through
/// [`escape_text`](crate::escape_text) before printing.
pub async fn catalog(registry: &str, full_ref: bool, opts: &Options) -> Result<Vec<String>> {
    if crate::ocidir::is_ocidir(registry) {
        return Err(Error::LocalImage {
            reference: registry.to_owned(),
        });
    }
    let reg = opts.parse_registry(registry)?;
    let remote = remote_options(opts, None).await?;
    let repos = ocireg_remote::catalog(&reg, &remote)
        .await
        .map_err(remote_err(Doing::on(
            "listing the repositories of",
            &reg.name(),
        )))?;
    Ok(repos
        .into_iter()
        .map(|r| {
            if full_ref {
                format!("{}/{r}", reg.name())
            } else {
                r
            }
        })
        .collect())
}

/// The referrers index of `image` as JSON, through the referrers API or the
/// fallback tag, optionally filtered by artifact type (crane's `refs`). Control
/// characters, bidi overrides and the other [unsafe characters](crate::is_unsafe_char)
/// in its strings (annotations, artifact types) are written as `\uXXXX` escapes.
pub async fn referrers(
    image: &str,
    artifact_type: Option<&str>,
    opts: &Options,
) -> Result<Vec<u8>> {
    if crate::ocidir::is_ocidir(image) {
        return crate::ocidir::referrers(&crate::ocidir::parse(image)?, artifact_type).await;
    }
    let r = opts.parse_reference(image)?;
    let remote = remote_options(opts, None).await?;
    let subject = if let Some(d) = r.as_digest() {
        d.clone()
    } else {
        let d = ocireg_remote::head(&r, &remote)
            .await
            .map_err(remote_err(Doing::on("looking up", &r)))?;
        r.repository().digest(d.digest)
    };
    let filter = artifact_type.map(MediaType::from);
    let found = ocireg_remote::referrers(&subject, filter.as_ref(), &remote)
        .await
        .map_err(remote_err(Doing::on("listing the referrers of", &subject)))?;
    let out = ocireg_v1::to_go_json(&found.index)
        .map_err(view_err(Doing::on("encoding the referrers of", &subject)))?;
    // Annotations and artifact types are the registry's text: JSON escapes for anything
    // a terminal would act on, the same JSON value.
    let mut text = escape_json(&String::from_utf8_lossy(&out)).into_owned();
    text.push('\n');
    Ok(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn digest_tags() {
        for (tag, want) in [
            ("sha256-abc", true),
            ("sha512-abc", true),
            ("v1", false),
            ("sha256", false),
            ("latest-sha256-x", false),
        ] {
            assert_eq!(is_digest_tag(tag), want, "{tag}");
        }
    }

    #[tokio::test]
    async fn bad_references_are_usage_errors() {
        let opts = Options::new();
        let err = manifest("r.io/UPPER:x", &opts).await.expect_err("bad");
        assert_eq!(err.kind(), ErrorKind::Usage);
        let err = blob("r.io/app:v1", &mut Vec::new(), &opts)
            .await
            .expect_err("not a digest");
        assert_eq!(err.kind(), ErrorKind::Usage);
    }
}
