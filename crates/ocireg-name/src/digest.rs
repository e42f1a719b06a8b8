//! Content digests: the `algorithm:hex` identifiers of blobs and manifests.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A hash algorithm that a [`Digest`] may use.
///
/// ggcr accepts only `sha256`; we also accept `sha512`, which the OCI image
/// specification registers. Nothing else is accepted, so an unknown or
/// misspelled algorithm is rejected before it reaches a URL or a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-256: 64 lowercase hex characters.
    Sha256,
    /// SHA-512: 128 lowercase hex characters.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as it appears before the colon.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// Length of the raw hash in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    /// Length of the hex encoding (twice [`Algorithm::output_len`]).
    pub const fn hex_len(self) -> usize {
        self.output_len() * 2
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A content digest such as `sha256:<64 hex>` (ggcr's `v1.Hash`).
///
/// `Digest` is `Copy`: it stores the raw hash bytes, not a string. Parsing is
/// strict: exactly one colon, a known algorithm, lowercase hex of exactly the
/// algorithm's length. So a `Digest` can always be put into a URL path or a
/// file name (`blobs/sha256/<hex>`) without escaping.
///
/// ```
/// use ocireg_name::Digest;
///
/// let d: Digest = "sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe".parse()?;
/// assert_eq!(d.algorithm().as_str(), "sha256");
/// assert_eq!(d.hex(), "5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe");
/// assert!("sha256:ABC".parse::<Digest>().is_err());
/// # Ok::<(), ocireg_name::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    // Large enough for the longest algorithm; only `algorithm.output_len()` bytes are used,
    // the rest stay zero so that derived equality and hashing are correct.
    bytes: [u8; 64],
}

impl Digest {
    /// Builds a digest from raw hash bytes.
    ///
    /// Fails when `bytes` does not have the algorithm's length.
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != algorithm.output_len() {
            return Err(Error::Digest {
                input: format!("{algorithm}:<{} raw bytes>", bytes.len()),
                reason: DigestRule::Length {
                    algorithm,
                    expected: algorithm.hex_len(),
                    actual: bytes.len() * 2,
                },
            });
        }
        let mut buf = [0u8; 64];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(Self {
            algorithm,
            bytes: buf,
        })
    }

    /// Builds a SHA-256 digest from its 32 raw bytes.
    pub fn sha256(bytes: [u8; 32]) -> Self {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(&bytes);
        Self {
            algorithm: Algorithm::Sha256,
            bytes: buf,
        }
    }

    /// Builds a SHA-512 digest from its 64 raw bytes.
    pub fn sha512(bytes: [u8; 64]) -> Self {
        Self {
            algorithm: Algorithm::Sha512,
            bytes,
        }
    }

    /// The hash algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw hash bytes (32 for SHA-256, 64 for SHA-512).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.output_len()]
    }

    /// The lowercase hex encoding of the hash, without the algorithm prefix.
    pub fn hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(self.algorithm.hex_len());
        for b in self.as_bytes() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out
    }
}

/// Which rule of the digest grammar an input broke.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestRule {
    /// There was not exactly one `:` between algorithm and hex.
    Separator,
    /// The algorithm is not `sha256` or `sha512`.
    UnsupportedAlgorithm(String),
    /// The hex part has the wrong length for its algorithm.
    Length {
        /// The algorithm named by the input.
        algorithm: Algorithm,
        /// Expected number of hex characters.
        expected: usize,
        /// Number of hex characters found.
        actual: usize,
    },
    /// The hex part has a character other than `0-9a-f` (uppercase is rejected).
    NotLowercaseHex,
}

impl fmt::Display for DigestRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Separator => f.write_str("expected exactly one ':' between algorithm and hex"),
            Self::UnsupportedAlgorithm(a) => {
                write!(f, "unsupported algorithm {a:?} (expected sha256 or sha512)")
            }
            Self::Length {
                algorithm,
                expected,
                actual,
            } => write!(
                f,
                "{algorithm} needs {expected} hex characters, found {actual}"
            ),
            Self::NotLowercaseHex => f.write_str("the hex part must be lowercase 0-9a-f"),
        }
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| Error::Digest {
            input: s.to_owned(),
            reason,
        };
        let mut parts = s.split(':');
        let (Some(alg), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err(DigestRule::Separator));
        };
        let algorithm = Algorithm::from_name(alg)
            .ok_or_else(|| err(DigestRule::UnsupportedAlgorithm(alg.to_owned())))?;
        if hex.len() != algorithm.hex_len() {
            return Err(err(DigestRule::Length {
                algorithm,
                expected: algorithm.hex_len(),
                actual: hex.len(),
            }));
        }
        let mut bytes = [0u8; 64];
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            let (Some(hi), Some(lo)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(err(DigestRule::NotLowercaseHex));
            };
            bytes[i] = (hi << 4) | lo;
        }
        Ok(Self { algorithm, bytes })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn round_trips_sha256_and_sha512() {
        let d: Digest = EMPTY_SHA256.parse().unwrap();
        assert_eq!(d.to_string(), EMPTY_SHA256);
        assert_eq!(d.as_bytes().len(), 32);
        let s512 = format!("sha512:{}", "ab".repeat(64));
        let d: Digest = s512.parse().unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha512);
        assert_eq!(d.to_string(), s512);
    }

    type RuleCheck = fn(&DigestRule) -> bool;

    #[test]
    fn rejects_each_rule() {
        let table: &[(&str, RuleCheck)] = &[
            (
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                |r| *r == DigestRule::Separator,
            ),
            ("sha256:a:b", |r| *r == DigestRule::Separator),
            ("", |r| *r == DigestRule::Separator),
            (
                "md5:d41d8cd98f00b204e9800998ecf8427e",
                |r| matches!(r, DigestRule::UnsupportedAlgorithm(a) if a == "md5"),
            ),
            (
                "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                |r| matches!(r, DigestRule::UnsupportedAlgorithm(_)),
            ),
            ("sha256:abc", |r| {
                matches!(r, DigestRule::Length { actual: 3, .. })
            }),
            ("sha256:", |r| {
                matches!(r, DigestRule::Length { actual: 0, .. })
            }),
            (
                "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                |r| matches!(r, DigestRule::Length { expected: 128, .. }),
            ),
            (
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                |r| *r == DigestRule::NotLowercaseHex,
            ),
            (
                "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                |r| *r == DigestRule::NotLowercaseHex,
            ),
            (
                "sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                |r| *r == DigestRule::NotLowercaseHex,
            ),
        ];
        for (input, check) in table {
            match input.parse::<Digest>() {
                Err(Error::Digest { input: got, reason }) => {
                    assert_eq!(&got, input);
                    assert!(check(&reason), "{input:?}: unexpected rule {reason:?}");
                }
                other => panic!("{input:?}: expected a digest error, got {other:?}"),
            }
        }
    }

    #[test]
    fn error_quotes_input() {
        let e = "sha256:xyz".parse::<Digest>().unwrap_err().to_string();
        assert!(e.contains("sha256:xyz"), "{e}");
    }

    #[test]
    fn from_bytes_checks_length() {
        assert!(Digest::from_bytes(Algorithm::Sha256, &[0; 31]).is_err());
        let d = Digest::from_bytes(Algorithm::Sha256, &[0xab; 32]).unwrap();
        assert_eq!(d, Digest::sha256([0xab; 32]));
        assert_eq!(d.hex(), "ab".repeat(32));
    }

    #[test]
    fn serde_is_the_string_form() {
        let d: Digest = EMPTY_SHA256.parse().unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{EMPTY_SHA256}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:nope\"").is_err());
    }
}
