//! Registry `Warning` response headers (RFC 7234 §5.5, as the distribution spec uses them):
//! the parser, and the sink a [`Client`](crate::Client) hands their texts to.

use std::fmt;
use std::sync::Arc;

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
pub(crate) struct WarningSink(Arc<dyn Fn(&str) + Send + Sync>);

impl WarningSink {
    pub(crate) fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(sink))
    }

    /// Passes the text of every code-299 warning in `headers`, skipping any header value
    /// over [`MAX_WARNING_BYTES`] and stopping once this response has used that budget.
    pub(crate) fn deliver(&self, headers: &HeaderMap) {
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
        Self(Arc::clone(&self.0))
    }
}

impl fmt::Debug for WarningSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WarningSink")
    }
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
        sink.deliver(&headers);
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
        sink.deliver(&headers);
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with('0') && got[1].starts_with('1'));
    }

    #[test]
    fn deliver_with_no_warning_calls_nothing() {
        let (sink, got) = collecting();
        sink.deliver(&HeaderMap::new());
        assert!(got.lock().unwrap().is_empty());
        assert_eq!(format!("{sink:?}"), "WarningSink");
    }
}
