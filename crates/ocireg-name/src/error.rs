//! The crate's error type.

use crate::digest::DigestRule;

/// Everything that can go wrong while parsing a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A digest string broke the digest grammar.
    #[error("invalid digest {input:?}: {reason}")]
    Digest {
        /// The input, quoted back to the user.
        input: String,
        /// The rule it broke.
        reason: DigestRule,
    },
}
