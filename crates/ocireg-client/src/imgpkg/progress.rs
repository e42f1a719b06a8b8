//! Upload progress: [`Update`] (ggcr's `v1.Update`), the [`ProgressLogger`] trait (imgpkg's
//! `util.ProgressLogger`) with [`TracingProgressLogger`], and the [`WithProgress`]
//! decorator.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use ocireg_name::{Reference, Repository, Tag};
use ocireg_remote::{RawManifest, RemoteDescriptor, Writable};
use ocireg_v1::progress::{Direction, Progress, ProgressEvent};
use ocireg_v1::{Digest, Image, ImageIndex};
use tokio::sync::{mpsc, watch};

use crate::error::Result;
use crate::imgpkg::{ImagesReader, ImagesReaderWriter, Registry};

/// The progress of a [`multi_write`](ImagesReaderWriter::multi_write) (ggcr's `v1.Update`):
/// bytes to send in all and bytes sent, blobs that were already there or mounted counting
/// as sent.
///
/// In one write `total` and `complete` never decrease, and the last update of a successful
/// write has `complete == total`. Failures are the write's `Err`, not an update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Update {
    /// Bytes of every blob and manifest to write.
    pub total: u64,
    /// Bytes written (or found present) so far.
    pub complete: u64,
}

impl Update {
    /// `complete` of `total` bytes.
    pub fn new(total: u64, complete: u64) -> Self {
        Self { total, complete }
    }
}

/// Reports upload progress (imgpkg's `util.ProgressLogger`): [`start`](Self::start) gets the
/// updates of one write as a stream, [`end`](Self::end) is called when the write returned.
///
/// `start` must not block: consume the receiver in a task (the write waits while the channel
/// is full) or drop it (updates are then discarded).
pub trait ProgressLogger: fmt::Debug + Send + Sync {
    /// A write begins; its updates arrive on `updates` until the channel closes.
    fn start(&self, updates: mpsc::Receiver<Update>);
    /// The write returned.
    fn end(&self);
}

/// A [`ProgressLogger`] that logs through `tracing` at info level: each tenth of the
/// total, then the end.
#[derive(Clone, Debug, Default)]
pub struct TracingProgressLogger {
    what: Arc<str>,
}

impl TracingProgressLogger {
    /// Logs what is being uploaded as `what` (e.g. `"images"`).
    pub fn new(what: impl Into<Arc<str>>) -> Self {
        Self { what: what.into() }
    }
}

/// The tenth of `total` that `complete` has reached (0 to 10).
fn tenth(update: Update) -> u64 {
    if update.total == 0 {
        10
    } else {
        let t = u128::from(update.complete) * 10 / u128::from(update.total);
        u64::try_from(t.min(10)).unwrap_or(10)
    }
}

impl ProgressLogger for TracingProgressLogger {
    fn start(&self, mut updates: mpsc::Receiver<Update>) {
        let what = Arc::clone(&self.what);
        tokio::spawn(async move {
            let mut logged = None;
            while let Some(update) = updates.recv().await {
                let step = tenth(update);
                if logged != Some(step) {
                    logged = Some(step);
                    tracing::info!(
                        what = %what,
                        complete = update.complete,
                        total = update.total,
                        "uploading {}%",
                        step * 10
                    );
                }
            }
        });
    }

    fn end(&self) {
        tracing::info!(what = %self.what, "upload finished");
    }
}

/// Counts what a write has to send and turns progress events into [`Update`]s on a watch
/// channel.
pub(crate) struct UpdateSink {
    state: Mutex<Counts>,
    tx: watch::Sender<Update>,
}

#[derive(Default)]
struct Counts {
    sizes: HashMap<Digest, u64>,
    /// What each planned manifest refers to (its config and layers, or its children).
    children: HashMap<Digest, Vec<Digest>>,
    done: HashMap<Digest, u64>,
    total: u64,
    complete: u64,
}

impl Counts {
    fn add(&mut self, digest: Digest, size: u64) {
        if self.sizes.insert(digest, size).is_none() {
            self.total += size;
        }
    }

    /// A manifest is in the registry, so is everything it refers to (a registry refuses a
    /// manifest whose blobs it lacks): all of it is complete.
    fn manifest_done(&mut self, digest: Digest) {
        let mut todo = vec![digest];
        let mut seen = HashSet::new();
        while let Some(d) = todo.pop() {
            if !seen.insert(d) {
                continue;
            }
            let size = self.sizes.get(&d).copied().unwrap_or(0);
            self.advance(d, size);
            if let Some(children) = self.children.get(&d) {
                todo.extend(children.iter().copied());
            }
        }
    }

    fn advance(&mut self, digest: Digest, done: u64) {
        let size = self.sizes.get(&digest).copied().unwrap_or(0);
        let entry = self.done.entry(digest).or_default();
        let new = done.min(size);
        if new > *entry {
            self.complete += new - *entry;
            *entry = new;
        }
    }
}

impl UpdateSink {
    /// A sink knowing everything to write (see [`plan`]), and the receiver of its updates.
    pub(crate) fn new(plan: Plan) -> (Arc<Self>, watch::Receiver<Update>) {
        let mut counts = Counts::default();
        for (digest, size) in plan.sizes {
            counts.add(digest, size);
        }
        counts.children = plan.children;
        let (tx, rx) = watch::channel(Update::new(counts.total, 0));
        (
            Arc::new(Self {
                state: Mutex::new(counts),
                tx,
            }),
            rx,
        )
    }

    /// The current totals.
    pub(crate) fn current(&self) -> Update {
        *self.tx.borrow()
    }
}

impl Progress for UpdateSink {
    fn update(&self, event: &ProgressEvent) {
        let mut c = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            ProgressEvent::BlobStarted {
                digest,
                total: Some(size),
                direction: Direction::Push,
            } => c.add(*digest, *size),
            ProgressEvent::BlobBytes { digest, done } => c.advance(*digest, *done),
            ProgressEvent::BlobDone { digest, outcome }
                if outcome.direction() == Direction::Push =>
            {
                let size = c.sizes.get(digest).copied().unwrap_or(0);
                c.advance(*digest, size);
            }
            ProgressEvent::ManifestDone {
                digest,
                size,
                direction: Direction::Push,
                ..
            } => {
                c.add(*digest, *size);
                c.manifest_done(*digest);
            }
            _ => return,
        }
        let next = Update::new(c.total, c.complete);
        drop(c);
        self.tx.send_if_modified(|u| {
            let changed = *u != next;
            *u = next;
            changed
        });
    }
}

/// What a write may send.
#[derive(Default)]
pub(crate) struct Plan {
    /// The digest and size of each manifest and blob.
    sizes: Vec<(Digest, u64)>,
    /// What each manifest refers to.
    children: HashMap<Digest, Vec<Digest>>,
}

/// Adds to `out` the digests and sizes a push of `item` may send: manifests, configs,
/// distributable layers (all layers with `nondistributable`), index children; at most 16
/// indexes deep.
pub(crate) async fn plan(item: &Writable, nondistributable: bool, out: &mut Plan) -> Result<()> {
    let mut seen = HashSet::new();
    let mut todo = vec![(item.clone(), 0_usize)];
    while let Some((item, depth)) = todo.pop() {
        let raw = item
            .raw_manifest()
            .await
            .map_err(|e| crate::error::Error::Remote {
                action: "reading the manifest to write of",
                subject: ocireg_remote::Subject::Other("an image to write".to_owned()),
                source: Box::new(e),
            })?;
        if !seen.insert(raw.digest()) {
            continue;
        }
        out.sizes.push((raw.digest(), raw.size()));
        let mut refs = Vec::new();
        let view = |source| crate::error::Error::Image {
            action: "reading the manifest to write of",
            reference: Box::new(Reference::Digest(placeholder_repo().digest(raw.digest()))),
            source,
        };
        match item {
            Writable::Image(img) => {
                let m = img.manifest().await.map_err(view)?;
                out.sizes.push((m.config.digest, m.config.size));
                refs.push(m.config.digest);
                for layer in &m.layers {
                    if layer.media_type.is_distributable() || nondistributable {
                        out.sizes.push((layer.digest, layer.size));
                        refs.push(layer.digest);
                    }
                }
            }
            Writable::Index(idx) => {
                let m = idx.index_manifest().await.map_err(view)?;
                for child in &m.manifests {
                    if depth >= 16 {
                        break;
                    }
                    refs.push(child.digest);
                    if child.media_type.is_index() {
                        let c = idx.image_index(child.digest).await.map_err(view)?;
                        todo.push((Writable::Index(c), depth + 1));
                    } else if child.media_type.is_image() {
                        let c = idx.image(child.digest).await.map_err(view)?;
                        todo.push((Writable::Image(c), depth + 1));
                    } else {
                        out.sizes.push((child.digest, child.size));
                    }
                }
            }
            _ => {}
        }
        out.children.insert(raw.digest(), refs);
    }
    Ok(())
}

/// A repository name for errors about content that has none yet.
fn placeholder_repo() -> Repository {
    Repository::new("localhost/unnamed").expect("a constant, valid repository name")
}

/// A [`Registry`] that reports the progress of
/// [`multi_write`](ImagesReaderWriter::multi_write) to a [`ProgressLogger`] (imgpkg's
/// `WithProgress`); every other operation is the wrapped registry's.
///
/// As in imgpkg, `multi_write`'s own `updates` argument is ignored: the updates go to the
/// logger. Cloning shares the logger.
#[derive(Clone, Debug)]
pub struct WithProgress<R> {
    inner: R,
    logger: Arc<dyn ProgressLogger>,
}

impl<R: Registry> WithProgress<R> {
    /// Wraps `registry` (imgpkg's `NewRegistryWithProgress`).
    pub fn new(registry: R, logger: Arc<dyn ProgressLogger>) -> Self {
        Self {
            inner: registry,
            logger,
        }
    }

    /// The wrapped registry.
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: Registry> ImagesReader for WithProgress<R> {
    async fn get(&self, reference: &Reference) -> Result<RemoteDescriptor> {
        self.inner.get(reference).await
    }

    async fn digest(&self, reference: &Reference) -> Result<Digest> {
        self.inner.digest(reference).await
    }

    async fn index(&self, reference: &Reference) -> Result<Arc<dyn ImageIndex>> {
        self.inner.index(reference).await
    }

    async fn image(&self, reference: &Reference) -> Result<Arc<dyn Image>> {
        self.inner.image(reference).await
    }

    async fn first_image_exists(&self, digests: &[String]) -> Result<String> {
        self.inner.first_image_exists(digests).await
    }
}

impl<R: Registry> ImagesReaderWriter for WithProgress<R> {
    async fn multi_write(
        &self,
        items: HashMap<Reference, Writable>,
        concurrency: usize,
        _updates: Option<mpsc::Sender<Update>>,
    ) -> Result<HashMap<Reference, Digest>> {
        let (tx, rx) = mpsc::channel(64);
        self.logger.start(rx);
        let result = self.inner.multi_write(items, concurrency, Some(tx)).await;
        self.logger.end();
        result
    }

    async fn write_image(&self, reference: &Reference, image: Arc<dyn Image>) -> Result<Digest> {
        self.inner.write_image(reference, image).await
    }

    async fn write_index(
        &self,
        reference: &Reference,
        index: Arc<dyn ImageIndex>,
    ) -> Result<Digest> {
        self.inner.write_index(reference, index).await
    }

    async fn write_tag(&self, tag: &Tag, manifest: &RawManifest) -> Result<()> {
        self.inner.write_tag(tag, manifest).await
    }

    async fn clone_with_single_auth(&self, image: &Tag) -> Result<Self> {
        Ok(Self {
            inner: self.inner.clone_with_single_auth(image).await?,
            logger: Arc::clone(&self.logger),
        })
    }
}

impl<R: Registry> Registry for WithProgress<R> {
    async fn list_tags(&self, repository: &Repository) -> Result<Vec<String>> {
        self.inner.list_tags(repository).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocireg_v1::progress::BlobOutcome;

    #[test]
    fn updates_are_monotone_and_end_complete() {
        let a = ocireg_v1::sha256(b"a");
        let b = ocireg_v1::sha256(b"b");
        let m = ocireg_v1::sha256(b"m");
        let (sink, rx) = UpdateSink::new(Plan {
            sizes: vec![(a, 10), (b, 5), (a, 10)],
            children: HashMap::new(),
        });
        assert_eq!(*rx.borrow(), Update::new(15, 0));
        let start = |digest| ProgressEvent::BlobStarted {
            digest,
            total: Some(10),
            direction: Direction::Push,
        };
        sink.update(&start(a));
        sink.update(&ProgressEvent::BlobBytes { digest: a, done: 6 });
        assert_eq!(sink.current(), Update::new(15, 6));
        // A restarted upload reports fewer bytes: nothing goes back.
        sink.update(&ProgressEvent::BlobBytes { digest: a, done: 2 });
        assert_eq!(sink.current(), Update::new(15, 6));
        sink.update(&ProgressEvent::BlobDone {
            digest: a,
            outcome: BlobOutcome::Uploaded,
        });
        sink.update(&ProgressEvent::BlobDone {
            digest: b,
            outcome: BlobOutcome::Existed,
        });
        assert_eq!(sink.current(), Update::new(15, 15));
        // A manifest not planned grows the total and completes it.
        sink.update(&ProgressEvent::ManifestDone {
            reference: "r/x:1".to_owned(),
            digest: m,
            size: 3,
            direction: Direction::Push,
        });
        assert_eq!(sink.current(), Update::new(18, 18));
        // A manifest that was already there completes everything it refers to.
        let (sink, _rx) = UpdateSink::new(Plan {
            sizes: vec![(m, 3), (a, 10), (b, 5)],
            children: HashMap::from([(m, vec![a, b])]),
        });
        sink.update(&ProgressEvent::BlobBytes { digest: a, done: 4 });
        sink.update(&ProgressEvent::ManifestDone {
            reference: "r/x:1".to_owned(),
            digest: m,
            size: 3,
            direction: Direction::Push,
        });
        assert_eq!(sink.current(), Update::new(18, 18));
        // Pull events are not uploads.
        sink.update(&ProgressEvent::BlobStarted {
            digest: ocireg_v1::sha256(b"p"),
            total: Some(100),
            direction: Direction::Pull,
        });
        assert_eq!(sink.current(), Update::new(18, 18));
    }

    #[tokio::test]
    async fn the_tracing_logger_consumes_every_update() {
        let logger = TracingProgressLogger::new("images");
        let (tx, rx) = mpsc::channel(1);
        logger.start(rx);
        let sends = async {
            for i in 0..=50 {
                tx.send(Update::new(50, i))
                    .await
                    .expect("the logger listens");
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), sends)
            .await
            .expect("a full channel is drained");
        drop(tx);
        logger.end();
    }

    #[test]
    fn tenths() {
        assert_eq!(tenth(Update::new(0, 0)), 10);
        assert_eq!(tenth(Update::new(100, 55)), 5);
        assert_eq!(tenth(Update::new(100, 100)), 10);
        assert_eq!(tenth(Update::new(3, 9)), 10);
    }
}
