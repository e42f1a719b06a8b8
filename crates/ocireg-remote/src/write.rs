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

use futures_util::future::BoxFuture;
use futures_util::{FutureExt as _, StreamExt as _, TryStreamExt as _};
use http::{Method, StatusCode};
use ocireg_name::{Reference, Repository, Tag};
use ocireg_transport::{Body, Transport};
use ocireg_v1::{AnyManifest, Descriptor, Digest, Image, ImageIndex, Layer};
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use crate::error::{Error, Result, Subject};
use crate::options::Options;
use crate::progress::{BlobOutcome, Direction, manifest_done};
use crate::protocol::{
    self, DOCKER_CONTENT_DIGEST, MAX_INDEX_DEPTH, OCI_SUBJECT, Presence, discard, header_str,
};
use crate::referrers_write;
use crate::upload::{self, Target, UploadSettings};
use crate::writable::{RawManifest, Writable};

type BlobCells = HashMap<(String, Digest), Arc<OnceCell<BlobOutcome>>>;
type ManifestCells = HashMap<(String, Digest), Arc<OnceCell<()>>>;
/// Per repository and fallback tag, the lock that serialises its updates.
type FallbackLocks = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

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
    fallback_locks: Mutex<FallbackLocks>,
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
            tag: reference.as_tag().map(full_tag),
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
        let target = match reference {
            Reference::Digest(d) if d.digest() != manifest.digest() => {
                return Err(Error::ManifestDigestMismatch {
                    reference: Box::new(d.clone()),
                    actual: manifest.digest(),
                });
            }
            Reference::Digest(d) => Reference::Digest(d.repository().digest(d.digest())),
            Reference::Tag(t) => Reference::Tag(full_tag(t)),
        };
        self.put_manifest(&target, manifest).await?;
        Ok(manifest.digest())
    }

    /// Deletes the manifest `reference` names (ggcr's `Delete`).
    pub async fn delete(&self, reference: &Reference) -> Result<()> {
        let repo = reference.repository();
        let t = self.options.session().delete(repo).await?;
        let name = Subject::from(reference);
        let path = protocol::manifest(repo, reference.identifier());
        let req = protocol::request(
            Method::DELETE,
            protocol::url(&t, &path, &name)?,
            &[],
            Body::empty(),
            &name,
        )?;
        let response = t
            .send_expect(req, &[StatusCode::OK, StatusCode::ACCEPTED])
            .await
            .map_err(|e| Error::transport("deleting", name, e))?;
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
                let tag_to_check = tag.as_ref().filter(|_| !tag_checked);
                if self
                    .already_there(repo, tag.as_ref(), tag_to_check, m)
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
            let target = match tag {
                Some(t) => Reference::Tag(t),
                None => Reference::Digest(repo.digest(manifest.digest())),
            };
            self.put_manifest(&target, &manifest).await?;
            Ok(manifest.digest())
        }
        .boxed()
    }

    /// Whether nothing but (maybe) a tag `PUT` is needed: the tag already names the
    /// manifest, or the manifest exists by digest (then the tag is put here).
    async fn already_there(
        &self,
        repo: &Repository,
        tag: Option<&Tag>,
        tag_to_check: Option<&Tag>,
        m: &RawManifest,
    ) -> Result<bool> {
        let digest = m.digest();
        if let Some(tag) = tag_to_check {
            let tagged = Reference::Tag(tag.clone());
            if matches!(self.presence(&tagged).await?, Presence::Present(Some(d)) if d == digest) {
                debug!(repo = %repo.name(), tag = tag.tag_str(), %digest, "manifest already tagged");
                self.report_manifest(&tagged, m);
                return Ok(true);
            }
        }
        let by_digest = Reference::Digest(repo.digest(digest));
        if matches!(self.presence(&by_digest).await?, Presence::Present(_)) {
            debug!(repo = %repo.name(), %digest, "manifest exists");
            match tag {
                Some(tag) => self.put_manifest(&Reference::Tag(tag.clone()), m).await?,
                None => self.report_manifest(&by_digest, m),
            }
            return Ok(true);
        }
        Ok(false)
    }

    fn report_manifest(&self, reference: &Reference, m: &RawManifest) {
        manifest_done(
            self.options.progress(),
            reference.name(),
            m.digest(),
            m.size(),
            Direction::Push,
        );
    }

    /// Whether the manifest `reference` names is in its repository, asked with a push
    /// transport.
    async fn presence(&self, reference: &Reference) -> Result<Presence> {
        let t = self.options.session().push(reference.repository()).await?;
        protocol::manifest_presence(&t, reference).await
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
                reference: repo.into(),
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
                    reference: repo.clone(),
                    digest,
                    media_type: desc.media_type,
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

    /// `PUT`s a manifest under `reference` (a tag, or a digest in full) with the exact
    /// bytes, then the referrers fallback when the manifest has a subject the registry did
    /// not take care of.
    pub(crate) async fn put_manifest(
        &self,
        reference: &Reference,
        manifest: &RawManifest,
    ) -> Result<()> {
        let repo = reference.repository();
        let t = self.options.session().push(repo).await?;
        let response = protocol::put_manifest(
            &t,
            repo,
            reference.identifier(),
            (manifest.media_type(), manifest.bytes()),
            "pushing manifest",
            &reference.into(),
        )
        .await?;
        let said = header_str(response.headers(), DOCKER_CONTENT_DIGEST).map(str::to_owned);
        let subject_confirmed = response.headers().contains_key(OCI_SUBJECT);
        discard(response).await;
        // Pushed by digest, the digest is the manifest's: the error names it once.
        let pushed = match reference {
            Reference::Tag(_) => Subject::from(reference),
            Reference::Digest(_) => Subject::from(repo),
        };
        protocol::check_registry_digest(said.as_deref(), manifest.digest(), &pushed)?;
        debug!(reference = %reference.name(), digest = %manifest.digest(), size = manifest.size(), "pushed manifest");
        self.report_manifest(reference, manifest);
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
        if referrers_write::has_referrers_api(t, repo, subject).await? {
            return Ok(());
        }
        if !self.options.referrers_tag_fallback() {
            return Err(Error::ReferrersUnsupported {
                reference: Box::new(repo.digest(subject)),
            });
        }
        let (tag, name) = referrers_write::fallback_tag(repo, subject);
        let guard = {
            let mut map = lock(&self.fallback_locks);
            Arc::clone(
                map.entry((repo.name().to_owned(), tag.clone()))
                    .or_default(),
            )
        };
        let _held = guard.lock().await;
        let Some(updated) = referrers_write::add_to_fallback(t, repo, (&tag, &name), entry).await?
        else {
            return Ok(());
        };
        // A manifest `PUT` without the subject handling: the fallback index has none.
        let response = protocol::put_manifest(
            t,
            repo,
            &tag,
            (updated.media_type(), updated.bytes()),
            "updating the referrers tag",
            &name,
        )
        .await?;
        discard(response).await;
        Ok(())
    }
}

/// Where a push goes.
struct PushTarget {
    /// The tag (in full, see [`full_tag`]), or `None` to push by digest.
    tag: Option<Tag>,
    /// The digest the reference demands, if it is a digest reference.
    expected: Option<Digest>,
    /// Whether the tag was already seen not to name the manifest.
    tag_checked: bool,
}

/// Fails when a digest reference names another manifest than the one pushed.
fn check_expected(repo: &Repository, expected: Option<Digest>, m: &RawManifest) -> Result<()> {
    match expected {
        Some(d) if d != m.digest() => Err(Error::ManifestDigestMismatch {
            reference: Box::new(repo.digest(d)),
            actual: m.digest(),
        }),
        _ => Ok(()),
    }
}

/// `tag` as the write side names what it pushes: in full (`registry/repo:tag`), whatever
/// the user wrote (`localhost:5000/app` is `localhost:5000/app:latest`).
pub(crate) fn full_tag(tag: &Tag) -> Tag {
    tag.repository()
        .tag(tag.tag_str())
        .unwrap_or_else(|_| tag.clone())
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
            entry.artifact_type = ocireg_v1::artifact_type_of(m);
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
    use ocireg_v1::MediaType;

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
    fn tags_are_named_in_full() {
        let tag: Tag = "localhost:5000/app".parse().expect("valid");
        assert_eq!(tag.to_string(), "localhost:5000/app");
        assert_eq!(full_tag(&tag).to_string(), "localhost:5000/app:latest");
    }
}
