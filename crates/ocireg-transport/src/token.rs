//! The docker token protocol: the GET flow (Basic credentials to the realm) and the OAuth2
//! refresh-token POST flow, and the token response decoder.

use std::time::Duration;

use http::{HeaderValue, Uri};
use ocireg_authn::{AuthConfig, Secret};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::redact::redact_url;
use crate::scope::{Scope, Scopes};

/// When a token response says nothing about expiry.
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// The OAuth2 client id we announce.
const CLIENT_ID: &str = "ocireg";

/// A token service's answer ([`Transport::bearer_token_reply`](crate::Transport::bearer_token_reply)).
///
/// `Debug` shows the secrets as `****`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenReply {
    /// The bearer token: the response's `access_token` (the OAuth2 spelling) when it has
    /// one, else its `token`.
    pub token: Secret,
    /// The token's lifetime in seconds, when the response said (a positive `expires_in`,
    /// a number or a numeric string).
    pub expires_in: Option<u64>,
    /// The refresh token, when the response carried one (OAuth2 flows, or the GET flow
    /// with `offline_token=true`).
    pub refresh_token: Option<Secret>,
}

impl TokenReply {
    /// A token known without its response (a registry token, or one from the cache).
    pub(crate) fn bare(token: Secret) -> Self {
        Self {
            token,
            expires_in: None,
            refresh_token: None,
        }
    }
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Decodes a token response body: `access_token` wins over `token`; `expires_in` may be a
/// number or a numeric string.
pub(crate) fn decode(body: &[u8], registry: &str, realm: &Uri) -> Result<TokenReply> {
    let problem = |reason: &str| Error::TokenResponse {
        registry: registry.to_owned(),
        realm: redact_url(&realm.to_string()),
        reason: reason.to_owned(),
    };
    // serde would also read a struct from an array (`["t"]`); a token response is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(problem("the response is not a JSON token object"));
    }
    let wire: Wire = serde_json::from_slice(body)
        .map_err(|_| problem("the response is not a JSON token object"))?;
    let token = wire
        .access_token
        .filter(|t| !t.is_empty())
        .or(wire.token.filter(|t| !t.is_empty()))
        .ok_or_else(|| problem("no token in the response"))?;
    let expires_in = match wire.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|s| *s > 0);
    Ok(TokenReply {
        token: Secret::new(token),
        expires_in,
        refresh_token: wire
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Secret::new),
    })
}

/// The GET token URL: the realm's own query kept, one `scope=` per scope, then `service=`.
pub(crate) fn get_url(realm: &Uri, service: &str, scopes: &Scopes) -> Result<Uri> {
    let mut url = realm.to_string();
    let mut sep = if realm.query().is_some() { '&' } else { '?' };
    for scope in scopes {
        url.push(sep);
        url.push_str("scope=");
        url.push_str(&form_encode(scope.as_str()));
        sep = '&';
    }
    url.push(sep);
    url.push_str("service=");
    url.push_str(&form_encode(service));
    url.parse().map_err(|_| Error::InvalidRequest {
        reason: format!(
            "bad token URL from realm {}",
            redact_url(&realm.to_string())
        ),
    })
}

/// The OAuth2 refresh-token form body.
pub(crate) fn post_form(service: &str, scopes: &Scopes, refresh_token: &Secret) -> String {
    let scope = scopes
        .iter()
        .map(Scope::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let mut form = format!(
        "grant_type=refresh_token&client_id={CLIENT_ID}&refresh_token={}",
        form_encode(refresh_token.expose())
    );
    if !service.is_empty() {
        form.push_str("&service=");
        form.push_str(&form_encode(service));
    }
    if !scope.is_empty() {
        form.push_str("&scope=");
        form.push_str(&form_encode(&scope));
    }
    form
}

/// `Authorization` for the registry or the token GET flow from credentials:
/// a registry token is a bearer; username and password give Basic; a raw `auth` is sent as
/// Basic as is. `None` when anonymous.
pub(crate) fn basic_authorization(
    creds: &AuthConfig,
    allow_registry_token: bool,
) -> Option<HeaderValue> {
    let value = if let (true, Some(t)) = (allow_registry_token, &creds.registry_token) {
        format!("Bearer {}", t.expose())
    } else if let (Some(u), Some(p)) = (&creds.username, &creds.password) {
        if u.is_empty() || p.is_empty() {
            return None;
        }
        format!("Basic {}", AuthConfig::encode_auth(u, p.expose()).expose())
    } else if let Some(a) = creds.auth.as_ref().filter(|a| !a.is_empty()) {
        format!("Basic {}", a.expose())
    } else {
        return None;
    };
    let mut v = HeaderValue::from_str(&value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm() -> Uri {
        "https://auth.example/token?account=x".parse().unwrap()
    }

    #[test]
    fn decode_table() {
        let r = decode(br#"{"token":"t1","expires_in":300}"#, "reg", &realm()).unwrap();
        assert_eq!(r.token.expose(), "t1");
        assert_eq!(r.expires_in, Some(300));
        let r = decode(br#"{"token":"t1","access_token":"a1"}"#, "reg", &realm()).unwrap();
        assert_eq!(r.token.expose(), "a1");
        assert_eq!(r.expires_in, None);
        let r = decode(
            br#"{"access_token":"a1","refresh_token":"r1","expires_in":"60"}"#,
            "reg",
            &realm(),
        )
        .unwrap();
        assert_eq!(r.refresh_token.unwrap().expose(), "r1");
        assert_eq!(r.expires_in, Some(60));
        let e = decode(br#"{"token":""}"#, "reg", &realm()).unwrap_err();
        assert!(e.to_string().contains("no token"), "{e}");
        let e = decode(b"<html>", "reg", &realm()).unwrap_err();
        assert!(e.to_string().contains("not a JSON token"), "{e}");
        let r = decode(b" \n{\"token\":\"t\"}", "reg", &realm()).unwrap();
        assert_eq!(r.token.expose(), "t");
    }

    #[test]
    fn decode_refuses_arrays() {
        // Found by the token_response fuzz target: serde reads a struct from a JSON array,
        // so `["t"]` was taken as the token "t" (Go refuses it).
        for body in [&br#"["t"]"#[..], br#" ["t", "a", "r", 60]"#, b"[]"] {
            let e = decode(body, "reg", &realm()).unwrap_err();
            assert!(e.to_string().contains("not a JSON token"), "{e}");
        }
    }

    #[test]
    fn get_url_keeps_realm_query_and_repeats_scope() {
        let scopes = Scopes::push("a/b").with_mount_from("c");
        let u = get_url(&realm(), "registry.example", &scopes).unwrap();
        assert_eq!(
            u.to_string(),
            "https://auth.example/token?account=x&scope=repository%3Aa%2Fb%3Apush%2Cpull&scope=repository%3Ac%3Apull&service=registry.example"
        );
        let u = get_url(&"https://a/t".parse().unwrap(), "", &Scopes::none()).unwrap();
        assert_eq!(u.to_string(), "https://a/t?service=");
    }

    #[test]
    fn post_form_fields() {
        let f = post_form(
            "svc",
            &Scopes::pull("a").with_mount_from("b"),
            &Secret::new("r&t"),
        );
        assert_eq!(
            f,
            "grant_type=refresh_token&client_id=ocireg&refresh_token=r%26t&service=svc&scope=repository%3Aa%3Apull+repository%3Ab%3Apull"
        );
    }

    #[test]
    fn basic_authorization_forms() {
        let h = basic_authorization(&AuthConfig::basic("u", "p"), true).unwrap();
        assert_eq!(h, "Basic dTpw");
        assert!(h.is_sensitive());
        let h = basic_authorization(&AuthConfig::bearer("tok"), true).unwrap();
        assert_eq!(h, "Bearer tok");
        assert!(basic_authorization(&AuthConfig::bearer("tok"), false).is_none());
        assert!(basic_authorization(&AuthConfig::default(), true).is_none());
        assert!(basic_authorization(&AuthConfig::basic("u", ""), true).is_none());
    }
}
