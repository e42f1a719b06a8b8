//! Authenticators: where the transport gets credentials for one registry.

use std::fmt;

use crate::auth_config::AuthConfig;
use crate::error::Result;
use crate::secret::Secret;

/// Something that can produce credentials for a registry (ggcr's
/// `authn.Authenticator`).
///
/// `authorization` is async so that implementations can refresh tokens or
/// ask a credential helper; the transport calls it when it needs to
/// authenticate, not once per request.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + fmt::Debug {
    /// The credentials to use now.
    async fn authorization(&self) -> Result<AuthConfig>;

    /// Whether this authenticator stands for "no credentials" (ggcr's
    /// `auth == authn.Anonymous`). Keychains use it to move on to the next
    /// source. The default is `false`; [`Anonymous`] says `true`.
    fn is_anonymous(&self) -> bool {
        false
    }
}

/// No credentials (ggcr's `authn.Anonymous`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Anonymous;

#[async_trait::async_trait]
impl Authenticator for Anonymous {
    async fn authorization(&self) -> Result<AuthConfig> {
        Ok(AuthConfig::default())
    }

    fn is_anonymous(&self) -> bool {
        true
    }
}

/// Username and password (ggcr's `authn.Basic`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Basic {
    username: String,
    password: Secret,
}

impl Basic {
    /// Username and password.
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password.
    #[must_use]
    pub fn password(&self) -> &Secret {
        &self.password
    }
}

#[async_trait::async_trait]
impl Authenticator for Basic {
    async fn authorization(&self) -> Result<AuthConfig> {
        Ok(AuthConfig::basic(
            self.username.clone(),
            self.password.clone(),
        ))
    }
}

/// A registry token sent as the bearer token as is (ggcr's `authn.Bearer`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bearer {
    token: Secret,
}

impl Bearer {
    /// A registry (bearer) token.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self {
            token: token.into(),
        }
    }

    /// The token.
    #[must_use]
    pub fn token(&self) -> &Secret {
        &self.token
    }
}

#[async_trait::async_trait]
impl Authenticator for Bearer {
    async fn authorization(&self) -> Result<AuthConfig> {
        Ok(AuthConfig::bearer(self.token.clone()))
    }
}

/// A fixed [`AuthConfig`] is an authenticator (ggcr's `authn.FromConfig`).
/// An empty config counts as anonymous.
#[async_trait::async_trait]
impl Authenticator for AuthConfig {
    async fn authorization(&self) -> Result<Self> {
        Ok(self.clone())
    }

    fn is_anonymous(&self) -> bool {
        Self::is_anonymous(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn authenticators_produce_configs() {
        assert!(Anonymous.authorization().await.unwrap().is_anonymous());
        assert!(Authenticator::is_anonymous(&Anonymous));

        let basic = Basic::new("user", "pw");
        assert_eq!(
            basic.authorization().await.unwrap(),
            AuthConfig::basic("user", "pw")
        );
        assert!(!basic.is_anonymous());
        assert_eq!(basic.username(), "user");
        assert_eq!(basic.password().expose(), "pw");

        let bearer = Bearer::new("tok");
        let cfg = bearer.authorization().await.unwrap();
        assert_eq!(cfg.registry_token.unwrap().expose(), "tok");
        assert_eq!(bearer.token().expose(), "tok");

        let from = AuthConfig::identity_token("<token>", "idt");
        assert_eq!(from.authorization().await.unwrap(), from);
        assert!(!Authenticator::is_anonymous(&from));
        assert!(Authenticator::is_anonymous(&AuthConfig::default()));
    }

    #[test]
    fn debug_and_display_never_show_secrets() {
        let secret = Secret::new("canary-xyz");
        let strings = [
            format!("{:?}", Basic::new("u", secret.clone())),
            format!("{:#?}", Basic::new("u", secret.clone())),
            format!("{:?}", Bearer::new(secret.clone())),
            format!("{:?}", AuthConfig::identity_token("u", secret.clone())),
            format!("{:?}", AuthConfig::bearer(secret.clone())),
            format!("{secret}"),
            format!("{secret:?}"),
        ];
        for s in strings {
            assert!(!s.contains("canary"), "{s}");
            assert!(s.contains("****"), "{s}");
        }
    }
}
