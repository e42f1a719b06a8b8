//! Registry `Warning` response headers (RFC 7234 §5.5, as the distribution spec uses them):
//! the parser, and the sink a [`Client`](crate::Client) hands their texts to.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use http::HeaderMap;
use http::header::WARNING;

/// The warn-code registries use for their messages (the distribution spec's only code).
pub const WARNING_CODE: u16 = 299;

/// The largest `Warning` header value (and the most warning bytes per response) passed to
/// a sink; the distribution spec forbids registries to send more than 4096 bytes of warnings.
/// A longer header is ignored whole rather than cut.
pub const MAX_WARNING_BYTES: usize = 4096;

/// Receives the text of each registry warning; set with
/// [`ClientBuilder::warning_sink`](crate::ClientBuilder::warning_sink). Called from the task
/// that sent the request, so it must be quick and must not block.
///
/// It also watches the `RateLimit-Limit`/`RateLimit-Remaining` headers (Docker Hub's pull
/// limit, see [`parse_rate_limit`]) and passes one warning of its own when a registry says
/// that at most [`RATE_LIMIT_WARN_PERCENT`]% of its limit is left, and another when none is.
pub(crate) struct WarningSink(Arc<dyn Fn(&str) + Send + Sync>, Arc<Mutex<RateWarned>>);

/// Which rate-limit warnings were passed already, per registry.
#[derive(Debug, Default)]
struct RateWarned {
    /// `(registry, exhausted)` pairs: one warning each for "low" and "used up".
    seen: HashSet<(Option<String>, bool)>,
}

/// The share of a registry's rate limit (in percent) at or under which the remaining
/// count is worth a warning.
pub const RATE_LIMIT_WARN_PERCENT: u64 = 10;

/// At most this many registries are remembered for the rate-limit warning (one run talks
/// to a handful; a bound all the same).
const MAX_RATE_WARNED: usize = 64;

impl WarningSink {
    pub(crate) fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(sink), Arc::default())
    }

    /// Passes the text of every code-299 warning in `headers`, skipping any header value
    /// over [`MAX_WARNING_BYTES`] and stopping once this response has used that budget;
    /// then the rate-limit warning of `registry` (which it names), if one is due (see
    /// [`Self::observe_rate_limit`]): once per registry and level.
    pub(crate) fn deliver(&self, registry: Option<&str>, headers: &HeaderMap) {
        self.deliver_warnings(headers);
        self.observe_rate_limit(registry, headers);
    }

    /// Passes a warning, once per registry (`None`: the registry is not known) and
    /// level, when `headers` carry a rate limit whose remaining count is at most
    /// [`RATE_LIMIT_WARN_PERCENT`]% of the limit, or zero.
    pub(crate) fn observe_rate_limit(&self, registry: Option<&str>, headers: &HeaderMap) {
        if !headers.contains_key(RATELIMIT_REMAINING) {
            return;
        }
        let mut rate = parse_rate_limit(headers);
        if rate.reset_seconds.is_none() && rate.remaining == Some(0) {
            // A 429 says when to come back in `Retry-After`.
            rate.reset_seconds =
                crate::retry::parse_retry_after(headers, std::time::SystemTime::now())
                    .map(|d| d.as_secs());
        }
        let Some(text) = rate.warning(registry) else {
            return;
        };
        let exhausted = rate.remaining == Some(0);
        {
            let mut warned = self.1.lock().unwrap_or_else(PoisonError::into_inner);
            if warned.seen.len() >= MAX_RATE_WARNED {
                return;
            }
            if !warned.seen.insert((registry.map(str::to_owned), exhausted)) {
                return;
            }
        }
        (self.0)(&text);
    }

    fn deliver_warnings(&self, headers: &HeaderMap) {
        let mut budget = MAX_WARNING_BYTES;
        for value in headers.get_all(WARNING) {
            let bytes = value.as_bytes();
            if bytes.len() > MAX_WARNING_BYTES {
                tracing::debug!(len = bytes.len(), "ignoring an oversized Warning header");
                continue;
            }
            let Some(left) = budget.checked_sub(bytes.len()) else {
                tracing::debug!("ignoring Warning headers beyond 4096 bytes in one response");
                break;
            };
            budget = left;
            for text in parse_warning_header(&String::from_utf8_lossy(bytes)) {
                (self.0)(&text);
            }
        }
    }
}

impl Clone for WarningSink {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0), Arc::clone(&self.1))
    }
}

impl fmt::Debug for WarningSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WarningSink")
    }
}

/// `RateLimit-Limit`: the requests allowed per window (Docker Hub: `100;w=21600`).
pub const RATELIMIT_LIMIT: &str = "ratelimit-limit";
/// `RateLimit-Remaining`: the requests left in the current window (`76;w=21600`).
pub const RATELIMIT_REMAINING: &str = "ratelimit-remaining";
/// `RateLimit-Reset`: seconds until the window resets (the IETF draft; Hub omits it).
pub const RATELIMIT_RESET: &str = "ratelimit-reset";
/// `Docker-RateLimit-Source`: what Docker Hub counts the pulls against (an IP address or
/// an account id).
pub const DOCKER_RATELIMIT_SOURCE: &str = "docker-ratelimit-source";

/// The longest rate-limit header value looked at; a longer one counts as absent.
pub const MAX_RATE_LIMIT_HEADER_BYTES: usize = 256;

/// A registry's rate limit as its response headers report it (Docker Hub's pull limit;
/// the IETF `RateLimit` header fields draft). Every field is `None` when its header is
/// missing, too long or not understood.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use ocireg_transport::parse_rate_limit;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("ratelimit-limit", HeaderValue::from_static("100;w=21600"));
/// headers.insert("ratelimit-remaining", HeaderValue::from_static("76;w=21600"));
/// let rate = parse_rate_limit(&headers);
/// assert_eq!((rate.limit, rate.remaining, rate.window_seconds), (Some(100), Some(76), Some(21600)));
/// assert_eq!(rate.source, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per window (`RateLimit-Limit`).
    pub limit: Option<u64>,
    /// Requests left in this window (`RateLimit-Remaining`).
    pub remaining: Option<u64>,
    /// The window, in seconds (the `w=` parameter of either header).
    pub window_seconds: Option<u64>,
    /// Seconds until the window resets (`RateLimit-Reset`).
    pub reset_seconds: Option<u64>,
    /// What the registry counts against (`Docker-RateLimit-Source`), printable ASCII only.
    pub source: Option<String>,
}

impl RateLimit {
    /// Whether the registry reported a limit or a remaining count.
    #[must_use]
    pub fn is_reported(&self) -> bool {
        self.limit.is_some() || self.remaining.is_some()
    }

    /// Whether the remaining count is at most [`RATE_LIMIT_WARN_PERCENT`]% of the limit
    /// (or zero).
    #[must_use]
    pub fn is_low(&self) -> bool {
        match (self.remaining, self.limit) {
            (Some(0), _) => true,
            (Some(left), Some(limit)) => {
                u128::from(left) * 100 <= u128::from(limit) * u128::from(RATE_LIMIT_WARN_PERCENT)
            }
            _ => false,
        }
    }

    /// The warning for a low or used-up limit of `registry`, or `None` when there is
    /// plenty left (or nothing was reported).
    #[must_use]
    pub fn warning(&self, registry: Option<&str>) -> Option<String> {
        if !self.is_low() {
            return None;
        }
        let who = registry.map_or_else(|| "the registry".to_owned(), |r| format!("registry {r}"));
        let per = match (self.limit, self.window_seconds) {
            (Some(l), Some(w)) => format!(" of {l} requests per {w}s"),
            (Some(l), None) => format!(" of {l} requests"),
            _ => String::new(),
        };
        let left = self.remaining.unwrap_or_default();
        let mut text = if left == 0 {
            format!(
                "{who}: its rate limit{per} is used up; it will refuse requests with \
                 429 TOOMANYREQUESTS until the window resets"
            )
        } else {
            let noun = if left == 1 { "request" } else { "requests" };
            format!("{who}: only {left} {noun} left of its rate limit{per}")
        };
        if let Some(reset) = self.reset_seconds {
            text.push_str(" (resets in ");
            text.push_str(&reset.to_string());
            text.push_str("s)");
        }
        if let Some(source) = &self.source {
            text.push_str(", counted against ");
            text.push_str(source);
        }
        text.push_str("; logging in usually raises the limit");
        Some(text)
    }
}

/// The rate limit `headers` report: `RateLimit-Limit`, `RateLimit-Remaining`,
/// `RateLimit-Reset` and `Docker-RateLimit-Source`. Values are `<count>[;w=<seconds>]`
/// (further `,`-separated policies are ignored beyond a window); a value over
/// [`MAX_RATE_LIMIT_HEADER_BYTES`], not ASCII, or not a number counts as absent.
#[must_use]
pub fn parse_rate_limit(headers: &HeaderMap) -> RateLimit {
    let text = |name: &str| {
        headers
            .get(name)
            .filter(|v| v.len() <= MAX_RATE_LIMIT_HEADER_BYTES)
            .and_then(|v| v.to_str().ok())
    };
    let limit = text(RATELIMIT_LIMIT).map(parse_quota);
    let remaining = text(RATELIMIT_REMAINING).map(parse_quota);
    let window_seconds = limit
        .and_then(|(_, w)| w)
        .or_else(|| remaining.and_then(|(_, w)| w));
    let source = text(DOCKER_RATELIMIT_SOURCE)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
        .map(str::to_owned);
    RateLimit {
        limit: limit.and_then(|(n, _)| n),
        remaining: remaining.and_then(|(n, _)| n),
        window_seconds,
        reset_seconds: text(RATELIMIT_RESET).and_then(|v| parse_quota(v).0),
        source,
    }
}

/// `<count>[;w=<seconds>][;other]` (the first of `,`-separated items): the count and the
/// window, each `None` when it is not a plain decimal number that fits a u64.
fn parse_quota(value: &str) -> (Option<u64>, Option<u64>) {
    let first = value.split(',').next().unwrap_or_default();
    let mut parts = first.split(';');
    let count = parts.next().and_then(number);
    let window = parts
        .filter_map(|p| p.trim().strip_prefix("w="))
        .find_map(number);
    (count, window)
}

/// A plain decimal number (surrounding spaces allowed), at most 19 digits.
fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The texts of the code-299 warnings in one `Warning` header value.
///
/// The value is a comma-separated list of `<code> <agent> "<text>" ["<date>"]` (RFC 7234
/// §5.5); the agent (`-` or a host) and the date are not used. Quoted-pair escapes (`\"`,
/// `\\`) are undone, control characters are dropped (a registry must not write escape
/// sequences to a terminal) and the text is trimmed; empty texts and other codes are
/// skipped. Parsing stops at the first malformed entry, keeping the texts before it.
///
/// ```
/// use ocireg_transport::parse_warning_header;
///
/// assert_eq!(
///     parse_warning_header(r#"299 - "this registry is deprecated""#),
///     ["this registry is deprecated"]
/// );
/// assert!(parse_warning_header(r#"199 - "a heuristic cache warning""#).is_empty());
/// ```
#[must_use]
pub fn parse_warning_header(value: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || is_ows(c));
        if rest.is_empty() {
            return texts;
        }
        let Some((code, text, after)) = parse_one(rest) else {
            return texts;
        };
        if code == WARNING_CODE {
            let text: String = text.chars().filter(|c| !c.is_control()).collect();
            let text = text.trim();
            if !text.is_empty() {
                texts.push(text.to_owned());
            }
        }
        rest = after;
    }
}

fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// One `warn-code SP warn-agent SP warn-text [SP warn-date]`: the code, the unescaped text
/// and what follows the entry (which must be the end or a comma).
fn parse_one(s: &str) -> Option<(u16, String, &str)> {
    let digits = s
        .get(..3)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
    let code: u16 = digits.parse().ok()?;
    let s = s[3..].strip_prefix(is_ows)?.trim_start_matches(is_ows);
    let agent_end = s.find(|c: char| is_ows(c) || c == '"' || c == ',')?;
    if agent_end == 0 {
        return None;
    }
    let s = s[agent_end..]
        .strip_prefix(is_ows)?
        .trim_start_matches(is_ows);
    let (text, s) = quoted(s)?;
    let mut s = s.trim_start_matches(is_ows);
    if s.starts_with('"') {
        // The optional warn-date; its content does not matter.
        s = quoted(s)?.1.trim_start_matches(is_ows);
    }
    (s.is_empty() || s.starts_with(',')).then_some((code, text, s))
}

/// A quoted-string at the start of `s`: its unescaped content and the rest.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices();
    let mut text = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((text, &s[i + 2..])),
            '\\' => text.push(chars.next()?.1),
            c => text.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use http::HeaderValue;

    use super::*;

    #[test]
    fn parse_table() {
        let table: &[(&str, &[&str])] = &[
            (
                r#"299 - "this registry is deprecated""#,
                &["this registry is deprecated"],
            ),
            (
                r#"299 registry.example:5000 "from a host agent""#,
                &["from a host agent"],
            ),
            (
                r#"299 - "with \"quotes\" and \\ inside" "Sat, 25 Aug 2012 23:34:45 GMT""#,
                &[r#"with "quotes" and \ inside"#],
            ),
            (r#"  299   -   "spaced"   "#, &["spaced"]),
            (r#"299	-	"tabs""#, &["tabs"]),
            (
                r#"299 - "one", 299 - "two" "Sat, 25 Aug 2012 23:34:45 GMT",299 - "three""#,
                &["one", "two", "three"],
            ),
            (r#"299 - "a, with comma""#, &["a, with comma"]),
            (r#"199 - "other code""#, &[]),
            (r#"110 - "stale", 299 - "kept""#, &["kept"]),
            (r#"299 - "good", garbage, 299 - "lost""#, &["good"]),
            (r#"299 - "unterminated"#, &[]),
            (r#"299 - "escape at end\"#, &[]),
            (r#"299 - """#, &[]),
            (r#"299 - "   ""#, &[]),
            (r#"299 "no agent""#, &[]),
            (r#"299-"no spaces""#, &[]),
            (r#"29 - "short code""#, &[]),
            (r#"2999 - "long code""#, &[]),
            ("299 - unquoted", &[]),
            (r#"299 - "text" trailing"#, &[]),
            ("299 - \"esc\u{1b}[31mape\"", &["esc[31mape"]),
            ("299 - \"caf\u{e9} \u{2713}\"", &["caf\u{e9} \u{2713}"]),
            ("", &[]),
            (",,", &[]),
        ];
        for (input, want) in table {
            assert_eq!(parse_warning_header(input), *want, "{input:?}");
        }
    }

    fn collecting() -> (WarningSink, Arc<Mutex<Vec<String>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let got = Arc::clone(&got);
            WarningSink::new(move |t| got.lock().unwrap().push(t.to_owned()))
        };
        (sink, got)
    }

    #[test]
    fn deliver_passes_every_header_and_caps_sizes() {
        let (sink, got) = collecting();
        let mut headers = HeaderMap::new();
        headers.append(WARNING, HeaderValue::from_static(r#"299 - "first""#));
        headers.append(WARNING, HeaderValue::from_static(r#"199 - "ignored""#));
        let huge = format!(r#"299 - "{}""#, "x".repeat(MAX_WARNING_BYTES));
        headers.append(WARNING, HeaderValue::from_str(&huge).unwrap());
        headers.append(WARNING, HeaderValue::from_static(r#"299 - "second""#));
        sink.deliver(None, &headers);
        assert_eq!(*got.lock().unwrap(), ["first", "second"]);
    }

    #[test]
    fn deliver_stops_after_the_response_budget() {
        let (sink, got) = collecting();
        let mut headers = HeaderMap::new();
        // Each value is 2000 bytes: two fit in 4096, the third does not.
        for n in 0..3 {
            let value = format!(r#"299 - "{n}{}""#, "y".repeat(2000 - 9));
            assert_eq!(value.len(), 2000);
            headers.append(WARNING, HeaderValue::from_str(&value).unwrap());
        }
        sink.deliver(None, &headers);
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with('0') && got[1].starts_with('1'));
    }

    fn rate_headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(*k, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn rate_limit_table() {
        let table: &[(&[(&str, &str)], RateLimit)] = &[
            (&[], RateLimit::default()),
            (
                &[
                    ("ratelimit-limit", "100;w=21600"),
                    ("ratelimit-remaining", "76;w=21600"),
                    ("docker-ratelimit-source", "203.0.113.7"),
                ],
                RateLimit {
                    limit: Some(100),
                    remaining: Some(76),
                    window_seconds: Some(21600),
                    reset_seconds: None,
                    source: Some("203.0.113.7".to_owned()),
                },
            ),
            (
                &[
                    ("RateLimit-Limit", " 10 , 10;w=1, 50;w=60"),
                    ("RateLimit-Remaining", "4"),
                    ("RateLimit-Reset", "30"),
                ],
                RateLimit {
                    limit: Some(10),
                    remaining: Some(4),
                    window_seconds: None,
                    reset_seconds: Some(30),
                    source: None,
                },
            ),
            (
                &[
                    ("ratelimit-limit", "lots;w=6h"),
                    ("ratelimit-remaining", "-1;w=21600"),
                    ("docker-ratelimit-source", "a\tb"),
                ],
                RateLimit {
                    limit: None,
                    remaining: None,
                    window_seconds: Some(21600),
                    reset_seconds: None,
                    // A tab is a control character: not shown.
                    source: None,
                },
            ),
            (
                &[
                    ("ratelimit-limit", "99999999999999999999"),
                    ("ratelimit-remaining", "9223372036854775807"),
                ],
                RateLimit {
                    limit: None,
                    remaining: Some(9_223_372_036_854_775_807),
                    ..RateLimit::default()
                },
            ),
        ];
        for (pairs, want) in table {
            assert_eq!(parse_rate_limit(&rate_headers(pairs)), *want, "{pairs:?}");
        }
        let long = format!("{};w=1", "1".repeat(MAX_RATE_LIMIT_HEADER_BYTES));
        assert_eq!(
            parse_rate_limit(&rate_headers(&[("ratelimit-limit", &long)])),
            RateLimit::default()
        );
        let odd = rate_headers(&[("docker-ratelimit-source", "caf\u{e9}")]);
        assert_eq!(parse_rate_limit(&odd).source, None);
    }

    #[test]
    fn low_limits_warn_once_per_level() {
        let (sink, got) = collecting();
        let plenty = rate_headers(&[
            ("ratelimit-limit", "100;w=60"),
            ("ratelimit-remaining", "11"),
        ]);
        sink.deliver(None, &plenty);
        assert!(got.lock().unwrap().is_empty());
        for left in ["10", "9", "3"] {
            sink.deliver(
                None,
                &rate_headers(&[
                    ("ratelimit-limit", "100;w=60"),
                    ("ratelimit-remaining", left),
                ]),
            );
        }
        sink.deliver(
            None,
            &rate_headers(&[
                ("ratelimit-limit", "100;w=60"),
                ("ratelimit-remaining", "0"),
                ("retry-after", "120"),
            ]),
        );
        sink.clone()
            .deliver(None, &rate_headers(&[("ratelimit-remaining", "0")]));
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0],
            "the registry: only 10 requests left of its rate limit of 100 requests per 60s; \
             logging in usually raises the limit"
        );
        assert!(got[1].contains("is used up"), "{got:?}");
        assert!(got[1].contains("resets in 120s"), "{got:?}");
        drop(got);
        // Each registry gets its own warning, naming it; once each.
        let (sink, got) = collecting();
        let low = rate_headers(&[("ratelimit-limit", "100"), ("ratelimit-remaining", "1")]);
        for registry in ["a.io", "b.io", "a.io"] {
            sink.deliver(Some(registry), &low);
        }
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("registry a.io: only 1 request left"),
            "{got:?}"
        );
        assert!(got[1].starts_with("registry b.io: "), "{got:?}");
    }

    #[test]
    fn deliver_with_no_warning_calls_nothing() {
        let (sink, got) = collecting();
        sink.deliver(None, &HeaderMap::new());
        assert!(got.lock().unwrap().is_empty());
        assert_eq!(format!("{sink:?}"), "WarningSink");
    }
}
