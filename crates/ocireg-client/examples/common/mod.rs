//! What every example program shares: the registry from the first argument or
//! `OCIREG_CLIENT_REGISTRY`, and an anonymous client for it.

use ocireg_client::Client;
use ocireg_client::examples::{REGISTRY_ENV, example_client, registry_from_args_or_env};

/// The result of an example's `main`.
pub(crate) type Outcome = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The client for the registry the program was pointed at (argument 1 or the environment).
pub(crate) fn client() -> Result<Client, Box<dyn std::error::Error + Send + Sync>> {
    let registry = registry_from_args_or_env().ok_or_else(|| {
        format!(
            "usage: pass the registry (host:port[/path]) as the first argument or in {REGISTRY_ENV}"
        )
    })?;
    Ok(example_client(&registry)?)
}

/// The argument at `n` (after the registry), or `default`.
pub(crate) fn arg(n: usize, default: &str) -> String {
    std::env::args()
        .nth(n + 1)
        .unwrap_or_else(|| default.to_owned())
}
