//! The `Keychain` trait and the keychains that combine other keychains.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::auth_config::AuthConfig;
use crate::authenticator::{Anonymous, Authenticator};
use crate::error::Result;
use crate::resource::Resource;

/// Finds the credentials for a registry or repository (ggcr's
/// `authn.Keychain`).
///
/// A keychain that has nothing for the resource returns [`Anonymous`]
/// (check with [`Authenticator::is_anonymous`]); an `Err` means the lookup
/// itself failed (unreadable config, failing credential helper) and must
/// not be papered over by trying another source.
#[async_trait::async_trait]
pub trait Keychain: Send + Sync + fmt::Debug {
    /// The authenticator to use for `resource`.
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>>;
}

#[async_trait::async_trait]
impl<K: Keychain + ?Sized> Keychain for Arc<K> {
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        (**self).resolve(resource).await
    }
}

#[async_trait::async_trait]
impl<K: Keychain + ?Sized> Keychain for Box<K> {
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        (**self).resolve(resource).await
    }
}

/// The anonymous authenticator as a shared trait object.
pub(crate) fn anonymous() -> Arc<dyn Authenticator> {
    Arc::new(Anonymous)
}

/// A keychain that answers the same authenticator for every resource
/// (useful for `--username/--password` style flags and in tests).
#[derive(Clone, Debug)]
pub struct StaticKeychain {
    auth: Arc<dyn Authenticator>,
}

impl StaticKeychain {
    /// Always answers `auth`.
    pub fn new(auth: Arc<dyn Authenticator>) -> Self {
        Self { auth }
    }

    /// Always answers this fixed config.
    #[must_use]
    pub fn from_config(config: AuthConfig) -> Self {
        Self::new(Arc::new(config))
    }
}

#[async_trait::async_trait]
impl Keychain for StaticKeychain {
    async fn resolve(&self, _resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        Ok(Arc::clone(&self.auth))
    }
}

/// Asks several keychains in order; the first non-anonymous answer wins and
/// any error aborts the lookup (ggcr's `authn.NewMultiKeychain`).
#[derive(Clone, Debug, Default)]
pub struct MultiKeychain {
    keychains: Vec<Arc<dyn Keychain>>,
}

impl MultiKeychain {
    /// Combines `keychains`, asked in this order.
    pub fn new(keychains: impl IntoIterator<Item = Arc<dyn Keychain>>) -> Self {
        Self {
            keychains: keychains.into_iter().collect(),
        }
    }

    /// Appends one more keychain, asked after the others.
    #[must_use]
    pub fn with(mut self, keychain: Arc<dyn Keychain>) -> Self {
        self.keychains.push(keychain);
        self
    }
}

#[async_trait::async_trait]
impl Keychain for MultiKeychain {
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        for keychain in &self.keychains {
            let auth = keychain.resolve(resource).await?;
            if !auth.is_anonymous() {
                return Ok(auth);
            }
        }
        Ok(anonymous())
    }
}

/// Wraps a keychain so that credentials are looked up again once they are
/// older than a given age (ggcr's `authn.RefreshingKeychain`); useful for
/// short-lived tokens from credential helpers in long-running processes.
///
/// `resolve` asks the inner keychain at once (so errors surface there) and
/// returns an authenticator that re-resolves on `authorization()` when the
/// age is exceeded. An anonymous answer is returned as is.
#[derive(Clone, Debug)]
pub struct RefreshingKeychain<K> {
    inner: Arc<K>,
    max_age: Duration,
}

impl<K: Keychain + 'static> RefreshingKeychain<K> {
    /// Re-resolves through `inner` when the credentials are older than `max_age`.
    pub fn new(inner: K, max_age: Duration) -> Self {
        Self {
            inner: Arc::new(inner),
            max_age,
        }
    }
}

#[async_trait::async_trait]
impl<K: Keychain + 'static> Keychain for RefreshingKeychain<K> {
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        let fetched = Instant::now();
        let auth = self.inner.resolve(resource).await?;
        if auth.is_anonymous() {
            return Ok(auth);
        }
        Ok(Arc::new(Refreshing {
            keychain: Arc::clone(&self.inner) as Arc<dyn Keychain>,
            resource: resource.clone(),
            max_age: self.max_age,
            current: Mutex::new((auth, fetched)),
        }))
    }
}

/// The authenticator handed out by [`RefreshingKeychain`].
#[derive(Debug)]
struct Refreshing {
    keychain: Arc<dyn Keychain>,
    resource: Resource,
    max_age: Duration,
    current: Mutex<(Arc<dyn Authenticator>, Instant)>,
}

impl Refreshing {
    fn snapshot(&self) -> (Arc<dyn Authenticator>, Instant) {
        let guard = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (Arc::clone(&guard.0), guard.1)
    }
}

#[async_trait::async_trait]
impl Authenticator for Refreshing {
    async fn authorization(&self) -> Result<AuthConfig> {
        let (mut auth, fetched) = self.snapshot();
        if fetched.elapsed() >= self.max_age {
            let now = Instant::now();
            tracing::debug!(resource = %self.resource, "re-resolving credentials");
            auth = self.keychain.resolve(&self.resource).await?;
            let mut guard = self
                .current
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *guard = (Arc::clone(&auth), now);
        }
        auth.authorization().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::authenticator::Basic;
    use crate::error::Error;

    /// Answers `Basic(user, pw-N)` where N counts the calls, or an error,
    /// or anonymous.
    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
        fail: bool,
        anonymous: bool,
    }

    #[async_trait::async_trait]
    impl Keychain for Counting {
        async fn resolve(&self, _resource: &Resource) -> Result<Arc<dyn Authenticator>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                return Err(Error::HelperNotFound {
                    helper: "failing".into(),
                });
            }
            if self.anonymous {
                return Ok(anonymous());
            }
            Ok(Arc::new(Basic::new("user", format!("pw-{n}"))))
        }
    }

    fn res() -> Resource {
        Resource::repository("test.io", "repo")
    }

    #[tokio::test]
    async fn multi_first_non_anonymous_wins() {
        let anon = Arc::new(Counting {
            anonymous: true,
            ..Counting::default()
        });
        let first = Arc::new(Counting::default());
        let second = Arc::new(Counting::default());
        let multi = MultiKeychain::new([
            Arc::clone(&anon) as Arc<dyn Keychain>,
            Arc::clone(&first) as Arc<dyn Keychain>,
            Arc::clone(&second) as Arc<dyn Keychain>,
        ]);
        let auth = multi.resolve(&res()).await.unwrap();
        assert_eq!(
            auth.authorization().await.unwrap(),
            AuthConfig::basic("user", "pw-0")
        );
        assert_eq!(anon.calls.load(Ordering::SeqCst), 1);
        assert_eq!(first.calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            second.calls.load(Ordering::SeqCst),
            0,
            "never asked after a hit"
        );
    }

    #[tokio::test]
    async fn multi_error_aborts() {
        let failing = Arc::new(Counting {
            fail: true,
            ..Counting::default()
        });
        let later = Arc::new(Counting::default());
        let multi = MultiKeychain::default()
            .with(Arc::clone(&failing) as Arc<dyn Keychain>)
            .with(Arc::clone(&later) as Arc<dyn Keychain>);
        let err = multi.resolve(&res()).await.unwrap_err();
        assert!(matches!(err, Error::HelperNotFound { .. }), "{err}");
        assert_eq!(later.calls.load(Ordering::SeqCst), 0, "no silent fall back");
    }

    #[tokio::test]
    async fn multi_all_anonymous_or_empty_is_anonymous() {
        let multi = MultiKeychain::new([
            Arc::new(StaticKeychain::new(anonymous())) as Arc<dyn Keychain>,
            Arc::new(StaticKeychain::from_config(AuthConfig::default())) as Arc<dyn Keychain>,
        ]);
        assert!(multi.resolve(&res()).await.unwrap().is_anonymous());
        assert!(
            MultiKeychain::default()
                .resolve(&res())
                .await
                .unwrap()
                .is_anonymous()
        );
    }

    #[tokio::test]
    async fn refreshing_re_resolves_after_max_age() {
        let kc = RefreshingKeychain::new(Counting::default(), Duration::ZERO);
        let auth = kc.resolve(&res()).await.unwrap();
        assert_eq!(kc.inner.calls.load(Ordering::SeqCst), 1);
        let a = auth.authorization().await.unwrap();
        let b = auth.authorization().await.unwrap();
        assert_eq!(a.password.unwrap().expose(), "pw-1");
        assert_eq!(b.password.unwrap().expose(), "pw-2");
        assert_eq!(kc.inner.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn refreshing_caches_within_max_age() {
        let kc = RefreshingKeychain::new(Counting::default(), Duration::from_secs(3600));
        let auth = kc.resolve(&res()).await.unwrap();
        for _ in 0..3 {
            let cfg = auth.authorization().await.unwrap();
            assert_eq!(cfg.password.unwrap().expose(), "pw-0");
        }
        assert_eq!(kc.inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshing_passes_anonymous_and_errors_through() {
        let anon = RefreshingKeychain::new(
            Counting {
                anonymous: true,
                ..Counting::default()
            },
            Duration::ZERO,
        );
        assert!(anon.resolve(&res()).await.unwrap().is_anonymous());
        let failing = RefreshingKeychain::new(
            Counting {
                fail: true,
                ..Counting::default()
            },
            Duration::ZERO,
        );
        assert!(failing.resolve(&res()).await.is_err());
    }
}
