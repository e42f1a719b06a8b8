//! Blob storage (memory or disk) and the byte store behind upload sessions.
//!
//! Blobs are content addressed and shared by every repository; which
//! repositories may see a blob is tracked by the registry state, not here.
//! On disk a blob lives at `<root>/blobs/<algorithm>/<hex>`. An upload is
//! written to a temporary file under `<root>/uploads/` (the same file
//! system), hashed as it is written, and renamed into place only after its
//! digest has been verified: a half-written or unverified blob is never
//! visible under a blob path. A dropped upload deletes its temporary file.

use std::collections::{HashMap, VecDeque};
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use ocireg_v1::{Algorithm, Digest, Hasher};
use tempfile::TempPath;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

use crate::body::ResponseBody;
use crate::error::Error;
use crate::memory::{Charge, MemoryBudget};

/// Where a [`Registry`](crate::Registry) keeps blob contents.
///
/// Manifests, tags and upload bookkeeping are always kept in memory (they
/// are small: manifests are capped at 4 MiB by default); only blob bytes go to disk.
/// A directory must not be shared by two running registries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Storage {
    /// Everything in memory (ggcr's default blob handler).
    #[default]
    Memory,
    /// Blobs as files under this directory (ggcr's `NewDiskBlobHandler`):
    /// `blobs/<algorithm>/<hex>` and `uploads/` for uploads in progress.
    /// Upload files an earlier run left behind are removed when the
    /// registry is built (sessions live in memory and cannot resume).
    Disk(PathBuf),
}

/// A blob held in memory: the chunks it arrived in, never copied together,
/// and their charge to the memory budget (released when the last reader is
/// done with them).
#[derive(Clone)]
pub(crate) struct MemBlob {
    parts: Arc<[Bytes]>,
    len: u64,
    charge: Arc<Charge>,
}

impl MemBlob {
    fn from_parts(parts: Vec<Bytes>, charge: Charge) -> Self {
        let len = parts.iter().map(|p| p.len() as u64).sum();
        Self {
            parts: parts.into(),
            len,
            charge: Arc::new(charge),
        }
    }

    /// The chunks covering `start..=end`, sliced without copying.
    fn slice(&self, start: u64, end: u64) -> VecDeque<Bytes> {
        let mut out = VecDeque::new();
        let mut offset = 0u64;
        for part in self.parts.iter() {
            let part_len = part.len() as u64;
            let part_end = offset + part_len; // exclusive
            if part_end > start && offset <= end {
                let from = start.saturating_sub(offset);
                let to = (end + 1).min(part_end) - offset;
                out.push_back(part.slice(to_usize(from)..to_usize(to)));
            }
            offset = part_end;
            if offset > end {
                break;
            }
        }
        out
    }
}

/// An offset inside an in-memory buffer, which always fits in `usize`.
fn to_usize(n: u64) -> usize {
    usize::try_from(n).expect("offsets of in-memory buffers fit in usize")
}

/// A blob opened for reading.
pub(crate) enum BlobReader {
    Memory(MemBlob),
    File { file: fs_err::tokio::File, len: u64 },
}

impl BlobReader {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Memory(blob) => blob.len,
            Self::File { len, .. } => *len,
        }
    }

    /// A body with bytes `start..=end`, or the whole blob.
    pub(crate) async fn into_body(self, range: Option<(u64, u64)>) -> io::Result<ResponseBody> {
        match self {
            Self::Memory(blob) => Ok(match range {
                None => ResponseBody::chunks(blob.parts.iter().cloned().collect()),
                Some((start, end)) => ResponseBody::chunks(blob.slice(start, end)),
            }
            .charged(Arc::clone(&blob.charge))),
            Self::File { mut file, len } => match range {
                None => Ok(ResponseBody::file(file, len)),
                Some((start, end)) => {
                    file.seek(SeekFrom::Start(start)).await?;
                    Ok(ResponseBody::file(file, end - start + 1))
                }
            },
        }
    }
}

/// The blob store of one registry.
pub(crate) enum BlobStore {
    /// Blobs and uploads in memory, charged to `budget`.
    Memory {
        blobs: Mutex<HashMap<Digest, MemBlob>>,
        budget: Arc<MemoryBudget>,
    },
    Disk {
        blobs: PathBuf,
        uploads: PathBuf,
    },
}

impl BlobStore {
    /// Opens the store, creating the disk layout if needed. In memory,
    /// blobs and uploads are charged to `budget`.
    pub(crate) fn open(storage: &Storage, budget: &Arc<MemoryBudget>) -> Result<Self, Error> {
        match storage {
            Storage::Memory => Ok(Self::Memory {
                blobs: Mutex::new(HashMap::new()),
                budget: Arc::clone(budget),
            }),
            Storage::Disk(root) => {
                let blobs = root.join("blobs");
                let uploads = root.join("uploads");
                for dir in [
                    blobs.join(Algorithm::Sha256.as_str()),
                    blobs.join(Algorithm::Sha512.as_str()),
                    uploads.clone(),
                ] {
                    fs_err::create_dir_all(&dir)
                        .map_err(|source| Error::CreateDir { path: dir, source })?;
                }
                remove_stale_uploads(&uploads);
                Ok(Self::Disk { blobs, uploads })
            }
        }
    }

    fn mem(
        map: &Mutex<HashMap<Digest, MemBlob>>,
    ) -> std::sync::MutexGuard<'_, HashMap<Digest, MemBlob>> {
        map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The path of a blob on disk. `Digest` is strictly validated, so the
    /// path cannot escape the blobs directory.
    fn blob_path(blobs: &Path, digest: &Digest) -> PathBuf {
        blobs.join(digest.algorithm().as_str()).join(digest.hex())
    }

    /// The size of a blob, if present.
    pub(crate) async fn stat(&self, digest: &Digest) -> io::Result<Option<u64>> {
        match self {
            Self::Memory { blobs, .. } => Ok(Self::mem(blobs).get(digest).map(|b| b.len)),
            Self::Disk { blobs, .. } => {
                match fs_err::tokio::metadata(Self::blob_path(blobs, digest)).await {
                    Ok(meta) => Ok(Some(meta.len())),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Opens a blob for reading, if present.
    pub(crate) async fn open_blob(&self, digest: &Digest) -> io::Result<Option<BlobReader>> {
        match self {
            Self::Memory { blobs, .. } => Ok(Self::mem(blobs)
                .get(digest)
                .cloned()
                .map(BlobReader::Memory)),
            Self::Disk { blobs, .. } => {
                match fs_err::tokio::File::open(Self::blob_path(blobs, digest)).await {
                    Ok(file) => {
                        let len = file.metadata().await?.len();
                        Ok(Some(BlobReader::File { file, len }))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Removes a blob. Readers that already opened it finish reading it.
    pub(crate) async fn delete(&self, digest: &Digest) -> io::Result<()> {
        match self {
            Self::Memory { blobs, .. } => {
                Self::mem(blobs).remove(digest);
                Ok(())
            }
            Self::Disk { blobs, .. } => {
                match fs_err::tokio::remove_file(Self::blob_path(blobs, digest)).await {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Starts the byte store of a new upload.
    pub(crate) async fn new_upload(&self) -> io::Result<UploadBytes> {
        let data = match self {
            Self::Memory { budget, .. } => Data::Memory {
                parts: Vec::new(),
                charge: budget.charge(0).map_err(io::Error::other)?,
            },
            Self::Disk { uploads, .. } => {
                let dir = uploads.clone();
                let temp = tokio::task::spawn_blocking(move || {
                    tempfile::Builder::new()
                        .prefix(UPLOAD_PREFIX)
                        .tempfile_in(dir)
                })
                .await
                .map_err(io::Error::other)??;
                let (file, path) = temp.into_parts();
                Data::Disk {
                    file: fs_err::tokio::File::from_std(fs_err::File::from_parts(file, &*path)),
                    path,
                    dirty: false,
                }
            }
        };
        Ok(UploadBytes {
            data,
            len: 0,
            sha256: Hasher::sha256(),
        })
    }

    /// Makes verified upload bytes the blob `digest`.
    ///
    /// The caller has checked [`UploadBytes::digest`] against `digest`. In
    /// memory, a blob already stored is kept and the upload dropped.
    pub(crate) async fn commit(&self, upload: UploadBytes, digest: &Digest) -> io::Result<()> {
        match (self, upload.data) {
            (Self::Memory { blobs, .. }, Data::Memory { parts, charge }) => {
                Self::mem(blobs)
                    .entry(*digest)
                    .or_insert_with(|| MemBlob::from_parts(parts, charge));
                Ok(())
            }
            (
                Self::Disk { blobs, .. },
                Data::Disk {
                    mut file,
                    path,
                    dirty,
                },
            ) => {
                if dirty {
                    file.set_len(upload.len).await?;
                }
                file.flush().await?;
                drop(file);
                let dest = Self::blob_path(blobs, digest);
                tokio::task::spawn_blocking(move || path.persist(dest).map_err(|e| e.error))
                    .await
                    .map_err(io::Error::other)?
            }
            _ => Err(io::Error::other("upload does not belong to this store")),
        }
    }
}

/// Removes the temporary files an earlier run left in `uploads` (sessions
/// live in memory, so nothing can resume them). Failures are logged: they
/// only cost disk space.
fn remove_stale_uploads(uploads: &Path) {
    let entries = match fs_err::read_dir(uploads) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::warn!(error = %err, dir = %uploads.display(), "listing stale uploads");
            return;
        }
    };
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_string_lossy()
            .starts_with(UPLOAD_PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_file());
        if stale && let Err(err) = fs_err::remove_file(entry.path()) {
            tracing::warn!(error = %err, file = %entry.path().display(), "removing a stale upload");
        }
    }
}

/// The file name prefix of an upload's temporary file.
const UPLOAD_PREFIX: &str = ".upload-";

/// The bytes received so far by one upload session.
pub(crate) struct UploadBytes {
    data: Data,
    len: u64,
    sha256: Hasher,
}

enum Data {
    /// The chunks received, charged to the memory budget.
    Memory { parts: Vec<Bytes>, charge: Charge },
    Disk {
        file: fs_err::tokio::File,
        /// Deletes the temporary file when dropped, unless persisted.
        path: TempPath,
        /// A write may have been cut off (its future dropped): the file may
        /// hold bytes past `len`, and its position may not be `len`.
        dirty: bool,
    },
}

impl UploadBytes {
    /// How many bytes have been received.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends a chunk.
    pub(crate) async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        match &mut self.data {
            Data::Memory { parts, charge } => {
                charge
                    .grow(chunk.len() as u64)
                    .map_err(|full| io::Error::new(io::ErrorKind::StorageFull, full))?;
                self.sha256.update(&chunk);
                self.len += chunk.len() as u64;
                parts.push(chunk);
                return Ok(());
            }
            Data::Disk { file, dirty, .. } => {
                if *dirty {
                    file.set_len(self.len).await?;
                    file.seek(SeekFrom::Start(self.len)).await?;
                }
                *dirty = true;
                file.write_all(&chunk).await?;
                *dirty = false;
            }
        }
        self.sha256.update(&chunk);
        self.len += chunk.len() as u64;
        Ok(())
    }

    /// The digest of the bytes received, with `algorithm`.
    ///
    /// SHA-256 is computed as the bytes arrive; another algorithm re-reads them.
    pub(crate) async fn digest(&mut self, algorithm: Algorithm) -> io::Result<Digest> {
        if algorithm == Algorithm::Sha256 {
            return Ok(self.sha256.clone().finish());
        }
        let mut hasher = Hasher::new(algorithm);
        match &mut self.data {
            Data::Memory { parts, .. } => {
                for part in parts.iter() {
                    hasher.update(part);
                }
            }
            Data::Disk { file, path, .. } => {
                file.flush().await?;
                let reader = fs_err::tokio::File::open(&**path).await?;
                let mut reader = reader.take(self.len);
                let mut buf = BytesMut::with_capacity(64 * 1024);
                loop {
                    buf.clear();
                    if reader.read_buf(&mut buf).await? == 0 {
                        break;
                    }
                    hasher.update(&buf);
                }
                if hasher.len() != self.len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "upload file is shorter than the bytes received",
                    ));
                }
            }
        }
        Ok(hasher.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    fn parts() -> MemBlob {
        let budget = MemoryBudget::new(8);
        MemBlob::from_parts(
            vec![
                Bytes::from_static(b"abc"),
                Bytes::from_static(b"defg"),
                Bytes::from_static(b"h"),
            ],
            budget.charge(8).expect("fits"),
        )
    }

    #[test]
    fn mem_slices() {
        let blob = parts();
        let join = |start, end| -> Vec<u8> {
            blob.slice(start, end)
                .into_iter()
                .flat_map(|b| b.to_vec())
                .collect()
        };
        assert_eq!(join(0, 7), b"abcdefgh");
        assert_eq!(join(0, 0), b"a");
        assert_eq!(join(2, 3), b"cd");
        assert_eq!(join(3, 6), b"defg");
        assert_eq!(join(4, 7), b"efgh");
        assert_eq!(join(7, 7), b"h");
    }

    async fn roundtrip(storage: Storage) {
        let budget = MemoryBudget::new(1024);
        let store = BlobStore::open(&storage, &budget).expect("open");
        let mut up = store.new_upload().await.expect("upload");
        up.write(Bytes::from_static(b"hello "))
            .await
            .expect("write");
        up.write(Bytes::from_static(b"world")).await.expect("write");
        assert_eq!(up.len(), 11);
        let d256 = up.digest(Algorithm::Sha256).await.expect("digest");
        assert_eq!(d256, ocireg_v1::sha256(b"hello world"));
        let d512 = up.digest(Algorithm::Sha512).await.expect("digest");
        assert_eq!(
            d512,
            ocireg_v1::digest_of(Algorithm::Sha512, b"hello world")
        );
        store.commit(up, &d512).await.expect("commit");
        assert_eq!(store.stat(&d512).await.expect("stat"), Some(11));
        assert_eq!(store.stat(&d256).await.expect("stat"), None);
        let reader = store
            .open_blob(&d512)
            .await
            .expect("open")
            .expect("present");
        assert_eq!(reader.len(), 11);
        let body = reader.into_body(Some((6, 10))).await.expect("body");
        let bytes = body.collect().await.expect("read").to_bytes();
        assert_eq!(&bytes[..], b"world");
        store.delete(&d512).await.expect("delete");
        assert!(store.open_blob(&d512).await.expect("open").is_none());
        store.delete(&d512).await.expect("deleting twice is fine");
    }

    #[tokio::test]
    async fn memory_roundtrip() {
        roundtrip(Storage::Memory).await;
    }

    #[tokio::test]
    async fn memory_uploads_and_blobs_are_charged() {
        let budget = MemoryBudget::new(10);
        let store = BlobStore::open(&Storage::Memory, &budget).expect("open");
        let mut up = store.new_upload().await.expect("upload");
        up.write(Bytes::from_static(b"hello")).await.expect("fits");
        assert_eq!(budget.used(), 5);
        let err = up
            .write(Bytes::from_static(b"world!"))
            .await
            .expect_err("over the cap");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!((up.len(), budget.used()), (5, 5), "nothing taken");
        up.write(Bytes::from_static(b"world")).await.expect("fits");
        let digest = up.digest(Algorithm::Sha256).await.expect("digest");
        store.commit(up, &digest).await.expect("commit");
        assert_eq!(budget.used(), 10);
        let reader = store
            .open_blob(&digest)
            .await
            .expect("open")
            .expect("present");
        store.delete(&digest).await.expect("delete");
        let body = reader.into_body(None).await.expect("body");
        assert_eq!(budget.used(), 10, "a reader still holds the bytes");
        drop(body);
        assert_eq!(budget.used(), 0);
        let mut up = store.new_upload().await.expect("upload");
        up.write(Bytes::from_static(b"abc")).await.expect("fits");
        drop(up);
        assert_eq!(budget.used(), 0, "a dropped upload gives its bytes back");
    }

    #[tokio::test]
    async fn disk_roundtrip_and_dropped_uploads_leave_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        roundtrip(Storage::Disk(dir.path().to_owned())).await;
        let store = BlobStore::open(&Storage::Disk(dir.path().to_owned()), &MemoryBudget::new(0))
            .expect("open");
        let mut up = store.new_upload().await.expect("upload");
        up.write(Bytes::from_static(b"partial"))
            .await
            .expect("write");
        let uploads = dir.path().join("uploads");
        assert_eq!(fs_err::read_dir(&uploads).expect("list").count(), 1);
        drop(up);
        assert_eq!(fs_err::read_dir(&uploads).expect("list").count(), 0);
    }

    #[test]
    fn stale_upload_files_are_removed_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uploads = dir.path().join("uploads");
        fs_err::create_dir_all(&uploads).expect("mkdir");
        fs_err::write(uploads.join(".upload-crashed"), b"partial").expect("write");
        fs_err::write(uploads.join("not-ours"), b"kept").expect("write");
        BlobStore::open(&Storage::Disk(dir.path().to_owned()), &MemoryBudget::new(0))
            .expect("open");
        let left: Vec<String> = fs_err::read_dir(&uploads)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["not-ours"]);
    }
}
