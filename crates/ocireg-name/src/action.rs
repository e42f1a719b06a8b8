//! [`Action`]: what a token scope asks to do with a repository.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The actions part of a repository scope, `repository:<repo>:<actions>`.
///
/// The strings are the ones ggcr's transport sends (`pull`, `push,pull`,
/// `push,pull,delete`, ...). Registries compare them literally, and some
/// read only the first scope, so the spelling matters. For anything else,
/// use [`Repository::scope_str`](crate::Repository::scope_str).
///
/// ```
/// use ocireg_name::{Action, Repository};
///
/// let repo = Repository::new("gcr.io/project/app")?;
/// assert_eq!(repo.scope(Action::Pull), "repository:project/app:pull");
/// assert_eq!(repo.scope(Action::PushPull), "repository:project/app:push,pull");
/// assert_eq!("pull,push".parse::<Action>(), Ok(Action::PushPull));
/// # Ok::<(), ocireg_name::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Action {
    /// `pull`: read manifests and blobs.
    Pull,
    /// `push`: write manifests and blobs (alone; pushing usually also needs
    /// [`Action::PushPull`]).
    Push,
    /// `delete`: delete manifests and blobs.
    Delete,
    /// `push,pull`: what a push asks for (ggcr `transport.PushScope`).
    PushPull,
    /// `push,pull,delete`: what a delete asks for (ggcr
    /// `transport.DeleteScope`).
    PushPullDelete,
    /// `*`: every action.
    All,
}

impl Action {
    /// The actions as they appear in a scope string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
            Self::PushPull => "push,pull",
            Self::PushPullDelete => "push,pull,delete",
            Self::All => "*",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;

    /// Parses the scope spelling; the order of a comma list does not matter
    /// (`pull,push` is [`Action::PushPull`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts: Vec<&str> = s.split(',').collect();
        parts.sort_unstable();
        Ok(match parts.as_slice() {
            ["pull"] => Self::Pull,
            ["push"] => Self::Push,
            ["delete"] => Self::Delete,
            ["pull", "push"] => Self::PushPull,
            ["delete", "pull", "push"] => Self::PushPullDelete,
            ["*"] => Self::All,
            _ => {
                return Err(Error::Action {
                    input: s.to_owned(),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for a in [
            Action::Pull,
            Action::Push,
            Action::Delete,
            Action::PushPull,
            Action::PushPullDelete,
            Action::All,
        ] {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
            assert_eq!(a.to_string(), a.as_str());
        }
    }

    #[test]
    fn comma_lists_in_any_order() {
        assert_eq!("pull,push".parse(), Ok(Action::PushPull));
        assert_eq!("delete,pull,push".parse(), Ok(Action::PushPullDelete));
        assert_eq!("pull,delete,push".parse(), Ok(Action::PushPullDelete));
        for bad in ["", "PULL", "pull,", "pull,pull", "catalog", "pull push"] {
            let err = bad.parse::<Action>().unwrap_err();
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}
