//! Shared trait impls: serde as the string form, identity (equality,
//! ordering, hashing) on the canonical `name()`, and the accessors and
//! string impls that [`Tag`](crate::Tag) and
//! [`DigestReference`](crate::DigestReference) have in common.

/// `Serialize` as the `Display` form; `Deserialize` through `FromStr`
/// (default, weak options), like ggcr's `MarshalJSON`/`UnmarshalJSON`.
macro_rules! impl_serde {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// `PartialEq`, `Eq`, `PartialOrd`, `Ord` and `Hash` on `name()`, so two
/// spellings of the same name (`ubuntu` and
/// `index.docker.io/library/ubuntu:latest`) are equal.
macro_rules! impl_identity_by_name {
    ($ty:ty) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.name() == other.name()
            }
        }

        impl Eq for $ty {}

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.name().hash(state);
            }
        }

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.name().cmp(other.name())
            }
        }
    };
}

/// What a reference into a repository ([`Tag`](crate::Tag),
/// [`DigestReference`](crate::DigestReference)) has in common: the
/// repository accessors, its name, the token scopes, `FromStr` through
/// `new`, `Display` as the input as written and a `Debug` of name and
/// input.
///
/// The type needs the fields `repository: Repository`, `name: String` and
/// `original: String`, and an associated `new(&str) -> Result<Self,
/// Error>`. `$what` is the word the docs use for it ("tag", "digest").
macro_rules! impl_reference_common {
    ($ty:ident, $what:literal, $name_form:literal) => {
        impl $ty {
            /// The repository.
            pub fn repository(&self) -> &$crate::Repository {
                &self.repository
            }

            /// The registry.
            pub fn registry(&self) -> &$crate::Registry {
                self.repository.registry()
            }

            #[doc = concat!("The fully qualified name, `", $name_form, "`.")]
            pub fn name(&self) -> &str {
                &self.name
            }

            #[doc = concat!("The repository the ", $what, " is in (ggcr `Context()`).")]
            pub fn context(&self) -> &$crate::Repository {
                &self.repository
            }

            #[doc = concat!("The token scope for `action` on the ", $what, "'s repository.")]
            pub fn scope(&self, action: $crate::Action) -> String {
                self.repository.scope(action)
            }

            /// The token scope with free-form actions.
            pub fn scope_str(&self, actions: &str) -> String {
                self.repository.scope_str(actions)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        #[doc = concat!("The input as the user wrote it (ggcr `String()`); see [`", stringify!($ty), "::name`] for the fully qualified form.")]
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.original)
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name)
                    .field("original", &self.original)
                    .finish_non_exhaustive()
            }
        }
    };
}

pub(crate) use {impl_identity_by_name, impl_reference_common, impl_serde};
