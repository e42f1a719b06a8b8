//! Shared helpers.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use ocireg_v1::{Blob, Digest, Image, Layer, MediaType, StaticLayer, async_trait};

pub(crate) fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An image from raw documents and one layer blob.
#[derive(Debug)]
pub(crate) struct RawImage {
    pub(crate) manifest: Bytes,
    pub(crate) config: Bytes,
    pub(crate) layers: Vec<Bytes>,
}

#[async_trait]
impl Image for RawImage {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.manifest.clone())
    }
    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.config.clone())
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::DockerManifestSchema2)
    }
    async fn layer_by_digest(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        for l in &self.layers {
            if ocireg_v1::sha256(l) == digest {
                return Ok(Arc::new(StaticLayer::new(
                    l.clone(),
                    MediaType::DockerLayer,
                )));
            }
        }
        Err(ocireg_v1::Error::NotFound {
            what: digest.to_string(),
        })
    }
}

/// Whether `tool` runs; under `CI=true` a missing tool fails the test.
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
pub(crate) fn have(tool: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required under CI=true (scripts/install-deps.sh installs it)"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    ok
}

/// Reads a whole blob (test sizes only).
pub(crate) async fn bytes(blob: Blob) -> Bytes {
    blob.read_to_end(1 << 30).await.expect("read blob")
}

/// ggcr's crane from `OCIREG_GGCR_CRANE`; under `CI=true` it must be set.
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
pub(crate) fn ggcr_crane() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OCIREG_GGCR_CRANE") {
        return Some(PathBuf::from(p));
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "OCIREG_GGCR_CRANE must name ggcr's crane under CI=true"
    );
    eprintln!("skipping: OCIREG_GGCR_CRANE is not set");
    None
}
