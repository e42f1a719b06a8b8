//! The `crane` command line tool. Flags, output and progress only: the
//! behaviour lives in the `ocireg-crane` library.

use std::error::Error as StdError;
use std::io;
use std::process::ExitCode;

use clap::Parser as _;
use ocireg_crane::{ErrorKind, Report};

mod cli;
mod cli_mutate;
mod commands;
mod format;
mod printer;
mod progress;

use crate::cli::Cli;
use crate::commands::Outcome;
use crate::printer::Printer;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2. A
            // command group run bare (`crane`, `crane auth`) prints its help on stderr and
            // exits 0, as ggcr does.
            let _ = e.print();
            if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                return ExitCode::SUCCESS;
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let printer = Printer::new(cli.global.quiet, cli.global.verbose);
    init_logging(&printer);
    let mut cli = cli;
    commands::take_filter_platforms(&mut cli.command, &mut cli.global);
    let opts = match commands::options(&cli.global) {
        Ok(opts) => opts,
        Err(e) => return fail(&printer, &anyhow::Error::new(e)),
    };
    let warnings = opts.warnings().clone();
    let limit = cli.global.timeout;
    // Abandoned requests (past --timeout) do not delay the exit: `run` does not wait.
    let result = ocireg_crane::run(ocireg_crane::within(
        limit,
        commands::run(cli.command, opts, &printer),
    ))
    .and_then(|timed| timed)
    .unwrap_or_else(|e| Err(anyhow::Error::new(e)));
    for warning in warnings.take() {
        printer.registry_warning(&warning);
    }
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&printer, &e),
    }
}

/// Prints `Error: <what>: <why>` and the hint, and gives the exit code of
/// the failure's class.
fn fail(printer: &Printer, error: &anyhow::Error) -> ExitCode {
    let top: &(dyn StdError + 'static) = error.as_ref();
    let crane = error.downcast_ref::<ocireg_crane::Error>();
    let kind = crane.map_or(ErrorKind::Other, ocireg_crane::Error::kind);
    let hint = crane.and_then(ocireg_crane::Error::hint);
    printer.error(
        &Report::new(top, printer.verbose()).to_string(),
        hint.as_deref(),
    );
    ExitCode::from(kind.exit_code())
}

/// A closed stdout (`crane manifest x | head -c1`) is not a failure.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<ocireg_crane::Error>()
                .is_some_and(ocireg_crane::Error::is_broken_pipe)
    })
}

/// Logs to stderr: warnings by default (errors only with `-q`), `RUST_LOG`
/// when set, and with `-v` debug for ocireg's crates (the transport redacts
/// credentials and signed URLs). Every field is escaped like the rest of
/// crane's text: log lines quote registry answers.
fn init_logging(printer: &Printer) {
    use ocireg_crane::escape_text;
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::field::MakeExt as _;

    let fields = tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let value = format!("{value:?}");
        if field.name() == "message" {
            writer.write_str(&escape_text(&value))
        } else {
            write!(writer, "{}={}", field.name(), escape_text(&value))
        }
    })
    .delimited(" ");
    let filter = if printer.verbose() {
        EnvFilter::new(
            "info,ocireg_authn=debug,ocireg_transport=debug,ocireg_remote=debug,\
             ocireg_crane=debug,ocireg_registry=debug",
        )
    } else {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(if printer.quiet() { "error" } else { "warn" }))
    };
    let _ = tracing_subscriber::fmt()
        .fmt_fields(fields)
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(printer.color())
        .with_target(printer.verbose())
        .without_time()
        .try_init();
}
