//! The http/https heuristics of ggcr's `Registry.Scheme()` and the
//! RFC 3986 authority check of `NewRegistry`.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::RegistryRule;

/// Whether a registry name (host\[:port\]) looks local enough to be spoken
/// to over plain http: an RFC 1918 IPv4 address, `localhost:<port>`,
/// `*.localhost[:port]`, `127.0.0.1[:port]`, `::1` or `[::1][:port]`.
///
/// Bare `localhost` and `*.local` are **not** http (ggcr dropped `.local`).
pub(crate) fn is_plain_http(name: &str) -> bool {
    is_rfc1918(name)
        || name.starts_with("localhost:")
        || is_dot_localhost(name)
        || is_loopback_v4(name)
        || is_loopback_v6(name)
}

/// The text before the first `:` is an IPv4 address in 10/8, 172.16/12 or
/// 192.168/16.
pub(crate) fn is_rfc1918(name: &str) -> bool {
    let host = name.split(':').next().unwrap_or(name);
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_private())
}

/// `s` is empty or `:` followed by one to five ASCII digits: the
/// `(?::\d{1,5})?$` tail of ggcr's regular expressions.
fn is_short_port_or_empty(s: &str) -> bool {
    s.is_empty()
        || s.strip_prefix(':').is_some_and(|digits| {
            (1..=5).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        })
}

/// ggcr's `.*\.localhost(?::\d{1,5})?$`.
fn is_dot_localhost(name: &str) -> bool {
    if name.ends_with(".localhost") {
        return true;
    }
    name.rfind(':')
        .is_some_and(|i| name[..i].ends_with(".localhost") && is_short_port_or_empty(&name[i..]))
}

/// ggcr's `^127\.0\.0\.1(?::\d{1,5})?$`.
fn is_loopback_v4(name: &str) -> bool {
    name.strip_prefix("127.0.0.1")
        .is_some_and(is_short_port_or_empty)
}

/// ggcr's `^(::1|\[::1\](?::\d{1,5})?)$`.
fn is_loopback_v6(name: &str) -> bool {
    name == "::1"
        || name
            .strip_prefix("[::1]")
            .is_some_and(is_short_port_or_empty)
}

/// Characters Go's `net/url` accepts unescaped in a host: ASCII letters and
/// digits, the sub-delimiters, `:[]<>"`, the unreserved marks, and any
/// non-ASCII character.
fn is_host_char(c: char) -> bool {
    !c.is_ascii() || c.is_ascii_alphanumeric() || "!$&'()*+,;=:[]<>\"-_.~".contains(c)
}

/// `s` is empty or `:` followed only by digits (Go's `validOptionalPort`:
/// an empty port after the colon is allowed).
fn is_optional_port(s: &str) -> bool {
    s.is_empty()
        || s.strip_prefix(':')
            .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
}

/// ggcr's registry check: `url.Parse("//" + s).Host == s`.
///
/// That holds when every character may appear unescaped in a host (so no
/// space, `/`, `?`, `#`, `@`, `%` or control character), a leading `[`
/// opens a bracketed IPv6 address closed by the last `]` and followed by an
/// optional port, and otherwise the text after the last `:` is digits (so a
/// bare `::1` passes, and `_` and uppercase pass).
pub(crate) fn check_authority(s: &str) -> Result<(), RegistryRule> {
    if let Some(c) = s.chars().find(|&c| !is_host_char(c)) {
        return Err(RegistryRule::InvalidCharacter(c));
    }
    if s.starts_with('[') {
        let close = s.rfind(']').ok_or(RegistryRule::Ipv6Literal)?;
        if !is_optional_port(&s[close + 1..]) {
            return Err(RegistryRule::Port);
        }
        if s[1..close].parse::<Ipv6Addr>().is_err() {
            return Err(RegistryRule::Ipv6Literal);
        }
    } else if let Some(colon) = s.rfind(':')
        && !is_optional_port(&s[colon..])
    {
        return Err(RegistryRule::Port);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_port_tail() {
        for (s, want) in [
            ("", true),
            (":1", true),
            (":65535", true),
            (":123456", false),
            (":", false),
            (":12a", false),
            ("1", false),
        ] {
            assert_eq!(is_short_port_or_empty(s), want, "{s:?}");
        }
    }

    /// ggcr's `TestIsRFC1918`, plus the edges of each block.
    #[test]
    fn rfc1918() {
        for (s, want) in [
            ("index.docker.io", false),
            ("10.2.3.4:5000", true),
            ("8.8.8.8", false),
            ("172.16.3.4:3000", true),
            ("192.168.3.4", true),
            ("10.256.0.0:5000", false),
            ("10.0.0.0", true),
            ("10.255.255.255", true),
            ("9.255.255.255", false),
            ("11.0.0.0", false),
            ("172.15.255.255", false),
            ("172.16.0.0", true),
            ("172.31.255.255", true),
            ("172.32.0.0", false),
            ("192.167.255.255", false),
            ("192.168.0.0:1", true),
            ("192.168.255.255", true),
            ("192.169.0.0", false),
            ("010.0.0.1", false),
            ("10.0.0", false),
            ("127.0.0.1", false),
            ("[::ffff:10.0.0.1]", false),
            ("::1", false),
        ] {
            assert_eq!(is_rfc1918(s), want, "{s:?}");
        }
    }

    #[test]
    fn dot_localhost() {
        for (s, want) in [
            ("a.localhost", true),
            (".localhost", true),
            ("a.localhost:1", true),
            ("a.b.localhost:12345", true),
            ("a.localhost:123456", false),
            ("a.localhost:", false),
            ("localhost", false),
            ("localhost:5000", false),
            ("a.localhostx", false),
            ("a.localhost.com", false),
            ("a.localhost:12:34", false),
        ] {
            assert_eq!(is_dot_localhost(s), want, "{s:?}");
        }
    }

    #[test]
    fn authority_rules() {
        type Case = (&'static str, Result<(), RegistryRule>);
        let table: &[Case] = &[
            ("", Ok(())),
            ("gcr.io", Ok(())),
            ("gcr.io:", Ok(())),
            ("Upper_Case.io", Ok(())),
            ("::1", Ok(())),
            ("[::1]", Ok(())),
            ("[::1]:5000", Ok(())),
            ("[::1]:", Ok(())),
            ("a]b", Ok(())),
            ("b\u{fc}cher.de", Ok(())),
            ("a b", Err(RegistryRule::InvalidCharacter(' '))),
            ("a/b", Err(RegistryRule::InvalidCharacter('/'))),
            ("a?b", Err(RegistryRule::InvalidCharacter('?'))),
            ("a#b", Err(RegistryRule::InvalidCharacter('#'))),
            ("u@h", Err(RegistryRule::InvalidCharacter('@'))),
            ("a%20b", Err(RegistryRule::InvalidCharacter('%'))),
            ("a\tb", Err(RegistryRule::InvalidCharacter('\t'))),
            ("a\u{7f}", Err(RegistryRule::InvalidCharacter('\u{7f}'))),
            ("a{b}", Err(RegistryRule::InvalidCharacter('{'))),
            ("host:http", Err(RegistryRule::Port)),
            ("fe80::1:abc", Err(RegistryRule::Port)),
            ("[::1", Err(RegistryRule::Ipv6Literal)),
            ("[foo]", Err(RegistryRule::Ipv6Literal)),
            ("[1.2.3.4]", Err(RegistryRule::Ipv6Literal)),
            ("[::1]x", Err(RegistryRule::Port)),
        ];
        for (s, want) in table {
            assert_eq!(&check_authority(s), want, "{s:?}");
        }
    }
}
