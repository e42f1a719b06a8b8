//! Running crane in a pseudo-terminal, as a person at a terminal would (through
//! util-linux `script`), and reading the screen it leaves.

use std::io::{Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::Crane;

/// The terminal's width in columns.
pub(crate) const COLUMNS: usize = 80;

/// A crane running in an 80x24 terminal; killed on drop.
pub(crate) struct Terminal {
    child: Child,
    keyboard: Option<ChildStdin>,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

/// `'text'`, for `sh -c`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Terminal {
    /// Starts `crane args` in a terminal of [`COLUMNS`] columns.
    pub(crate) fn start(crane: &Crane, args: &[&str]) -> Self {
        let mut line = format!(
            "stty cols {COLUMNS} rows 24 && exec {}",
            quote(env!("CARGO_BIN_EXE_crane"))
        );
        for arg in args {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        let mut cmd = Command::new("script");
        // -q: no banner; -e: crane's exit code; -f: flush as it comes.
        cmd.args(["-qefc", &line, "/dev/null"]);
        crane.isolate(&mut cmd);
        cmd.env("TERM", "xterm");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start script (util-linux)");
        let keyboard = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout");
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("output").extend_from_slice(&buf[..n]);
            }
        });
        Self {
            child,
            keyboard,
            output,
            reader: Some(reader),
        }
    }

    /// Everything the terminal received so far.
    pub(crate) fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output")).into_owned()
    }

    /// Waits until the transcript contains `text`; panics after `limit`.
    #[track_caller]
    pub(crate) fn wait_for(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.transcript().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} within {limit:?}: {:?}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types Ctrl-C.
    pub(crate) fn ctrl_c(&mut self) {
        let keyboard = self.keyboard.as_mut().expect("keyboard");
        keyboard.write_all(b"\x03").expect("type Ctrl-C");
        keyboard.flush().expect("flush");
    }

    /// Waits for crane to exit (panics after `limit`); its exit code and the transcript.
    #[track_caller]
    pub(crate) fn finish(mut self, limit: Duration) -> (i32, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {limit:?}: {:?}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.keyboard.take();
        if let Some(reader) = self.reader.take() {
            reader.join().expect("reader");
        }
        (status.code().unwrap_or(-1), self.transcript())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a terminal of `width` columns shows after `transcript`, and whether any line was
/// longer than the width (and so wrapped).
#[derive(Debug)]
pub(crate) struct Screen {
    /// The lines, right-trimmed, without trailing empty lines.
    pub(crate) lines: Vec<String>,
    /// Whether some text was cut by the right margin: a line wrapped between two
    /// characters that are not spaces. (Progress bars pad each line to the width and
    /// let the terminal wrap to the next: that is not a line too long.)
    pub(crate) wrapped: bool,
}

impl Screen {
    /// Interprets the text, carriage returns, line feeds, backspaces and the cursor and
    /// erase sequences (`CSI n A/B/C/D/G`, `CSI n K`, `CSI n J`) that progress bars use;
    /// other escape sequences are skipped.
    pub(crate) fn render(transcript: &str, width: usize) -> Self {
        let mut grid: Vec<Vec<char>> = vec![Vec::new()];
        let (mut row, mut col) = (0usize, 0usize);
        let mut wrapped = false;
        let mut chars = transcript.chars().peekable();
        let ensure = |grid: &mut Vec<Vec<char>>, row: usize| {
            while grid.len() <= row {
                grid.push(Vec::new());
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '\r' => col = 0,
                '\n' => {
                    row += 1;
                    ensure(&mut grid, row);
                }
                '\x08' => col = col.saturating_sub(1),
                '\x1b' => {
                    if chars.peek() != Some(&'[') {
                        chars.next();
                        continue;
                    }
                    chars.next();
                    let mut params = String::new();
                    let mut last = ' ';
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '@' || c == '~' {
                            last = c;
                            break;
                        }
                        params.push(c);
                    }
                    if params.starts_with('?') {
                        continue;
                    }
                    let n: Option<usize> = params.split(';').next().and_then(|p| p.parse().ok());
                    let line = &mut grid[row];
                    match last {
                        'A' => row = row.saturating_sub(n.unwrap_or(1).max(1)),
                        'B' => {
                            row += n.unwrap_or(1).max(1);
                            ensure(&mut grid, row);
                        }
                        'C' => col += n.unwrap_or(1).max(1),
                        'D' => col = col.saturating_sub(n.unwrap_or(1).max(1)),
                        'G' => col = n.unwrap_or(1).saturating_sub(1),
                        'K' => match n.unwrap_or(0) {
                            0 => line.truncate(col),
                            1 => line.iter_mut().take(col + 1).for_each(|c| *c = ' '),
                            _ => line.clear(),
                        },
                        'J' => match n.unwrap_or(0) {
                            0 => {
                                line.truncate(col);
                                grid.truncate(row + 1);
                            }
                            _ => grid.iter_mut().for_each(Vec::clear),
                        },
                        _ => {}
                    }
                }
                c if c.is_control() => {}
                c => {
                    if col >= width {
                        let before = grid[row].get(width - 1).copied().unwrap_or(' ');
                        wrapped |= before != ' ' && c != ' ';
                        col = 0;
                        row += 1;
                        ensure(&mut grid, row);
                    }
                    let line = &mut grid[row];
                    while line.len() <= col {
                        line.push(' ');
                    }
                    line[col] = c;
                    col += 1;
                }
            }
        }
        let mut lines: Vec<String> = grid
            .into_iter()
            .map(|l| l.into_iter().collect::<String>().trim_end().to_owned())
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        Self { lines, wrapped }
    }
}

#[test]
fn the_screen_follows_cursor_moves_and_erases() {
    let screen = Screen::render(
        "keep\r\nbar one\r\nbar two\r\x1b[1A\x1b[2K\x1b[1B\x1b[2Kdone\r\n",
        10,
    );
    assert_eq!(screen.lines, ["keep", "", "done"]);
    assert!(!screen.wrapped);
    let screen = Screen::render("0123456789ab\n\x1b[?25l", 10);
    assert_eq!(screen.lines, ["0123456789", "ab"]);
    assert!(screen.wrapped);
    // Padded to the width, then the next line: no text was cut.
    let screen = Screen::render("bar one   bar two", 10);
    assert_eq!(screen.lines, ["bar one", "bar two"]);
    assert!(!screen.wrapped);
    let screen = Screen::render("a\nb\nc\x1b[2A\r\x1b[J", 10);
    assert_eq!(screen.lines, Vec::<String>::new());
}
