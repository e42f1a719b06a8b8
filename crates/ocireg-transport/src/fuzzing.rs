//! Entry points for the fuzz targets in the workspace's `fuzz/` folder.
//!
//! Compiled only with the `fuzzing` feature. These are thin wrappers around
//! parsers that are private to this crate; they are not part of the API and
//! may change at any time.

use http::Uri;

use crate::{Challenge, Result, Scope, Scopes};

/// A decoded token response, with the secrets exposed so that a fuzz target
/// can check them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenReply {
    /// The token (`access_token`, else `token`).
    pub token: String,
    /// `expires_in`, when it is a positive number or numeric string.
    pub expires_in: Option<u64>,
    /// `refresh_token`, when present and not empty.
    pub refresh_token: Option<String>,
}

/// Decodes a token response body as the bearer flow does, for registry
/// `registry` and token realm `realm`.
pub fn decode_token_response(body: &[u8], registry: &str, realm: &Uri) -> Result<TokenReply> {
    let reply = crate::token::decode(body, registry, realm)?;
    Ok(TokenReply {
        token: reply.token.expose().to_owned(),
        expires_in: reply.expires_in,
        refresh_token: reply.refresh_token.map(|t| t.expose().to_owned()),
    })
}

/// The challenge a ping answers, as the transport picks it from several.
pub fn pick(challenges: &[Challenge]) -> Option<&Challenge> {
    crate::challenge::pick(challenges)
}

/// The GET token URL for `realm`, `service` and `scopes` (raw scope strings,
/// as a challenge's `scope` parameter gives them).
pub fn token_url(realm: &Uri, service: &str, scopes: &[&str]) -> Result<Uri> {
    let mut all = Scopes::none();
    for scope in scopes {
        all.push_back(Scope::raw(*scope));
    }
    crate::token::get_url(realm, service, &all)
}

/// Resolves a registry-supplied URL (a `Location`, a `Link` target) against
/// the request URL `base`; `None` when it is not an http(s) URL with a host.
pub fn resolve_url(base: &Uri, reference: &str) -> Option<Uri> {
    crate::target::resolve(base, reference)
}

/// The SSRF guard for a registry-supplied URL `target` (a token realm, a
/// redirect) given the registry's URL: `None` when either has no scheme or
/// host, else the guard's verdict (the reason when refused).
pub fn check_target(registry: &Uri, target: &Uri) -> Option<std::result::Result<(), &'static str>> {
    let registry = crate::target::Origin::of(registry)?;
    let target = crate::target::Origin::of(target)?;
    Some(crate::target::check_target(&registry, &target))
}
