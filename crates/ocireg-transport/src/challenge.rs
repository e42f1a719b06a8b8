//! `WWW-Authenticate` parsing (RFC 7235 challenges).

use http::HeaderMap;
use http::header::WWW_AUTHENTICATE;

/// One authentication challenge from a `WWW-Authenticate` header.
///
/// Scheme and parameter names are lower-cased; values are kept verbatim (quoted strings are
/// unquoted and their backslash escapes resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// Builds a challenge from parts (names are lower-cased).
    pub fn new(scheme: &str, params: &[(&str, &str)]) -> Self {
        Self {
            scheme: scheme.to_ascii_lowercase(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
        }
    }

    /// The scheme, lower-cased (`bearer`, `basic`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether this is a `Bearer` challenge.
    pub fn is_bearer(&self) -> bool {
        self.scheme == "bearer"
    }

    /// Whether this is a `Basic` challenge.
    pub fn is_basic(&self) -> bool {
        self.scheme == "basic"
    }

    /// The value of a parameter (name compared case-insensitively).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All parameters in order, names lower-cased.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The `realm` parameter (the token endpoint for Bearer).
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    /// The `service` parameter.
    pub fn service(&self) -> Option<&str> {
        self.param("service")
    }

    /// The scopes named by the `scope` parameter (space separated), in order.
    pub fn scopes(&self) -> Vec<&str> {
        self.param("scope")
            .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }
}

/// Parses every challenge of every `WWW-Authenticate` header in `headers`.
pub fn parse_www_authenticate(headers: &HeaderMap) -> Vec<Challenge> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect()
}

/// Picks the challenge to answer, as ggcr does: the first `basic` or `bearer` one, else the first.
pub(crate) fn pick(challenges: &[Challenge]) -> Option<&Challenge> {
    challenges
        .iter()
        .find(|c| c.is_basic() || c.is_bearer())
        .or_else(|| challenges.first())
}

/// Parses the challenges in one header value.
///
/// Malformed trailing input ends parsing; the challenges read so far are kept. A header that
/// holds nothing parseable yields no challenge.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ws_and_commas();
        let Some(scheme) = p.token() else { break };
        let mut challenge = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
        };
        // Parameters: `name = value` separated by commas, until a token not followed by `=`
        // (the next challenge's scheme) or the end.
        loop {
            let save = p.i;
            p.skip_ws_and_commas();
            let Some(name) = p.token() else {
                p.i = save;
                break;
            };
            p.skip_ws();
            if p.peek() != Some(b'=') {
                // A new challenge starts here.
                p.i = save;
                break;
            }
            p.i += 1;
            p.skip_ws();
            let value = match p.peek() {
                Some(b'"') => Ok(p.quoted()),
                _ => p.token_or_token68(),
            };
            match value {
                Ok(value) => challenge.params.push((name.to_ascii_lowercase(), value)),
                Err(padding) => {
                    // token68 form (`Negotiate abc==`): keep it as a nameless parameter.
                    let token68 = format!("{name}={}", "=".repeat(padding));
                    challenge.params.push((String::new(), token68));
                }
            }
        }
        out.push(challenge);
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A token value, or `Err(extra '=' count)` when the `=` seen was token68 padding.
    fn token_or_token68(&mut self) -> Result<String, usize> {
        let start = self.i;
        if self.peek() != Some(b'=') {
            // Lenient: an unquoted value runs to the next comma or space (realms are often
            // sent unquoted, with `:` and `/` that are not token characters).
            while self
                .peek()
                .is_some_and(|c| !matches!(c, b',' | b' ' | b'\t'))
            {
                self.i += 1;
            }
        }
        if self.i == start {
            // `name=` followed by `=`, `,` or the end: token68 padding.
            while self.peek() == Some(b'=') {
                self.i += 1;
            }
            return Err(self.i - start);
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A quoted string starting at `"`; backslash escapes are resolved. An unterminated string
    /// runs to the end of the header.
    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return String::from_utf8_lossy(&out).into_owned(),
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.i += 1;
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// RFC 7230 `tchar`.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge::new(scheme, params)
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            ("", vec![]),
            ("Basic", vec![ch("basic", &[])]),
            (
                r#"Basic realm="Registry Realm""#,
                vec![ch("basic", &[("realm", "Registry Realm")])],
            ),
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
                vec![ch(
                    "bearer",
                    &[
                        ("realm", "https://auth.docker.io/token"),
                        ("service", "registry.docker.io"),
                        ("scope", "repository:library/alpine:pull"),
                    ],
                )],
            ),
            (
                r#"BEARER Realm="https://a/t" , Service = "s""#,
                vec![ch("bearer", &[("realm", "https://a/t"), ("service", "s")])],
            ),
            (
                r#"Bearer realm="https://a/t", Basic realm="r""#,
                vec![
                    ch("bearer", &[("realm", "https://a/t")]),
                    ch("basic", &[("realm", "r")]),
                ],
            ),
            (
                r#"Bearer realm="a\"b\\c""#,
                vec![ch("bearer", &[("realm", r#"a"b\c"#)])],
            ),
            (
                "Bearer realm=https://a/t,service=reg",
                vec![ch(
                    "bearer",
                    &[("realm", "https://a/t"), ("service", "reg")],
                )],
            ),
            (
                r#"Negotiate abc==, Basic realm="x""#,
                vec![
                    ch("negotiate", &[("", "abc==")]),
                    ch("basic", &[("realm", "x")]),
                ],
            ),
            (
                r#"Bearer realm="unterminated"#,
                vec![ch("bearer", &[("realm", "unterminated")])],
            ),
            (
                r#"Bearer scope="repository:a:pull repository:b:pull""#,
                vec![ch(
                    "bearer",
                    &[("scope", "repository:a:pull repository:b:pull")],
                )],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_challenges(input), want, "input {input:?}");
        }
    }

    #[test]
    fn several_headers_and_pick() {
        let mut headers = HeaderMap::new();
        headers.append(WWW_AUTHENTICATE, "Negotiate".parse().unwrap());
        headers.append(
            WWW_AUTHENTICATE,
            r#"Bearer realm="https://a/t",scope="repository:x:pull repository:y:push""#
                .parse()
                .unwrap(),
        );
        let all = parse_www_authenticate(&headers);
        assert_eq!(all.len(), 2);
        let picked = pick(&all).unwrap();
        assert!(picked.is_bearer());
        assert_eq!(picked.realm(), Some("https://a/t"));
        assert_eq!(
            picked.scopes(),
            vec!["repository:x:pull", "repository:y:push"]
        );
        assert_eq!(pick(&all[..1]).unwrap().scheme(), "negotiate");
        assert!(pick(&[]).is_none());
    }
}
