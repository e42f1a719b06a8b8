//! [`Platform`]: the os/architecture an image runs on (ggcr's `v1.Platform`).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Descriptor, Error, Result};

/// The target of an image: OS, CPU architecture and refinements.
///
/// Serialised with OCI's field names (`os.version`, `os.features`) in ggcr's
/// field order; empty optional fields are omitted. Equality ignores the order
/// of `os_features` and `features`, as ggcr's `Equals` does.
///
/// ```
/// use ocireg_v1::Platform;
///
/// let p: Platform = "linux/arm64/v8".parse()?;
/// assert_eq!((p.os.as_str(), p.architecture.as_str(), p.variant.as_str()), ("linux", "arm64", "v8"));
/// assert_eq!(p.to_string(), "linux/arm64/v8");
/// assert!(p.satisfies(&"linux/arm64".parse()?));
/// # Ok::<(), ocireg_v1::Error>(())
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Platform {
    /// CPU architecture in Go's spelling (`amd64`, `arm64`, `s390x`...).
    #[serde(default, deserialize_with = "crate::gojson::null_default")]
    pub architecture: String,
    /// Operating system in Go's spelling (`linux`, `windows`...).
    #[serde(default, deserialize_with = "crate::gojson::null_default")]
    pub os: String,
    /// OS version, mostly for Windows (`10.0.17763.1234`).
    #[serde(
        rename = "os.version",
        default,
        deserialize_with = "crate::gojson::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    /// Required OS features (`win32k`...).
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "crate::gojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
    /// CPU variant (`v7`, `v8`...).
    #[serde(
        default,
        deserialize_with = "crate::gojson::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub variant: String,
    /// Required CPU features.
    #[serde(
        default,
        deserialize_with = "crate::gojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub features: Vec<String>,
}

/// The platform ggcr assumes for an index child that declares none.
const DEFAULT_OS: &str = "linux";
const DEFAULT_ARCH: &str = "amd64";

impl Platform {
    /// A platform with just an OS and an architecture.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        Self {
            os: os.into(),
            architecture: architecture.into(),
            ..Self::default()
        }
    }

    /// The same platform with `variant` set.
    #[must_use]
    pub fn with_variant(mut self, variant: impl Into<String>) -> Self {
        self.variant = variant.into();
        self
    }

    /// The same platform with `os_version` set.
    #[must_use]
    pub fn with_os_version(mut self, os_version: impl Into<String>) -> Self {
        self.os_version = os_version.into();
        self
    }

    /// The same platform with `features` set.
    #[must_use]
    pub fn with_features(mut self, features: Vec<String>) -> Self {
        self.features = features;
        self
    }

    /// The same platform with `os_features` set.
    #[must_use]
    pub fn with_os_features(mut self, os_features: Vec<String>) -> Self {
        self.os_features = os_features;
        self
    }

    /// `linux/amd64`: what ggcr assumes when an index child has no platform.
    pub fn linux_amd64() -> Self {
        Self::new(DEFAULT_OS, DEFAULT_ARCH)
    }

    /// The platform of the machine we run on, in Go's names (`x86_64` is
    /// `amd64`, `aarch64` is `arm64` with variant `v8`, `macos` is `darwin`...).
    pub fn host() -> Self {
        Self::from_rust_target(std::env::consts::OS, std::env::consts::ARCH)
    }

    /// Maps Rust's `std::env::consts::{OS, ARCH}` names to Go's GOOS/GOARCH.
    fn from_rust_target(os: &str, arch: &str) -> Self {
        let os = match os {
            "macos" => "darwin",
            other => other,
        };
        let little = cfg!(target_endian = "little");
        let (arch, variant) = match arch {
            "x86_64" => ("amd64", ""),
            "x86" => ("386", ""),
            "aarch64" => ("arm64", "v8"),
            "arm" => ("arm", ""),
            "powerpc64" if little => ("ppc64le", ""),
            "powerpc64" => ("ppc64", ""),
            "powerpc" => ("ppc", ""),
            "mips" if little => ("mipsle", ""),
            "mips64" if little => ("mips64le", ""),
            "loongarch64" => ("loong64", ""),
            "wasm32" => ("wasm", ""),
            other => (other, ""),
        };
        Self::new(os, arch).with_variant(variant)
    }

    /// Whether every field is empty (a spec that matches everything).
    pub fn is_empty(&self) -> bool {
        self.os.is_empty()
            && self.architecture.is_empty()
            && self.variant.is_empty()
            && self.os_version.is_empty()
            && self.os_features.is_empty()
            && self.features.is_empty()
    }

    /// Whether this platform meets the requirements in `spec` (ggcr's `Satisfies`).
    ///
    /// Empty fields of `spec` are wildcards; `spec`'s features and OS
    /// features must be subsets of ours. Not symmetric: `linux/arm64/v8`
    /// satisfies `linux/arm64` but not the other way round. This is the
    /// filter of `crane index filter --platform`.
    pub fn satisfies(&self, spec: &Self) -> bool {
        let field = |want: &str, have: &str| want.is_empty() || want == have;
        field(&spec.os, &self.os)
            && field(&spec.architecture, &self.architecture)
            && field(&spec.variant, &self.variant)
            && field(&spec.os_version, &self.os_version)
            && is_subset(&spec.os_features, &self.os_features)
            && is_subset(&spec.features, &self.features)
    }

    /// Whether an index child with this platform is a match when pulling
    /// `required` (ggcr remote's `matchesPlatform`).
    ///
    /// Unlike [`Platform::satisfies`], OS and architecture must be equal
    /// even when `required` leaves them empty; variant and OS version are
    /// compared only when `required` sets them; features are subsets.
    pub fn matches_for_pull(&self, required: &Self) -> bool {
        self.os == required.os
            && self.architecture == required.architecture
            && (required.os_version.is_empty() || self.os_version == required.os_version)
            && (required.variant.is_empty() || self.variant == required.variant)
            && is_subset(&required.os_features, &self.os_features)
            && is_subset(&required.features, &self.features)
    }

    /// Picks the index child to pull for `required`: the first descriptor
    /// whose platform [matches](Platform::matches_for_pull), where a child
    /// without a platform counts as `linux/amd64` (ggcr's `childByPlatform`).
    ///
    /// ```
    /// use ocireg_v1::{Descriptor, MediaType, Platform};
    ///
    /// let child = |p: &str| {
    ///     Descriptor::new(MediaType::OciManifest, 1, ocireg_v1::sha256(p))
    ///         .with_platform(p.parse().unwrap())
    /// };
    /// let children = [child("linux/amd64"), child("linux/arm/v7"), child("linux/arm64/v8")];
    /// let pick = Platform::select(&children, &"linux/arm64".parse()?).unwrap();
    /// assert_eq!(pick.platform.as_ref().unwrap().variant, "v8");
    /// assert!(Platform::select(&children, &"windows/amd64".parse()?).is_none());
    /// # Ok::<(), ocireg_v1::Error>(())
    /// ```
    pub fn select<'a>(manifests: &'a [Descriptor], required: &Self) -> Option<&'a Descriptor> {
        let default = Self::linux_amd64();
        manifests.iter().find(|d| {
            d.platform
                .as_ref()
                .unwrap_or(&default)
                .matches_for_pull(required)
        })
    }

    fn sorted_features(&self) -> (Vec<&str>, Vec<&str>) {
        let mut os: Vec<&str> = self.os_features.iter().map(String::as_str).collect();
        let mut cpu: Vec<&str> = self.features.iter().map(String::as_str).collect();
        os.sort_unstable();
        cpu.sort_unstable();
        (os, cpu)
    }
}

fn is_subset(want: &[String], have: &[String]) -> bool {
    want.iter().all(|w| have.contains(w))
}

impl PartialEq for Platform {
    fn eq(&self, other: &Self) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && self.variant == other.variant
            && self.os_version == other.os_version
            && self.sorted_features() == other.sorted_features()
    }
}

impl Eq for Platform {}

impl Hash for Platform {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.os.hash(state);
        self.architecture.hash(state);
        self.variant.hash(state);
        self.os_version.hash(state);
        self.sorted_features().hash(state);
    }
}

/// `os[/arch[/variant]][:osversion]`; empty when the OS is empty. Features
/// are not shown.
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.os.is_empty() {
            return Ok(());
        }
        f.write_str(&self.os)?;
        if !self.architecture.is_empty() {
            write!(f, "/{}", self.architecture)?;
        }
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        if !self.os_version.is_empty() {
            write!(f, ":{}", self.os_version)?;
        }
        Ok(())
    }
}

/// Parses `os[/arch[/variant]][:osversion]` after trimming whitespace
/// (ggcr's `ParsePlatform`). Missing parts stay empty, so `""` is the
/// match-everything spec and `linux` matches any Linux platform.
impl FromStr for Platform {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let err = |reason| Error::InvalidPlatform {
            input: input.to_owned(),
            reason,
        };
        let s = input.trim();
        let (path, os_version) = match s.split_once(':') {
            Some((_, v)) if v.contains(':') => return Err(err("too many colons")),
            Some((p, v)) => (p, v),
            None => (s, ""),
        };
        let mut parts = path.split('/');
        let os = parts.next().unwrap_or_default();
        let architecture = parts.next().unwrap_or_default();
        let variant = parts.next().unwrap_or_default();
        if parts.next().is_some() {
            return Err(err("too many slashes"));
        }
        Ok(Self {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: variant.to_owned(),
            os_version: os_version.to_owned(),
            ..Self::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MediaType;

    fn p(os: &str, arch: &str, variant: &str, os_version: &str) -> Platform {
        Platform::new(os, arch)
            .with_variant(variant)
            .with_os_version(os_version)
    }

    #[test]
    fn parse_table() {
        let good = [
            ("linux/amd64", p("linux", "amd64", "", "")),
            ("  linux/amd64\n", p("linux", "amd64", "", "")),
            ("linux/arm64/v8", p("linux", "arm64", "v8", "")),
            ("linux", p("linux", "", "", "")),
            ("", p("", "", "", "")),
            (
                "windows/amd64:10.0.17763.1234",
                p("windows", "amd64", "", "10.0.17763.1234"),
            ),
            ("windows/arm/v7:1.2", p("windows", "arm", "v7", "1.2")),
            ("linux/", p("linux", "", "", "")),
            ("/amd64", p("", "amd64", "", "")),
            ("linux//v7", p("linux", "", "v7", "")),
        ];
        for (input, want) in good {
            let got: Platform = input.parse().unwrap();
            assert_eq!(got, want, "{input:?}");
            assert!(got.features.is_empty() && got.os_features.is_empty());
        }
        let bad = [
            ("linux/arm/v7/extra", "too many slashes"),
            ("a/b/c/d/e", "too many slashes"),
            ("windows/amd64:1:2", "too many colons"),
        ];
        for (input, reason) in bad {
            match input.parse::<Platform>() {
                Err(Error::InvalidPlatform {
                    input: i,
                    reason: r,
                }) => {
                    assert_eq!((i.as_str(), r), (input, reason));
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn display_table() {
        let table = [
            (p("linux", "amd64", "", ""), "linux/amd64"),
            (p("linux", "arm", "v7", ""), "linux/arm/v7"),
            (p("windows", "amd64", "", "10.0"), "windows/amd64:10.0"),
            (p("linux", "", "", ""), "linux"),
            (p("", "amd64", "v8", "1"), ""),
            (p("linux", "", "v7", ""), "linux/v7"),
        ];
        for (platform, want) in table {
            assert_eq!(platform.to_string(), want);
        }
        // Display then parse gives back the platform when arch is set.
        for s in ["linux/amd64", "linux/arm/v7", "windows/amd64:10.0.1"] {
            assert_eq!(s.parse::<Platform>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn equality_ignores_feature_order() {
        let mut a = Platform::new("linux", "amd64");
        a.features = vec!["sse4".into(), "avx".into()];
        a.os_features = vec!["x".into(), "y".into()];
        let mut b = a.clone();
        b.features.reverse();
        b.os_features.reverse();
        assert_eq!(a, b);
        let hash = |p: &Platform| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        b.features.push("avx2".into());
        assert_ne!(a, b);
        assert_ne!(a, a.clone().with_variant("v2"));
        assert_ne!(a, a.clone().with_os_version("1"));
    }

    #[test]
    fn satisfies_treats_empty_spec_fields_as_wildcards() {
        let mut have = p("linux", "arm64", "v8", "");
        have.features = vec!["a".into(), "b".into()];
        let yes = [
            "",
            "linux",
            "linux/arm64",
            "linux/arm64/v8",
            "/arm64",
            "linux//v8",
        ];
        for spec in yes {
            assert!(have.satisfies(&spec.parse().unwrap()), "{spec}");
        }
        let no = [
            "windows",
            "linux/amd64",
            "linux/arm64/v7",
            "linux/arm64:1.0",
        ];
        for spec in no {
            assert!(!have.satisfies(&spec.parse().unwrap()), "{spec}");
        }
        let mut spec = Platform {
            features: vec!["b".into()],
            ..Platform::default()
        };
        assert!(have.satisfies(&spec));
        spec.features.push("c".into());
        assert!(!have.satisfies(&spec));
        // Not symmetric.
        assert!(!p("linux", "arm64", "", "").satisfies(&have));
    }

    #[test]
    fn matches_for_pull_requires_os_and_arch() {
        let have = p("linux", "arm64", "v8", "");
        assert!(have.matches_for_pull(&p("linux", "arm64", "", "")));
        assert!(have.matches_for_pull(&p("linux", "arm64", "v8", "")));
        assert!(!have.matches_for_pull(&p("linux", "arm64", "v7", "")));
        // Unlike satisfies, an empty required arch is not a wildcard.
        assert!(!have.matches_for_pull(&p("linux", "", "", "")));
        let win = p("windows", "amd64", "", "10.0.1");
        assert!(win.matches_for_pull(&p("windows", "amd64", "", "")));
        assert!(!win.matches_for_pull(&p("windows", "amd64", "", "10.0.2")));
        let mut req = p("windows", "amd64", "", "");
        req.os_features = vec!["win32k".into()];
        assert!(!win.matches_for_pull(&req));
    }

    #[test]
    fn select_takes_first_match_and_defaults_to_linux_amd64() {
        let desc = |n: u8, platform: Option<&str>| Descriptor {
            platform: platform.map(|s| s.parse().unwrap()),
            ..Descriptor::new(MediaType::OciManifest, u64::from(n), crate::sha256([n]))
        };
        let children = [
            desc(1, Some("linux/arm/v6")),
            desc(2, None),
            desc(3, Some("linux/arm/v7")),
            desc(4, Some("linux/amd64")),
        ];
        let pick = |spec: &str| Platform::select(&children, &spec.parse().unwrap()).map(|d| d.size);
        assert_eq!(pick("linux/amd64"), Some(2));
        assert_eq!(pick("linux/arm"), Some(1));
        assert_eq!(pick("linux/arm/v7"), Some(3));
        assert_eq!(pick("linux/arm64"), None);
        assert_eq!(Platform::select(&[], &Platform::linux_amd64()), None);
    }

    #[test]
    fn host_mapping() {
        let table = [
            ("linux", "x86_64", "linux/amd64"),
            ("linux", "aarch64", "linux/arm64/v8"),
            ("macos", "aarch64", "darwin/arm64/v8"),
            ("windows", "x86", "windows/386"),
            ("linux", "s390x", "linux/s390x"),
            ("linux", "riscv64", "linux/riscv64"),
            ("linux", "loongarch64", "linux/loong64"),
        ];
        for (os, arch, want) in table {
            assert_eq!(Platform::from_rust_target(os, arch).to_string(), want);
        }
        let host = Platform::host();
        assert!(!host.os.is_empty() && !host.architecture.is_empty());
        assert_ne!(host.architecture, "x86_64");
    }

    #[test]
    fn serde_uses_oci_names_and_go_order() {
        let mut plat = p("windows", "amd64", "", "10.0");
        plat.os_features = vec!["win32k".into()];
        let json = crate::gojson::to_string(&plat).unwrap();
        assert_eq!(
            json,
            r#"{"architecture":"amd64","os":"windows","os.version":"10.0","os.features":["win32k"]}"#
        );
        assert_eq!(serde_json::from_str::<Platform>(&json).unwrap(), plat);
        let minimal: Platform = serde_json::from_str(r#"{"os":"linux","features":null}"#).unwrap();
        assert_eq!(minimal, Platform::new("linux", ""));
        assert_eq!(
            crate::gojson::to_string(&minimal).unwrap(),
            r#"{"architecture":"","os":"linux"}"#
        );
    }
}
