//! Transport storage (imgpkg's `RoundTripperStorage`): [`TransportStorage`],
//! [`MultiTransportStorage`], [`SingleTransportStorage`], and what they store,
//! [`RegistryTransport`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use ocireg_authn::Authenticator;
use ocireg_name::{Action, Registry, Repository};
use ocireg_remote::Subject;
use ocireg_transport::{Client, Scope, Scopes, Transport};

use crate::error::{Error, Result};

/// How the remote options of every stored transport are set up: parallel blob transfers and
/// whether non-distributable layers are pushed. Plain data; see [`RemoteSettings::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteSettings {
    /// Parallel blob transfers per operation (ggcr's `WithJobs`); at least 1.
    pub jobs: usize,
    /// Push non-distributable (foreign) layers too (imgpkg's
    /// `IncludeNonDistributableLayers`).
    pub nondistributable: bool,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        Self {
            jobs: ocireg_remote::DEFAULT_JOBS,
            nondistributable: false,
        }
    }
}

impl RemoteSettings {
    /// [`ocireg_remote::DEFAULT_JOBS`] jobs, distributable layers only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the parallel blob transfers.
    #[must_use]
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// Sets whether non-distributable layers are pushed.
    #[must_use]
    pub fn with_nondistributable(mut self, nondistributable: bool) -> Self {
        self.nondistributable = nondistributable;
        self
    }

    /// Remote options on `client` authenticating everywhere with `auth`.
    fn options(
        self,
        client: &Client,
        auth: Arc<dyn Authenticator>,
        registry: &Registry,
    ) -> Result<ocireg_remote::Options> {
        ocireg_remote::Options::builder()
            .client(client.clone())
            .auth(auth)
            .jobs(self.jobs)
            .nondistributable(self.nondistributable)
            .build()
            .map_err(|e| Error::Build {
                registry: registry.to_string(),
                source: Box::new(e),
            })
    }
}

/// An authenticated transport for one repository and scope (imgpkg's stored
/// `http.RoundTripper`), with the remote options that reuse it.
///
/// The [`Transport`] has pinged the registry and fetched its first token (so bad credentials
/// fail when it is made). It is cached in the [`Session`](ocireg_remote::Session) of
/// [`options`](Self::options): registry operations made with those options on this
/// repository and scope send their requests through this very transport. Cheap to clone.
#[derive(Clone)]
pub struct RegistryTransport {
    repository: Repository,
    actions: String,
    transport: Transport,
    options: ocireg_remote::Options,
    auth: Arc<dyn Authenticator>,
}

impl fmt::Debug for RegistryTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryTransport")
            .field("repository", &self.repository.name())
            .field("actions", &self.actions)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl RegistryTransport {
    /// Pings `registry` and authenticates with `auth` for `scope`
    /// (`repository:<name>:<actions>`, see the [distribution token
    /// spec](https://distribution.github.io/distribution/spec/auth/token/)).
    pub async fn connect(
        client: &Client,
        settings: RemoteSettings,
        registry: &Registry,
        auth: Arc<dyn Authenticator>,
        scope: &Scope,
    ) -> Result<Self> {
        let (name, actions) = split_scope(scope)?;
        let repository = registry
            .repository(name)
            .map_err(|source| Error::InvalidReference {
                reference: format!("{}/{name}", registry.name()),
                source,
            })?;
        let options = settings.options(client, Arc::clone(&auth), registry)?;
        let transport = options
            .session()
            .transport(
                registry,
                Some(&repository),
                Scopes::from_iter([scope.clone()]),
            )
            .await
            .map_err(|e| Error::Remote {
                action: "preparing a transport to talk with",
                subject: Subject::from(&repository),
                source: Box::new(e),
            })?;
        Ok(Self {
            repository,
            actions: actions.to_owned(),
            transport,
            options,
            auth,
        })
    }

    /// The repository it was made for.
    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    /// The actions of its scope (`pull`, `push,pull`...).
    pub fn actions(&self) -> &str {
        &self.actions
    }

    /// The authenticated transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Remote options whose session holds [`transport`](Self::transport): operations made
    /// with them reuse it.
    pub fn options(&self) -> &ocireg_remote::Options {
        &self.options
    }

    /// The authenticator it was made with.
    pub fn authenticator(&self) -> &Arc<dyn Authenticator> {
        &self.auth
    }
}

/// `repository:<name>:<actions>` → (`name`, `actions`).
fn split_scope(scope: &Scope) -> Result<(&str, &str)> {
    let invalid = || Error::InvalidScope {
        scope: scope.as_str().to_owned(),
    };
    let rest = scope
        .as_str()
        .strip_prefix("repository:")
        .ok_or_else(invalid)?;
    let (name, actions) = rest.rsplit_once(':').ok_or_else(invalid)?;
    if name.is_empty() || actions.is_empty() {
        return Err(invalid());
    }
    Ok((name, actions))
}

/// Where a [`SimpleRegistry`](crate::imgpkg::SimpleRegistry) keeps its transports (imgpkg's
/// `RoundTripperStorage`): [`MultiTransportStorage`] (one per registry, repository and
/// scope) or [`SingleTransportStorage`] (one shared by everything).
///
/// A registry asks [`transport`](Self::transport) first and, when it has nothing, resolves
/// credentials and calls [`create_transport`](Self::create_transport), one creation at a
/// time.
#[async_trait::async_trait]
pub trait TransportStorage: fmt::Debug + Send + Sync {
    /// The transport to use for `action` on `repository`, if one is stored (imgpkg's
    /// `RoundTripper`).
    fn transport(&self, repository: &Repository, action: Action) -> Option<RegistryTransport>;

    /// Makes a transport for `scope` (`repository:<name>:<actions>`) on `registry`
    /// authenticated with `auth`, and stores it (imgpkg's `CreateRoundTripper`).
    async fn create_transport(
        &self,
        registry: &Registry,
        auth: Arc<dyn Authenticator>,
        scope: &Scope,
    ) -> Result<RegistryTransport>;

    /// The HTTP client transports are made from (imgpkg's `BaseRoundTripper`).
    fn base_client(&self) -> &Client;

    /// The settings of the remote options of the transports it makes.
    fn settings(&self) -> RemoteSettings;
}

type Key = (String, String, String);

fn key(registry: &Registry, repository: &str, actions: &str) -> Key {
    (
        registry.name().to_ascii_lowercase(),
        repository.to_owned(),
        actions.to_owned(),
    )
}

/// One transport per registry, repository and scope, made on demand and reused (imgpkg's
/// `MultiRoundTripperStorage`). Registry names are compared case-insensitively, repository
/// names exactly; a `pull` is served by a stored `push,pull` transport.
///
/// ```
/// use ocireg_client::imgpkg::{MultiTransportStorage, RemoteSettings, TransportStorage};
/// use ocireg_name::{Action, Repository};
///
/// let storage = MultiTransportStorage::new(ocireg_transport::Client::new()?, RemoteSettings::new());
/// assert!(storage.transport(&Repository::new("r.example/app")?, Action::Pull).is_none());
/// assert!(storage.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MultiTransportStorage {
    client: Client,
    settings: RemoteSettings,
    transports: Mutex<HashMap<Key, RegistryTransport>>,
}

impl fmt::Debug for MultiTransportStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiTransportStorage")
            .field("settings", &self.settings)
            .field("stored", &self.len())
            .finish_non_exhaustive()
    }
}

impl MultiTransportStorage {
    /// An empty storage making transports from `client`.
    pub fn new(client: Client, settings: RemoteSettings) -> Self {
        Self {
            client,
            settings,
            transports: Mutex::default(),
        }
    }

    /// Stores `transport` under its registry, repository and actions (replacing what was
    /// there).
    pub fn insert(&self, transport: RegistryTransport) {
        let k = key(
            transport.repository.registry(),
            transport.repository.repository_str(),
            &transport.actions,
        );
        self.lock().insert(k, transport);
    }

    /// How many transports are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, RegistryTransport>> {
        self.transports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl TransportStorage for MultiTransportStorage {
    fn transport(&self, repository: &Repository, action: Action) -> Option<RegistryTransport> {
        let map = self.lock();
        let get = |actions: &str| {
            map.get(&key(
                repository.registry(),
                repository.repository_str(),
                actions,
            ))
            .cloned()
        };
        get(action.as_str()).or_else(|| {
            if action == Action::Pull {
                get(Action::PushPull.as_str())
            } else {
                None
            }
        })
    }

    async fn create_transport(
        &self,
        registry: &Registry,
        auth: Arc<dyn Authenticator>,
        scope: &Scope,
    ) -> Result<RegistryTransport> {
        let t =
            RegistryTransport::connect(&self.client, self.settings, registry, auth, scope).await?;
        self.insert(t.clone());
        Ok(t)
    }

    fn base_client(&self) -> &Client {
        &self.client
    }

    fn settings(&self) -> RemoteSettings {
        self.settings
    }
}

/// One transport for everything (imgpkg's `SingleTripperStorage`): the last one made (or the
/// one given) serves every repository and scope.
pub struct SingleTransportStorage {
    client: Client,
    settings: RemoteSettings,
    transport: Mutex<Option<RegistryTransport>>,
}

impl fmt::Debug for SingleTransportStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleTransportStorage")
            .field("settings", &self.settings)
            .field("transport", &*self.lock())
            .finish_non_exhaustive()
    }
}

impl SingleTransportStorage {
    /// An empty storage making its transport from `client`.
    pub fn new(client: Client, settings: RemoteSettings) -> Self {
        Self {
            client,
            settings,
            transport: Mutex::new(None),
        }
    }

    /// A storage already holding `transport`.
    pub fn with_transport(
        client: Client,
        settings: RemoteSettings,
        transport: RegistryTransport,
    ) -> Self {
        Self {
            client,
            settings,
            transport: Mutex::new(Some(transport)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<RegistryTransport>> {
        self.transport
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl TransportStorage for SingleTransportStorage {
    fn transport(&self, _repository: &Repository, _action: Action) -> Option<RegistryTransport> {
        self.lock().clone()
    }

    async fn create_transport(
        &self,
        registry: &Registry,
        auth: Arc<dyn Authenticator>,
        scope: &Scope,
    ) -> Result<RegistryTransport> {
        let t =
            RegistryTransport::connect(&self.client, self.settings, registry, auth, scope).await?;
        *self.lock() = Some(t.clone());
        Ok(t)
    }

    fn base_client(&self) -> &Client {
        &self.client
    }

    fn settings(&self) -> RemoteSettings {
        self.settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_into_repository_and_actions() {
        let s = Scope::push("org/app");
        assert_eq!(split_scope(&s).expect("valid"), ("org/app", "push,pull"));
        for bad in [
            "registry:catalog:*",
            "repository:app",
            "repository::pull",
            "x",
        ] {
            assert!(
                matches!(
                    split_scope(&Scope::raw(bad)),
                    Err(Error::InvalidScope { .. })
                ),
                "{bad}"
            );
        }
    }
}
