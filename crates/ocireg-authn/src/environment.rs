//! `Environment`: the environment variables and home directory the
//! keychains read, injectable so that tests never touch the real ones.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How long a credential helper may run before it is killed. Generous:
/// some helpers refresh cloud tokens or prompt.
pub const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(120);

/// A snapshot of the environment variables and home directory that
/// credential lookup depends on.
///
/// [`Environment::from_process`] copies the process environment once; tests
/// build one with [`Environment::empty`] and [`Environment::with_var`] so that
/// `HOME`, `DOCKER_CONFIG`, `PATH` (for credential helpers) and the rest
/// never come from the machine running them. Credential helpers are started
/// with exactly these variables.
///
/// `Debug` lists variable names only: values may hold credentials.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
    helper_timeout: Option<Duration>,
}

impl Environment {
    /// A snapshot of the current process environment (variables that are
    /// not UTF-8 are left out).
    #[must_use]
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v): (OsString, OsString)| {
                Some((k.into_string().ok()?, v.into_string().ok()?))
            })
            .collect();
        Self {
            vars,
            home: None,
            helper_timeout: None,
        }
    }

    /// No variables, no home directory.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// Sets a variable.
    #[must_use]
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Removes a variable.
    #[must_use]
    pub fn without_var(mut self, name: &str) -> Self {
        self.vars.remove(name);
        self
    }

    /// Sets the home directory explicitly (otherwise `HOME`, then
    /// `USERPROFILE`).
    #[must_use]
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// Sets how long a credential helper may run
    /// (default [`DEFAULT_HELPER_TIMEOUT`]).
    #[must_use]
    pub fn with_helper_timeout(mut self, timeout: Duration) -> Self {
        self.helper_timeout = Some(timeout);
        self
    }

    /// A variable's value; unset and empty are both `None`.
    #[must_use]
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// All variables, sorted by name.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The home directory, if known.
    #[must_use]
    pub fn home(&self) -> Option<PathBuf> {
        self.home
            .clone()
            .or_else(|| self.var("HOME").map(PathBuf::from))
            .or_else(|| self.var("USERPROFILE").map(PathBuf::from))
    }

    /// The credential helper time limit.
    #[must_use]
    pub fn helper_timeout(&self) -> Duration {
        self.helper_timeout.unwrap_or(DEFAULT_HELPER_TIMEOUT)
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("home", &self.home)
            .field("helper_timeout", &self.helper_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_debug() {
        let env = Environment::empty()
            .with_var("HOME", "/h")
            .with_var("EMPTY", "")
            .with_var("OCIREG_REGISTRY_PASSWORD", "canary-pw");
        assert_eq!(env.home(), Some(PathBuf::from("/h")));
        assert_eq!(env.var("EMPTY"), None);
        assert_eq!(env.var("MISSING"), None);
        assert_eq!(
            env.clone().with_home("/x").home(),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(env.clone().without_var("HOME").home(), None);
        assert_eq!(
            Environment::empty().with_var("USERPROFILE", "/w").home(),
            Some(PathBuf::from("/w"))
        );
        assert_eq!(env.helper_timeout(), DEFAULT_HELPER_TIMEOUT);
        let dbg = format!("{env:?}");
        assert!(dbg.contains("OCIREG_REGISTRY_PASSWORD"));
        assert!(!dbg.contains("canary"), "{dbg}");
        assert!(Environment::from_process().vars().count() > 0);
    }
}
