//! [`Session`]: authenticated transports cached per registry, repository and scope set, and
//! the job limits shared by every operation of one [`Options`](crate::Options).
//!
//! ggcr's `Puller` and `Pusher` (and carvel imgpkg's `MultiRoundTripperStorage`) keep one
//! authenticated round tripper per repository so that pulling or pushing many images pings
//! the registry and exchanges a token once per repository, not once per request. A session
//! does that for both the read and the write side: the first operation on a
//! `(registry, repository, scopes)` key pings and authenticates, later ones reuse the
//! [`Transport`]. An initialisation that fails is not cached, so the next operation tries
//! again (ggcr #2406); concurrent operations on one key wait for a single initialisation.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use ocireg_authn::{Authenticator, Keychain, Resource};
use ocireg_name::{Registry, Repository};
use ocireg_transport::{Client, Scopes, Transport};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};
use tracing::debug;

use crate::error::{Error, Result};

/// Where credentials come from.
#[derive(Clone, Debug)]
pub(crate) enum AuthSource {
    /// Resolved per registry or repository.
    Keychain(Arc<dyn Keychain>),
    /// The same authenticator everywhere.
    Fixed(Arc<dyn Authenticator>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    registry: String,
    scheme: &'static str,
    repository: Option<String>,
    scopes: Vec<String>,
}

/// Cached transports and job limits; get it from [`Options::session`](crate::Options::session).
///
/// Cloning an [`Options`](crate::Options) shares its session, so every operation made with
/// one options value (and its clones) reuses authentication and respects one `jobs` limit.
pub struct Session {
    client: Client,
    auth: AuthSource,
    transports: Mutex<HashMap<Key, Arc<OnceCell<Transport>>>>,
    pulls: Arc<Semaphore>,
    pushes: Arc<Semaphore>,
    jobs: usize,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self
            .transports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Session")
            .field("jobs", &self.jobs)
            .field("cached_transports", &cached)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(client: Client, auth: AuthSource, jobs: usize) -> Self {
        Self {
            client,
            auth,
            transports: Mutex::default(),
            pulls: Arc::new(Semaphore::new(jobs)),
            pushes: Arc::new(Semaphore::new(jobs)),
            jobs,
        }
    }

    /// The HTTP client transports are made from.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The `jobs` limit.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// The authenticator for `resource`: the fixed one, or the keychain's answer.
    pub async fn authenticator(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        match &self.auth {
            AuthSource::Fixed(a) => Ok(Arc::clone(a)),
            AuthSource::Keychain(k) => {
                k.resolve(resource)
                    .await
                    .map_err(|source| Error::Credentials {
                        resource: Some(resource.clone()),
                        source,
                    })
            }
        }
    }

    /// A transport for `registry` with `scopes`, authenticated as `repository` (or as the
    /// registry when `None`); cached per `(registry, repository, scopes)`.
    pub async fn transport(
        &self,
        registry: &Registry,
        repository: Option<&Repository>,
        scopes: Scopes,
    ) -> Result<Transport> {
        let mut scope_list: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
        scope_list.sort_unstable();
        scope_list.dedup();
        let key = Key {
            registry: registry.name().to_owned(),
            scheme: registry.scheme(),
            repository: repository.map(|r| r.repository_str().to_owned()),
            scopes: scope_list,
        };
        let cell = {
            let mut map = self
                .transports
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(key).or_default())
        };
        // A failed init leaves the cell empty: the next caller tries again.
        let transport = cell
            .get_or_try_init(|| async {
                let resource = repository.map_or_else(
                    || Resource::from(registry),
                    Resource::from,
                );
                let auth = self.authenticator(&resource).await?;
                debug!(registry = %registry.name(), resource = %resource, "authenticating a new transport");
                self.client
                    .transport(registry, scopes, auth)
                    .await
                    .map_err(|e| Error::transport("connecting to", registry, e))
            })
            .await?;
        Ok(transport.clone())
    }

    /// A transport that may pull from `repository`.
    pub async fn pull(&self, repository: &Repository) -> Result<Transport> {
        let scopes = Scopes::pull(repository.repository_str());
        self.transport(repository.registry(), Some(repository), scopes)
            .await
    }

    /// A transport that may push to (and pull from) `repository`.
    pub async fn push(&self, repository: &Repository) -> Result<Transport> {
        let scopes = Scopes::push(repository.repository_str());
        self.transport(repository.registry(), Some(repository), scopes)
            .await
    }

    /// A transport that may push to `repository` and pull from each of `mount_from` on the
    /// same registry (for cross-repository mounts).
    pub async fn push_mounting(
        &self,
        repository: &Repository,
        mount_from: &[&Repository],
    ) -> Result<Transport> {
        let mut scopes = Scopes::push(repository.repository_str());
        for from in mount_from {
            if from.registry() == repository.registry() && *from != repository {
                scopes = scopes.with_mount_from(from.repository_str());
            }
        }
        self.transport(repository.registry(), Some(repository), scopes)
            .await
    }

    /// A transport that may delete from `repository`.
    pub async fn delete(&self, repository: &Repository) -> Result<Transport> {
        let scopes = Scopes::delete(repository.repository_str());
        self.transport(repository.registry(), Some(repository), scopes)
            .await
    }

    /// A transport that may list the registry's catalog.
    pub async fn catalog(&self, registry: &Registry) -> Result<Transport> {
        self.transport(registry, None, Scopes::catalog()).await
    }

    /// Waits for one of the `jobs` blob download slots; the slot is freed when the permit is
    /// dropped (the remote views hold it until their blob stream ends or is dropped).
    pub async fn pull_permit(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.pulls)
            .acquire_owned()
            .await
            .expect("the pull semaphore is never closed")
    }

    /// Waits for one of the `jobs` upload slots (separate from the download slots, so a copy
    /// holding one of each cannot deadlock).
    pub async fn push_permit(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.pushes)
            .acquire_owned()
            .await
            .expect("the push semaphore is never closed")
    }

    /// How many transports are cached (for tests and diagnostics).
    pub fn cached_transports(&self) -> usize {
        self.transports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|c| c.initialized())
            .count()
    }
}
