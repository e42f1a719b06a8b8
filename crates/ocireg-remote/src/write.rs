//! The write side (ggcr's `remote.Write`, `WriteIndex`, `WriteLayer`, `Put`, `Tag`,
//! `Delete`, `CheckPushPermission` and the `Pusher`).
//!
//! Order of work for one manifest (image or index) pushed under a tag:
//!
//! 1. `HEAD` the tag: when it already names this digest, stop (nothing else is sent);
//! 2. `HEAD` the digest: when the manifest is there, its blobs are too, so only the tag is
//!    `PUT`;
//! 3. otherwise push what it refers to: an image's layers and config (in parallel, at most
//!    `jobs` uploads at once across everything sharing the [`Options`]), an index's children
//!    (images in parallel, nested indexes depth first, each child skipped when its manifest
//!    exists);
//! 4. `PUT` the manifest bytes exactly as the image or index has them (never re-serialised),
//!    with its media type as `Content-Type`;
//! 5. when the manifest has a `subject` and the registry did not confirm it with an
//!    `OCI-Subject` header nor has a referrers API, update the `sha256-<hex>` fallback tag.
//!
//! A [`Pusher`] remembers which blobs and child manifests it has pushed (per repository and
//! digest), so pushing many images that share layers uploads each layer once
//! ([`multi_write`](crate::multi_write)).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt as _, StreamExt as _, TryStreamExt as _};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};
use ocireg_name::{Reference, Repository, Tag};
use ocireg_transport::{Body, Transport};
use ocireg_v1::{AnyManifest, Descriptor, Digest, Image, ImageIndex, Layer, MediaType};
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::progress::{BlobOutcome, Direction, manifest_done};
use crate::upload::{
    self, DOCKER_CONTENT_DIGEST, Target, UploadSettings, discard, header_str, request, url,
};

/// How deep nested indexes may go.
const MAX_INDEX_DEPTH: usize = 16;

/// The `Accept` header for manifest `HEAD`s: every manifest type we push.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json";

/// A manifest as bytes with its media type: what a registry stores under a tag or digest
/// (ggcr's `Taggable`). The bytes are pushed exactly as they are.
///
/// ```
/// use ocireg_remote::RawManifest;
/// use ocireg_v1::MediaType;
///
/// let m = RawManifest::new(r#"{"schemaVersion":2}"#, MediaType::OciImageIndex);
/// assert_eq!(m.digest(), ocireg_v1::sha256(br#"{"schemaVersion":2}"#));
/// assert_eq!(m.size(), 19);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawManifest {
    bytes: Bytes,
    media_type: MediaType,
    digest: Digest,
}

impl RawManifest {
    /// Manifest `bytes` of `media_type` (its digest is the SHA-256 of the bytes).
    pub fn new(bytes: impl Into<Bytes>, media_type: MediaType) -> Self {
        let bytes = bytes.into();
        Self {
            digest: ocireg_v1::sha256(&bytes),
            bytes,
            media_type,
        }
    }

    /// Manifest bytes addressed by `digest` (any algorithm), checked.
    pub fn with_digest(
        bytes: impl Into<Bytes>,
        media_type: MediaType,
        digest: Digest,
    ) -> Result<Self> {
        let bytes = bytes.into();
        let actual = ocireg_v1::digest_of(digest.algorithm(), &bytes);
        if actual != digest {
            return Err(Error::content(
                "checking manifest",
                digest,
                ocireg_v1::Error::DigestMismatch {
                    expected: digest,
                    actual,
                },
            ));
        }
        Ok(Self {
            bytes,
            media_type,
            digest,
        })
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The media type (sent as `Content-Type`).
    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    /// The digest of the bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The size of the bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// Something [`write`](crate::Pusher::push) can push: an image or an index.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Writable {
    /// An image (manifest, config, layers).
    Image(Arc<dyn Image>),
    /// An index (and every child, recursively).
    Index(Arc<dyn ImageIndex>),
}

impl From<Arc<dyn Image>> for Writable {
    fn from(img: Arc<dyn Image>) -> Self {
        Self::Image(img)
    }
}

impl From<Arc<dyn ImageIndex>> for Writable {
    fn from(idx: Arc<dyn ImageIndex>) -> Self {
        Self::Index(idx)
    }
}

impl Writable {
    /// The manifest bytes and media type (for a streaming image this fails until its
    /// layers have been consumed).
    pub async fn raw_manifest(&self) -> Result<RawManifest> {
        let (bytes, media_type, digest) = match self {
            Self::Image(i) => (
                i.raw_manifest().await?,
                i.media_type().await?,
                i.digest().await?,
            ),
            Self::Index(i) => (
                i.raw_manifest().await?,
                i.media_type().await?,
                i.digest().await?,
            ),
        };
        RawManifest::with_digest(bytes, media_type, digest)
    }
}

type BlobCells = HashMap<(String, Digest), Arc<OnceCell<BlobOutcome>>>;
type ManifestCells = HashMap<(String, Digest), Arc<OnceCell<()>>>;

/// Pushes images, indexes, layers and manifests, remembering what it pushed (ggcr's
/// `remote.Pusher`).
///
/// Each blob and each child manifest is pushed at most once per repository by one pusher,
/// even when many pushes run at once and share it; a failed upload is not remembered, so
/// a later push tries again. Authentication is reused through the [`Options`]' session.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ocireg_remote::{Options, Pusher, Writable};
///
/// let opts = Options::new()?;
/// let pusher = Pusher::new(&opts);
/// let img = ocireg_v1::random::image(1024, 2, 1)?;
/// for tag in ["reg.example/a:1", "reg.example/b:1"] {
///     pusher.push(&tag.parse()?, &Writable::Image(img.clone())).await?;
/// }
/// # Ok(()) }
/// ```
pub struct Pusher {
    options: Options,
    blobs: Mutex<BlobCells>,
    manifests: Mutex<ManifestCells>,
    fallback_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for Pusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pusher")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a manifest is there, and under which digest.
pub(crate) enum Presence {
    Missing,
    /// Present; the digest when the registry said it.
    Present(Option<Digest>),
}

impl Pusher {
    /// A pusher using `options` (its session, jobs limit, chunk size and progress sink).
    pub fn new(options: &Options) -> Self {
        Self {
            options: options.clone(),
            blobs: Mutex::default(),
            manifests: Mutex::default(),
            fallback_locks: Mutex::default(),
        }
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Pushes an image or index and tags it (or pushes it by digest); returns its digest.
    pub async fn push(&self, reference: &Reference, item: &Writable) -> Result<Digest> {
        self.push_to(reference, item, false).await
    }

    /// [`push`](Self::push); `tag_checked` when the caller already saw that the tag does
    /// not name this manifest.
    pub(crate) async fn push_to(
        &self,
        reference: &Reference,
        item: &Writable,
        tag_checked: bool,
    ) -> Result<Digest> {
        let target = PushTarget {
            tag: reference_target(reference),
            expected: reference.digest(),
            tag_checked,
        };
        self.push_writable(reference.repository(), item.clone(), target, 0)
            .await
    }

    /// Pushes an image: layers and config (unless present), then the manifest.
    pub async fn push_image(&self, reference: &Reference, img: Arc<dyn Image>) -> Result<Digest> {
        self.push(reference, &Writable::Image(img)).await
    }

    /// Pushes an index: every child (depth first), then the index manifest.
    pub async fn push_index(
        &self,
        reference: &Reference,
        idx: Arc<dyn ImageIndex>,
    ) -> Result<Digest> {
        self.push(reference, &Writable::Index(idx)).await
    }

    /// Uploads one blob unless the repository has it (ggcr's `WriteLayer`); mounts it when
    /// the layer comes from another repository of the same registry.
    pub async fn upload(&self, repository: &Repository, layer: Arc<dyn Layer>) -> Result<Digest> {
        let sources: Vec<Repository> = layer.mount_source().into_iter().collect();
        let transport = self.blob_transport(repository, &sources).await?;
        self.blob(&transport, repository, layer).await
    }

    /// Puts a manifest under `reference` without pushing anything it refers to and without
    /// checking whether it exists (ggcr's `Put`).
    pub async fn put(&self, reference: &Reference, manifest: &RawManifest) -> Result<Digest> {
        if let Some(d) = reference.digest()
            && d != manifest.digest()
        {
            return Err(Error::ManifestDigestMismatch {
                reference: reference.to_string(),
                expected: d,
                actual: manifest.digest(),
            });
        }
        self.put_manifest(reference.repository(), reference.identifier(), manifest)
            .await?;
        Ok(manifest.digest())
    }

    /// Deletes the manifest `reference` names (ggcr's `Delete`).
    pub async fn delete(&self, reference: &Reference) -> Result<()> {
        let repo = reference.repository();
        let t = self.options.session().delete(repo).await?;
        let name = reference.to_string();
        let path = format!(
            "/v2/{}/manifests/{}",
            repo.repository_str(),
            reference.identifier()
        );
        let req = request(
            Method::DELETE,
            url(&t, &path, &name)?,
            &[],
            Body::empty(),
            &name,
        )?;
        let response = t
            .send_expect(req, &[StatusCode::OK, StatusCode::ACCEPTED])
            .await
            .map_err(|e| Error::transport("deleting", &name, e))?;
        discard(response).await;
        Ok(())
    }

    /// A transport that may push to `repo` (and pull from the mount sources among
    /// `sources`). Falls back to a plain push transport when the one with mount scopes
    /// cannot be had (a token service refusing pull on the source).
    async fn blob_transport(&self, repo: &Repository, sources: &[Repository]) -> Result<Transport> {
        let mut from: Vec<&Repository> = sources
            .iter()
            .filter(|s| s.registry() == repo.registry() && *s != repo)
            .collect();
        from.sort_by(|a, b| a.name().cmp(b.name()));
        from.dedup();
        if from.is_empty() {
            return self.options.session().push(repo).await;
        }
        match self.options.session().push_mounting(repo, &from).await {
            Ok(t) => Ok(t),
            Err(e) => {
                warn!(error = %e, repo = %repo.name(), "no token for mounting; uploading instead");
                self.options.session().push(repo).await
            }
        }
    }

    fn upload_settings(&self) -> UploadSettings {
        let retry = self.options.client().retry_policy().clone();
        UploadSettings {
            chunk_size: self.options.chunk_size(),
            progress: self.options.progress().cloned(),
            backoff: Arc::new(move |attempt| retry.backoff(attempt)),
        }
    }

    /// Uploads one blob once per pusher and repository, holding one of the `jobs` upload
    /// slots while it runs.
    async fn blob(
        &self,
        transport: &Transport,
        repo: &Repository,
        layer: Arc<dyn Layer>,
    ) -> Result<Digest> {
        let settings = self.upload_settings();
        let mount = layer.mount_source();
        let run = || async {
            let _permit = self.options.session().push_permit().await;
            let target = Target { transport, repo };
            upload::upload_blob(&target, &layer, mount.as_ref(), &settings).await
        };
        let digest = match layer.digest().await {
            Ok(d) => d,
            // A streaming layer: nothing to share, its digest is known only once uploaded.
            Err(ocireg_v1::Error::NotComputed { .. }) => return Ok(run().await?.0),
            Err(e) => return Err(Error::View(e)),
        };
        let cell = {
            let mut map = lock(&self.blobs);
            Arc::clone(map.entry((repo.name().to_owned(), digest)).or_default())
        };
        cell.get_or_try_init(|| async {
            let (_, outcome) = run().await?;
            Ok::<_, Error>(outcome)
        })
        .await?;
        Ok(digest)
    }

    /// Pushes `item` into `repo` under `target` (a tag, or its digest).
    fn push_writable<'a>(
        &'a self,
        repo: &'a Repository,
        item: Writable,
        target: PushTarget,
        depth: usize,
    ) -> BoxFuture<'a, Result<Digest>> {
        async move {
            let PushTarget {
                tag,
                expected,
                tag_checked,
            } = target;
            // A streaming image knows its manifest only after its layers are uploaded.
            let early = match item.raw_manifest().await {
                Ok(m) => Some(m),
                Err(Error::View(ocireg_v1::Error::NotComputed { .. })) => None,
                Err(e) => return Err(e),
            };
            if let Some(m) = &early {
                check_expected(repo, expected, m)?;
                let tag_to_check = tag.as_deref().filter(|_| !tag_checked);
                if self
                    .already_there(repo, tag.as_deref(), tag_to_check, m)
                    .await?
                {
                    return Ok(m.digest());
                }
            }
            match &item {
                Writable::Image(img) => self.image_blobs(repo, img).await?,
                Writable::Index(idx) => self.index_children(repo, idx, depth).await?,
            }
            let manifest = match early {
                Some(m) => m,
                None => item.raw_manifest().await?,
            };
            check_expected(repo, expected, &manifest)?;
            let identifier = tag.unwrap_or_else(|| manifest.digest().to_string());
            self.put_manifest(repo, &identifier, &manifest).await?;
            Ok(manifest.digest())
        }
        .boxed()
    }

    /// Whether nothing but (maybe) a tag `PUT` is needed: the tag already names the
    /// manifest, or the manifest exists by digest (then the tag is put here).
    async fn already_there(
        &self,
        repo: &Repository,
        tag: Option<&str>,
        tag_to_check: Option<&str>,
        m: &RawManifest,
    ) -> Result<bool> {
        let digest = m.digest();
        if let Some(tag) = tag_to_check
            && matches!(self.head_manifest(repo, tag).await?, Presence::Present(Some(d)) if d == digest)
        {
            debug!(repo = %repo.name(), tag, %digest, "manifest already tagged");
            self.report_manifest(repo, tag, m);
            return Ok(true);
        }
        if matches!(
            self.head_manifest(repo, &digest.to_string()).await?,
            Presence::Present(_)
        ) {
            debug!(repo = %repo.name(), %digest, "manifest exists");
            match tag {
                Some(tag) => self.put_manifest(repo, tag, m).await?,
                None => self.report_manifest(repo, &digest.to_string(), m),
            }
            return Ok(true);
        }
        Ok(false)
    }

    fn report_manifest(&self, repo: &Repository, identifier: &str, m: &RawManifest) {
        manifest_done(
            self.options.progress(),
            &manifest_reference(repo, identifier),
            m.digest(),
            m.size(),
            Direction::Push,
        );
    }

    /// `HEAD /v2/<repo>/manifests/<identifier>` with a push transport.
    async fn head_manifest(&self, repo: &Repository, identifier: &str) -> Result<Presence> {
        let t = self.options.session().push(repo).await?;
        head_manifest(&t, repo, identifier).await
    }

    /// Uploads an image's layers and config, at most `jobs` at once.
    async fn image_blobs(&self, repo: &Repository, img: &Arc<dyn Image>) -> Result<()> {
        let layers = img.layers().await?;
        let mut blobs: Vec<Arc<dyn Layer>> = Vec::with_capacity(layers.len() + 1);
        for layer in layers {
            let mt = layer.media_type().await?;
            if mt.is_distributable() || self.options.nondistributable() {
                blobs.push(layer);
            } else {
                debug!(media_type = %mt, "skipping a non-distributable layer");
            }
        }
        // The config of an image with streaming layers is known only after them.
        let config_later = match img.config_layer().await {
            Ok(c) => {
                blobs.push(c);
                false
            }
            Err(ocireg_v1::Error::NotComputed { .. }) => true,
            Err(e) => return Err(Error::View(e)),
        };
        let sources: Vec<Repository> = blobs.iter().filter_map(Layer::mount_source).collect();
        let transport = self.blob_transport(repo, &sources).await?;
        let uploads: Vec<BoxFuture<'_, Result<Digest>>> = blobs
            .into_iter()
            .map(|layer| self.blob(&transport, repo, layer).boxed())
            .collect();
        futures_util::stream::iter(uploads)
            .buffer_unordered(self.options.jobs())
            .try_collect::<Vec<_>>()
            .await?;
        if config_later {
            let config = img.config_layer().await?;
            self.blob(&transport, repo, config).await?;
        }
        Ok(())
    }

    /// Pushes every child of an index: images in parallel, nested indexes depth first, plain
    /// blobs as blobs; each child manifest once per pusher and skipped when present.
    async fn index_children(
        &self,
        repo: &Repository,
        idx: &Arc<dyn ImageIndex>,
        depth: usize,
    ) -> Result<()> {
        if depth >= MAX_INDEX_DEPTH {
            return Err(Error::TooDeep {
                reference: repo.name().to_owned(),
                limit: MAX_INDEX_DEPTH,
            });
        }
        let manifest = idx.index_manifest().await?;
        // An index may list one child many times (a hostile one, a thousand times): each
        // digest is walked once.
        let mut seen = std::collections::HashSet::new();
        let children: Vec<BoxFuture<'_, Result<()>>> = manifest
            .manifests
            .into_iter()
            .filter(|desc| seen.insert(desc.digest))
            .map(|desc| self.child(repo, idx, desc, depth).boxed())
            .collect();
        futures_util::stream::iter(children)
            .buffer_unordered(self.options.jobs())
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    async fn child(
        &self,
        repo: &Repository,
        idx: &Arc<dyn ImageIndex>,
        desc: Descriptor,
        depth: usize,
    ) -> Result<()> {
        let digest = desc.digest;
        if !desc.media_type.is_index() && !desc.media_type.is_image() {
            return match idx.layer(digest).await? {
                Some(layer) => {
                    let sources: Vec<Repository> = layer.mount_source().into_iter().collect();
                    let t = self.blob_transport(repo, &sources).await?;
                    self.blob(&t, repo, layer).await.map(drop)
                }
                None => Err(Error::UnknownChild {
                    reference: repo.name().to_owned(),
                    digest,
                    media_type: desc.media_type.to_string(),
                }),
            };
        }
        // Once per pusher and digest: the child manifest is not even fetched again.
        let cell = {
            let mut map = lock(&self.manifests);
            Arc::clone(map.entry((repo.name().to_owned(), digest)).or_default())
        };
        cell.get_or_try_init(|| async {
            let item = if desc.media_type.is_index() {
                Writable::Index(idx.image_index(digest).await?)
            } else {
                Writable::Image(idx.image(digest).await?)
            };
            let target = PushTarget {
                tag: None,
                expected: Some(digest),
                tag_checked: false,
            };
            self.push_writable(repo, item, target, depth + 1)
                .await
                .map(drop)
        })
        .await?;
        Ok(())
    }

    /// `PUT /v2/<repo>/manifests/<identifier>` with the exact bytes, then the referrers
    /// fallback when the manifest has a subject the registry did not take care of.
    pub(crate) async fn put_manifest(
        &self,
        repo: &Repository,
        identifier: &str,
        manifest: &RawManifest,
    ) -> Result<()> {
        let t = self.options.session().push(repo).await?;
        let name = manifest_reference(repo, identifier);
        let path = format!("/v2/{}/manifests/{identifier}", repo.repository_str());
        let req = request(
            Method::PUT,
            url(&t, &path, &name)?,
            &[(CONTENT_TYPE.as_str(), manifest.media_type().to_string())],
            Body::from_bytes(manifest.bytes().clone()),
            &name,
        )?;
        let response = t
            .send_expect(
                req,
                &[StatusCode::OK, StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await
            .map_err(|e| Error::transport("pushing manifest", &name, e))?;
        let said = header_str(response.headers(), DOCKER_CONTENT_DIGEST).map(str::to_owned);
        let subject_confirmed = response.headers().contains_key("OCI-Subject");
        discard(response).await;
        upload::check_registry_digest(said.as_deref(), manifest.digest(), &name)?;
        debug!(reference = %name, digest = %manifest.digest(), size = manifest.size(), "pushed manifest");
        self.report_manifest(repo, identifier, manifest);
        if !subject_confirmed && let Some((subject, entry)) = referrer_entry(manifest) {
            self.referrers_fallback(&t, repo, subject, entry).await?;
        }
        Ok(())
    }

    /// Keeps the `sha256-<hex>` tag listing `entry` as a referrer of `subject`, unless the
    /// registry has a referrers API.
    async fn referrers_fallback(
        &self,
        t: &Transport,
        repo: &Repository,
        subject: Digest,
        entry: Descriptor,
    ) -> Result<()> {
        if crate::referrers_write::has_referrers_api(t, repo, subject).await? {
            return Ok(());
        }
        if !self.options.referrers_tag_fallback() {
            return Err(Error::ReferrersUnsupported {
                reference: format!("{}@{subject}", repo.name()),
            });
        }
        let tag = crate::referrers_write::fallback_tag(subject);
        let guard = {
            let mut map = lock(&self.fallback_locks);
            Arc::clone(map.entry(format!("{}:{tag}", repo.name())).or_default())
        };
        let _held = guard.lock().await;
        let Some(updated) = crate::referrers_write::add_to_fallback(t, repo, &tag, entry).await?
        else {
            return Ok(());
        };
        self.put_manifest_plain(t, repo, &tag, &updated).await
    }

    /// A manifest `PUT` without the subject handling (for the fallback index itself).
    async fn put_manifest_plain(
        &self,
        t: &Transport,
        repo: &Repository,
        identifier: &str,
        manifest: &RawManifest,
    ) -> Result<()> {
        let name = manifest_reference(repo, identifier);
        let path = format!("/v2/{}/manifests/{identifier}", repo.repository_str());
        let req = request(
            Method::PUT,
            url(t, &path, &name)?,
            &[(CONTENT_TYPE.as_str(), manifest.media_type().to_string())],
            Body::from_bytes(manifest.bytes().clone()),
            &name,
        )?;
        let response = t
            .send_expect(
                req,
                &[StatusCode::OK, StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await
            .map_err(|e| Error::transport("updating the referrers tag", &name, e))?;
        discard(response).await;
        Ok(())
    }
}

/// `HEAD /v2/<repo>/manifests/<identifier>`: 404 (and 403, as ggcr) mean missing.
pub(crate) async fn head_manifest(
    t: &Transport,
    repo: &Repository,
    identifier: &str,
) -> Result<Presence> {
    let name = manifest_reference(repo, identifier);
    let path = format!("/v2/{}/manifests/{identifier}", repo.repository_str());
    let req = request(
        Method::HEAD,
        url(t, &path, &name)?,
        &[(ACCEPT.as_str(), MANIFEST_ACCEPT.to_owned())],
        Body::empty(),
        &name,
    )?;
    let response = t
        .send_expect(
            req,
            &[StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::FORBIDDEN],
        )
        .await
        .map_err(|e| Error::transport("checking for manifest", &name, e))?;
    let presence = if response.status() == StatusCode::OK {
        Presence::Present(
            header_str(response.headers(), DOCKER_CONTENT_DIGEST).and_then(|d| d.parse().ok()),
        )
    } else {
        Presence::Missing
    };
    discard(response).await;
    Ok(presence)
}

/// Where a push goes.
struct PushTarget {
    /// The tag, or `None` to push by digest.
    tag: Option<String>,
    /// The digest the reference demands, if it is a digest reference.
    expected: Option<Digest>,
    /// Whether the tag was already seen not to name the manifest.
    tag_checked: bool,
}

/// Fails when a digest reference names another manifest than the one pushed.
fn check_expected(repo: &Repository, expected: Option<Digest>, m: &RawManifest) -> Result<()> {
    match expected {
        Some(d) if d != m.digest() => Err(Error::ManifestDigestMismatch {
            reference: format!("{}@{d}", repo.name()),
            expected: d,
            actual: m.digest(),
        }),
        _ => Ok(()),
    }
}

/// `repo:tag` or `repo@digest`.
fn manifest_reference(repo: &Repository, identifier: &str) -> String {
    if identifier.contains(':') {
        format!("{}@{identifier}", repo.name())
    } else {
        format!("{}:{identifier}", repo.name())
    }
}

/// The tag a reference pushes under (`None` for a digest reference).
fn reference_target(reference: &Reference) -> Option<String> {
    reference.as_tag().map(|t| t.tag_str().to_owned())
}

/// The subject of a manifest and the descriptor listing it as a referrer: media type, size,
/// digest, artifact type (the manifest's, else its config media type) and annotations.
fn referrer_entry(manifest: &RawManifest) -> Option<(Digest, Descriptor)> {
    let parsed = AnyManifest::parse(manifest.bytes().clone(), Some(manifest.media_type())).ok()?;
    let mut entry = Descriptor::new(
        manifest.media_type().clone(),
        manifest.size(),
        manifest.digest(),
    );
    let subject = match &parsed {
        AnyManifest::Image(m) => {
            entry.artifact_type = m
                .artifact_type
                .clone()
                .or_else(|| Some(m.config.media_type.clone()));
            entry.annotations.clone_from(&m.annotations);
            m.subject.as_ref()?.digest
        }
        AnyManifest::Index(i) => {
            entry.artifact_type.clone_from(&i.artifact_type);
            entry.annotations.clone_from(&i.annotations);
            i.subject.as_ref()?.digest
        }
    };
    Some((subject, entry))
}

/// Pushes an image to `reference` (ggcr's `remote.Write`); returns the manifest digest.
pub async fn write_image(
    reference: &Reference,
    img: Arc<dyn Image>,
    options: &Options,
) -> Result<Digest> {
    Pusher::new(options).push_image(reference, img).await
}

/// Pushes an index and all its children to `reference` (ggcr's `remote.WriteIndex`).
pub async fn write_index(
    reference: &Reference,
    idx: Arc<dyn ImageIndex>,
    options: &Options,
) -> Result<Digest> {
    Pusher::new(options).push_index(reference, idx).await
}

/// Uploads one layer (or any blob) to `repository` (ggcr's `remote.WriteLayer`); returns its
/// digest (for a streaming layer, the digest computed while uploading).
pub async fn write_layer(
    repository: &Repository,
    layer: Arc<dyn Layer>,
    options: &Options,
) -> Result<Digest> {
    Pusher::new(options).upload(repository, layer).await
}

/// Puts `manifest` under `tag` (ggcr's `remote.Tag`): nothing it refers to is pushed.
pub async fn tag(tag: &Tag, manifest: &RawManifest, options: &Options) -> Result<Digest> {
    Pusher::new(options)
        .put(&Reference::Tag(tag.clone()), manifest)
        .await
}

/// Puts `manifest` under `reference`, a tag or its own digest (ggcr's `remote.Put`).
pub async fn put(
    reference: &Reference,
    manifest: &RawManifest,
    options: &Options,
) -> Result<Digest> {
    Pusher::new(options).put(reference, manifest).await
}

/// Deletes the manifest `reference` names (ggcr's `remote.Delete`).
pub async fn delete(reference: &Reference, options: &Options) -> Result<()> {
    Pusher::new(options).delete(reference).await
}

/// Checks that we may push to `repository` by opening an upload session and cancelling it
/// (ggcr's `remote.CheckPushPermission`).
pub async fn check_push_permission(repository: &Repository, options: &Options) -> Result<()> {
    let transport = options.session().push(repository).await?;
    upload::probe_push(&Target {
        transport: &transport,
        repo: repository,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_entry_carries_artifact_type_and_annotations() {
        let subject = ocireg_v1::sha256(b"subject");
        let raw = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.example.sbom","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}},"layers":[],"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"digest":"{subject}"}},"annotations":{{"a":"b"}}}}"#
        );
        let m = RawManifest::new(raw.clone(), MediaType::OciManifest);
        let (s, entry) = referrer_entry(&m).expect("has a subject");
        assert_eq!(s, subject);
        assert_eq!(entry.digest, m.digest());
        assert_eq!(entry.size, raw.len() as u64);
        assert_eq!(
            entry.artifact_type.as_ref().map(MediaType::as_str),
            Some("application/vnd.example.sbom")
        );
        assert_eq!(entry.annotations.get("a").map(String::as_str), Some("b"));

        let plain = RawManifest::new(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
            MediaType::OciImageIndex,
        );
        assert!(referrer_entry(&plain).is_none());
    }

    #[test]
    fn raw_manifest_checks_its_digest() {
        let d = ocireg_v1::sha256(b"{}");
        assert!(RawManifest::with_digest("{}", MediaType::OciManifest, d).is_ok());
        assert!(RawManifest::with_digest("{ }", MediaType::OciManifest, d).is_err());
    }

    #[test]
    fn manifest_references() {
        let repo = Repository::new("reg.example/app").unwrap();
        assert_eq!(manifest_reference(&repo, "v1"), "reg.example/app:v1");
        let d = ocireg_v1::sha256(b"x").to_string();
        assert_eq!(
            manifest_reference(&repo, &d),
            format!("reg.example/app@{d}")
        );
    }
}
