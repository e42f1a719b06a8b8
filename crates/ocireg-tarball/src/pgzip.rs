//! Gzip on every core, as pigz does: the input is cut into fixed blocks, each block is
//! deflated on a worker thread with the 32 KiB before it as its dictionary and ended
//! with a sync flush, and the pieces are written in order as one gzip member. The
//! uncompressed bytes (the layer's diff id) and the compressed bytes (its digest) are
//! hashed in the same pass.
//!
//! The output depends only on the input, the level and the block size, never on the
//! number of threads or their timing, so a layer's digest is the same on every machine.
//! Memory is bounded: at most about `3 × threads + 1` blocks are in flight.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use flate2::{Compress, Compression, Crc, FlushCompress};
use ocireg_v1::{Digest, Hasher};

/// The default block size (1 MiB, pigz's is 128 KiB; larger blocks lose less to the
/// sync flushes and cost little memory).
pub const DEFAULT_BLOCK: usize = 1 << 20;

/// The dictionary each block gets: the last 32 KiB of input before it (deflate's
/// window).
const WINDOW: usize = 32 * 1024;

/// What one compression produced: the compressed stream's digest and size, and the
/// uncompressed stream's digest (the diff id) and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Compressed {
    /// SHA-256 of the gzip stream written.
    pub digest: Digest,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the input (the diff id of a tar).
    pub diff_id: Digest,
    /// Bytes read.
    pub uncompressed_size: u64,
}

/// How to compress: level, block size and threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParallelGzip {
    /// Deflate level, 0 to 9 (default 1, the fastest, as `gzip -1`).
    pub level: u32,
    /// Bytes of input per block (default [`DEFAULT_BLOCK`]).
    pub block: usize,
    /// Worker threads (default: the machine's available parallelism).
    pub threads: usize,
}

impl Default for ParallelGzip {
    fn default() -> Self {
        Self {
            level: 1,
            block: DEFAULT_BLOCK,
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        }
    }
}

/// One block's work: its input, the dictionary before it, whether it ends the stream,
/// and where its deflated bytes go.
struct Job {
    input: Vec<u8>,
    dictionary: Option<Vec<u8>>,
    last: bool,
    done: SyncSender<io::Result<Vec<u8>>>,
}

impl ParallelGzip {
    /// The same settings at deflate level `level` (clamped to 9).
    #[must_use]
    pub fn with_level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// The same settings with `threads` workers (at least 1).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The same settings with blocks of `block` bytes (at least 64 KiB).
    #[must_use]
    pub fn with_block(mut self, block: usize) -> Self {
        self.block = block.max(64 * 1024);
        self
    }

    /// Gzips everything `input` yields into `output`; returns both digests and sizes.
    ///
    /// # Errors
    ///
    /// The first read or write error, or a deflate failure (which zlib only reports for
    /// misuse).
    pub fn compress(
        &self,
        mut input: impl Read,
        output: impl Write + Send,
    ) -> io::Result<Compressed> {
        let threads = self.threads.max(1);
        let block = self.block.max(1);
        let level = Compression::new(self.level.min(9));
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(threads);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        // The receivers of the blocks' results, in input order: the writer takes them
        // one by one, so pieces come out in order whatever finishes first.
        let (order_tx, order_rx) = sync_channel::<Receiver<io::Result<Vec<u8>>>>(threads + 1);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let jobs = Arc::clone(&jobs_rx);
                scope.spawn(move || worker(&jobs, level));
            }
            let writer = scope.spawn(move || write_in_order(&order_rx, output, self.level));
            let read = read_blocks(&mut input, block, &jobs_tx, &order_tx);
            drop(jobs_tx);
            drop(order_tx);
            let written = writer
                .join()
                .map_err(|_| io::Error::other("the gzip writer thread panicked"))?;
            // The writer's error first: when it stops, the reader only sees a closed pipe.
            let (mut output, mut hasher) = written?;
            let (diff_id, uncompressed_size, crc) = read?;
            let mut trailer = [0u8; 8];
            trailer[..4].copy_from_slice(&crc.to_le_bytes());
            // ISIZE is the input length modulo 2^32 (RFC 1952).
            #[expect(clippy::cast_possible_truncation, reason = "modulo 2^32 by definition")]
            trailer[4..].copy_from_slice(&(uncompressed_size as u32).to_le_bytes());
            output.write_all(&trailer)?;
            output.flush()?;
            hasher.update(&trailer);
            let size = hasher.len();
            Ok(Compressed {
                digest: hasher.finish(),
                size,
                diff_id,
                uncompressed_size,
            })
        })
    }
}

/// Reads `input` block by block (one block ahead, to know which is last), hashing it,
/// and hands each block to the workers with the window before it.
fn read_blocks(
    input: &mut impl Read,
    block: usize,
    jobs: &SyncSender<Job>,
    order: &SyncSender<Receiver<io::Result<Vec<u8>>>>,
) -> io::Result<(Digest, u64, u32)> {
    let mut hasher = Hasher::sha256();
    let mut crc = Crc::new();
    let mut window: Option<Vec<u8>> = None;
    let mut current = read_block(input, block)?;
    loop {
        let next = if current.len() == block {
            read_block(input, block)?
        } else {
            Vec::new()
        };
        let last = next.is_empty();
        hasher.update(&current);
        crc.update(&current);
        let dictionary = window.take();
        window = Some(current[current.len().saturating_sub(WINDOW)..].to_vec());
        let (done, result) = sync_channel(1);
        let job = Job {
            input: current,
            dictionary,
            last,
            done,
        };
        if jobs.send(job).is_err() || order.send(result).is_err() {
            // The writer stopped on an error, which it reports.
            return Err(io::Error::other("the gzip pipeline stopped early"));
        }
        if last {
            let len = hasher.len();
            return Ok((hasher.finish(), len, crc.sum()));
        }
        current = next;
    }
}

/// Reads up to `block` bytes (fewer only at the end of the input).
fn read_block(input: &mut impl Read, block: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(block);
    input.take(block as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Deflates jobs until the queue closes.
fn worker(jobs: &Mutex<Receiver<Job>>, level: Compression) {
    loop {
        let job = {
            let Ok(queue) = jobs.lock() else { return };
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let result = deflate_block(&job, level);
        // The writer may have stopped on an error; nothing more to do then.
        let _ = job.done.send(result);
    }
}

/// One block as raw deflate: the dictionary, then the input, ended by a sync flush (or
/// the final block).
fn deflate_block(job: &Job, level: Compression) -> io::Result<Vec<u8>> {
    let mut z = Compress::new(level, false);
    if let Some(dictionary) = &job.dictionary {
        z.set_dictionary(dictionary).map_err(io::Error::other)?;
    }
    let flush = if job.last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(job.input.len() / 2 + 1024);
    let mut consumed = 0;
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let before = z.total_in();
        let status = z
            .compress_vec(&job.input[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        consumed += usize::try_from(z.total_in() - before).map_err(io::Error::other)?;
        let room_left = out.capacity() > out.len();
        match status {
            flate2::Status::StreamEnd => return Ok(out),
            // A sync flush is complete once all input is in and the output had room.
            _ if !job.last && consumed == job.input.len() && room_left => return Ok(out),
            _ => {}
        }
    }
}

/// Writes the gzip header, then each block's deflated bytes in input order, hashing all.
fn write_in_order<W: Write>(
    order: &Receiver<Receiver<io::Result<Vec<u8>>>>,
    mut output: W,
    level: u32,
) -> io::Result<(W, Hasher)> {
    let mut hasher = Hasher::sha256();
    // RFC 1952: magic, deflate, no flags, no mtime, XFL (2 slowest, 4 fastest), OS
    // unknown, as flate2's `GzEncoder` writes it.
    let xfl = match level {
        0 | 1 => 4,
        9 => 2,
        _ => 0,
    };
    let header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255];
    output.write_all(&header)?;
    hasher.update(&header);
    let mut pending = VecDeque::new();
    for result in order {
        pending.push_back(result);
        while let Some(next) = pending.pop_front() {
            let piece = next
                .recv()
                .map_err(|_| io::Error::other("a gzip worker stopped"))??;
            output.write_all(&piece)?;
            hasher.update(&piece);
        }
    }
    Ok((output, hasher))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        // Compressible but not trivial: words from a small xorshift generator.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let words: [&[u8]; 6] = [
            b"layer ",
            b"image ",
            b"tar ",
            b"blob\n",
            b"registry ",
            b"\0\0\0",
        ];
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let w = words[usize::try_from(x % 6).expect("below 6")];
            out.extend_from_slice(w);
            if x.is_multiple_of(11) {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out.truncate(len);
        out
    }

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .expect("a valid gzip stream");
        out
    }

    #[test]
    fn round_trips_at_every_block_boundary() {
        let block = 64 * 1024;
        for len in [0, 1, block - 1, block, block + 1, 3 * block + 517] {
            let input = data(len);
            let mut gz = Vec::new();
            let got = ParallelGzip::default()
                .with_block(block)
                .with_threads(3)
                .compress(input.as_slice(), &mut gz)
                .expect("compress");
            assert_eq!(gunzip(&gz), input, "len {len}");
            assert_eq!(got.diff_id, ocireg_v1::sha256(&input), "len {len}");
            assert_eq!(got.uncompressed_size, len as u64);
            assert_eq!(got.digest, ocireg_v1::sha256(&gz), "len {len}");
            assert_eq!(got.size, gz.len() as u64);
        }
    }

    #[test]
    fn output_does_not_depend_on_the_number_of_threads() {
        let input = data(5 * 64 * 1024 + 99);
        let run = |threads| {
            let mut gz = Vec::new();
            let got = ParallelGzip::default()
                .with_block(64 * 1024)
                .with_threads(threads)
                .compress(input.as_slice(), &mut gz)
                .expect("compress");
            (gz, got)
        };
        let (one, a) = run(1);
        for threads in [2, 3, 8] {
            let (many, b) = run(threads);
            assert_eq!(one, many, "{threads} threads");
            assert_eq!(a, b);
        }
    }

    #[test]
    fn the_window_carries_across_blocks() {
        // A 16 KiB chunk of noise 16 times over four blocks: with the previous block's
        // window as dictionary only the first copy costs its size; without it, each
        // block would pay for the chunk again.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let chunk: Vec<u8> = (0..16 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect();
        let input: Vec<u8> = std::iter::repeat_n(chunk.as_slice(), 16)
            .flatten()
            .copied()
            .collect();
        let mut gz = Vec::new();
        ParallelGzip::default()
            .with_block(64 * 1024)
            .with_threads(2)
            .compress(input.as_slice(), &mut gz)
            .expect("compress");
        assert!(gz.len() < chunk.len() * 3 / 2, "{} bytes", gz.len());
        assert_eq!(gunzip(&gz), input);
    }

    #[test]
    fn gzip_itself_reads_it() {
        let Ok(status) = std::process::Command::new("gzip").arg("--version").output() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "gzip is required under CI"
            );
            return;
        };
        assert!(status.status.success());
        let input = data(300 * 1024);
        let mut gz = Vec::new();
        ParallelGzip::default()
            .with_block(64 * 1024)
            .compress(input.as_slice(), &mut gz)
            .expect("compress");
        let mut child = std::process::Command::new("gzip")
            .arg("-dc")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("gzip");
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || stdin.write_all(&gz));
        let out = child.wait_with_output().expect("gzip -dc");
        writer.join().expect("join").expect("write");
        assert!(out.status.success());
        assert_eq!(out.stdout, input);
    }

    #[test]
    fn a_read_error_is_reported() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk gone"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(b'x');
                self.0 -= n;
                Ok(n)
            }
        }
        let err = ParallelGzip::default()
            .with_block(64 * 1024)
            .compress(Failing(200 * 1024), io::sink())
            .expect_err("fails");
        assert!(err.to_string().contains("disk gone"), "{err}");
    }
}
