//! Gzips a file on every core with `ocireg_tarball::pgzip` (as `crane append` does a tar)
//! and prints the digests, sizes and the time taken: the bench's compression column.
//!
//! ```sh
//! cargo run --release -p ocireg-tarball --example pgzip -- layer.tar [LEVEL] [THREADS]
//! ```

use std::time::Instant;

use ocireg_tarball::pgzip::ParallelGzip;

#[expect(
    clippy::print_stdout,
    reason = "the example's output is the measurement"
)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: pgzip FILE [LEVEL] [THREADS]")?;
    let mut gz = ParallelGzip::default();
    if let Some(level) = args.next() {
        gz = gz.with_level(level.parse()?);
    }
    if let Some(threads) = args.next() {
        gz = gz.with_threads(threads.parse()?);
    }
    let started = Instant::now();
    let file = fs_err::File::open(&path)?;
    let done = gz.compress(
        std::io::BufReader::with_capacity(1 << 20, file),
        std::io::BufWriter::with_capacity(1 << 20, std::io::sink()),
    )?;
    println!(
        "{} bytes -> {} bytes in {:.3} s ({} threads, level {}): digest {} diff id {}",
        done.uncompressed_size,
        done.size,
        started.elapsed().as_secs_f64(),
        gz.threads,
        gz.level,
        done.digest,
        done.diff_id
    );
    Ok(())
}
