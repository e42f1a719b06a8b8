//! `crane auth login|logout|get|token`.

use std::io::Read as _;

use anyhow::Context as _;
use ocireg_crane::{
    CREDENTIALS_NOT_FOUND, Options, Secret, Stored, auth_get, auth_login, auth_logout, auth_token,
    read_password,
};

use super::{Outcome, stdout};
use crate::cli::AuthCommand;
use crate::printer::Printer;

pub(super) async fn run(
    command: AuthCommand,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    match command {
        AuthCommand::Get { registry } => {
            let registry = if let Some(r) = registry {
                r
            } else {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the registry from stdin")?;
                text.trim().to_owned()
            };
            let Some(credentials) = auth_get(&registry, opts).await? else {
                // The credential-helper protocol: the message on stdout, exit 1.
                stdout(Printer::line(CREDENTIALS_NOT_FOUND))?;
                return Ok(Outcome::Exit(1));
            };
            stdout(Printer::data(credentials.to_json()))?;
            Ok(Outcome::Done)
        }
        AuthCommand::Login {
            server,
            username,
            password,
            password_stdin,
        } => {
            let password = if password_stdin {
                read_password(std::io::stdin().lock())?
            } else {
                if password.is_some() {
                    printer.warn("Using --password via the CLI is insecure. Use --password-stdin.");
                }
                Secret::new(password.unwrap_or_default())
            };
            let outcome = auth_login(
                &server,
                username.as_deref().unwrap_or_default(),
                &password,
                opts,
            )
            .await?;
            if let Stored::File(path) = &outcome.stored {
                printer.warn(&format!(
                    "your password is stored unencrypted in {}; configure a credential helper to avoid this",
                    path.display()
                ));
            }
            printer.info(&format!("logged in via {}", outcome.path.display()));
            Ok(Outcome::Done)
        }
        AuthCommand::Logout { server } => {
            let outcome = auth_logout(&server, opts).await?;
            if outcome.removed {
                printer.info(&format!("logged out via {}", outcome.path.display()));
            } else {
                printer.info(&format!("no credentials stored for {}", outcome.key));
            }
            Ok(Outcome::Done)
        }
        AuthCommand::Token {
            repo,
            header,
            push,
            mount,
            format,
        } => {
            let template = format.template()?;
            let token = auth_token(&repo, push, &mount, opts).await?;
            if let Some(t) = template {
                crate::format::print(&t, &crate::format::json(token.to_json().as_bytes())?)?;
                return Ok(Outcome::Done);
            }
            let text = if header {
                token.header()
            } else {
                token.to_json()
            };
            stdout(Printer::data(text))?;
            Ok(Outcome::Done)
        }
    }
}
