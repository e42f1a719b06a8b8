//! Conformance checks for any [`Layer`], [`Image`] or [`ImageIndex`] (ggcr's
//! `pkg/v1/validate`).
//!
//! Every method of a view must agree with every other and with the bytes:
//! the manifest digest hashes the raw manifest, layer digests hash the
//! compressed streams, diff ids hash the uncompressed ones and match the
//! config, sizes match, lookups by digest and by diff id find the layers the
//! manifest lists, an index's children are what its descriptors say. These
//! functions check all of that, streaming every blob once (nothing is held in
//! memory but manifests and configs), and report every problem found in one
//! [`Error::Invalid`], not just the first. A method that fails counts as a
//! problem too, except a transient failure (a dropped connection): that is
//! returned as it is, because it says nothing about the view.
//!
//! Run them against every source and sink (remote, layout, tarball, mutate,
//! [`empty`](crate::empty), [`random`](crate::random)) in tests.
//!
//! ```
//! use ocireg_v1::{random, validate};
//!
//! # futures_executor::block_on(async {
//! let img = random::image(256, 2, 7)?;
//! validate::image(&*img, validate::Options::default()).await?;
//! # Ok::<(), ocireg_v1::Error>(())
//! # }).unwrap();
//! ```

mod index;
mod tar_scan;

use std::fmt::{self, Write as _};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt as _;

use crate::hash::{Hasher, digest_of};
use crate::{
    Algorithm, Blob, ConfigFile, Descriptor, Digest, Error, Image, ImageIndex, Layer, Manifest,
    MediaType, Result,
};
use index::check_index;
use tar_scan::{TarProblem, TarScanner};

/// How thoroughly to validate.
///
/// ```
/// let fast = ocireg_v1::validate::Options::fast();
/// assert!(fast.is_fast());
/// assert!(!ocireg_v1::validate::Options::default().is_fast());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    fast: bool,
}

impl Options {
    /// Cheap checks only (ggcr's `validate.Fast`): manifests and configs are
    /// checked in full, but layers are only asked whether they exist, never
    /// downloaded or hashed.
    pub fn fast() -> Self {
        Self { fast: true }
    }

    /// Whether this is [`Options::fast`].
    pub fn is_fast(&self) -> bool {
        self.fast
    }
}

/// Checks that `layer` agrees with its own streams: its digest and size with
/// the compressed stream, its diff id with both the decompressed compressed
/// stream and the uncompressed stream, its own descriptor (if any) with all
/// three; and that its tar has no duplicate paths and is not cut short.
///
/// With [`Options::fast`] only [`Layer::exists`] is asked.
pub async fn layer(layer: &dyn Layer, opts: Options) -> Result<()> {
    let mut report = Report::default();
    check_layer(layer, opts, "", &mut report).await;
    report.finish("layer".to_owned())
}

/// Checks every invariant of an image: config digest, size, content and
/// `rootfs.type`; for every layer its digest, diff id, size and media type
/// against its streams, the manifest and the config, and its lookups by
/// digest and by diff id; the manifest digest, size, content and media type.
///
/// Artifacts (a config media type that is not an image config) are checked
/// as manifests of blobs: no diff ids or rootfs.
pub async fn image(img: &dyn Image, opts: Options) -> Result<()> {
    let mut report = Report::default();
    check_image(img, opts, false, "", &mut report).await;
    report.finish(describe("image", img.digest().await))
}

/// Checks an index and, recursively, every child it lists: each child's
/// media type, digest and size against its descriptor, each image child's
/// platform against its config, and the index manifest's digest, size,
/// content and media type.
pub async fn index(idx: &dyn ImageIndex, opts: Options) -> Result<()> {
    let mut report = Report::default();
    check_index(idx, opts, String::new(), &mut report).await;
    report.finish(describe("index", idx.digest().await))
}

fn describe(kind: &str, digest: Result<Digest>) -> String {
    digest.map_or_else(|_| kind.to_owned(), |d| format!("{kind} {d}"))
}

/// The problems found so far.
#[derive(Debug, Default)]
struct Report {
    problems: Vec<String>,
    /// The first transient error met: the view could not be checked, which
    /// is worth a retry rather than a verdict.
    transient: Option<Error>,
}

impl Report {
    fn push(&mut self, prefix: &str, problem: impl fmt::Display) {
        self.problems.push(format!("{prefix}{problem}"));
    }

    /// Records a failed call as a problem and returns the value otherwise.
    fn ok<T>(&mut self, prefix: &str, call: &str, result: Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(prefix, format_args!("{call} failed: {}", chain(&e)));
                if e.is_transient() && self.transient.is_none() {
                    self.transient = Some(e);
                }
                None
            }
        }
    }

    /// Records a problem when `expected != actual`.
    fn eq<T: PartialEq + fmt::Display>(
        &mut self,
        prefix: &str,
        what: &str,
        expected: &T,
        actual: &T,
    ) {
        if expected != actual {
            self.push(prefix, format_args!("{what}: {expected} != {actual}"));
        }
    }

    fn finish(self, what: String) -> Result<()> {
        if let Some(e) = self.transient {
            return Err(e);
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid {
                what,
                problems: self.problems,
            })
        }
    }
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(out, ": {s}");
        source = s.source();
    }
    out
}

/// What reading a layer's streams found.
#[derive(Debug)]
struct Computed {
    /// SHA-256 of the compressed stream.
    digest: Digest,
    /// Length of the compressed stream.
    size: u64,
    /// SHA-256 of the compressed stream decompressed (by sniffing); only for
    /// layer media types.
    diff_id: Option<Digest>,
    /// SHA-256 and length of the uncompressed stream, unless the layer has
    /// none ([`Error::Unsupported`], as for a streaming layer).
    uncompressed: Option<(Digest, u64)>,
}

/// A stream that hashes (and so counts) what passes through it.
struct Tee {
    inner: Blob,
    hasher: Arc<Mutex<Hasher>>,
}

impl Stream for Tee {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &item {
            self.hasher
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .update(chunk);
        }
        item
    }
}

/// Hashes and counts a whole blob with `algorithm`.
async fn hash_blob(mut blob: Blob, algorithm: Algorithm) -> Result<(Digest, u64)> {
    let mut hasher = Hasher::new(algorithm);
    while let Some(chunk) = blob.next().await {
        hasher.update(&chunk.map_err(Error::from_io)?);
    }
    let len = hasher.len();
    Ok((hasher.finish(), len))
}

/// Decompresses (by sniffing) and hashes a compressed stream, scanning the
/// tar inside; returns the compressed digest and size and the diff id.
async fn hash_layer_stream(
    compressed: Blob,
    prefix: &str,
    report: &mut Report,
) -> Option<(Digest, u64, Digest)> {
    let hasher = Arc::new(Mutex::new(Hasher::sha256()));
    let tee = Blob::new(
        Tee {
            inner: compressed,
            hasher: Arc::clone(&hasher),
        },
        None,
    );
    let mut decompressed = crate::compression::decompress(tee);
    let mut diff_hasher = Hasher::sha256();
    let mut scanner = TarScanner::new();
    while let Some(chunk) = decompressed.next().await {
        match chunk {
            Ok(chunk) => {
                diff_hasher.update(&chunk);
                scanner.feed(&chunk);
            }
            Err(e) => {
                let e = Error::from_io(e);
                if is_truncation(&e) {
                    report.push(
                        prefix,
                        "undersized content: the compressed stream ends early",
                    );
                } else {
                    report.ok::<()>(prefix, "reading compressed()", Err(e));
                }
                return None;
            }
        }
    }
    drop(decompressed);
    let hasher = std::mem::replace(
        &mut *hasher.lock().unwrap_or_else(PoisonError::into_inner),
        Hasher::sha256(),
    );
    match scanner.finish() {
        None => {}
        Some(TarProblem::Duplicate(path)) => {
            report.push(
                prefix,
                format_args!("duplicate file path {path:?} in the tar"),
            );
        }
        Some(TarProblem::Truncated) => {
            report.push(prefix, "undersized content: the tar ends inside an entry");
        }
        Some(TarProblem::BadHeader { offset }) => report.push(
            prefix,
            format_args!("corrupt tar header at uncompressed byte {offset}"),
        ),
    }
    let size = hasher.len();
    Some((hasher.finish(), size, diff_hasher.finish()))
}

/// Reads a layer's compressed stream once (for a layer media type also
/// decompressing, hashing and tar-scanning it) and its uncompressed stream once.
async fn compute(
    layer: &dyn Layer,
    is_layer: bool,
    prefix: &str,
    report: &mut Report,
) -> Option<Computed> {
    let compressed = report.ok(prefix, "compressed()", layer.compressed().await)?;
    let (digest, size, diff_id) = if is_layer {
        let (digest, size, diff_id) = hash_layer_stream(compressed, prefix, report).await?;
        (digest, size, Some(diff_id))
    } else {
        let read = hash_blob(compressed, Algorithm::Sha256).await;
        let (digest, size) = report.ok(prefix, "reading compressed()", read)?;
        (digest, size, None)
    };
    let uncompressed = match layer.uncompressed().await {
        // A streaming layer has no uncompressed form to check.
        Err(Error::Unsupported { .. }) => None,
        other => Some(report.ok(prefix, "uncompressed()", other)?),
    };
    let mut uncompressed_facts = None;
    if let Some(uncompressed) = uncompressed {
        let read = hash_blob(uncompressed, Algorithm::Sha256).await;
        uncompressed_facts = Some(report.ok(prefix, "reading uncompressed()", read)?);
    }
    Some(Computed {
        digest,
        size,
        diff_id,
        uncompressed: uncompressed_facts,
    })
}

fn is_truncation(e: &Error) -> bool {
    match e {
        Error::Decompress { source, .. } => source.kind() == std::io::ErrorKind::UnexpectedEof,
        Error::Io(io) => io.kind() == std::io::ErrorKind::UnexpectedEof,
        _ => false,
    }
}

/// Whether `claimed` is the digest of the content whose SHA-256 is `sha256`,
/// re-reading the content when `claimed` uses another algorithm.
async fn same_content(
    claimed: Digest,
    sha256: Digest,
    reread: impl Future<Output = Result<Blob>>,
) -> Result<bool> {
    if claimed.algorithm() == sha256.algorithm() {
        return Ok(claimed == sha256);
    }
    let (d, _) = hash_blob(reread.await?, claimed.algorithm()).await?;
    Ok(d == claimed)
}

/// What a layer says about itself, and what its streams say.
#[derive(Debug, Default)]
struct LayerFacts {
    media_type: Option<MediaType>,
    digest: Option<Digest>,
    diff_id: Option<Digest>,
    size: Option<u64>,
    computed: Option<Computed>,
}

impl LayerFacts {
    fn is_layer(&self) -> bool {
        self.media_type.as_ref().is_some_and(MediaType::is_layer)
    }
}

/// Reads a layer's streams and checks its methods against them.
async fn check_layer(
    layer: &dyn Layer,
    opts: Options,
    prefix: &str,
    report: &mut Report,
) -> LayerFacts {
    let mut facts = LayerFacts::default();
    if opts.fast {
        if let Some(false) = report.ok(prefix, "exists()", layer.exists().await) {
            report.push(prefix, "layer does not exist");
        }
        return facts;
    }
    facts.media_type = report.ok(prefix, "media_type()", layer.media_type().await);
    let Some(media_type) = facts.media_type.clone() else {
        return facts;
    };
    let is_layer = media_type.is_layer();
    // Streams first: a streaming layer only knows its digest once consumed.
    facts.computed = compute(layer, is_layer, prefix, report).await;
    facts.digest = report.ok(prefix, "digest()", layer.digest().await);
    facts.size = report.ok(prefix, "size()", layer.size().await);
    facts.diff_id = report.ok(prefix, "diff_id()", layer.diff_id().await);
    let Some(c) = &facts.computed else {
        return facts;
    };
    if let Some(digest) = facts.digest {
        let same = same_content(digest, c.digest, layer.compressed()).await;
        if let Some(false) = report.ok(prefix, "re-reading compressed()", same) {
            report.push(
                prefix,
                format_args!(
                    "digest() is {digest} but the compressed stream hashes to {}",
                    c.digest
                ),
            );
        }
    }
    if let Some(diff_id) = facts.diff_id {
        if let Some(computed) = c.diff_id
            && diff_id.algorithm() == computed.algorithm()
            && diff_id != computed
        {
            report.push(
                prefix,
                format_args!(
                    "diff_id() is {diff_id} but the decompressed compressed stream hashes to {computed}"
                ),
            );
        }
        if let Some((computed, _)) = c.uncompressed {
            let same = same_content(diff_id, computed, layer.uncompressed()).await;
            if let Some(false) = report.ok(prefix, "re-reading uncompressed()", same) {
                report.push(
                    prefix,
                    format_args!(
                        "diff_id() is {diff_id} but the uncompressed stream hashes to {computed}"
                    ),
                );
            }
        }
    }
    if let Some(size) = facts.size
        && size != c.size
    {
        report.push(
            prefix,
            format_args!(
                "size() is {size} but the compressed stream has {} bytes",
                c.size
            ),
        );
    }
    check_layer_extras(layer, &facts, c, &media_type, prefix, report).await;
    facts
}

/// Checks the optional capabilities (uncompressed size, own descriptor).
async fn check_layer_extras(
    layer: &dyn Layer,
    facts: &LayerFacts,
    c: &Computed,
    media_type: &MediaType,
    prefix: &str,
    report: &mut Report,
) {
    let usize = report.ok(
        prefix,
        "uncompressed_size()",
        layer.uncompressed_size().await,
    );
    if let (Some(Some(claimed)), Some((_, actual))) = (usize, c.uncompressed)
        && claimed != actual
    {
        report.push(
            prefix,
            format_args!(
                "uncompressed_size() is {claimed} but the uncompressed stream has {actual} bytes"
            ),
        );
    }
    if let Some(Some(desc)) = report.ok(prefix, "descriptor()", layer.descriptor().await) {
        if let Some(digest) = facts.digest {
            report.eq(
                prefix,
                "descriptor().digest vs digest()",
                &desc.digest,
                &digest,
            );
        }
        if let Some(size) = facts.size {
            report.eq(prefix, "descriptor().size vs size()", &desc.size, &size);
        }
        report.eq(
            prefix,
            "descriptor().media_type vs media_type()",
            &desc.media_type,
            media_type,
        );
    }
}

async fn check_image(
    img: &dyn Image,
    opts: Options,
    artifact_hint: bool,
    prefix: &str,
    report: &mut Report,
) {
    // Layers first, manifest and config after: a lazily mutated image with a
    // streaming layer can only describe itself once that layer is consumed.
    let layers = report.ok(prefix, "layers()", img.layers().await);
    let mut facts = Vec::new();
    for (i, layer) in layers.iter().flatten().enumerate() {
        let p = format!("{prefix}layer[{i}]: ");
        facts.push(check_layer(&**layer, opts, &p, report).await);
    }

    let Some(manifest) = check_manifest(img, prefix, report).await else {
        return;
    };
    let artifact = artifact_hint || !manifest.config.media_type.is_config();
    let config = check_config(img, &manifest, artifact, prefix, report).await;

    let Some(layers) = layers else {
        return;
    };
    if layers.len() != manifest.layers.len() {
        report.push(
            prefix,
            format_args!(
                "layers() returned {} layers but the manifest lists {}",
                layers.len(),
                manifest.layers.len()
            ),
        );
    }
    let diff_ids = config
        .as_ref()
        .map(|c| c.rootfs.diff_ids.as_deref().unwrap_or_default());
    if let Some(diff_ids) = diff_ids
        && diff_ids.len() != manifest.layers.len()
    {
        report.push(
            prefix,
            format_args!(
                "the manifest lists {} layers but the config lists {} diff ids",
                manifest.layers.len(),
                diff_ids.len()
            ),
        );
    }
    if opts.fast {
        return;
    }
    for (i, facts) in facts.iter().enumerate() {
        let p = format!("{prefix}layer[{i}]: ");
        let want_diff_id = diff_ids.and_then(|d| d.get(i));
        check_image_layer(
            img,
            facts,
            manifest.layers.get(i),
            want_diff_id,
            artifact,
            &p,
            report,
        )
        .await;
    }
}

/// Checks one layer of an image against the manifest, the config and the
/// image's lookups.
async fn check_image_layer(
    img: &dyn Image,
    facts: &LayerFacts,
    desc: Option<&Descriptor>,
    want_diff_id: Option<&Digest>,
    artifact: bool,
    p: &str,
    report: &mut Report,
) {
    if let (Some(desc), Some(mt)) = (desc, &facts.media_type) {
        report.eq(
            p,
            "manifest media type vs media_type()",
            &desc.media_type,
            mt,
        );
    }
    if let Some(c) = &facts.computed {
        if let Some(desc) = desc {
            if desc.digest.algorithm() == c.digest.algorithm() {
                report.eq(
                    p,
                    "manifest digest vs hash of compressed stream",
                    &desc.digest,
                    &c.digest,
                );
            } else if let Some(digest) = facts.digest {
                // digest() itself was checked against the stream above.
                report.eq(p, "manifest digest vs digest()", &desc.digest, &digest);
            }
            report.eq(
                p,
                "manifest size vs length of compressed stream",
                &desc.size,
                &c.size,
            );
        }
        if let (Some(want), Some(computed)) = (want_diff_id, c.diff_id) {
            report.eq(
                p,
                "config diff id vs hash of decompressed stream",
                want,
                &computed,
            );
        }
    }
    if let Some(digest) = facts.digest {
        let found = img.layer_by_digest(digest).await;
        if let Some(found) = report.ok(p, "layer_by_digest()", found)
            && let Some(d) = report.ok(p, "layer_by_digest().digest()", found.digest().await)
        {
            report.eq(p, "layer_by_digest(digest()).digest()", &d, &digest);
        }
    }
    if let Some(diff_id) = facts.diff_id
        && facts.is_layer()
        && !artifact
    {
        let found = img.layer_by_diff_id(diff_id).await;
        if let Some(found) = report.ok(p, "layer_by_diff_id()", found)
            && let Some(d) = report.ok(p, "layer_by_diff_id().diff_id()", found.diff_id().await)
        {
            report.eq(p, "layer_by_diff_id(diff_id()).diff_id()", &d, &diff_id);
        }
    }
}

/// Checks the manifest against its raw bytes; returns it when it parses.
async fn check_manifest(img: &dyn Image, prefix: &str, report: &mut Report) -> Option<Manifest> {
    let raw = report.ok(prefix, "raw_manifest()", img.raw_manifest().await)?;
    check_raw_digest_and_size(
        prefix,
        "manifest",
        &raw,
        img.digest().await,
        img.size().await,
        report,
    );
    let parsed = report.ok(prefix, "parsing raw_manifest()", Manifest::parse(&raw));
    let manifest = report.ok(prefix, "manifest()", img.manifest().await);
    if let (Some(parsed), Some(manifest)) = (&parsed, &manifest)
        && parsed != manifest
    {
        report.push(prefix, "manifest() differs from the parsed raw_manifest()");
    }
    if let Some(mt) = report.ok(prefix, "media_type()", img.media_type().await) {
        if let Some(declared) = manifest.as_ref().and_then(|m| m.media_type.as_ref()) {
            report.eq(prefix, "manifest mediaType vs media_type()", declared, &mt);
        }
        if mt.is_index() {
            report.push(prefix, format_args!("media_type() {mt} is an index type"));
        }
    }
    manifest.or(parsed)
}

/// Checks `digest()` and `size()` of a document against its raw bytes.
fn check_raw_digest_and_size(
    prefix: &str,
    what: &str,
    raw: &[u8],
    digest: Result<Digest>,
    size: Result<u64>,
    report: &mut Report,
) {
    if let Some(digest) = report.ok(prefix, "digest()", digest) {
        let actual = digest_of(digest.algorithm(), raw);
        if digest != actual {
            report.push(
                prefix,
                format_args!("digest() is {digest} but the raw {what} hashes to {actual}"),
            );
        }
    }
    if let Some(size) = report.ok(prefix, "size()", size)
        && size != raw.len() as u64
    {
        report.push(
            prefix,
            format_args!(
                "size() is {size} but the raw {what} has {} bytes",
                raw.len()
            ),
        );
    }
}

/// Checks the config blob against the manifest; returns the parsed config of
/// an image (not of an artifact).
async fn check_config(
    img: &dyn Image,
    manifest: &Manifest,
    artifact: bool,
    prefix: &str,
    report: &mut Report,
) -> Option<ConfigFile> {
    let raw = report.ok(prefix, "raw_config_file()", img.raw_config_file().await)?;
    let desc = &manifest.config;
    let actual = digest_of(desc.digest.algorithm(), &raw);
    if desc.digest != actual {
        report.push(
            prefix,
            format_args!(
                "the manifest's config digest is {} but the raw config hashes to {actual}",
                desc.digest
            ),
        );
    }
    if desc.size != raw.len() as u64 {
        report.push(
            prefix,
            format_args!(
                "the manifest's config size is {} but the raw config has {} bytes",
                desc.size,
                raw.len()
            ),
        );
    }
    if let Some(name) = report.ok(prefix, "config_name()", img.config_name().await) {
        let actual = digest_of(name.algorithm(), &raw);
        if name != actual {
            report.push(
                prefix,
                format_args!("config_name() is {name} but the raw config hashes to {actual}"),
            );
        }
    }
    if artifact {
        return None;
    }
    let parsed = report.ok(prefix, "parsing raw_config_file()", ConfigFile::parse(&raw));
    let config = report.ok(prefix, "config_file()", img.config_file().await);
    if let (Some(parsed), Some(config)) = (&parsed, &config)
        && parsed != config
    {
        report.push(
            prefix,
            "config_file() differs from the parsed raw_config_file()",
        );
    }
    let config = config.or(parsed)?;
    if config.rootfs.kind != "layers" {
        report.push(
            prefix,
            format_args!("rootfs.type is {:?}, not \"layers\"", config.rootfs.kind),
        );
    }
    Some(config)
}
