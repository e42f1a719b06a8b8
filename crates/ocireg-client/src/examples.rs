//! The Deckhouse document's example programs, as functions that return what they found
//! instead of printing it. The programs in `crates/ocireg-client/examples/` print what
//! these return; the tests in `crates/ocireg-client/tests/` call them against CNCF
//! distribution.
//!
//! | document | here | program |
//! |---|---|---|
//! | Quick Start | [`quick_start`] | `quick_start` |
//! | Get Image Manifest | [`manifest_summary`] | `inspect` |
//! | Inspect Image Metadata | [`inspect_image`] | `inspect` |
//! | Working with Image Layers | [`image_layers`] | `inspect` |
//! | Extract Image Content | [`extract_to_file`] | `inspect` |
//! | Mirror Images Between Registries | [`mirror_image`] | `mirror` |
//! | Synchronize Repository Tags | [`sync_tags`] | `sync_tags` |
//! | Concurrent Operations (`processTags`) | [`process_tags`] | `process_tags` |
//! | Platform-Specific Image Retrieval | [`platform_images`] ([`seed_multi_platform_index`] to try it) | `platforms` |
//! | Graceful Error Handling, Check Image Existence, Transport Errors | [`pull_first_available`], [`check_or_default`], [`classify`] | `error_handling` |
//! | List Tags / List Repositories (pagination) | [`tag_pages`] | `quick_start` |
//! | Discover Repository Structure | [`discover`] | `quick_start` |

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use futures_util::StreamExt;
use http::StatusCode;
use ocireg_name::Digest;
use ocireg_v1::{Image, Platform};
use tokio::io::AsyncWriteExt;

use crate::{Client, ClientImage, Error, ImageGetOptions, ListOptions, Result};

/// The environment variable the example programs read the registry from when no argument
/// names it (`host:port`, optionally with a path).
pub const REGISTRY_ENV: &str = "OCIREG_CLIENT_REGISTRY";

/// The most pages [`tag_pages`] and [`discover`] walk.
pub const MAX_PAGES: usize = 10_000;

/// What the Quick Start prints: the repository's tags and the labels of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuickStart {
    /// Every tag of the repository.
    pub tags: Vec<String>,
    /// The labels of the image at the tag asked for.
    pub labels: BTreeMap<String, String>,
}

/// The Quick Start: list the tags of `client`'s repository, pull `tag`, read its labels.
pub async fn quick_start(client: &Client, tag: &str) -> Result<QuickStart> {
    let tags = client.list_tags(ListOptions::new()).await?;
    let img = client.get_image(tag, ImageGetOptions::new()).await?;
    let config = img.config_file().await.map_err(|source| Error::Image {
        action: "reading config of",
        reference: Box::new(img.reference().clone()),
        source,
    })?;
    Ok(QuickStart {
        tags,
        labels: config.config.labels,
    })
}

/// List Tags with pagination: every tag, `page` at a time, each page asked after the
/// last tag of the one before, until a short page.
pub async fn tag_pages(client: &Client, page: usize) -> Result<Vec<Vec<String>>> {
    let mut pages = Vec::new();
    let mut last: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut options = ListOptions::new().with_limit(page);
        if let Some(l) = &last {
            options = options.with_last(l.clone());
        }
        let tags = client.list_tags(options).await?;
        let done = tags.len() < page || page == 0;
        last = tags.last().cloned();
        if !tags.is_empty() {
            pages.push(tags);
        }
        if done {
            break;
        }
    }
    Ok(pages)
}

/// Discover Repository Structure: the repositories under `base` (at most `limit`), and
/// for each the repositories under it (at most `sub_limit`).
pub async fn discover(
    base: &Client,
    limit: usize,
    sub_limit: usize,
) -> Result<Vec<(String, Vec<String>)>> {
    let orgs = base
        .list_repositories(ListOptions::new().with_limit(limit))
        .await?;
    let mut out = Vec::new();
    for org in orgs {
        let projects = base
            .with_segment(&org)
            .list_repositories(ListOptions::new().with_limit(sub_limit))
            .await?;
        out.push((org, projects));
    }
    Ok(out)
}

/// Mirror Images Between Registries: pull `tag` from `source`, push it to `target` under
/// the same tag. Returns the digest pushed.
pub async fn mirror_image(source: &Client, target: &Client, tag: &str) -> Result<Digest> {
    let img = source.get_image(tag, ImageGetOptions::new()).await?;
    target.push_image(tag, img.image()).await
}

/// What [`sync_tags`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SyncReport {
    /// The tags mirrored, in the source's order.
    pub mirrored: Vec<String>,
    /// The tags the target already had.
    pub present: Vec<String>,
    /// The tags that failed, with why.
    pub failed: Vec<(String, Error)>,
}

/// Synchronize Repository Tags: mirror every tag of `source` that `target` lacks; a tag
/// that fails is recorded and the rest go on.
pub async fn sync_tags(source: &Client, target: &Client) -> Result<SyncReport> {
    let source_tags = source.list_tags(ListOptions::new()).await?;
    let target_tags: HashSet<String> = match target.list_tags(ListOptions::new()).await {
        Ok(tags) => tags.into_iter().collect(),
        // A repository that does not exist yet has no tags.
        Err(e) if e.is_not_found() => HashSet::new(),
        Err(e) => return Err(e),
    };
    let mut report = SyncReport::default();
    for tag in source_tags {
        if target_tags.contains(&tag) {
            report.present.push(tag);
            continue;
        }
        match mirror_image(source, target, &tag).await {
            Ok(_) => report.mirrored.push(tag),
            Err(e) => report.failed.push((tag, e)),
        }
    }
    Ok(report)
}

/// What [`inspect_image`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageInfo {
    /// The tag asked for.
    pub tag: String,
    /// The image's architecture.
    pub architecture: String,
    /// The image's OS.
    pub os: String,
    /// When it was created (RFC 3339), if it says.
    pub created: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

impl fmt::Display for ImageInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Image: {}", self.tag)?;
        writeln!(f, "Architecture: {}", self.architecture)?;
        writeln!(f, "OS: {}", self.os)?;
        writeln!(f, "Created: {}", self.created.as_deref().unwrap_or("-"))?;
        if !self.labels.is_empty() {
            writeln!(f, "Labels:")?;
            for (k, v) in &self.labels {
                writeln!(f, "  {k}: {v}")?;
            }
        }
        Ok(())
    }
}

/// Inspect Image Metadata: architecture, OS, created time and labels from the config.
pub async fn inspect_image(client: &Client, tag: &str) -> Result<ImageInfo> {
    let config = client.get_image_config(tag).await?;
    Ok(ImageInfo {
        tag: tag.to_owned(),
        architecture: config.architecture,
        os: config.os,
        created: Some(config.created.to_string()).filter(|t| !t.is_empty()),
        labels: config.config.labels,
    })
}

/// What [`manifest_summary`] found (Get Image Manifest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestSummary {
    /// An index: each child's platform (`os/arch[/variant]`), digest and size.
    Index {
        /// The index's media type.
        media_type: String,
        /// Its schema version.
        schema_version: i64,
        /// Its children.
        manifests: Vec<(Option<String>, Digest, u64)>,
    },
    /// An image manifest: its config digest, layers and annotations.
    Image {
        /// The manifest's media type.
        media_type: String,
        /// Its schema version.
        schema_version: i64,
        /// The config's digest.
        config: Digest,
        /// Each layer's digest and size.
        layers: Vec<(Digest, u64)>,
        /// Its annotations.
        annotations: BTreeMap<String, String>,
    },
}

/// Get Image Manifest: the descriptor, then the index's children or the manifest's config,
/// layers and annotations.
pub async fn manifest_summary(client: &Client, tag: &str) -> Result<ManifestSummary> {
    let result = client.get_manifest(tag).await?;
    let media_type = result.media_type().to_string();
    if result.media_type().is_index() {
        let index = result.index_manifest()?;
        Ok(ManifestSummary::Index {
            media_type,
            schema_version: index.schema_version,
            manifests: index
                .manifests
                .iter()
                .map(|d| {
                    (
                        d.platform.as_ref().map(ToString::to_string),
                        d.digest,
                        d.size,
                    )
                })
                .collect(),
        })
    } else {
        let manifest = result.manifest()?;
        Ok(ManifestSummary::Image {
            media_type,
            schema_version: manifest.schema_version,
            config: manifest.config.digest,
            layers: manifest.layers.iter().map(|l| (l.digest, l.size)).collect(),
            annotations: manifest.annotations.clone(),
        })
    }
}

/// Working with Image Layers: each layer's digest and size.
pub async fn image_layers(client: &Client, tag: &str) -> Result<Vec<(Digest, u64)>> {
    let img = client.get_image(tag, ImageGetOptions::new()).await?;
    let read = |source| Error::Image {
        action: "reading layers of",
        reference: Box::new(img.reference().clone()),
        source,
    };
    let mut out = Vec::new();
    for layer in img.layers().await.map_err(read)? {
        out.push((
            layer.digest().await.map_err(read)?,
            layer.size().await.map_err(read)?,
        ));
    }
    Ok(out)
}

/// Extract Image Content: streams the flattened filesystem of `tag` to the tar file
/// `path` (a temp file beside it, fsynced, then renamed). Returns the bytes written.
pub async fn extract_to_file(client: &Client, tag: &str, path: &Path) -> Result<u64> {
    let img = client.get_image(tag, ImageGetOptions::new()).await?;
    let file_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::File { path: p, source }
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file = fs_err::tokio::File::create(&tmp)
        .await
        .map_err(file_err(&tmp))?;
    let mut stream = img.extract();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|source| Error::Extract {
            reference: Box::new(img.reference().clone()),
            source,
        })?;
        file.write_all(&chunk).await.map_err(file_err(&tmp))?;
        written += chunk.len() as u64;
    }
    file.sync_all().await.map_err(file_err(&tmp))?;
    drop(file);
    fs_err::tokio::rename(&tmp, path)
        .await
        .map_err(file_err(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let dir_file = fs_err::tokio::File::open(dir)
            .await
            .map_err(file_err(dir))?;
        dir_file.sync_all().await.map_err(file_err(dir))?;
    }
    Ok(written)
}

/// Concurrent Operations (`processTags`): the digest of each tag, fetched by up to `jobs`
/// tasks at once, each on its own clone of the client. Results come in the order of
/// `tags`; a failure is kept with its tag.
pub async fn process_tags(
    client: &Client,
    tags: &[String],
    jobs: usize,
) -> Vec<(String, Result<Digest>)> {
    let mut results: Vec<Option<Result<Digest>>> = (0..tags.len()).map(|_| None).collect();
    let mut set = tokio::task::JoinSet::new();
    let mut next = 0;
    loop {
        while next < tags.len() && set.len() < jobs.max(1) {
            let c = client.clone();
            let tag = tags[next].clone();
            let i = next;
            set.spawn(async move { (i, c.get_digest(&tag).await) });
            next += 1;
        }
        match set.join_next().await {
            Some(Ok((i, r))) => results[i] = Some(r),
            // A task that panicked passes its panic on (tasks are never aborted here).
            Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            None => break,
        }
    }
    tags.iter()
        .cloned()
        .zip(results)
        .map(|(tag, r)| {
            (
                tag,
                r.expect("every task reported: the set ran until empty"),
            )
        })
        .collect()
}

/// What [`platform_images`] found for one platform.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformInfo {
    /// The config's OS.
    pub os: String,
    /// The config's architecture.
    pub architecture: String,
    /// The config's variant (empty when none).
    pub variant: String,
    /// How many layers (diff IDs) the image has.
    pub layers: usize,
}

/// Platform-Specific Image Retrieval (Testing Platform-Specific Variants): pull `tag` for
/// each platform and read its config; a platform that fails is kept with its error.
pub async fn platform_images(
    client: &Client,
    tag: &str,
    platforms: &[Platform],
) -> Vec<(Platform, Result<PlatformInfo>)> {
    let mut out = Vec::new();
    for platform in platforms {
        let got = async {
            let img = client
                .get_image(tag, ImageGetOptions::new().with_platform(platform.clone()))
                .await?;
            let config = img.config_file().await.map_err(|source| Error::Image {
                action: "reading config of",
                reference: Box::new(img.reference().clone()),
                source,
            })?;
            Ok(PlatformInfo {
                os: config.os,
                architecture: config.architecture,
                variant: config.variant,
                layers: config.rootfs.diff_ids.as_ref().map_or(0, Vec::len),
            })
        }
        .await;
        out.push((platform.clone(), got));
    }
    out
}

/// Graceful Error Handling: the first of `tags` that exists, pulled. A missing tag is
/// skipped; any other error stops the search. `None` when none exists.
pub async fn pull_first_available(
    client: &Client,
    tags: &[&str],
) -> Result<Option<(String, ClientImage)>> {
    for tag in tags {
        match client.get_image(tag, ImageGetOptions::new()).await {
            Ok(img) => return Ok(Some(((*tag).to_owned(), img))),
            Err(e) if e.is_image_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Check Image Existence / Handle Errors Appropriately: `tag` when it exists, else
/// `default` (a missing image is expected; any other error is returned).
pub async fn check_or_default<'a>(
    client: &Client,
    tag: &'a str,
    default: &'a str,
) -> Result<&'a str> {
    match client.check_image_exists(tag).await {
        Ok(()) => Ok(tag),
        Err(Error::ImageNotFound { .. }) => Ok(default),
        Err(e) => Err(e),
    }
}

/// The kinds of failure the document's Transport Errors example tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// 401: authentication failed.
    Unauthorized,
    /// 403: access forbidden.
    Forbidden,
    /// 404 or a not-found error code: the image (or repository) does not exist.
    NotFound,
    /// 5xx: the registry failed.
    ServerError,
    /// Anything else (connection, timeout, bad input).
    Other,
}

/// Transport Errors: what kind of failure `err` is, from its typed status (no string
/// matching).
pub fn classify(err: &Error) -> FailureKind {
    match err.status() {
        Some(StatusCode::UNAUTHORIZED) => FailureKind::Unauthorized,
        Some(StatusCode::FORBIDDEN) => FailureKind::Forbidden,
        Some(s) if s.is_server_error() => FailureKind::ServerError,
        _ if err.is_not_found() => FailureKind::NotFound,
        _ => FailureKind::Other,
    }
}

/// The registry an example program talks to: its first argument, else
/// [`REGISTRY_ENV`].
pub fn registry_from_args_or_env() -> Option<String> {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var(REGISTRY_ENV).ok())
}

/// A client for an example program: anonymous, for `registry` (a loopback or private
/// address is reached over plain http, as crane does).
pub fn example_client(registry: &str) -> Result<Client> {
    Client::builder(registry).build()
}

/// Pushes a small random image (`layers` layers) to `tag` of `client`, for the example
/// programs and tests to have something to work on. Returns its digest.
pub async fn seed_random_image(
    client: &Client,
    tag: &str,
    layers: usize,
    seed: u64,
) -> Result<Digest> {
    let reference = client.reference(tag)?;
    let img = ocireg_v1::random::image(512, layers, seed).map_err(|source| Error::Image {
        action: "making a random image for",
        reference: Box::new(reference),
        source,
    })?;
    client.push_image(tag, img).await
}

/// Pushes an index to `tag` of `client` with one small random image per platform (each
/// config says its platform), for the `platforms` program and tests. Returns its digest.
pub async fn seed_multi_platform_index(
    client: &Client,
    tag: &str,
    platforms: &[Platform],
) -> Result<Digest> {
    let reference = client.reference(tag)?;
    let model = |source| Error::Image {
        action: "making a multi-platform index for",
        reference: Box::new(reference.clone()),
        source,
    };
    let mut adds = Vec::new();
    for (seed, platform) in (100u64..).zip(platforms) {
        let img = ocireg_v1::random::image(256, 1, seed).map_err(model)?;
        let mut config = img.config_file().await.map_err(model)?;
        config.os.clone_from(&platform.os);
        config.architecture.clone_from(&platform.architecture);
        config.variant.clone_from(&platform.variant);
        let mut add = ocireg_mutate::IndexAddendum::new(ocireg_mutate::Appendable::Image(
            ocireg_mutate::config_file(img, config),
        ));
        add.platform = Some(platform.clone());
        adds.push(add);
    }
    let index = ocireg_mutate::append_manifests(ocireg_v1::empty::index(), adds);
    ocireg_remote::write_index(&reference, index, client.remote_options())
        .await
        .map_err(|source| Error::Remote {
            action: "pushing index to",
            subject: ocireg_remote::Subject::from(&reference),
            source: Box::new(source),
        })
}
