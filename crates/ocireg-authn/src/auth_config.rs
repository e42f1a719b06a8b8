//! `AuthConfig`: the credential record docker keeps per registry.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{AuthFieldProblem, Error, Result};
use crate::secret::Secret;

/// Standard base64 that accepts input with or without `=` padding
/// (docker writes padded, some tools write unpadded; ggcr accepts both).
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Credentials for one registry, in the shape docker's `config.json` uses.
///
/// JSON field names are docker's (`username`, `password`, `auth`,
/// `identitytoken`, `registrytoken`); empty fields are omitted.
/// Deserialising decodes `auth` (base64 of `user:password`, padded or not,
/// split at the first `:`) into `username` and `password`; serialising
/// re-encodes `auth` from them.
///
/// How the transport uses each field: a `registry_token` is sent as the
/// bearer token directly; an `identity_token` is an OAuth2 refresh token;
/// otherwise `username`/`password` (or the raw `auth`) are used for Basic
/// auth or the token exchange.
#[non_exhaustive]
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// The user name (`<token>` from a credential helper marks an identity token).
    pub username: Option<String>,
    /// The password.
    pub password: Option<Secret>,
    /// base64 of `username:password`, as docker stores it.
    pub auth: Option<Secret>,
    /// An OAuth2 refresh token (docker's `identitytoken`).
    pub identity_token: Option<Secret>,
    /// A bearer token sent to the registry as is (docker's `registrytoken`).
    pub registry_token: Option<Secret>,
}

impl AuthConfig {
    /// Username and password.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            username: Some(username.into()),
            password: Some(password.into()),
            ..Self::default()
        }
    }

    /// A registry (bearer) token, sent as `Authorization: Bearer <token>`.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self {
            registry_token: Some(token.into()),
            ..Self::default()
        }
    }

    /// An identity (OAuth2 refresh) token, with the user name it belongs to
    /// (credential helpers use `<token>`).
    pub fn identity_token(username: impl Into<String>, token: impl Into<Secret>) -> Self {
        Self {
            username: Some(username.into()),
            identity_token: Some(token.into()),
            ..Self::default()
        }
    }

    /// Whether this carries no credential at all (every field absent or
    /// empty). An anonymous config means "send no credentials".
    #[must_use]
    pub fn is_anonymous(&self) -> bool {
        self.username.as_deref().is_none_or(str::is_empty)
            && self.password.as_ref().is_none_or(Secret::is_empty)
            && self.auth.as_ref().is_none_or(Secret::is_empty)
            && self.identity_token.as_ref().is_none_or(Secret::is_empty)
            && self.registry_token.as_ref().is_none_or(Secret::is_empty)
    }

    /// Decodes a docker `auth` field (base64 of `user:password`, padded or
    /// unpadded) into user and password, split at the first `:`.
    pub fn decode_auth(auth: &str) -> Result<(String, Secret)> {
        let problem = |reason| Error::InvalidAuth {
            key: None,
            path: None,
            reason,
        };
        let bytes = LENIENT_STANDARD
            .decode(auth.trim())
            .map_err(|_| problem(AuthFieldProblem::NotBase64))?;
        let text = String::from_utf8(bytes).map_err(|_| problem(AuthFieldProblem::NotUtf8))?;
        let (user, pass) = text
            .split_once(':')
            .ok_or_else(|| problem(AuthFieldProblem::NoColon))?;
        Ok((user.to_owned(), Secret::new(pass)))
    }

    /// Encodes user and password as docker's `auth` field (padded base64).
    #[must_use]
    pub fn encode_auth(username: &str, password: &str) -> Secret {
        Secret::new(
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")),
        )
    }

    /// Builds a config from docker's wire fields, decoding `auth` when present.
    pub(crate) fn from_wire(wire: Wire) -> Result<Self> {
        let mut cfg = Self {
            username: non_empty(wire.username),
            password: non_empty(wire.password).map(Secret::new),
            auth: non_empty(wire.auth).map(Secret::new),
            identity_token: non_empty(wire.identitytoken).map(Secret::new),
            registry_token: non_empty(wire.registrytoken).map(Secret::new),
        };
        if let Some(auth) = &cfg.auth {
            let (user, pass) = Self::decode_auth(auth.expose())?;
            cfg.username = Some(user);
            cfg.password = Some(pass);
        } else if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
            cfg.auth = Some(Self::encode_auth(u, p.expose()));
        }
        Ok(cfg)
    }

    /// The wire form, `auth` re-encoded from user and password when either is set.
    pub(crate) fn to_wire(&self) -> Wire {
        let username = self.username.clone().unwrap_or_default();
        let password = self
            .password
            .as_ref()
            .map(|p| p.expose().to_owned())
            .unwrap_or_default();
        let auth = if username.is_empty() && password.is_empty() {
            self.auth
                .as_ref()
                .map(|a| a.expose().to_owned())
                .unwrap_or_default()
        } else {
            Self::encode_auth(&username, &password).expose().to_owned()
        };
        Wire {
            username: Some(username),
            password: Some(password),
            auth: Some(auth),
            identitytoken: self.identity_token.as_ref().map(|t| t.expose().to_owned()),
            registrytoken: self.registry_token.as_ref().map(|t| t.expose().to_owned()),
        }
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// docker's JSON field names. Unknown fields (`email`, `serveraddress`) are
/// ignored on read.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct Wire {
    #[serde(default, skip_serializing_if = "is_blank")]
    pub(crate) username: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub(crate) password: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub(crate) auth: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub(crate) identitytoken: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub(crate) registrytoken: Option<String>,
}

#[expect(
    clippy::ref_option,
    reason = "serde's skip_serializing_if passes a reference to the field"
)]
fn is_blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

impl Serialize for AuthConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_wire().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AuthConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        // The error names the problem only; the field's content stays out.
        Self::from_wire(wire).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    type Case = (&'static str, String, Option<(&'static str, &'static str)>);

    #[test]
    fn auth_field_table() {
        let padded = b64("foo:bar");
        assert!(padded.ends_with('='), "the table needs a padded case");
        let unpadded = padded.trim_end_matches('=').to_owned();
        let cases: &[Case] = &[
            ("padded", padded.clone(), Some(("foo", "bar"))),
            ("unpadded", unpadded, Some(("foo", "bar"))),
            (
                "first colon splits",
                b64("user:pa:ss:"),
                Some(("user", "pa:ss:")),
            ),
            ("empty password", b64("user:"), Some(("user", ""))),
            ("no colon", b64("userpass"), None),
            ("not base64", "***".to_owned(), None),
            (
                "not utf8",
                base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b':']),
                None,
            ),
        ];
        for (desc, input, want) in cases {
            let got = AuthConfig::decode_auth(input);
            match (got, want) {
                (Ok((u, p)), Some((wu, wp))) => {
                    assert_eq!(u, *wu, "{desc}");
                    assert_eq!(p.expose(), *wp, "{desc}");
                }
                (Err(e), None) => assert!(matches!(e, Error::InvalidAuth { .. }), "{desc}: {e}"),
                (got, want) => panic!("{desc}: got {:?}, want {want:?}", got.map(|(u, _)| u)),
            }
        }
    }

    #[test]
    fn no_colon_error_is_specific() {
        let err = AuthConfig::decode_auth(&b64("nocolon-canary")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no ':'"), "{msg}");
        assert!(!msg.contains("nocolon-canary"), "{msg}");
    }

    #[test]
    fn json_round_trip() {
        let json = format!(
            r#"{{"auth":"{}","identitytoken":"idt","email":"x@y"}}"#,
            b64("foo:bar")
        );
        let cfg: AuthConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(cfg.username.as_deref(), Some("foo"));
        assert_eq!(cfg.password.as_ref().unwrap().expose(), "bar");
        assert_eq!(cfg.identity_token.as_ref().unwrap().expose(), "idt");
        assert!(cfg.registry_token.is_none());

        // Marshal re-encodes auth from username and password.
        let mut changed = cfg.clone();
        changed.password = Some(Secret::new("baz"));
        let out = serde_json::to_value(&changed).unwrap();
        assert_eq!(out["auth"], b64("foo:baz"));
        assert_eq!(out["username"], "foo");
        assert_eq!(out["identitytoken"], "idt");
        assert!(out.get("registrytoken").is_none());
    }

    #[test]
    fn username_password_synthesise_auth() {
        let cfg: AuthConfig = serde_json::from_str(r#"{"username":"u","password":"p"}"#).unwrap();
        assert_eq!(cfg.auth.unwrap().expose(), b64("u:p"));
    }

    #[test]
    fn bad_auth_in_json_is_error_without_content() {
        let json = format!(r#"{{"auth":"{}"}}"#, b64("secretcanary"));
        let err = serde_json::from_str::<AuthConfig>(&json).unwrap_err();
        assert!(!err.to_string().contains("secretcanary"));
    }

    #[test]
    fn constructors_and_anonymity() {
        assert!(AuthConfig::default().is_anonymous());
        let blank = AuthConfig {
            username: Some(String::new()),
            password: Some(Secret::default()),
            ..AuthConfig::default()
        };
        assert!(blank.is_anonymous());
        assert!(!AuthConfig::basic("u", "p").is_anonymous());
        assert!(!AuthConfig::bearer("t").is_anonymous());
        let id = AuthConfig::identity_token("<token>", "t");
        assert_eq!(id.username.as_deref(), Some("<token>"));
        assert_eq!(id.identity_token.unwrap().expose(), "t");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let cfg = AuthConfig {
            username: Some("visible-user".into()),
            password: Some(Secret::new("pw-canary")),
            auth: Some(Secret::new("auth-canary")),
            identity_token: Some(Secret::new("idt-canary")),
            registry_token: Some(Secret::new("rt-canary")),
        };
        for s in [format!("{cfg:?}"), format!("{cfg:#?}")] {
            assert!(s.contains("visible-user"));
            assert!(!s.contains("canary"), "{s}");
            assert!(s.contains("****"));
        }
    }
}
