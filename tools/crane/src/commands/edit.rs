//! `edit config|manifest|fs`: the bytes go through `$EDITOR` (falling back to `vi`) when
//! stdin and stdout are terminals, as in ggcr; otherwise the new bytes are read from
//! stdin.

use std::io::{IsTerminal as _, Read as _, Write as _};

use ocireg_crane::{Error, Options};

use super::{Outcome, stdout};
use crate::cli::EditCommand;

/// The most read from stdin or the edited file (the manifest and config limit, 8 MiB).
const LIMIT: u64 = 8 * 1024 * 1024;

pub(super) async fn run(command: EditCommand, opts: &Options) -> anyhow::Result<Outcome> {
    let pushed = match command {
        EditCommand::Config { image, tag } => {
            ocireg_crane::edit_config(&image, tag.as_deref(), edit, opts).await?
        }
        EditCommand::Manifest {
            image,
            tag,
            media_type,
        } => {
            ocireg_crane::edit_manifest(&image, tag.as_deref(), media_type.as_deref(), edit, opts)
                .await?
        }
        EditCommand::Fs {
            image,
            filename,
            tag,
        } => {
            // ggcr records `strings.Join(os.Args, " ")` in the history entry.
            let created_by = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            let edit = if interactive() {
                ocireg_crane::FileEdit::Edit(|current: &[u8], ext: &str| {
                    edit_in_editor(current, ext, ocireg_crane::EDIT_FS_LIMIT)
                })
            } else {
                ocireg_crane::FileEdit::Replace(read_stdin(
                    "reading the file's new content from stdin",
                    ocireg_crane::EDIT_FS_LIMIT,
                )?)
            };
            ocireg_crane::edit_fs(&image, &filename, tag.as_deref(), &created_by, edit, opts)
                .await?
        }
    };
    stdout(writeln!(std::io::stdout(), "{pushed}"))?;
    Ok(Outcome::Done)
}

fn io_err(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let doing = doing.into();
    move |source| Error::Io { doing, source }
}

/// Whether a person is at the terminal (stdin and stdout both terminals), as ggcr decides.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Stdin, up to one byte past `limit` (so that the caller can tell it was too long).
fn read_stdin(doing: &str, limit: u64) -> ocireg_crane::Result<Vec<u8>> {
    let mut edited = Vec::new();
    std::io::stdin()
        .take(limit + 1)
        .read_to_end(&mut edited)
        .map_err(io_err(doing))?;
    Ok(edited)
}

/// The edited bytes: from `$EDITOR` on a temporary copy of `current` when a person is at
/// the terminal, else from stdin.
fn edit(current: &[u8]) -> ocireg_crane::Result<Vec<u8>> {
    if !interactive() {
        return read_stdin("reading the edited document from stdin", LIMIT);
    }
    edit_in_editor(current, ".json", LIMIT)
}

/// Runs `$EDITOR` (else `vi`) on a temporary file holding `current` (named `*SUFFIX`),
/// and returns what it holds after, up to one byte past `limit`.
fn edit_in_editor(current: &[u8], suffix: &str, limit: u64) -> ocireg_crane::Result<Vec<u8>> {
    let mut file = tempfile::Builder::new()
        .prefix("crane-edit.")
        .suffix(suffix)
        .tempfile()
        .map_err(io_err("creating a file to edit"))?;
    file.write_all(current)
        .and_then(|()| file.flush())
        .map_err(io_err(format!("writing {}", file.path().display())))?;
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    let status = std::process::Command::new(&editor)
        .arg(file.path())
        .status()
        .map_err(io_err(format!(
            "running the editor {editor:?} (set $EDITOR)"
        )))?;
    if !status.success() {
        return Err(Error::Io {
            doing: format!("running the editor {editor:?}"),
            source: std::io::Error::other(format!("it exited with {status}")),
        });
    }
    let mut edited = Vec::new();
    fs_err::File::open(file.path())
        .and_then(|f| f.take(limit + 1).read_to_end(&mut edited))
        .map_err(io_err("reading the edited file"))?;
    Ok(edited)
}
