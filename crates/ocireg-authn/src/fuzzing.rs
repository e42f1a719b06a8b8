//! Entry points for the fuzz targets in the workspace's `fuzz/` folder.
//!
//! Compiled only with the `fuzzing` feature. These are thin wrappers around
//! parsers that are private to this crate; they are not part of the API and
//! may change at any time.

use std::collections::BTreeMap;

use crate::{HelperCredentials, Result, Secret};

/// Decodes a credential helper's `get` output for `server_url`, as
/// [`CredentialHelper::get`](crate::CredentialHelper::get) does.
pub fn parse_get_output(server_url: &str, out: &[u8]) -> Result<Option<HelperCredentials>> {
    crate::helper::parse_get_output("fuzz", server_url, out)
}

/// Decodes a credential helper's `list` output.
pub fn parse_list_output(out: &[u8]) -> Result<BTreeMap<String, String>> {
    crate::helper::parse_list_output("fuzz", out)
}

/// The message quoted back from a failed helper's output, `secret` scrubbed;
/// `None` when the output says "credentials not found".
pub fn failure_message(out: &[u8], secret: Option<&str>) -> Option<String> {
    let secret = secret.map(Secret::new);
    crate::helper::failure_message(out, secret.as_ref())
}
