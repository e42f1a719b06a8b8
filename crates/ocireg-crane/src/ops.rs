//! The registry operations, on top of the remote layer: copy, manifest,
//! digest, config, blob, ls, catalog, tag, delete, attach and refs.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt as _;
use ocireg_name::{DigestReference, Reference, Tag};
use ocireg_v1::{Descriptor, Digest, MediaType, StaticLayer};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::progress::Operation;
use crate::text::escape_json;

/// What an operation was doing, and the one reference, repository or registry it was
/// doing it to, when there is one (see [`Error::subject`]).
#[derive(Clone, Debug)]
struct Doing {
    text: String,
    subject: Option<String>,
}

impl Doing {
    /// `<action> <subject>`, about `subject`.
    fn on(action: &str, subject: &impl std::fmt::Display) -> Self {
        let subject = subject.to_string();
        Self {
            text: format!("{action} {subject}"),
            subject: Some(subject),
        }
    }
}

impl From<String> for Doing {
    /// A context about several things (`copying A to B`) or none.
    fn from(text: String) -> Self {
        Self {
            text,
            subject: None,
        }
    }
}

impl From<&str> for Doing {
    fn from(text: &str) -> Self {
        text.to_owned().into()
    }
}

fn remote_err(doing: impl Into<Doing>) -> impl FnOnce(ocireg_remote::Error) -> Error {
    let Doing { text, subject } = doing.into();
    move |source| Error::Remote {
        doing: text,
        subject,
        source: Box::new(source),
    }
}

/// The remote layer's options for these crane options.
async fn remote_options(
    opts: &Options,
    progress: Option<Arc<dyn ocireg_remote::Progress>>,
) -> Result<ocireg_remote::Options> {
    let mut builder = ocireg_remote::Options::builder()
        .client(opts.client().await?)
        .keychain(opts.keychain()?)
        .jobs(opts.jobs())
        .nondistributable(opts.allow_nondistributable());
    if let Some(p) = opts.platform() {
        builder = builder.platform(p.clone());
    }
    if let Some(p) = progress {
        builder = builder.progress(p);
    }
    builder
        .build()
        .map_err(remote_err("setting up the registry client"))
}

/// The digest `reference` points to in the registry, or `None` when it does
/// not exist there (404 and 403 count as absent, as in ggcr).
async fn head_digest(
    reference: &Reference,
    remote: &ocireg_remote::Options,
) -> Result<Option<Digest>> {
    match ocireg_remote::head(reference, remote).await {
        Ok(desc) => Ok(Some(desc.digest)),
        Err(e) if e.is_not_found() || e.status().is_some_and(|s| s.as_u16() == 403) => Ok(None),
        Err(e) => Err(remote_err(Doing::on("checking", reference))(e)),
    }
}

async fn copy_one(
    src: &Reference,
    dst: &Reference,
    opts: &Options,
    remote: &ocireg_remote::Options,
    pusher: Option<&Arc<ocireg_remote::Pusher>>,
) -> Result<Digest> {
    if opts.no_clobber()
        && let Some(tag) = dst.as_tag()
        && let Some(existing) = head_digest(dst, remote).await?
    {
        return Err(Error::RefusingToClobber {
            tag: tag.to_string(),
            digest: existing.to_string(),
        });
    }
    let mut copy = ocireg_remote::CopyOptions::default();
    if let Some(p) = opts.platform() {
        copy = copy.platform(p.clone());
    }
    if let Some(p) = pusher {
        copy = copy.pusher(Arc::clone(p));
    }
    let digest = ocireg_remote::copy_with(src, dst, remote, &copy)
        .await
        .map_err(remote_err(format!("copying {src} to {dst}")))?;
    if opts.referrers() {
        copy_referrers(src, dst, digest, remote).await?;
    }
    Ok(digest)
}

/// How deep referrers of referrers are followed (a signature of an SBOM of an image is 2).
const MAX_REFERRER_DEPTH: usize = 8;
/// The most referrers one copy carries along.
const MAX_REFERRERS: usize = 10_000;

/// Copies every referrer of `digest` in `src`'s repository to `dst`'s
/// repository, by digest (the destination keeps its referrers index or
/// fallback tag right as the manifests are written), and their referrers in
/// turn. Each digest is listed and copied once, however often a registry
/// lists it (or lists a subject as its own referrer), at most
/// [`MAX_REFERRER_DEPTH`] levels deep and [`MAX_REFERRERS`] in all.
async fn copy_referrers(
    src: &Reference,
    dst: &Reference,
    digest: Digest,
    remote: &ocireg_remote::Options,
) -> Result<()> {
    let mut seen = std::collections::HashSet::from([digest]);
    let mut level = vec![digest];
    for _ in 0..MAX_REFERRER_DEPTH {
        let mut next = Vec::new();
        for subject in level {
            let subject = src.repository().digest(subject);
            let found = ocireg_remote::referrers(&subject, None, remote)
                .await
                .map_err(remote_err(Doing::on("listing the referrers of", &subject)))?;
            for desc in found.descriptors() {
                if !seen.insert(desc.digest) {
                    continue;
                }
                if seen.len() > MAX_REFERRERS {
                    let cause = ocireg_remote::Error::Protocol {
                        action: "copying the referrers of",
                        reference: src.to_string(),
                        reason: format!(
                            "more than {MAX_REFERRERS} referrers (counting referrers of referrers)"
                        ),
                    };
                    return Err(remote_err(Doing::on("copying the referrers of", src))(
                        cause,
                    ));
                }
                let from = Reference::Digest(src.repository().digest(desc.digest));
                let to = Reference::Digest(dst.repository().digest(desc.digest));
                let copied = ocireg_remote::copy(&from, &to, remote)
                    .await
                    .map_err(remote_err(format!("copying referrer {from} to {to}")))?;
                next.push(copied);
            }
        }
        if next.is_empty() {
            return Ok(());
        }
        level = next;
    }
    Ok(())
}

/// Copies the image or index `src` to `dst`, manifest bytes verbatim so the
/// digest is kept (crane's `copy`); with a platform, only that image.
/// Honours [`Options::no_clobber`] (refusing with `refusing to clobber
/// existing tag <tag>@<digest>`) and [`Options::referrers`]. Returns the
/// digest written.
pub async fn copy(src: &str, dst: &str, opts: &Options) -> Result<Digest> {
    let src_ref = opts.parse_reference(src)?;
    let dst_ref = opts.parse_reference(dst)?;
    let op = Operation::start(opts, &format!("copying {src} to {dst}"));
    let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
    let result = copy_one(&src_ref, &dst_ref, opts, &remote, None).await;
    Operation::end(op.as_ref(), &result);
    result
}

/// Copies every tag of repository `src` to repository `dst`, [`Options::jobs`]
/// at a time (crane's `copy --all-tags`); with [`Options::no_clobber`] tags
/// already in `dst` are skipped. Returns the tags copied.
pub async fn copy_repository(src: &str, dst: &str, opts: &Options) -> Result<Vec<String>> {
    let src_repo = opts.parse_repository(src)?;
    let dst_repo = opts.parse_repository(dst)?;
    let op = Operation::start(
        opts,
        &format!("copying every tag of {src_repo} to {dst_repo}"),
    );
    let remote = remote_options(opts, Operation::sink(op.as_ref())).await?;
    let tags = ocireg_remote::list_tags(&src_repo, &remote)
        .await
        .map_err(remote_err(Doing::on("listing the tags of", &src_repo)))?;
    let existing = if opts.no_clobber() {
        match ocireg_remote::list_tags(&dst_repo, &remote).await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(remote_err(Doing::on("listing the tags of", &dst_repo))(e)),
        }
    } else {
        Vec::new()
    };
    let todo: Vec<String> = tags.into_iter().filter(|t| !existing.contains(t)).collect();
    // Tags are copied `jobs` at a time; each copy also moves its blobs in parallel. One
    // pusher for all of them, so a blob shared by several tags is uploaded once.
    let no_clobber = opts.clone().with_no_clobber(false);
    let pusher = Arc::new(ocireg_remote::Pusher::new(&remote));
    let results: Vec<Result<String>> = futures_util::stream::iter(todo.iter().cloned())
        .map(|tag| {
            let (src_repo, dst_repo, remote, opts, pusher) =
                (&src_repo, &dst_repo, &remote, &no_clobber, &pusher);
            async move {
                let from = Reference::Tag(src_repo.tag(&tag).map_err(|source| {
                    Error::InvalidReference {
                        reference: tag.clone(),
                        source,
                    }
                })?);
                let to = Reference::Tag(dst_repo.tag(&tag).map_err(|source| {
                    Error::InvalidReference {
                        reference: tag.clone(),
                        source,
                    }
                })?);
                copy_one(&from, &to, opts, remote, Some(pusher))
                    .await
                    .map(|_| tag)
            }
        })
        .buffer_unordered(opts.jobs())
        .collect()
        .await;
    let copied: Result<Vec<String>> = results.into_iter().collect();
    Operation::end(op.as_ref(), &copied);
    let mut copied = copied?;
    copied.sort();
    Ok(copied)
}

/// The manifest of `reference`, exactly as the registry sent it (crane's
/// `manifest`); with a platform, the manifest of that image in an index.
pub async fn manifest(reference: &str, opts: &Options) -> Result<Vec<u8>> {
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
        let bytes = image
            .raw_manifest()
            .await
            .map_err(|e| remote_err(doing)(ocireg_remote::Error::from_v1(e)))?;
        return Ok(bytes.to_vec());
    }
    Ok(desc.raw_manifest().to_vec())
}

/// The digest of `reference`'s manifest (of the platform's image with a
/// platform), as `sha256:...` or, with `full_ref`, as `repo@sha256:...`
/// (crane's `digest`). Asks with `HEAD` and falls back to `GET` (for registries
/// that answer `HEAD` badly), except after a not-found or a transient failure.
pub async fn digest(reference: &str, full_ref: bool, opts: &Options) -> Result<String> {
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("getting the digest of", &r);
    let digest = if opts.platform().is_none() {
        match ocireg_remote::head(&r, &remote).await {
            Ok(d) => d.digest,
            // A transient failure (an unreachable registry) was retried already: a GET
            // would only go through the same retries again.
            Err(e) if e.is_not_found() || e.is_transient() => return Err(remote_err(doing)(e)),
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
                .map_err(|e| remote_err(doing)(ocireg_remote::Error::from_v1(e)))?,
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
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("fetching the config of", &r);
    let image = ocireg_remote::image(&r, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    let bytes = image
        .raw_config_file()
        .await
        .map_err(|e| remote_err(doing)(ocireg_remote::Error::from_v1(e)))?;
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

/// Passes each chunk of `blob` to `write` as it arrives; the byte count at the clean end.
async fn stream_blob(
    doing: &Doing,
    mut blob: ocireg_v1::Blob,
    mut write: impl FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let mut written = 0u64;
    while let Some(chunk) = blob.next().await {
        let chunk = chunk.map_err(|e| {
            remote_err(doing.clone())(ocireg_remote::Error::from_v1(ocireg_v1::Error::from_io(e)))
        })?;
        write(&chunk)?;
        written += chunk.len() as u64;
    }
    Ok(written)
}

/// Streams the blob `reference` (`REPO@DIGEST`) into `out` as it arrives (crane's `blob`).
/// Returns the byte count.
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
    let r = blob_reference(reference, opts)?;
    let (doing, stream) = open_blob(&r, opts).await?;
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
    let r = blob_reference(reference, opts)?;
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
    let (doing, stream) = open_blob(&r, opts).await?;
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
        std::fs::File::open(dir)?.sync_all()
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

/// Tags the manifest of `reference` as `tag` in the same repository
/// (crane's `tag`): the manifest bytes are put again under the new tag.
pub async fn tag(reference: &str, tag: &str, opts: &Options) -> Result<()> {
    let r = opts.parse_reference(reference)?;
    let new_tag: Tag = r
        .repository()
        .tag(tag)
        .map_err(|source| Error::InvalidReference {
            reference: tag.to_owned(),
            source,
        })?;
    let remote = remote_options(opts, None).await?;
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("fetching the manifest of", &r)))?;
    let raw =
        ocireg_remote::RawManifest::new(desc.raw_manifest().clone(), desc.media_type().clone());
    ocireg_remote::tag(&new_tag, &raw, &remote)
        .await
        .map_err(remote_err(format!("tagging {r} as {new_tag}")))?;
    Ok(())
}

/// Deletes the manifest `reference` (crane's `delete`).
pub async fn delete(reference: &str, opts: &Options) -> Result<()> {
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    ocireg_remote::delete(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("deleting", &r)))
}

/// Pushes `file` as an artifact of type `artifact_type` whose one blob has
/// `media_type`, referring to the image `image` (crane's `attach`): an OCI
/// 1.1 image manifest with `artifactType`, the empty config and `subject` =
/// the image's descriptor. On registries without the referrers API the
/// `sha256-<hex>` fallback tag is updated. Returns the artifact's `repo@digest`.
pub async fn attach(
    file: &Path,
    media_type: &str,
    artifact_type: &str,
    image: &str,
    opts: &Options,
) -> Result<String> {
    let r = opts.parse_reference(image)?;
    let bytes = std::fs::read(file).map_err(|source| Error::Io {
        doing: format!("reading {}", file.display()),
        source,
    })?;
    let remote = remote_options(opts, None).await?;
    let subject = ocireg_remote::head(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("looking up", &r)))?;
    let subject = Descriptor::new(subject.media_type, subject.size, subject.digest);
    let repo = r.repository();
    let layer_media = MediaType::from(media_type);
    let blob = Arc::new(StaticLayer::new(bytes, layer_media.clone()));
    let blob_desc = Descriptor::new(layer_media, blob.bytes().len() as u64, blob.digest());
    let empty = Descriptor::empty_json();
    let pusher = ocireg_remote::Pusher::new(&remote);
    let doing = format!("attaching {} to {r}", file.display());
    pusher
        .upload(repo, blob)
        .await
        .map_err(remote_err(doing.clone()))?;
    pusher
        .upload(
            repo,
            Arc::new(StaticLayer::new(&b"{}"[..], MediaType::OciEmpty)),
        )
        .await
        .map_err(remote_err(doing.clone()))?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MediaType::OciManifest.as_str(),
        "artifactType": artifact_type,
        "config": empty,
        "layers": [blob_desc],
        "subject": subject,
    });
    let body = serde_json::to_vec(&manifest).map_err(|e| Error::Io {
        doing: doing.clone(),
        source: std::io::Error::other(e),
    })?;
    let raw = ocireg_remote::RawManifest::new(body, MediaType::OciManifest);
    let digest = raw.digest();
    let at = Reference::Digest(repo.digest(digest));
    pusher.put(&at, &raw).await.map_err(remote_err(doing))?;
    Ok(format!("{}@{digest}", repo.name()))
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
    let out = ocireg_v1::to_go_json(&found.index).map_err(|e| {
        remote_err(Doing::on("encoding the referrers of", &subject))(ocireg_remote::Error::from_v1(
            e,
        ))
    })?;
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
        let err = tag("r.io/app:v1", "bad tag", &opts).await.expect_err("bad");
        assert_eq!(err.kind(), ErrorKind::Usage);
        let err = blob("r.io/app:v1", &mut Vec::new(), &opts)
            .await
            .expect_err("not a digest");
        assert_eq!(err.kind(), ErrorKind::Usage);
    }
}
