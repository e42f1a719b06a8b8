//! The `crane` command line tool. Flags, output and progress only: the behaviour
//! lives in the ocireg library crates.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// crane is a tool for interacting with remote images and registries.
#[derive(Debug, Parser)]
#[command(name = "crane", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the version of crane.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => writeln!(std::io::stdout().lock(), "{}", env!("CARGO_PKG_VERSION")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`crane version | head -c0`) is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "Error: {e}");
            ExitCode::FAILURE
        }
    }
}
