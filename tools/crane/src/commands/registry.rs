//! `crane registry serve`, `set` and `config`.

use anyhow::Context as _;
use ocireg_crane::{
    HostApi, Options, RegistrySettings, TlsMode, interrupted, read_password, registry_key,
    registry_serve, settings_path,
};

use super::{Outcome, stdout};
use crate::cli::RegistryCommand;
use crate::printer::Printer;

pub(super) async fn run(
    command: RegistryCommand,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    match command {
        RegistryCommand::Serve { address, disk } => {
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
        RegistryCommand::Set {
            host,
            tls,
            repo_auth,
            api,
            api_token_stdin,
        } => {
            let change = Change {
                tls: tls
                    .map(|t| t.parse::<TlsMode>())
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                repo_auth,
                api: match api.as_deref() {
                    None => ApiChange::Keep,
                    Some("none") => ApiChange::Clear,
                    Some(other) => {
                        ApiChange::Set(other.parse::<HostApi>().map_err(anyhow::Error::msg)?)
                    }
                },
                token: if api_token_stdin {
                    Some(read_password(std::io::stdin().lock()).context("reading the API token")?)
                } else {
                    None
                },
            };
            set(&host, change, opts, printer).await
        }
        RegistryCommand::Config { host, format } => {
            let template = format.template()?;
            let key = host.as_deref().map(registry_key).transpose()?;
            let settings = opts.registry_settings()?;
            let value = match &key {
                Some(key) => settings.host_redacted_value(key),
                None => settings.redacted_value(),
            };
            if let Some(template) = template {
                crate::format::print(&template, &value)?;
            } else {
                let mut text = serde_json::to_string_pretty(&value)?;
                text.push('\n');
                stdout(Printer::data(ocireg_crane::escape_lines(&text).as_bytes()))?;
            }
            Ok(Outcome::Done)
        }
    }
}

/// What `registry set` changes: `None` keeps the current value.
struct Change {
    tls: Option<TlsMode>,
    repo_auth: Option<bool>,
    api: ApiChange,
    token: Option<ocireg_crane::Secret>,
}

/// What `registry set --api` does to the host's API.
enum ApiChange {
    Keep,
    Clear,
    Set(HostApi),
}

/// Applies `change` to `host`'s entry of the settings file, under its lock.
async fn set(
    host: &str,
    change: Change,
    opts: &Options,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let key = registry_key(host)?;
    let env = opts.environment().clone();
    let path = settings_path(&env);
    let updated_key = key.clone();
    let _updated = RegistrySettings::update_async(env, move |settings| {
        let mut entry = settings.host(&key).cloned().unwrap_or_default();
        if let Some(tls) = change.tls {
            entry = entry.with_tls(tls);
        }
        if let Some(repo_auth) = change.repo_auth {
            entry = entry.with_repo_auth(repo_auth);
        }
        match change.api {
            ApiChange::Keep => {}
            ApiChange::Clear => entry = entry.with_api(None),
            ApiChange::Set(api) => entry = entry.with_api(Some(api)),
        }
        if let Some(token) = change.token {
            entry = entry.with_token(Some(token));
        }
        settings.set_host(&key, entry)
    })
    .await?;
    if let Some(path) = path {
        printer.info(&format!(
            "updated the settings of {updated_key} in {}",
            path.display()
        ));
    }
    Ok(Outcome::Done)
}
