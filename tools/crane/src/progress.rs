//! Drawing progress: indicatif bars when stderr is a terminal, plain lines
//! otherwise (CI logs), nothing with `--quiet`.
//!
//! Only commands that move blobs get a [`Reporter`], and it shows nothing
//! until the first blob starts moving. Every number drawn is one the
//! operation's tracker counted (ocireg-v1's `ProgressTracker`): nothing here
//! counts bytes or blobs again.

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use ocireg_crane::{
    BlobOutcome, BlobProgress, Digest, Progress, ProgressEvent, ProgressSnapshot, ProgressTracker,
    Summary, escape_text, human_bytes,
};

use crate::commands::Outcome;
use crate::printer::Printer;

/// How often a plain progress line is printed while bytes move.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// How often the overall bar is brought up to date from the tracker.
const REFRESH_EVERY: Duration = Duration::from_millis(100);

/// The exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

/// The reporter for a command that moves blobs, if progress is to be shown.
pub(crate) fn reporter(printer: &Printer) -> Option<Arc<Reporter>> {
    if printer.quiet() {
        None
    } else if printer.stderr_draws() {
        let stderr = Box::new(ParkedCursor(console::Term::stderr()));
        Some(Arc::new(Reporter::Bars(Bars::new(
            ProgressDrawTarget::term_like_with_hz(stderr, 20),
        ))))
    } else {
        let stderr: fn() -> io::Stderr = io::stderr;
        Some(Arc::new(Reporter::Lines(Lines::new(stderr, LINE_EVERY))))
    }
}

/// Runs `operation`; when Ctrl-C (or SIGTERM) comes first, clears the progress, says
/// what was left and ends with exit code 130. A failure clears the progress before the
/// error is printed. Without a reporter (`--quiet`) the signals keep their default.
pub(crate) async fn interruptible(
    reporter: Option<&Reporter>,
    operation: impl Future<Output = anyhow::Result<Outcome>>,
) -> anyhow::Result<Outcome> {
    let Some(reporter) = reporter else {
        return operation.await;
    };
    let mut operation = pin!(operation);
    let mut stop = pin!(ocireg_crane::interrupted());
    let result = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = operation.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        stop.as_mut().poll(cx).map(|()| None)
    })
    .await;
    match result {
        Some(Ok(outcome)) => Ok(outcome),
        Some(Err(e)) => {
            reporter.failed();
            Err(e)
        }
        None => {
            reporter.interrupted();
            Ok(Outcome::Exit(INTERRUPTED))
        }
    }
}

/// stderr for the bars, with the cursor parked at the start of the last bar line after
/// each frame. indicatif pads every line to the width and leaves the cursor at the right
/// margin, so the `^C` a terminal echoes on Ctrl-C would wrap to a line the bars do not
/// know about, and clearing them would leave the top one on the screen. Parked, the echo
/// lands on the last bar line, which is cleared with the others. (This needs a bar as the
/// last line of every frame: a log line printed with no bar below it would be drawn
/// over; [`Bars`] keeps the overall bar last.)
#[derive(Debug)]
struct ParkedCursor(console::Term);

impl TermLike for ParkedCursor {
    fn width(&self) -> u16 {
        self.0.size().1
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        self.0.write_line(s)
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        self.0.write_str(s)
    }

    fn clear_line(&self) -> io::Result<()> {
        self.0.clear_line()
    }

    /// The end of a frame: back to the start of its last line.
    fn flush(&self) -> io::Result<()> {
        self.0.write_str("\r")?;
        self.0.flush()
    }
}

/// Bars or lines.
pub(crate) enum Reporter {
    /// For a terminal.
    Bars(Bars),
    /// For logs.
    Lines(Lines<fn() -> io::Stderr>),
}

impl Reporter {
    /// Clears the bars and says how far the operation got.
    fn interrupted(&self) {
        match self {
            Self::Bars(b) => b.interrupted(),
            Self::Lines(l) => l.interrupted(),
        }
    }

    fn inner(&self) -> &dyn Progress {
        match self {
            Self::Bars(b) => b,
            Self::Lines(l) => l,
        }
    }
}

impl Progress for Reporter {
    fn started(&self, what: &str, tracker: &Arc<ProgressTracker>) {
        self.inner().started(what, tracker);
    }

    fn update(&self, event: &ProgressEvent, ended: Option<&BlobProgress>) {
        self.inner().update(event, ended);
    }

    fn finished(&self, summary: &Summary) {
        self.inner().finished(summary);
    }

    fn failed(&self) {
        self.inner().failed();
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

/// What became of a blob, in a word.
fn outcome_word(outcome: Option<BlobOutcome>) -> &'static str {
    match outcome {
        Some(BlobOutcome::Uploaded) => "uploaded",
        Some(BlobOutcome::Downloaded) => "downloaded",
        Some(BlobOutcome::Existed) => "exists",
        Some(BlobOutcome::Mounted) => "mounted",
        Some(_) => "done",
        None => "failed",
    }
}

/// `  sha256:0123456789ab 2.0 KiB uploaded`.
fn blob_line(blob: &BlobProgress) -> String {
    format!(
        "  {} {} {}",
        short(&blob.digest),
        human_bytes(blob.total.unwrap_or(blob.done)),
        outcome_word(blob.outcome)
    )
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

/// `interrupted: 2 of 5 blobs done, 120.0 MiB of 435.0 MiB`.
fn interrupted_line(snapshot: Option<&ProgressSnapshot>) -> String {
    match snapshot {
        Some(s) if s.blobs_total > 0 => format!(
            "interrupted: {} of {} blobs done, {} of {}{}",
            s.blobs_done,
            s.blobs_total,
            human_bytes(s.bytes_done),
            human_bytes(s.bytes_total),
            if s.total_unknown { "+" } else { "" },
        ),
        _ => "interrupted".to_owned(),
    }
}

/// What an operation told its front end.
#[derive(Default)]
struct Started {
    what: String,
    tracker: Option<Arc<ProgressTracker>>,
}

impl Started {
    fn snapshot(&self) -> Option<ProgressSnapshot> {
        self.tracker.as_ref().map(|t| t.snapshot())
    }
}

/// A clock, so tests can move time.
type Clock = Box<dyn Fn() -> Instant + Send + Sync>;

/// Plain lines for logs: what the operation is once a blob starts, one line per blob
/// and per manifest, a progress line every [`LINE_EVERY`] while bytes move, a summary.
pub(crate) struct Lines<F> {
    out: F,
    every: Duration,
    clock: Clock,
    state: Mutex<LinesState>,
}

#[derive(Default)]
struct LinesState {
    started: Started,
    /// Once progress shows: when the last progress line was printed (or progress began to
    /// show), with the bytes transferred then.
    shown: Option<(Instant, u64)>,
}

impl<F, W> Lines<F>
where
    F: Fn() -> W,
    W: io::Write,
{
    pub(crate) fn new(out: F, every: Duration) -> Self {
        Self::with_clock(out, every, Box::new(Instant::now))
    }

    fn with_clock(out: F, every: Duration, clock: Clock) -> Self {
        Self {
            out,
            every,
            clock,
            state: Mutex::default(),
        }
    }

    fn say(&self, text: &str) {
        let _ = writeln!((self.out)(), "{}", escape_text(text));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LinesState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `  120.0 MiB of 435.0 MiB (27%), 2 of 5 blobs, 12.0 MiB/s`: the bytes moved since
    /// the last line over the time since.
    fn progress_line(s: &ProgressSnapshot, moved: u64, over: Duration) -> String {
        let rate = u128::from(moved) * 1000 / over.as_millis().max(1);
        let percent = if s.bytes_total > 0 && !s.total_unknown {
            format!(
                " ({}%)",
                u128::from(s.bytes_done) * 100 / u128::from(s.bytes_total)
            )
        } else {
            String::new()
        };
        format!(
            "  {} of {}{}{percent}, {} of {} blobs, {}/s",
            human_bytes(s.bytes_done),
            human_bytes(s.bytes_total),
            if s.total_unknown { "+" } else { "" },
            s.blobs_done,
            s.blobs_total,
            human_bytes(u64::try_from(rate).unwrap_or(u64::MAX)),
        )
    }

    fn interrupted(&self) {
        let snapshot = self.lock().started.snapshot();
        self.say(&interrupted_line(snapshot.as_ref()));
    }
}

impl<F, W> Progress for Lines<F>
where
    F: Fn() -> W + Send + Sync,
    W: io::Write,
{
    fn started(&self, what: &str, tracker: &Arc<ProgressTracker>) {
        *self.lock() = LinesState {
            started: Started {
                what: what.to_owned(),
                tracker: Some(Arc::clone(tracker)),
            },
            shown: None,
        };
    }

    fn update(&self, event: &ProgressEvent, ended: Option<&BlobProgress>) {
        let mut state = self.lock();
        if state.shown.is_none() {
            if !matches!(event, ProgressEvent::BlobStarted { .. }) {
                return;
            }
            let now = (self.clock)();
            state.shown = Some((now, 0));
            self.say(&state.started.what);
        }
        if let Some(blob) = ended {
            self.say(&blob_line(blob));
        }
        match event {
            ProgressEvent::ManifestDone {
                reference, digest, ..
            } => self.say(&format!("  {reference}: digest: {digest}")),
            ProgressEvent::BlobBytes { .. } => {
                let now = (self.clock)();
                let Some((last, moved_then)) = state.shown else {
                    return;
                };
                if now.duration_since(last) < self.every {
                    return;
                }
                let Some(snapshot) = state.started.snapshot() else {
                    return;
                };
                let moved = snapshot.bytes_transferred.saturating_sub(moved_then);
                if moved > 0 {
                    state.shown = Some((now, snapshot.bytes_transferred));
                    self.say(&Self::progress_line(
                        &snapshot,
                        moved,
                        now.duration_since(last),
                    ));
                }
            }
            _ => {}
        }
    }

    fn finished(&self, summary: &Summary) {
        if self.lock().shown.is_some() {
            self.say(&summary_line(summary));
        }
    }
}

/// indicatif bars, drawn from the first blob on: one per blob in flight and one
/// overall (what moved of what is to move, rate and ETA).
pub(crate) struct Bars {
    target: Mutex<Option<ProgressDrawTarget>>,
    state: Mutex<BarsState>,
}

#[derive(Default)]
struct BarsState {
    started: Started,
    drawn: Option<Drawn>,
}

struct Drawn {
    multi: MultiProgress,
    overall: ProgressBar,
    blobs: HashMap<Digest, ProgressBar>,
    refreshed: Instant,
}

impl Drawn {
    /// The overall bar from the tracker: position what moved, length what is to move.
    fn refresh(&mut self, tracker: Option<&Arc<ProgressTracker>>) {
        let Some(s) = tracker.map(|t| t.snapshot()) else {
            return;
        };
        self.overall
            .set_length(s.bytes_total.saturating_sub(s.bytes_skipped));
        self.overall.set_position(s.bytes_transferred);
        self.overall
            .set_message(format!("{}/{} blobs", s.blobs_done, s.blobs_total));
        self.refreshed = Instant::now();
    }

    /// Removes every bar from the screen.
    fn clear(&self) {
        for bar in self.blobs.values() {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Bars {
    fn new(target: ProgressDrawTarget) -> Self {
        Self {
            target: Mutex::new(Some(target)),
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BarsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bars, drawn now if they are not yet.
    fn draw<'s>(&self, state: &'s mut BarsState) -> &'s mut Drawn {
        state.drawn.get_or_insert_with(|| {
            let target = self
                .target
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .unwrap_or_else(ProgressDrawTarget::hidden);
            let mut drawn = Drawn {
                overall: ProgressBar::hidden(),
                multi: MultiProgress::with_draw_target(target),
                blobs: HashMap::new(),
                refreshed: Instant::now(),
            };
            // Filled in before it shows: its first frame has the totals. It is the last
            // line of every frame from the first on (the header goes above it), which
            // `ParkedCursor` relies on.
            drawn.overall.set_style(overall_style());
            drawn.refresh(state.started.tracker.as_ref());
            drawn.overall = drawn.multi.add(drawn.overall.clone());
            drawn.overall.tick();
            let _ = drawn.multi.println(escape_text(&state.started.what));
            drawn.overall.enable_steady_tick(Duration::from_millis(120));
            drawn
        })
    }

    /// Clears the bars and leaves `line` in their place.
    fn clear_with(&self, line: Option<String>) {
        let state = self.lock();
        let Some(drawn) = &state.drawn else {
            return;
        };
        drawn.clear();
        if let Some(line) = line {
            let _ = writeln!(io::stderr().lock(), "{}", escape_text(&line));
        }
    }

    fn interrupted(&self) {
        let state = self.lock();
        let line = interrupted_line(state.started.snapshot().as_ref());
        if let Some(drawn) = &state.drawn {
            drawn.clear();
        }
        let _ = writeln!(io::stderr().lock(), "{line}");
    }
}

/// `⠋ 2/5 blobs [=====>    ] 120.00 MiB/435.00 MiB 12.00 MiB/s ETA 26s`; the bar takes
/// what the terminal width leaves.
fn overall_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {msg} [{wide_bar}] {binary_bytes}/{binary_total_bytes} \
         {binary_bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// `  sha256:0123456789ab [=====>     ] 1.00 MiB/3.00 MiB` (71 columns at most).
fn blob_style() -> ProgressStyle {
    ProgressStyle::with_template("  {msg} [{bar:25}] {binary_bytes}/{binary_total_bytes}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress for Bars {
    fn started(&self, what: &str, tracker: &Arc<ProgressTracker>) {
        let mut state = self.lock();
        if let Some(drawn) = state.drawn.take() {
            drawn.clear();
        }
        state.started = Started {
            what: what.to_owned(),
            tracker: Some(Arc::clone(tracker)),
        };
    }

    fn update(&self, event: &ProgressEvent, ended: Option<&BlobProgress>) {
        let mut state = self.lock();
        if state.drawn.is_none() && !matches!(event, ProgressEvent::BlobStarted { .. }) {
            return;
        }
        let tracker = state.started.tracker.clone();
        let drawn = self.draw(&mut state);
        let mut refresh = drawn.refreshed.elapsed() >= REFRESH_EVERY;
        match event {
            ProgressEvent::BlobStarted { digest, total, .. } => {
                // The second half of a copy finds its bar there already.
                if !drawn.blobs.contains_key(digest) {
                    let bar = drawn
                        .multi
                        .insert_before(&drawn.overall, ProgressBar::new(total.unwrap_or(0)));
                    bar.set_style(blob_style());
                    bar.set_message(short(digest));
                    drawn.blobs.insert(*digest, bar);
                }
                refresh = true;
            }
            ProgressEvent::BlobBytes { digest, done } => {
                if let Some(bar) = drawn.blobs.get(digest) {
                    bar.set_position(*done);
                }
            }
            ProgressEvent::ManifestDone {
                reference, digest, ..
            } => {
                let _ = drawn
                    .multi
                    .println(format!("  {}: digest: {digest}", escape_text(reference)));
            }
            _ => {}
        }
        if let Some(blob) = ended {
            if let Some(bar) = drawn.blobs.remove(&blob.digest) {
                bar.finish_and_clear();
                drawn.multi.remove(&bar);
            }
            let _ = drawn.multi.println(blob_line(blob));
            refresh = true;
        }
        if refresh {
            drawn.refresh(tracker.as_ref());
        }
    }

    fn finished(&self, summary: &Summary) {
        self.clear_with(Some(summary_line(summary)));
    }

    fn failed(&self) {
        self.clear_with(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocireg_crane::Direction;

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

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("sink").clone()).expect("utf-8")
        }
    }

    /// Feeds `event` to the tracker and then to the front end, as an operation does.
    fn feed(tracker: &ProgressTracker, front: &dyn Progress, event: &ProgressEvent) {
        let ended = tracker.record(event);
        front.update(event, ended.as_ref());
    }

    fn started(digest: Digest, total: u64, direction: Direction) -> ProgressEvent {
        ProgressEvent::BlobStarted {
            digest,
            total: Some(total),
            direction,
        }
    }

    #[test]
    fn plain_lines_show_nothing_until_a_blob_starts() {
        let sink = Sink::default();
        let writer = sink.clone();
        let lines = Lines::new(move || writer.clone(), LINE_EVERY);
        let tracker = Arc::new(ProgressTracker::new());
        lines.started("copying a to b", &tracker);
        feed(
            &tracker,
            &lines,
            &ProgressEvent::ManifestDone {
                reference: "r.io/b:1".to_owned(),
                digest: Digest::sha256([1; 32]),
                size: 10,
                direction: Direction::Push,
            },
        );
        lines.finished(&Summary::default());
        lines.failed();
        assert_eq!(sink.text(), "");
    }

    #[test]
    fn plain_lines_count_a_copied_blob_once() {
        let sink = Sink::default();
        let writer = sink.clone();
        let lines = Lines::new(move || writer.clone(), LINE_EVERY);
        let tracker = Arc::new(ProgressTracker::new());
        lines.started("copying a to b", &tracker);
        let (d, e) = (Digest::sha256([7; 32]), Digest::sha256([8; 32]));
        feed(&tracker, &lines, &started(d, 2048, Direction::Push));
        feed(&tracker, &lines, &started(d, 2048, Direction::Pull));
        feed(
            &tracker,
            &lines,
            &ProgressEvent::BlobBytes {
                digest: d,
                done: 2048,
            },
        );
        for outcome in [BlobOutcome::Downloaded, BlobOutcome::Uploaded] {
            feed(
                &tracker,
                &lines,
                &ProgressEvent::BlobDone { digest: d, outcome },
            );
        }
        feed(&tracker, &lines, &started(e, 10, Direction::Push));
        feed(
            &tracker,
            &lines,
            &ProgressEvent::BlobDone {
                digest: e,
                outcome: BlobOutcome::Existed,
            },
        );
        feed(
            &tracker,
            &lines,
            &ProgressEvent::ManifestDone {
                reference: "r.io/b:1".to_owned(),
                digest: d,
                size: 10,
                direction: Direction::Push,
            },
        );
        let summary = Summary::of(&tracker.snapshot(), Duration::from_secs(2));
        lines.finished(&summary);
        let want = format!(
            "copying a to b\n  sha256:070707070707 2.0 KiB uploaded\n  \
             sha256:080808080808 10 B exists\n  r.io/b:1: digest: {d}\n\
             done: 2 blobs (1 transferred), 2.0 KiB in 2.0s (1.0 KiB/s)\n"
        );
        assert_eq!(sink.text(), want);
    }

    #[test]
    fn plain_lines_report_a_long_blob_every_interval_while_bytes_move() {
        let sink = Sink::default();
        let writer = sink.clone();
        let now = Arc::new(Mutex::new(Instant::now()));
        let clock = {
            let now = Arc::clone(&now);
            Box::new(move || *now.lock().expect("clock")) as Clock
        };
        let lines = Lines::with_clock(move || writer.clone(), LINE_EVERY, clock);
        let advance = |secs| *now.lock().expect("clock") += Duration::from_secs(secs);
        let tracker = Arc::new(ProgressTracker::new());
        lines.started("copying a to b", &tracker);
        let d = Digest::sha256([9; 32]);
        let mib = 1024 * 1024;
        feed(&tracker, &lines, &started(d, 100 * mib, Direction::Pull));
        advance(4);
        feed(
            &tracker,
            &lines,
            &ProgressEvent::BlobBytes {
                digest: d,
                done: 8 * mib,
            },
        );
        advance(1);
        feed(
            &tracker,
            &lines,
            &ProgressEvent::BlobBytes {
                digest: d,
                done: 10 * mib,
            },
        );
        advance(3);
        feed(
            &tracker,
            &lines,
            &ProgressEvent::BlobBytes {
                digest: d,
                done: 16 * mib,
            },
        );
        advance(2);
        feed(
            &tracker,
            &lines,
            &ProgressEvent::BlobBytes {
                digest: d,
                done: 20 * mib,
            },
        );
        // Stalled: no bytes, no line, however long.
        advance(60);
        feed(
            &tracker,
            &lines,
            &ProgressEvent::BlobBytes {
                digest: d,
                done: 20 * mib,
            },
        );
        assert_eq!(
            sink.text(),
            "copying a to b\n\
             \x20 10.0 MiB of 100.0 MiB (10%), 0 of 1 blobs, 2.0 MiB/s\n\
             \x20 20.0 MiB of 100.0 MiB (20%), 0 of 1 blobs, 2.0 MiB/s\n"
        );
    }

    #[test]
    fn interrupted_says_what_was_left() {
        let tracker = ProgressTracker::new();
        let mib = 1024 * 1024;
        for (i, size) in [10, 20, 30].into_iter().enumerate() {
            let d = Digest::sha256([u8::try_from(i).expect("small"); 32]);
            tracker.record(&started(d, size * mib, Direction::Push));
            if i < 2 {
                tracker.record(&ProgressEvent::BlobBytes {
                    digest: d,
                    done: size * mib,
                });
                tracker.record(&ProgressEvent::BlobDone {
                    digest: d,
                    outcome: BlobOutcome::Uploaded,
                });
            }
        }
        assert_eq!(
            interrupted_line(Some(&tracker.snapshot())),
            "interrupted: 2 of 3 blobs done, 30.0 MiB of 60.0 MiB"
        );
        assert_eq!(interrupted_line(None), "interrupted");
    }

    #[test]
    fn bars_draw_nothing_until_a_blob_starts_and_survive_any_order() {
        let bars = Bars::new(ProgressDrawTarget::hidden());
        let tracker = Arc::new(ProgressTracker::new());
        let d = Digest::sha256([1; 32]);
        feed(
            &tracker,
            &bars,
            &ProgressEvent::BlobBytes { digest: d, done: 5 },
        );
        bars.started("copying", &tracker);
        feed(
            &tracker,
            &bars,
            &ProgressEvent::BlobBytes { digest: d, done: 5 },
        );
        assert!(bars.lock().drawn.is_none());
        feed(&tracker, &bars, &started(d, 100, Direction::Push));
        feed(&tracker, &bars, &started(d, 100, Direction::Pull));
        feed(
            &tracker,
            &bars,
            &ProgressEvent::BlobBytes {
                digest: d,
                done: 40,
            },
        );
        {
            let state = bars.lock();
            let drawn = state.drawn.as_ref().expect("drawn once a blob starts");
            assert_eq!(drawn.blobs.len(), 1);
            assert_eq!(drawn.blobs[&d].position(), 40);
        }
        feed(
            &tracker,
            &bars,
            &ProgressEvent::BlobBytes {
                digest: d,
                done: 100,
            },
        );
        feed(
            &tracker,
            &bars,
            &ProgressEvent::BlobDone {
                digest: d,
                outcome: BlobOutcome::Uploaded,
            },
        );
        {
            let state = bars.lock();
            let drawn = state.drawn.as_ref().expect("drawn");
            assert!(drawn.blobs.is_empty());
            assert_eq!(drawn.overall.position(), 100);
            assert_eq!(drawn.overall.length(), Some(100));
        }
        bars.failed();
    }
}
