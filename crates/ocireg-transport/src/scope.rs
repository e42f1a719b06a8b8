//! Token scopes (`repository:<name>:<actions>`, `registry:catalog:*`).

use std::fmt;

/// The `pull` action.
pub const ACTION_PULL: &str = "pull";
/// The actions needed to push (`push,pull`: registries check that a pusher can also read).
pub const ACTION_PUSH: &str = "push,pull";
/// The actions needed to delete (`push,pull,delete`, as ggcr's `remote.Delete` asks).
pub const ACTION_DELETE: &str = "push,pull,delete";

/// One token scope, as sent in the `scope` parameter of a token request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl Scope {
    /// `repository:<repo>:pull`.
    pub fn pull(repository: &str) -> Self {
        Self::repository(repository, ACTION_PULL)
    }

    /// `repository:<repo>:push,pull`.
    pub fn push(repository: &str) -> Self {
        Self::repository(repository, ACTION_PUSH)
    }

    /// `repository:<repo>:push,pull,delete`.
    pub fn delete(repository: &str) -> Self {
        Self::repository(repository, ACTION_DELETE)
    }

    /// `registry:catalog:*`, needed to list repositories.
    pub fn catalog() -> Self {
        Self("registry:catalog:*".to_owned())
    }

    /// `repository:<repo>:<actions>` for any action list.
    pub fn repository(repository: &str, actions: &str) -> Self {
        Self(format!("repository:{repository}:{actions}"))
    }

    /// A scope taken verbatim (for example from a challenge).
    pub fn raw(scope: impl Into<String>) -> Self {
        Self(scope.into())
    }

    /// The scope string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The repository a `repository:` scope names, if any.
    pub fn repository_name(&self) -> Option<&str> {
        let rest = self.0.strip_prefix("repository:").or_else(|| {
            // `repository(plugin):name:actions`
            let rest = self.0.strip_prefix("repository(")?;
            Some(&rest[rest.find("):")? + 2..])
        })?;
        rest.rsplit_once(':').map(|(name, _)| name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ordered set of scopes for one token.
///
/// Order matters: some registries read only the first scope, so the push scope of the target
/// repository stays first and mount sources are appended after it (as ggcr does).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// No scope (for example to ping or to read `/v2/` only).
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// Pull from `repository`.
    pub fn pull(repository: &str) -> Self {
        Self(vec![Scope::pull(repository)])
    }

    /// Push to (and pull from) `repository`.
    pub fn push(repository: &str) -> Self {
        Self(vec![Scope::push(repository)])
    }

    /// Delete from `repository`.
    pub fn delete(repository: &str) -> Self {
        Self(vec![Scope::delete(repository)])
    }

    /// List the registry's catalog.
    pub fn catalog() -> Self {
        Self(vec![Scope::catalog()])
    }

    /// Adds `pull` on `source` so blobs can be mounted from it (cross-repository mount).
    /// The source must be on the same registry.
    #[must_use]
    pub fn with_mount_from(mut self, source: &str) -> Self {
        self.push_back(Scope::pull(source));
        self
    }

    /// Adds a scope at the end unless present.
    pub fn push_back(&mut self, scope: Scope) {
        if !self.0.contains(&scope) {
            self.0.push(scope);
        }
    }

    /// Adds a scope at the front unless present (used for scopes a challenge asks for).
    pub fn push_front(&mut self, scope: Scope) {
        if !self.0.contains(&scope) {
            self.0.insert(0, scope);
        }
    }

    /// Whether the set holds `scope`.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    /// The scopes in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Scope> {
        self.0.iter()
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes that concern `repository` (for per-repository tokens), plus non-repository
    /// scopes when `repository` is `None`.
    pub(crate) fn for_repository(&self, repository: Option<&str>) -> Self {
        Self(
            self.0
                .iter()
                .filter(|s| s.repository_name() == repository)
                .cloned()
                .collect(),
        )
    }

    /// An order-independent key for the token cache.
    pub(crate) fn cache_key(&self) -> String {
        let mut v: Vec<&str> = self.0.iter().map(Scope::as_str).collect();
        v.sort_unstable();
        v.join(" ")
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<T: IntoIterator<Item = Scope>>(iter: T) -> Self {
        let mut out = Self::none();
        for s in iter {
            out.push_back(s);
        }
        out
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders() {
        assert_eq!(Scope::pull("a/b").as_str(), "repository:a/b:pull");
        assert_eq!(Scope::push("a/b").as_str(), "repository:a/b:push,pull");
        assert_eq!(Scope::delete("a").as_str(), "repository:a:push,pull,delete");
        assert_eq!(Scope::catalog().as_str(), "registry:catalog:*");
        let s = Scopes::push("dst")
            .with_mount_from("src")
            .with_mount_from("src");
        let v: Vec<_> = s.iter().map(Scope::as_str).collect();
        assert_eq!(v, ["repository:dst:push,pull", "repository:src:pull"]);
    }

    #[test]
    fn repository_name_table() {
        let cases = [
            ("repository:a/b:pull", Some("a/b")),
            ("repository:a:push,pull", Some("a")),
            ("repository(plugin):x/y:pull", Some("x/y")),
            ("registry:catalog:*", None),
            ("garbage", None),
        ];
        for (s, want) in cases {
            assert_eq!(Scope::raw(s).repository_name(), want, "{s}");
        }
    }

    #[test]
    fn front_cache_key_and_filter() {
        let mut s = Scopes::pull("b");
        s.push_front(Scope::pull("a"));
        s.push_front(Scope::pull("a"));
        assert_eq!(s.iter().next().unwrap(), &Scope::pull("a"));
        assert_eq!(s.len(), 2);
        let mut t = Scopes::pull("a");
        t.push_back(Scope::pull("b"));
        assert_eq!(s.cache_key(), t.cache_key());
        assert_eq!(s.for_repository(Some("b")), Scopes::pull("b"));
        s.push_back(Scope::catalog());
        assert_eq!(s.for_repository(None), Scopes::catalog());
    }
}
