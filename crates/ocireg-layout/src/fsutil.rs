//! Small file system helpers: no-follow opens, capped reads, atomic writes,
//! directory fsyncs and advisory locks. All blocking; callers run them in
//! [`blocking`].

use fs_err::File;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{FileType, Mode, OFlags};

use crate::{Error, Result};

/// Runs `f` on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}

/// What kind of non-regular file `ft` is, for messages.
fn kind_name(ft: FileType) -> &'static str {
    match ft {
        FileType::Symlink => "symlink",
        FileType::Directory => "directory",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        _ => "special file",
    }
}

/// Opens `path` for reading without following a symlink and without
/// blocking on a FIFO, and refuses anything but a regular file. Returns the
/// file and its length.
pub(crate) fn open_regular(path: &Path) -> Result<(File, u64)> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) if e == rustix::io::Errno::LOOP => {
            return Err(Error::NotRegularFile {
                path: path.to_owned(),
                kind: "symlink",
            });
        }
        Err(e) => return Err(Error::io("open", path, e.into())),
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::io("stat", path, e.into()))?;
    let ft = FileType::from_raw_mode(st.st_mode);
    if ft != FileType::RegularFile {
        return Err(Error::NotRegularFile {
            path: path.to_owned(),
            kind: kind_name(ft),
        });
    }
    // Back to blocking reads for the regular file.
    rustix::fs::fcntl_setfl(&fd, OFlags::empty())
        .map_err(|e| Error::io("fcntl", path, e.into()))?;
    let len = u64::try_from(st.st_size).unwrap_or(0);
    Ok((File::from_parts(fd.into(), path), len))
}

/// What is at `path` without following symlinks: `None` when nothing.
pub(crate) fn lstat_kind(path: &Path) -> Result<Option<FileType>> {
    match rustix::fs::lstat(path) {
        Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
        Err(e) if e == rustix::io::Errno::NOENT => Ok(None),
        Err(e) => Err(Error::io("stat", path, e.into())),
    }
}

/// Reads a whole regular file of at most `limit` bytes.
pub(crate) fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit,
            size: len,
        });
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::fs(path, e))?;
    if buf.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit,
            size: buf.len() as u64,
        });
    }
    Ok(buf)
}

/// Fsyncs a directory, so that a rename in it is durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(|e| Error::fs(dir, e))?;
    d.sync_all().map_err(|e| Error::fs(dir, e))
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp file name beside `path`, unique to this process and call.
pub(crate) fn temp_beside(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` atomically: a temp file beside it, fsynced,
/// renamed over it, the directory fsynced.
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| Error::fs(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::fs(&tmp, e))?;
        f.sync_all().map_err(|e| Error::fs(&tmp, e))?;
        fs_err::rename(&tmp, path).map_err(|e| Error::fs(path, e))
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&tmp);
    }
    result?;
    if let Some(dir) = path.parent() {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// An exclusive advisory lock (`flock`), released on drop.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

impl Lock {
    /// Takes an exclusive lock on `path` (created if missing), waiting for it.
    ///
    /// Lock files may be removed by their holder when done, so after taking
    /// the lock this checks that `path` still names the locked file, and
    /// starts again if not: two holders never lock different files of one name.
    pub(crate) fn exclusive(path: &Path) -> Result<Self> {
        Self::take(path, rustix::fs::FlockOperation::LockExclusive)
    }

    /// Takes a shared lock on `path` (created if missing), waiting while an
    /// exclusive one is held; as [`Lock::exclusive`] otherwise.
    pub(crate) fn shared(path: &Path) -> Result<Self> {
        Self::take(path, rustix::fs::FlockOperation::LockShared)
    }

    fn take(path: &Path, op: rustix::fs::FlockOperation) -> Result<Self> {
        loop {
            let file = fs_err::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| Error::fs(path, e))?;
            rustix::fs::flock(&file, op)
                .map_err(|e| Error::io("lock", path, io::Error::from(e)))?;
            let held = rustix::fs::fstat(&file).map_err(|e| Error::io("stat", path, e.into()))?;
            match rustix::fs::stat(path) {
                Ok(now) if now.st_ino == held.st_ino && now.st_dev == held.st_dev => {
                    return Ok(Self { _file: file });
                }
                Ok(_) => {}
                Err(e) if e == rustix::io::Errno::NOENT => {}
                Err(e) => return Err(Error::io("stat", path, e.into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_reads_and_special_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("f");
        fs_err::write(&f, b"0123456789").expect("write");
        assert_eq!(read_capped(&f, 10).expect("read"), b"0123456789");
        let err = read_capped(&f, 9).expect_err("too large");
        assert!(matches!(err, Error::TooLarge { size: 10, .. }), "{err}");

        let link = dir.path().join("link");
        fs_err::os::unix::fs::symlink(&f, &link).expect("symlink");
        let err = open_regular(&link).expect_err("symlink");
        assert!(
            matches!(
                err,
                Error::NotRegularFile {
                    kind: "symlink",
                    ..
                }
            ),
            "{err}"
        );
        let err = open_regular(dir.path()).expect_err("directory");
        assert!(
            matches!(
                err,
                Error::NotRegularFile {
                    kind: "directory",
                    ..
                }
            ),
            "{err}"
        );
        let err = open_regular(&dir.path().join("missing")).expect_err("missing");
        assert!(err.to_string().contains("missing"), "{err}");
        assert_eq!(lstat_kind(&link).expect("lstat"), Some(FileType::Symlink));
        assert_eq!(lstat_kind(&dir.path().join("nope")).expect("lstat"), None);
    }

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("index.json");
        atomic_write(&f, b"one").expect("write");
        atomic_write(&f, b"two").expect("write");
        assert_eq!(fs_err::read(&f).expect("read"), b"two");
        assert_eq!(fs_err::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn a_removed_lock_file_is_not_shared() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(".lock");
        let first = Lock::exclusive(&path).expect("lock");
        // The holder removes the name; a new taker gets a fresh file at once.
        fs_err::remove_file(&path).expect("rm");
        let second = Lock::exclusive(&path).expect("lock again");
        drop((first, second));
    }
}
