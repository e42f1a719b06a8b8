//! Where output goes: data to stdout, everything else to stderr; `--quiet`
//! and colour decided once.
//!
//! Every line of text printed here passes through [`escape_text`] (registry
//! text can hold terminal escape sequences); [`Printer::data`] bytes are the
//! registry's content and pass unchanged.

use std::io::{self, IsTerminal as _, Write as _};

use ocireg_crane::{escape_lines, escape_text};

/// How `crane` writes.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent settings, decided once at start"
)]
pub(crate) struct Printer {
    quiet: bool,
    verbose: bool,
    color: bool,
    /// Cursor movements work on stderr (a terminal, not `TERM=dumb`).
    stderr_draws: bool,
}

impl Printer {
    pub(crate) fn new(quiet: bool, verbose: bool) -> Self {
        let stderr_is_terminal = io::stderr().is_terminal();
        Self {
            quiet,
            verbose,
            color: stderr_is_terminal && color_allowed(),
            stderr_draws: stderr_is_terminal && !dumb_terminal(),
        }
    }

    pub(crate) fn quiet(&self) -> bool {
        self.quiet
    }

    pub(crate) fn verbose(&self) -> bool {
        self.verbose
    }

    pub(crate) fn color(&self) -> bool {
        self.color
    }

    /// Whether progress bars can be drawn on stderr: a terminal that moves its cursor.
    pub(crate) fn stderr_draws(&self) -> bool {
        self.stderr_draws
    }

    /// Data, exactly these bytes.
    pub(crate) fn data(bytes: impl AsRef<[u8]>) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(bytes.as_ref())?;
        out.flush()
    }

    /// Data, one line (escaped: a digest, a reference).
    pub(crate) fn line(text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "{}", escape_text(text))?;
        out.flush()
    }

    /// Data, one line per item (escaped: tag and repository names come from the
    /// registry).
    pub(crate) fn lines<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> io::Result<()> {
        let mut out = io::BufWriter::new(io::stdout().lock());
        for item in items {
            writeln!(out, "{}", escape_text(item.as_ref()))?;
        }
        out.flush()
    }

    /// An informational message on stderr, unless `--quiet`.
    pub(crate) fn info(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "{}", escape_text(text));
        }
    }

    /// A warning on stderr, also with `--quiet`.
    pub(crate) fn warn(&self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{}", self.paint("WARNING", text));
    }

    /// A registry warning, shown once at the end as ggcr's crane does.
    pub(crate) fn registry_warning(&self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{}", self.paint("[WARNING]", text));
    }

    /// The failure line, the hint below it.
    pub(crate) fn error(&self, message: &str, hint: Option<&str>) {
        let mut err = io::stderr().lock();
        let label = if self.color {
            "\x1b[1;31mError\x1b[0m"
        } else {
            "Error"
        };
        // The verbose report has several lines, each escaped already by `Report`.
        let _ = writeln!(err, "{label}: {}", escape_lines(message));
        if let Some(hint) = hint {
            let _ = writeln!(err, "hint: {}", escape_text(hint));
        }
    }

    fn paint(&self, label: &str, text: &str) -> String {
        let text = escape_text(text);
        if self.color {
            format!("\x1b[33m{label}: {text}\x1b[0m")
        } else {
            format!("{label}: {text}")
        }
    }
}

/// `NO_COLOR` (any value) and `TERM=dumb` turn colour off.
fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none() && !dumb_terminal()
}

/// `TERM=dumb`: a terminal without cursor movement or colour.
fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}
