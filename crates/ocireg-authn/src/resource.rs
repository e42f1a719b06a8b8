//! `Resource`: what a keychain is asked about.

use std::fmt;

/// The registry host ggcr and docker call Docker Hub.
pub(crate) const DOCKER_HUB_HOST: &str = "index.docker.io";

/// A registry, or a repository in a registry, to find credentials for
/// (ggcr's `authn.Resource`).
///
/// The registry is `host[:port]`; `docker.io` is stored as
/// `index.docker.io` as ggcr's `name.Registry` does. `Display` gives the
/// full form (`registry/repository`, or just the registry), which is the
/// first key a keychain looks up.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    registry: String,
    repository: Option<String>,
}

impl Resource {
    /// A whole registry (`host[:port]`).
    pub fn registry(registry: impl Into<String>) -> Self {
        Self {
            registry: canonical_registry(registry.into()),
            repository: None,
        }
    }

    /// A repository (`path/in/registry`) in a registry.
    pub fn repository(registry: impl Into<String>, repository: impl Into<String>) -> Self {
        let repository = repository.into();
        Self {
            registry: canonical_registry(registry.into()),
            repository: (!repository.is_empty()).then_some(repository),
        }
    }

    /// The registry part (ggcr's `RegistryStr()`), e.g. `gcr.io` or `localhost:5000`.
    #[must_use]
    pub fn registry_str(&self) -> &str {
        &self.registry
    }

    /// The repository path without the registry, if this names a repository.
    #[must_use]
    pub fn repository_str(&self) -> Option<&str> {
        self.repository.as_deref()
    }

    /// The registry with the repository (ggcr's `String()`), the
    /// repository-specific credential key.
    #[must_use]
    pub fn full_name(&self) -> String {
        self.to_string()
    }

    /// Whether the registry is Docker Hub.
    #[must_use]
    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB_HOST
    }
}

fn canonical_registry(registry: String) -> String {
    if registry == "docker.io" {
        DOCKER_HUB_HOST.to_owned()
    } else {
        registry
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repository {
            Some(repo) => write!(f, "{}/{}", self.registry, repo),
            None => f.write_str(&self.registry),
        }
    }
}

impl From<&ocireg_name::Registry> for Resource {
    fn from(registry: &ocireg_name::Registry) -> Self {
        Self::registry(registry.name())
    }
}

impl From<&ocireg_name::Repository> for Resource {
    fn from(repository: &ocireg_name::Repository) -> Self {
        Self::repository(repository.registry().name(), repository.repository_str())
    }
}

impl From<&ocireg_name::Reference> for Resource {
    fn from(reference: &ocireg_name::Reference) -> Self {
        Self::from(reference.context())
    }
}

impl From<&ocireg_name::Tag> for Resource {
    fn from(tag: &ocireg_name::Tag) -> Self {
        Self::from(tag.context())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_names() {
        let reg = ocireg_name::Registry::new("docker.io").unwrap();
        assert_eq!(Resource::from(&reg), Resource::registry("index.docker.io"));
        let repo = ocireg_name::Repository::new("ubuntu").unwrap();
        let r = Resource::from(&repo);
        assert_eq!(r.to_string(), "index.docker.io/library/ubuntu");
        assert_eq!(r.to_string(), repo.name());
        let reference = ocireg_name::Reference::parse("localhost:5000/a/b:t").unwrap();
        let r = Resource::from(&reference);
        assert_eq!(r.registry_str(), "localhost:5000");
        assert_eq!(r.repository_str(), Some("a/b"));
        let tag = ocireg_name::Tag::new("gcr.io/p/i:v1").unwrap();
        assert_eq!(Resource::from(&tag).full_name(), "gcr.io/p/i");
    }

    #[test]
    fn forms() {
        let r = Resource::registry("gcr.io");
        assert_eq!(r.registry_str(), "gcr.io");
        assert_eq!(r.to_string(), "gcr.io");
        assert_eq!(r.repository_str(), None);

        let r = Resource::repository("localhost:5000", "a/b");
        assert_eq!(r.registry_str(), "localhost:5000");
        assert_eq!(r.full_name(), "localhost:5000/a/b");
        assert_eq!(r.repository_str(), Some("a/b"));
        assert!(!r.is_docker_hub());

        let hub = Resource::repository("docker.io", "library/ubuntu");
        assert_eq!(hub.registry_str(), "index.docker.io");
        assert_eq!(hub.to_string(), "index.docker.io/library/ubuntu");
        assert!(hub.is_docker_hub());

        assert_eq!(Resource::repository("r.io", ""), Resource::registry("r.io"));
    }
}
