//! The registry's limits and timeouts: what a client may make it hold, and
//! for how long.
//!
//! Each `DEFAULT_*` value can be changed on the
//! [`RegistryBuilder`](crate::RegistryBuilder); the others are fixed.

/// The default cap on the size of one manifest: 4 MiB (4,194,304 bytes).
///
/// The distribution spec asks registries to handle manifests of at least
/// 4 MB and to answer 413 above their limit; the conformance suite's largest
/// manifest is about 3.9 MB. A larger PUT gets 413 `SIZE_INVALID`. Set with
/// [`RegistryBuilder::max_manifest_size`](crate::RegistryBuilder::max_manifest_size).
pub const DEFAULT_MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// The largest page of a tag list or catalog served, whatever `n` asks for:
/// 10,000 entries (distribution's CVE-2023-2253 was an unbounded `n`); more
/// follows through `Link`.
pub const MAX_PAGE: usize = 10_000;

/// The limits one registry applies, as set on its builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// See [`DEFAULT_MAX_MANIFEST_SIZE`].
    pub(crate) max_manifest_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_manifest_size: DEFAULT_MAX_MANIFEST_SIZE,
        }
    }
}
