//! Incremental hashing that produces [`Digest`]s (ggcr's `v1.Hasher` and `v1.SHA256`).

use std::fmt;

use sha2::{Digest as _, Sha256, Sha512};

use crate::{Algorithm, Digest};

/// An incremental hasher for one of the [`Algorithm`]s a [`Digest`] can use.
///
/// Verifying streams feed it chunk by chunk and compare [`Hasher::finish`]
/// with the digest they expected.
///
/// ```
/// use ocireg_v1::{Algorithm, Hasher};
///
/// let mut h = Hasher::new(Algorithm::Sha256);
/// h.update(b"hello ");
/// h.update(b"world");
/// assert_eq!(h.finish(), ocireg_v1::sha256(b"hello world"));
/// ```
#[derive(Clone)]
pub struct Hasher {
    state: State,
    len: u64,
}

#[derive(Clone)]
enum State {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        let state = match algorithm {
            Algorithm::Sha512 => State::Sha512(Sha512::new()),
            // `Algorithm` is non-exhaustive upstream; anything else is SHA-256 today.
            _ => State::Sha256(Sha256::new()),
        };
        Self { state, len: 0 }
    }

    /// A fresh SHA-256 hasher.
    pub fn sha256() -> Self {
        Self::new(Algorithm::Sha256)
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        match &mut self.state {
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
        }
    }

    /// How many bytes have been fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes have been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        match self.state {
            State::Sha256(h) => Digest::sha256(h.finalize().into()),
            State::Sha512(h) => Digest::sha512(h.finalize().into()),
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("algorithm", &self.algorithm())
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 digest of `bytes` (ggcr's `v1.SHA256`, without the size).
///
/// ```
/// let d = ocireg_v1::sha256(b"");
/// assert_eq!(d.to_string(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
/// ```
pub fn sha256(bytes: impl AsRef<[u8]>) -> Digest {
    Digest::sha256(Sha256::digest(bytes.as_ref()).into())
}

/// The digest of `bytes` with the given algorithm.
pub fn digest_of(algorithm: Algorithm, bytes: impl AsRef<[u8]>) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(bytes.as_ref());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(
            sha256(b"abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digest_of(Algorithm::Sha512, b"abc").hex(),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(
            Hasher::new(Algorithm::Sha512).finish().algorithm(),
            Algorithm::Sha512
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let mut h = Hasher::new(alg);
            assert!(h.is_empty());
            for chunk in data.chunks(77) {
                h.update(chunk);
            }
            assert_eq!(h.len(), 10_000);
            assert_eq!(h.algorithm(), alg);
            assert_eq!(h.finish(), digest_of(alg, &data));
        }
        assert_ne!(sha256(b"a"), sha256(b"b"));
    }
}
