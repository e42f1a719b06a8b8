//! `crane registry serve`.

use ocireg_crane::{Options, interrupted, registry_serve};

use super::{Outcome, stdout};
use crate::cli::RegistryCommand;
use crate::printer::Printer;

pub(super) async fn run(
    command: RegistryCommand,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let RegistryCommand::Serve { address, disk } = command;
    let server = registry_serve(address.as_deref(), disk.as_deref(), opts).await?;
    if let Some(disk) = &disk {
        printer.info(&format!("storing blobs in {}", disk.display()));
    }
    // The address on stdout for scripts; ggcr's log line on stderr.
    stdout(Printer::line(&server.addr().to_string()))?;
    printer.info(&format!(
        "crane registry: serving on port {}",
        server.addr().port()
    ));
    interrupted().await;
    printer.info("shutting down...");
    server.shutdown().await?;
    Ok(Outcome::Done)
}
