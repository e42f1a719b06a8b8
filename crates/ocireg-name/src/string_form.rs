//! Shared trait impls: serde as the string form, and identity (equality,
//! ordering, hashing) on the canonical `name()`.

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

pub(crate) use {impl_identity_by_name, impl_serde};
