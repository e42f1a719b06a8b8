//! Drawing progress: indicatif bars when stderr is a terminal, a few plain
//! lines otherwise (CI logs), nothing with `--quiet`.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ocireg_crane::{BlobOutcome, Digest, Progress, Summary, escape_text, human_bytes};

use crate::printer::Printer;

/// The reporter for this invocation, if progress is to be shown.
pub(crate) fn reporter(printer: &Printer) -> Option<Arc<dyn Progress>> {
    if printer.quiet() {
        None
    } else if printer.stderr_is_terminal() {
        Some(Arc::new(Bars::new()))
    } else {
        Some(Arc::new(Lines::new(io::stderr)))
    }
}

/// `sha256:0123456789ab`: enough of a digest to tell blobs apart.
fn short(digest: &Digest) -> String {
    let text = digest.to_string();
    match text.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", &hex[..hex.len().min(12)]),
        None => text,
    }
}

fn summary_line(summary: &Summary) -> String {
    format!(
        "done: {} blobs ({} transferred), {} in {:.1}s ({}/s)",
        summary.blobs,
        summary.transferred,
        human_bytes(summary.bytes),
        summary.elapsed.as_secs_f64(),
        human_bytes(summary.rate()),
    )
}

/// Plain lines for logs: start, one per blob, one per manifest, a summary.
pub(crate) struct Lines<W> {
    out: Mutex<W>,
}

impl<F, W> Lines<F>
where
    F: Fn() -> W,
    W: io::Write,
{
    pub(crate) fn new(out: F) -> Self {
        Self {
            out: Mutex::new(out),
        }
    }

    fn say(&self, text: &str) {
        let out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(out(), "{}", escape_text(text));
    }
}

impl<F, W> Progress for Lines<F>
where
    F: Fn() -> W + Send,
    W: io::Write,
{
    fn started(&self, what: &str, blobs: Option<usize>, bytes: Option<u64>) {
        match (blobs, bytes) {
            (Some(n), Some(b)) => self.say(&format!("{what} ({n} blobs, {})", human_bytes(b))),
            (Some(n), None) => self.say(&format!("{what} ({n} blobs)")),
            _ => self.say(what),
        }
    }

    fn blob_finished(&self, digest: &Digest, size: u64, outcome: BlobOutcome) {
        self.say(&format!(
            "  {} {} {outcome}",
            short(digest),
            human_bytes(size)
        ));
    }

    fn manifest_written(&self, reference: &str, digest: &Digest) {
        self.say(&format!("  {reference}: digest: {digest}"));
    }

    fn finished(&self, summary: &Summary) {
        self.say(&summary_line(summary));
    }
}

/// indicatif bars: one per blob in flight and one overall.
pub(crate) struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    blobs: Mutex<HashMap<String, ProgressBar>>,
    started: Instant,
}

impl Bars {
    fn new() -> Self {
        Self::with_target(ProgressDrawTarget::stderr())
    }

    fn with_target(target: ProgressDrawTarget) -> Self {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new_spinner());
        overall.set_style(overall_style(false));
        overall.enable_steady_tick(Duration::from_millis(120));
        Self {
            multi,
            overall,
            blobs: Mutex::new(HashMap::new()),
            started: Instant::now(),
        }
    }
}

fn overall_style(sized: bool) -> ProgressStyle {
    let template = if sized {
        "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}"
    } else {
        "{spinner} {msg} {bytes} {bytes_per_sec}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn blob_style() -> ProgressStyle {
    ProgressStyle::with_template("  {msg} [{bar:30}] {bytes}/{total_bytes}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress for Bars {
    fn started(&self, what: &str, _blobs: Option<usize>, bytes: Option<u64>) {
        self.overall.set_message(escape_text(what).into_owned());
        if let Some(total) = bytes {
            self.overall.set_length(total);
            self.overall.set_style(overall_style(true));
        }
    }

    fn blob_started(&self, digest: &Digest, size: Option<u64>) {
        let bar = self
            .multi
            .insert_before(&self.overall, ProgressBar::new(size.unwrap_or(0)));
        bar.set_style(blob_style());
        bar.set_message(short(digest));
        self.blobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest.to_string(), bar);
    }

    fn blob_progress(&self, digest: &Digest, done: u64) {
        let blobs = self.blobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bar) = blobs.get(&digest.to_string())
            && done > bar.position()
        {
            self.overall.inc(done - bar.position());
            bar.set_position(done);
        }
    }

    fn blob_finished(&self, digest: &Digest, size: u64, outcome: BlobOutcome) {
        let bar = self
            .blobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&digest.to_string());
        let already = bar.as_ref().map_or(0, ProgressBar::position);
        if let Some(bar) = bar {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(size.saturating_sub(already));
        let _ = self.multi.println(format!(
            "  {} {} {outcome}",
            short(digest),
            human_bytes(size)
        ));
    }

    fn manifest_written(&self, reference: &str, digest: &Digest) {
        let _ = self
            .multi
            .println(format!("  {}: digest: {digest}", escape_text(reference)));
    }

    fn finished(&self, summary: &Summary) {
        for (_, bar) in self
            .blobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
        {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
        let mut summary = *summary;
        if summary.elapsed.is_zero() {
            summary.elapsed = self.started.elapsed();
        }
        let _ = self.multi.println(summary_line(&summary));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("sink").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn plain_lines() {
        let sink = Sink::default();
        let writer = sink.clone();
        let lines = Lines::new(move || writer.clone());
        let d = Digest::sha256([7; 32]);
        lines.started("copying a to b", Some(2), Some(3 * 1024 * 1024));
        lines.blob_started(&d, Some(10));
        lines.blob_progress(&d, 5);
        lines.blob_finished(&d, 2048, BlobOutcome::Transferred);
        lines.blob_finished(&d, 10, BlobOutcome::Existed);
        lines.manifest_written("r.io/b:1", &d);
        lines.finished(&Summary::new(2, 1, 2048, Duration::from_secs(2)));
        let text = String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf-8");
        let want = format!(
            "copying a to b (2 blobs, 3.0 MiB)\n  sha256:070707070707 2.0 KiB copied\n  \
             sha256:070707070707 10 B exists\n  r.io/b:1: digest: {d}\n\
             done: 2 blobs (1 transferred), 2.0 KiB in 2.0s (1.0 KiB/s)\n"
        );
        assert_eq!(text, want);
    }

    #[test]
    fn bars_survive_any_order_of_events() {
        let bars = Bars::with_target(ProgressDrawTarget::hidden());
        let d = Digest::sha256([1; 32]);
        bars.blob_progress(&d, 5);
        bars.started("copying", None, Some(100));
        bars.blob_started(&d, Some(100));
        bars.blob_progress(&d, 40);
        bars.blob_progress(&d, 30);
        bars.blob_finished(&d, 100, BlobOutcome::Transferred);
        assert_eq!(bars.overall.position(), 100);
        bars.finished(&Summary::default());
    }
}
