//! [`ConfigFile`]: an image's config blob (ggcr's `v1.ConfigFile`), and
//! [`Time`], its timestamps as Go writes them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::gojson::{self, null_default};
use crate::{Digest, Error, Platform, Result};

pub(crate) const WHAT: &str = "image config";

const CONFIG_FILE_FIELDS: &[&str] = &[
    "architecture",
    "author",
    "container",
    "created",
    "docker_version",
    "history",
    "os",
    "rootfs",
    "config",
    "os.version",
    "variant",
    "os.features",
];
const HISTORY_FIELDS: &[&str] = &["author", "created", "created_by", "comment", "empty_layer"];
const CONFIG_FIELDS: &[&str] = &[
    "AttachStderr",
    "AttachStdin",
    "AttachStdout",
    "Cmd",
    "Healthcheck",
    "Domainname",
    "Entrypoint",
    "Env",
    "Hostname",
    "Image",
    "Labels",
    "OnBuild",
    "OpenStdin",
    "StdinOnce",
    "Tty",
    "User",
    "Volumes",
    "WorkingDir",
    "ExposedPorts",
    "ArgsEscaped",
    "NetworkDisabled",
    "MacAddress",
    "StopSignal",
    "Shell",
];

/// The config of an image: platform, history, root filesystem and the
/// defaults for running a container.
///
/// Every field ggcr knows, serialised in ggcr's order with its `omitempty`
/// rules: `architecture`, `os`, `rootfs` and `config` are always written,
/// `created` too (the zero time as `"0001-01-01T00:00:00Z"`), the rest only
/// when non-empty. Fields ggcr does not know are kept in [`ConfigFile::extra`]
/// and written after the known ones, sorted (ggcr drops them, so a config
/// with unknown fields re-serialises differently there).
///
/// ```
/// use ocireg_v1::{ConfigFile, Document, RootFs};
///
/// // The config of ggcr's `empty.Image`.
/// let empty = ConfigFile::default().with_rootfs(RootFs::layers(None));
/// let doc = Document::from_value(empty)?;
/// assert_eq!(
///     doc.bytes().as_ref(),
///     br#"{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}"#
/// );
/// assert_eq!(doc.digest().to_string(), "sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe");
/// # Ok::<(), ocireg_v1::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ConfigFile {
    /// CPU architecture (`amd64`...).
    #[serde(deserialize_with = "null_default")]
    pub architecture: String,
    /// Author of the image.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub author: String,
    /// ID of the container the image was committed from (Docker).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub container: String,
    /// Creation time; always written.
    pub created: Time,
    /// Docker version that built the image (deprecated in ggcr).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub docker_version: String,
    /// How the image was built, oldest first.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub history: Vec<History>,
    /// Operating system (`linux`...).
    #[serde(deserialize_with = "null_default")]
    pub os: String,
    /// The layers' uncompressed digests.
    #[serde(deserialize_with = "null_default")]
    pub rootfs: RootFs,
    /// Defaults for running a container.
    #[serde(deserialize_with = "null_default")]
    pub config: Config,
    /// OS version (Windows).
    #[serde(
        rename = "os.version",
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub os_version: String,
    /// CPU variant (`v7`...).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub variant: String,
    /// Required OS features.
    #[serde(
        rename = "os.features",
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub os_features: Vec<String>,
    /// Fields ggcr does not know (e.g. Docker's `container_config`), kept on
    /// round trips.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ConfigFile {
    /// An otherwise empty config for `os`/`architecture` (set the rest with the `with_*`
    /// methods or by assigning fields).
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        Self {
            os: os.into(),
            architecture: architecture.into(),
            ..Self::default()
        }
    }

    /// The same config with `rootfs` in place of its own.
    #[must_use]
    pub fn with_rootfs(mut self, rootfs: RootFs) -> Self {
        self.rootfs = rootfs;
        self
    }

    /// The same config with `history` in place of its own.
    #[must_use]
    pub fn with_history(mut self, history: Vec<History>) -> Self {
        self.history = history;
        self
    }

    /// The same config with its container `config` section replaced.
    #[must_use]
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Parses a config from untrusted bytes, rejecting invalid UTF-8 and
    /// duplicate keys. Unknown fields are kept, not errors.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let (config, keys): (Self, _) = gojson::parse_strict(bytes, WHAT)?;
        gojson::reject_case_variants(&keys, CONFIG_FILE_FIELDS, WHAT)?;
        gojson::reject_case_variants(config.config.extra.keys(), CONFIG_FIELDS, WHAT)?;
        gojson::reject_case_variants(config.rootfs.extra.keys(), &["type", "diff_ids"], WHAT)?;
        for h in &config.history {
            gojson::reject_case_variants(h.extra.keys(), HISTORY_FIELDS, WHAT)?;
        }
        Ok(config)
    }

    /// The platform the config describes, or `None` when OS, architecture,
    /// OS version, variant and OS features are all empty.
    pub fn platform(&self) -> Option<Platform> {
        if self.os.is_empty()
            && self.architecture.is_empty()
            && self.os_version.is_empty()
            && self.variant.is_empty()
            && self.os_features.is_empty()
        {
            return None;
        }
        Some(Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            os_version: self.os_version.clone(),
            os_features: self.os_features.clone(),
            variant: self.variant.clone(),
            features: Vec::new(),
        })
    }
}

/// One step of an image's build history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct History {
    /// Who made the step.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub author: String,
    /// When; always written (ggcr's `omitempty` does not omit structs).
    pub created: Time,
    /// The command that made the step (`/bin/sh -c ...`).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub created_by: String,
    /// A free-form comment.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub comment: String,
    /// Whether the step made no layer.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub empty_layer: bool,
    /// Fields ggcr does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The root filesystem: the ordered uncompressed digests of the layers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RootFs {
    /// Must be `layers` for an image.
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    /// Diff IDs, base first. `None` is written as `null` (a Go nil slice),
    /// `Some(vec![])` as `[]`.
    pub diff_ids: Option<Vec<Digest>>,
    /// Fields ggcr does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl RootFs {
    /// A `layers` root filesystem with the given diff IDs.
    pub fn layers(diff_ids: Option<Vec<Digest>>) -> Self {
        Self {
            kind: "layers".to_owned(),
            diff_ids,
            extra: BTreeMap::new(),
        }
    }

    /// The diff IDs (empty when `null`).
    pub fn diff_ids(&self) -> &[Digest] {
        self.diff_ids.as_deref().unwrap_or_default()
    }
}

/// The `HEALTHCHECK` settings. Durations are integer nanoseconds, as Go's
/// `time.Duration` is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
#[non_exhaustive]
pub struct HealthConfig {
    /// The test: `[]` inherits, `["NONE"]` disables, `["CMD", args...]`,
    /// `["CMD-SHELL", command]`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub test: Vec<String>,
    /// Time between checks in nanoseconds (0 inherits).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub interval: i64,
    /// Time before a check counts as hung, in nanoseconds.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Start-up grace period in nanoseconds.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub start_period: i64,
    /// Time between checks during the start period, in nanoseconds.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    /// Consecutive failures before unhealthy (0 inherits).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub retries: i64,
}

/// Defaults for running a container from the image, with Docker's
/// capitalised keys in ggcr's order; every field is omitted when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
#[expect(
    clippy::struct_excessive_bools,
    reason = "mirrors Docker's container config schema"
)]
#[non_exhaustive]
pub struct Config {
    /// Attach standard error.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub attach_stderr: bool,
    /// Attach standard input.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub attach_stdin: bool,
    /// Attach standard output.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub attach_stdout: bool,
    /// Default arguments.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub cmd: Vec<String>,
    /// Health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// Domain name.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub domainname: String,
    /// Entry point.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub entrypoint: Vec<String>,
    /// Environment, `KEY=value`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub env: Vec<String>,
    /// Host name.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub hostname: String,
    /// Image the container was started from (Docker).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub image: String,
    /// Labels.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub labels: BTreeMap<String, String>,
    /// `ONBUILD` triggers.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub on_build: Vec<String>,
    /// Keep standard input open.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub open_stdin: bool,
    /// Close standard input after one attach.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub stdin_once: bool,
    /// Allocate a TTY.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub tty: bool,
    /// User (and group) to run as.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub user: String,
    /// Volumes, written as `{"/path":{}}`.
    #[serde(with = "string_set", skip_serializing_if = "is_zero")]
    pub volumes: BTreeSet<String>,
    /// Working directory.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub working_dir: String,
    /// Exposed ports, written as `{"80/tcp":{}}`.
    #[serde(with = "string_set", skip_serializing_if = "is_zero")]
    pub exposed_ports: BTreeSet<String>,
    /// Whether `Cmd`/`Entrypoint` are already escaped (Windows).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub args_escaped: bool,
    /// Disable networking.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub network_disabled: bool,
    /// MAC address.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub mac_address: String,
    /// Signal that stops the container.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub stop_signal: String,
    /// Shell for `RUN`, `CMD` and `ENTRYPOINT` in shell form.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_zero")]
    pub shell: Vec<String>,
    /// Fields ggcr does not know (e.g. old Docker's `PortSpecs`), kept on round trips.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Whether `value` is Go's zero value for its type (`""`, `false`, `0`, an
/// empty slice or map), which `omitempty` leaves out. Every derived
/// `Default` here is that zero value.
fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Go's `map[string]struct{}`: a set written as an object of `{}` values.
mod string_set {
    use std::collections::BTreeSet;
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    #[derive(serde::Serialize)]
    struct Empty {}

    pub(super) fn serialize<S: Serializer>(
        set: &BTreeSet<String>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(set.len()))?;
        for key in set {
            map.serialize_entry(key, &Empty {})?;
        }
        map.end()
    }

    struct SetVisitor;

    impl<'de> Visitor<'de> for SetVisitor {
        type Value = BTreeSet<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object whose values are {}")
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(BTreeSet::new())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut set = BTreeSet::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value_seed(Ignore)?;
                set.insert(key);
            }
            Ok(set)
        }
    }

    struct Ignore;

    impl<'de> serde::de::DeserializeSeed<'de> for Ignore {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            crate::gojson::ignore(d)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeSet<String>, D::Error> {
        d.deserialize_any(SetVisitor)
    }
}

/// A point in time with the UTC offset it was written with (ggcr's `v1.Time`).
///
/// Parses RFC 3339 (`2024-05-01T12:00:00.5+02:00`; fractional seconds of any
/// length are truncated to nanoseconds, a comma works as the separator, as in
/// Go) and serialises as Go's `time.Time` does: RFC 3339 with nanoseconds,
/// trailing zeros trimmed, `Z` for a zero offset, the original offset
/// otherwise. The zero value is `0001-01-01T00:00:00Z`, like Go's. JSON
/// `null` reads as the zero time. Equality compares the instant and the offset.
///
/// ```
/// use ocireg_v1::Time;
///
/// let t: Time = "2024-05-01T12:00:00.500+02:00".parse()?;
/// assert_eq!(t.to_string(), "2024-05-01T12:00:00.5+02:00");
/// assert_eq!(t.unix_seconds(), 1_714_557_600);
/// assert_eq!(Time::default().to_string(), "0001-01-01T00:00:00Z");
/// # Ok::<(), ocireg_v1::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Time {
    secs: i64,
    nanos: u32,
    offset: i32,
}

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch.
const ZERO_UNIX: i64 = -62_135_596_800;

impl Default for Time {
    fn default() -> Self {
        Self::ZERO
    }
}

impl Time {
    /// Go's zero time, `0001-01-01T00:00:00Z`.
    pub const ZERO: Self = Self {
        secs: ZERO_UNIX,
        nanos: 0,
        offset: 0,
    };

    /// A UTC time from seconds and nanoseconds since the Unix epoch
    /// (nanoseconds beyond a second carry over).
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        Self {
            secs: secs.saturating_add(i64::from(nanos / 1_000_000_000)),
            nanos: nanos % 1_000_000_000,
            offset: 0,
        }
    }

    /// The current time in UTC.
    pub fn now() -> Self {
        Self::from(std::time::SystemTime::now())
    }

    /// The same instant shown with a UTC offset in minutes (east positive,
    /// less than a day either way).
    pub fn with_offset_minutes(self, minutes: i32) -> Result<Self> {
        if minutes.abs() >= 24 * 60 {
            return Err(Error::InvalidTime {
                input: format!("{self} with offset {minutes} minutes"),
                reason: "offset must be less than 24 hours",
            });
        }
        Ok(Self {
            offset: minutes * 60,
            ..self
        })
    }

    /// Whether this is Go's zero time (at any offset).
    pub fn is_zero(&self) -> bool {
        self.secs == ZERO_UNIX && self.nanos == 0
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The UTC offset in seconds (east positive).
    pub fn offset_seconds(&self) -> i32 {
        self.offset
    }

    /// Whether two times are the same instant, whatever their offsets.
    pub fn same_instant(&self, other: &Self) -> bool {
        (self.secs, self.nanos) == (other.secs, other.nanos)
    }

    fn parse_rfc3339(input: &str) -> Result<Self> {
        let err = |reason| Error::InvalidTime {
            input: input.to_owned(),
            reason,
        };
        let b = input.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let digits = b.get(range)?;
            digits.iter().try_fold(0i64, |acc, d| {
                d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
            })
        };
        let sep = |i: usize, c: u8| b.get(i) == Some(&c);
        if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS"));
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            num(0..4),
            num(5..7),
            num(8..10),
            num(11..13),
            num(14..16),
            num(17..19),
        ) else {
            return Err(err("expected digits in YYYY-MM-DDTHH:MM:SS"));
        };
        if !(1..=12).contains(&month) {
            return Err(err("month out of range"));
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(err("day out of range"));
        }
        if hour > 23 {
            return Err(err("hour out of range"));
        }
        if minute > 59 {
            return Err(err("minute out of range"));
        }
        if second > 59 {
            return Err(err("second out of range"));
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if matches!(b.get(i), Some(b'.' | b',')) {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return Err(err("expected digits after the decimal point"));
            }
            for _ in n..9 {
                nanos *= 10;
            }
        }
        let offset = match b.get(i..) {
            Some(b"Z") => 0,
            Some([sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
                let (Some(h), Some(m)) = (num(i + 1..i + 3), num(i + 4..i + 6)) else {
                    return Err(err("expected digits in the UTC offset"));
                };
                if h > 23 || m > 59 {
                    return Err(err("UTC offset out of range"));
                }
                let secs = h * 3600 + m * 60;
                if *sign == b'-' { -secs } else { secs }
            }
            _ => return Err(err("expected Z or a +HH:MM offset at the end")),
        };
        let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(Self {
            secs: local - offset,
            nanos,
            offset: i32::try_from(offset).map_err(|_| err("UTC offset out of range"))?,
        })
    }

    /// Writes the RFC 3339 form; fails for years outside 0-9999, as Go's
    /// `MarshalJSON` does.
    fn write_rfc3339(&self, out: &mut impl fmt::Write) -> std::result::Result<(), TimeRangeError> {
        let local = self.secs + i64::from(self.offset);
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        if !(0..=9999).contains(&year) {
            return Err(TimeRangeError(year));
        }
        let tod = local.rem_euclid(86_400);
        let w = |r: fmt::Result| r.map_err(|_| TimeRangeError(year));
        w(write!(
            out,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            tod / 3600,
            tod / 60 % 60,
            tod % 60
        ))?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            w(write!(out, ".{}", frac.trim_end_matches('0')))?;
        }
        if self.offset == 0 {
            w(out.write_char('Z'))
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let abs = self.offset.unsigned_abs();
            w(write!(out, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60))
        }
    }
}

#[derive(Debug)]
struct TimeRangeError(i64);

impl fmt::Display for TimeRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "year {} is outside the range [0,9999]", self.0)
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl From<std::time::SystemTime> for Time {
    fn from(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Self::from_unix(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                if d.subsec_nanos() == 0 {
                    Self::from_unix(-secs, 0)
                } else {
                    Self::from_unix(-secs - 1, 1_000_000_000 - d.subsec_nanos())
                }
            }
        }
    }
}

impl FromStr for Time {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse_rfc3339(s)
    }
}

/// RFC 3339 as Go writes it; years outside 0-9999 show as `<invalid time ...>`.
impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(35);
        match self.write_rfc3339(&mut s) {
            Ok(()) => f.write_str(&s),
            Err(e) => write!(f, "<invalid time: {e}>"),
        }
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Time({self})")
    }
}

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut s = String::with_capacity(35);
        self.write_rfc3339(&mut s)
            .map_err(|e| serde::ser::Error::custom(format_args!("Time.MarshalJSON: {e}")))?;
        serializer.serialize_str(&s)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
            None => Ok(Self::ZERO),
            Some(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Document;

    const EMPTY_CONFIG: &str = r#"{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}"#;

    fn empty() -> ConfigFile {
        ConfigFile {
            rootfs: RootFs::layers(None),
            ..ConfigFile::default()
        }
    }

    #[test]
    fn empty_image_config_golden_vector() {
        let doc = Document::from_value(empty()).unwrap();
        assert_eq!(doc.bytes().as_ref(), EMPTY_CONFIG.as_bytes());
        assert_eq!(doc.size(), 115);
        assert_eq!(
            doc.digest().to_string(),
            "sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe"
        );
        let parsed = ConfigFile::parse(EMPTY_CONFIG.as_bytes()).unwrap();
        assert_eq!(parsed, empty());
        assert!(parsed.platform().is_none());
    }

    #[test]
    fn history_escapes_like_go() {
        let mut cfg = empty();
        cfg.history.push(History {
            created_by: "/bin/sh -c a && b <c>".into(),
            ..History::default()
        });
        cfg.rootfs.diff_ids = Some(vec![]);
        let json = gojson::to_string(&cfg).unwrap();
        assert_eq!(
            json,
            r#"{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z","created_by":"/bin/sh -c a \u0026\u0026 b \u003cc\u003e"}],"os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#
        );
        assert_eq!(ConfigFile::parse(json.as_bytes()).unwrap(), cfg);
    }

    #[test]
    fn full_config_in_ggcr_order() {
        let digest = crate::sha256(b"layer");
        let cfg = ConfigFile {
            architecture: "arm".into(),
            author: "me".into(),
            container: "abc".into(),
            created: "2020-01-02T03:04:05.123456789Z".parse().unwrap(),
            docker_version: "20.10".into(),
            history: vec![History {
                author: "a".into(),
                created: Time::from_unix(0, 0),
                created_by: "b".into(),
                comment: "c".into(),
                empty_layer: true,
                extra: BTreeMap::new(),
            }],
            os: "linux".into(),
            rootfs: RootFs::layers(Some(vec![digest])),
            config: Config {
                attach_stderr: true,
                attach_stdin: true,
                attach_stdout: true,
                cmd: vec!["sh".into()],
                healthcheck: Some(HealthConfig {
                    test: vec!["NONE".into()],
                    interval: 1,
                    timeout: 2,
                    start_period: 3,
                    start_interval: 4,
                    retries: 5,
                }),
                domainname: "d".into(),
                entrypoint: vec!["/e".into()],
                env: vec!["A=1".into()],
                hostname: "h".into(),
                image: "i".into(),
                labels: [("l".to_owned(), "v".to_owned())].into(),
                on_build: vec!["RUN x".into()],
                open_stdin: true,
                stdin_once: true,
                tty: true,
                user: "u".into(),
                volumes: ["/v".to_owned()].into(),
                working_dir: "/w".into(),
                exposed_ports: ["80/tcp".to_owned(), "443/tcp".to_owned()].into(),
                args_escaped: true,
                network_disabled: true,
                mac_address: "m".into(),
                stop_signal: "SIGTERM".into(),
                shell: vec!["/bin/sh".into(), "-c".into()],
                extra: BTreeMap::new(),
            },
            os_version: "1.0".into(),
            variant: "v7".into(),
            os_features: vec!["f".into()],
            extra: BTreeMap::new(),
        };
        let json = gojson::to_string(&cfg).unwrap();
        let want = concat!(
            r#"{"architecture":"arm","author":"me","container":"abc","created":"2020-01-02T03:04:05.123456789Z","docker_version":"20.10","#,
            r#""history":[{"author":"a","created":"1970-01-01T00:00:00Z","created_by":"b","comment":"c","empty_layer":true}],"#,
            r#""os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:"#
        );
        assert!(json.starts_with(want), "{json}");
        let want_config = concat!(
            r#""config":{"AttachStderr":true,"AttachStdin":true,"AttachStdout":true,"Cmd":["sh"],"#,
            r#""Healthcheck":{"Test":["NONE"],"Interval":1,"Timeout":2,"StartPeriod":3,"StartInterval":4,"Retries":5},"#,
            r#""Domainname":"d","Entrypoint":["/e"],"Env":["A=1"],"Hostname":"h","Image":"i","Labels":{"l":"v"},"#,
            r#""OnBuild":["RUN x"],"OpenStdin":true,"StdinOnce":true,"Tty":true,"User":"u","Volumes":{"/v":{}},"#,
            r#""WorkingDir":"/w","ExposedPorts":{"443/tcp":{},"80/tcp":{}},"ArgsEscaped":true,"NetworkDisabled":true,"#,
            r#""MacAddress":"m","StopSignal":"SIGTERM","Shell":["/bin/sh","-c"]},"#,
            r#""os.version":"1.0","variant":"v7","os.features":["f"]}"#
        );
        assert!(json.ends_with(want_config), "{json}");
        assert_eq!(ConfigFile::parse(json.as_bytes()).unwrap(), cfg);
        let platform = cfg.platform().unwrap();
        assert_eq!(platform.to_string(), "linux/arm/v7:1.0");
        assert_eq!(platform.os_features, ["f"]);
    }

    #[test]
    fn unknown_fields_survive_round_trips() {
        let input = r#"{"architecture":"amd64","config":{"Cmd":null,"Memory":0,"PortSpecs":null,"Env":["A=1"]},"container_config":{"Cmd":["x"]},"created":"2015-10-31T22:22:56.015925234Z","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":"x","zz":"<"}],"moby.extra":[1,2.5,"a"]}"#;
        let cfg = ConfigFile::parse(input.as_bytes()).unwrap();
        assert_eq!(cfg.extra.len(), 2);
        assert_eq!(cfg.config.extra.len(), 2);
        assert_eq!(cfg.history[0].extra.len(), 1);
        let out = gojson::to_string(&cfg).unwrap();
        assert_eq!(
            out,
            concat!(
                r#"{"architecture":"amd64","created":"2015-10-31T22:22:56.015925234Z","history":[{"created":"0001-01-01T00:00:00Z","created_by":"x","zz":"\u003c"}],"#,
                r#""os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":["A=1"],"Memory":0,"PortSpecs":null},"#,
                r#""container_config":{"Cmd":["x"]},"moby.extra":[1,2.5,"a"]}"#
            )
        );
        // A second round trip is stable.
        assert_eq!(
            gojson::to_string(&ConfigFile::parse(out.as_bytes()).unwrap()).unwrap(),
            out
        );
    }

    #[test]
    fn hostile_configs_are_rejected() {
        let bad: [&[u8]; 7] = [
            br#"{"architecture":"amd64","architecture":"arm64"}"#,
            br#"{"config":{"Env":[],"Env":["A=1"]}}"#,
            br#"{"config":{"Labels":{"a":"1","a":"2"}}}"#,
            br#"{"x":{"y":{"z":1,"z":2}}}"#,
            b"{\"os\":\"\xc0\"}",
            br#"{"rootfs":{"type":"layers","diff_ids":["sha256:abc"]}}"#,
            br#"{"created":"yesterday"}"#,
        ];
        for doc in bad {
            assert!(
                ConfigFile::parse(doc).is_err(),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
        for doc in [
            &br#"{"OS":"windows","os":"linux"}"#[..],
            br#"{"config":{"cmd":["evil"],"Cmd":["sh"]}}"#,
            br#"{"history":[{"Created_By":"x"}]}"#,
            br#"{"rootfs":{"type":"layers","diff_ids":[],"Diff_IDs":[]}}"#,
        ] {
            assert!(
                matches!(ConfigFile::parse(doc), Err(Error::AmbiguousDocument { .. })),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
        // Unknown fields and nulls are fine.
        let ok = ConfigFile::parse(br#"{"created":null,"history":null,"rootfs":null,"config":null,"os.features":null,"new":1}"#).unwrap();
        assert!(ok.created.is_zero() && ok.rootfs.diff_ids.is_none());
        assert_eq!(ok.rootfs.diff_ids(), &[] as &[Digest]);
    }

    #[test]
    fn time_parse_and_render_table() {
        let table = [
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", ZERO_UNIX),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", 0),
            ("1970-01-01T00:00:00.000000000Z", "1970-01-01T00:00:00Z", 0),
            ("1970-01-01T01:00:00+01:00", "1970-01-01T01:00:00+01:00", 0),
            ("1970-01-01T00:00:00+00:00", "1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59.1Z", "1969-12-31T23:59:59.1Z", -1),
            (
                "2024-02-29T12:30:45,25-05:30",
                "2024-02-29T12:30:45.25-05:30",
                1_709_229_645,
            ),
            (
                "2000-03-01T00:00:00.1234567891234Z",
                "2000-03-01T00:00:00.123456789Z",
                951_868_800,
            ),
            (
                "9999-12-31T23:59:59.999999999Z",
                "9999-12-31T23:59:59.999999999Z",
                253_402_300_799,
            ),
            (
                "0000-01-01T00:00:00Z",
                "0000-01-01T00:00:00Z",
                -62_167_219_200,
            ),
        ];
        for (input, rendered, unix) in table {
            let t: Time = input.parse().unwrap();
            assert_eq!(t.to_string(), rendered, "{input}");
            assert_eq!(t.unix_seconds(), unix, "{input}");
            let json = gojson::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{rendered}\""));
            assert_eq!(serde_json::from_str::<Time>(&json).unwrap(), t);
        }
        let bad = [
            "",
            "2020-01-01",
            "2020-01-01T00:00:00",
            "2020-01-01 00:00:00Z",
            "2020-01-01t00:00:00Z",
            "2020-01-01T00:00:00z",
            "2020-13-01T00:00:00Z",
            "2021-02-29T00:00:00Z",
            "2020-01-32T00:00:00Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:60:00Z",
            "2020-01-01T00:00:60Z",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00+0100",
            "2020-01-01T00:00:00+24:00",
            "2020-01-01T00:00:00+01:60",
            "2020-01-01T00:00:00Z ",
            "+2020-01-01T00:00:00Z",
            "2020-1-01T00:00:00Z",
            "２020-01-01T00:00:00Z",
        ];
        for input in bad {
            assert!(
                matches!(input.parse::<Time>(), Err(Error::InvalidTime { .. })),
                "{input:?}"
            );
        }
    }

    #[test]
    fn time_constructors_and_range() {
        let t = Time::from_unix(1, 1_500_000_000);
        assert_eq!((t.unix_seconds(), t.subsec_nanos()), (2, 500_000_000));
        let shifted = t.with_offset_minutes(-90).unwrap();
        assert_eq!(shifted.to_string(), "1969-12-31T22:30:02.5-01:30");
        assert!(shifted.same_instant(&t) && shifted != t);
        assert!(t.with_offset_minutes(24 * 60).is_err());
        let before: Time = std::time::SystemTime::UNIX_EPOCH
            .checked_sub(std::time::Duration::from_millis(1500))
            .unwrap()
            .into();
        assert_eq!(before.to_string(), "1969-12-31T23:59:58.5Z");
        assert!(Time::now().unix_seconds() > 1_700_000_000);
        let far = Time::from_unix(300_000_000_000, 0);
        assert!(far.to_string().contains("invalid"));
        assert!(matches!(crate::to_go_json(&far), Err(Error::Encode { .. })));
        assert!(Time::ZERO.is_zero() && Time::default() == Time::ZERO);
        assert!(Time::from_unix(0, 0) > Time::ZERO);
    }

    #[test]
    fn civil_round_trip_over_many_days() {
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!(d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
