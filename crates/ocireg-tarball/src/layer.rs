//! Layers from tar, tar.gz and tar.zst files (ggcr `tarball.LayerFromFile`,
//! `LayerFromOpener`, `LayerFromReader`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt as _;
use ocireg_v1::{
    Blob, Compression, Digest, GzipLevel, Hasher, Layer, MediaType, async_trait, decompress, gzip,
    peek_compression,
};
use tokio::io::AsyncWriteExt as _;

use crate::read::{hash, read_at};
use crate::{Error, Result};

/// How [`layer_from_file`] makes a layer.
#[derive(Debug, Clone, Default)]
pub struct LayerOptions {
    media_type: Option<MediaType>,
    level: GzipLevel,
    zstd: bool,
}

impl LayerOptions {
    /// Defaults: gzip level 1 (ggcr's `BestSpeed`) for plain tars; media
    /// type Docker gzip layer (OCI zstd layer for a zstd file).
    pub fn new() -> Self {
        Self::default()
    }

    /// The layer's media type (ggcr `WithMediaType`).
    #[must_use]
    pub fn media_type(mut self, media_type: MediaType) -> Self {
        self.media_type = Some(media_type);
        self
    }

    /// How a plain tar is compressed (ggcr `WithCompression`): gzip (the
    /// default) or zstd; `None` means gzip, as in ggcr. Pair zstd with a
    /// zstd media type (it is the default media type then).
    #[must_use]
    pub fn compression(mut self, compression: Compression) -> Self {
        self.zstd = compression == Compression::Zstd;
        self
    }

    /// The compression level for a plain tar (ggcr `WithCompressionLevel`),
    /// used for zstd too, as ggcr does.
    #[must_use]
    pub fn gzip_level(mut self, level: GzipLevel) -> Self {
        self.level = level;
        self
    }
}

/// A layer backed by a file: a tar, served gzipped, or a tar.gz or tar.zst,
/// served as is. Every read is checked against the digests computed when
/// the layer was made, so a file changed since then gives an error.
#[derive(Debug)]
pub struct FileLayer {
    path: PathBuf,
    file_len: u64,
    compression: Compression,
    level: GzipLevel,
    zstd: bool,
    digest: Digest,
    diff_id: Digest,
    size: u64,
    uncompressed_size: u64,
    media_type: MediaType,
    /// Keeps the spooled file of [`layer_from_stream`] until the layer is dropped.
    temp: Option<tempfile::TempPath>,
}

impl FileLayer {
    /// The file behind the layer.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The compression of the file (`None` for a plain tar).
    pub fn file_compression(&self) -> Compression {
        self.compression
    }

    fn file(&self) -> Blob {
        read_at(self.path.clone(), 0, self.file_len)
    }

    /// The plain tar compressed as the options said.
    fn compress(&self, tar: Blob) -> ocireg_v1::Result<Blob> {
        compress(tar, self.zstd, self.level)
    }
}

fn compress(tar: Blob, zstd: bool, level: GzipLevel) -> ocireg_v1::Result<Blob> {
    if zstd {
        let level = i32::try_from(level.get()).unwrap_or(1);
        let encoder =
            crate::zstd_encode::ZstdEncoder::new(tar, level).map_err(ocireg_v1::Error::Io)?;
        Ok(Blob::new(encoder, None))
    } else {
        Ok(Blob::new(gzip(tar, level), None))
    }
}

/// Feeds every chunk of `stream` to `hasher` as it passes.
fn tee(
    blob: impl futures_core::Stream<Item = std::io::Result<bytes::Bytes>> + Send + Unpin + 'static,
    hasher: &Arc<Mutex<Hasher>>,
) -> Blob {
    let h = Arc::clone(hasher);
    Blob::new(
        blob.inspect(move |item| {
            if let (Ok(chunk), Ok(mut h)) = (item, h.lock()) {
                h.update(chunk);
            }
        }),
        None,
    )
}

fn finish(hasher: Arc<Mutex<Hasher>>) -> Result<(Digest, u64)> {
    let h = Arc::try_unwrap(hasher)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .ok_or_else(|| Error::Unwritable {
            reason: "hasher still in use".into(),
        })?;
    let len = h.len();
    Ok((h.finish(), len))
}

/// A layer from the file at `path`: a tar, tar.gz or tar.zst, sniffed by
/// its first bytes. Its digest, diff id and size are computed now, in one
/// pass over the file (ggcr `LayerFromFile`).
pub async fn layer_from_file(path: impl AsRef<Path>, options: LayerOptions) -> Result<FileLayer> {
    let path = path.as_ref().to_path_buf();
    let file_len = fs_err::tokio::metadata(&path)
        .await
        .map_err(Error::io("reading the layer file's metadata", &path))?
        .len();
    let on_path = |e: ocireg_v1::Error| Error::File {
        path: path.clone(),
        source: e,
    };
    let (compression, peeked) = peek_compression(read_at(path.clone(), 0, file_len))
        .await
        .map_err(on_path)?;
    let other = Arc::new(Mutex::new(Hasher::sha256()));
    let (digest, size, diff_id, uncompressed_size) = if compression == Compression::None {
        // Hash the tar for the diff id while gzipping it for the digest.
        let compressed =
            compress(tee(peeked, &other), options.zstd, options.level).map_err(on_path)?;
        let (digest, size) = hash(compressed).await.map_err(on_path)?;
        let (diff_id, len) = finish(other)?;
        (digest, size, diff_id, len)
    } else {
        // Hash the file for the digest while decompressing it for the diff id.
        let (diff_id, len) = hash(Blob::new(decompress(tee(peeked, &other)), None))
            .await
            .map_err(on_path)?;
        let (digest, size) = finish(other)?;
        (digest, size, diff_id, len)
    };
    let zstd =
        compression == Compression::Zstd || (compression == Compression::None && options.zstd);
    let media_type = options.media_type.unwrap_or(if zstd {
        MediaType::OciLayerZstd
    } else {
        MediaType::DockerLayer
    });
    Ok(FileLayer {
        path,
        file_len,
        compression,
        level: options.level,
        zstd: options.zstd,
        digest,
        diff_id,
        size,
        uncompressed_size,
        media_type,
        temp: None,
    })
}

/// A layer from a stream of a tar, tar.gz or tar.zst: spooled to a
/// temporary file (removed when the layer is dropped), then as
/// [`layer_from_file`] (ggcr `LayerFromReader`).
pub async fn layer_from_stream(
    stream: impl futures_core::Stream<Item = std::io::Result<bytes::Bytes>> + Send + Unpin,
    options: LayerOptions,
) -> Result<FileLayer> {
    let mut stream = stream;
    let temp = tempfile::Builder::new()
        .make(|p| {
            // Private, as tempfile's own: the layer is no one else's business.
            let mut options = fs_err::OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            fs_err::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(p)
        })
        .map_err(Error::io("creating a temporary file", std::env::temp_dir()))?;
    let (file, temp_path) = temp.into_parts();
    let mut file = fs_err::tokio::File::from_std(file);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::Image(ocireg_v1::Error::from_io(e)))?;
        file.write_all(&chunk)
            .await
            .map_err(Error::io("writing", temp_path.to_path_buf()))?;
    }
    file.flush()
        .await
        .map_err(Error::io("writing", temp_path.to_path_buf()))?;
    drop(file);
    let mut layer = layer_from_file(&temp_path, options).await?;
    layer.temp = Some(temp_path);
    Ok(layer)
}

#[async_trait]
impl Layer for FileLayer {
    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.digest)
    }
    async fn diff_id(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.diff_id)
    }
    async fn size(&self) -> ocireg_v1::Result<u64> {
        Ok(self.size)
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(self.media_type.clone())
    }
    async fn compressed(&self) -> ocireg_v1::Result<Blob> {
        let blob = if self.compression == Compression::None {
            let c = self.compress(self.file())?;
            Blob::new(c.into_stream(), Some(self.size))
        } else {
            self.file()
        };
        Ok(blob.verified(self.digest, Some(self.size)))
    }
    async fn uncompressed(&self) -> ocireg_v1::Result<Blob> {
        let blob = if self.compression == Compression::None {
            self.file()
        } else {
            Blob::new(decompress(self.file()), Some(self.uncompressed_size))
        };
        Ok(blob.verified(self.diff_id, Some(self.uncompressed_size)))
    }
    async fn uncompressed_size(&self) -> ocireg_v1::Result<Option<u64>> {
        Ok(Some(self.uncompressed_size))
    }
    async fn exists(&self) -> ocireg_v1::Result<bool> {
        Ok(true)
    }
}
