//! `version` and `completion`.

use clap::CommandFactory as _;

use super::{Outcome, stdout};
use crate::cli::{Cli, Shell};
use crate::printer::Printer;

/// `crane version`.
pub(super) fn version() -> anyhow::Result<Outcome> {
    stdout(Printer::line(ocireg_crane::version()))?;
    Ok(Outcome::Done)
}

/// `crane completion SHELL`.
pub(super) fn completion(shell: Shell) -> anyhow::Result<Outcome> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "crane", &mut script);
    stdout(Printer::data(&script))?;
    Ok(Outcome::Done)
}
