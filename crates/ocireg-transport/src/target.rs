//! URL policy: origins, relative `Location` resolution and the SSRF guard for
//! registry-supplied URLs (token realms, redirects, upload locations, `Link` headers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::Uri;

/// Scheme, host (lower-case, IPv6 without brackets) and port (defaulted per scheme).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Origin {
    pub(crate) fn of(uri: &Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        // `http://@:1/` parses with an empty host, which names nothing (and
        // would pass the SSRF guard as a "public" host).
        if host.is_empty() {
            return None;
        }
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "http" { 80 } else { 443 });
        Some(Self { scheme, host, port })
    }

    /// Same host and port (the scheme may differ).
    pub(crate) fn same_host(&self, other: &Self) -> bool {
        self.host == other.host && self.port == other.port
    }
}

/// What kind of address a host names, judged from the text alone (no DNS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostClass {
    /// A public address or any host name other than `localhost`.
    Public,
    /// 127/8, ::1, `localhost`, `*.localhost`.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7.
    Private,
    /// 169.254/16, fe80::/10 (cloud metadata lives here).
    LinkLocal,
    /// 0.0.0.0/8, ::.
    Unspecified,
}

/// Classifies a host (lower-case, no brackets).
pub(crate) fn classify_host(host: &str) -> HostClass {
    if host == "localhost" || host.ends_with(".localhost") {
        return HostClass::Loopback;
    }
    match parse_ip_literal(host) {
        Some(IpAddr::V4(v4)) => classify_v4(v4),
        Some(IpAddr::V6(v6)) => classify_v6(v6),
        None => HostClass::Public,
    }
}

/// Parses an IP literal, including the legacy IPv4 forms that resolvers still accept
/// (`127.1`, `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`), so they cannot dodge the guard.
fn parse_ip_literal(host: &str) -> Option<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    parse_inet_aton(host).map(IpAddr::V4)
}

fn parse_inet_aton(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        let n = if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            u64::from_str_radix(hex, 16).ok()?
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            p.parse::<u64>().ok()?
        };
        nums.push(n);
    }
    let (last, head) = nums.split_last()?;
    let mut value: u64 = 0;
    for (i, n) in head.iter().enumerate() {
        if *n > 255 {
            return None;
        }
        value |= n << (24 - 8 * i);
    }
    let rest_bits = 32 - 8 * head.len();
    if *last >= (1u64 << rest_bits) {
        return None;
    }
    value |= last;
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

fn classify_v4(ip: Ipv4Addr) -> HostClass {
    let o = ip.octets();
    if ip.is_loopback() {
        HostClass::Loopback
    } else if ip.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
        HostClass::Private
    } else if ip.is_link_local() {
        HostClass::LinkLocal
    } else if o[0] == 0 || ip.is_broadcast() {
        HostClass::Unspecified
    } else {
        HostClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> HostClass {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let first = ip.segments()[0];
    if ip.is_loopback() {
        HostClass::Loopback
    } else if ip.is_unspecified() {
        HostClass::Unspecified
    } else if (first & 0xfe00) == 0xfc00 {
        HostClass::Private
    } else if (first & 0xffc0) == 0xfe80 {
        HostClass::LinkLocal
    } else {
        HostClass::Public
    }
}

/// Decides whether a registry-supplied `target` may be contacted for `registry`.
///
/// Allowed: the registry's own host; any public host; a loopback target when the registry is
/// itself loopback; a private target when the registry is itself private. Refused: everything
/// else (a public registry pointing us at loopback, private, link-local or unspecified
/// addresses, or a local registry pointing at link-local metadata services).
pub(crate) fn check_target(registry: &Origin, target: &Origin) -> Result<(), &'static str> {
    if registry.host == target.host {
        return Ok(());
    }
    let registry_class = classify_host(&registry.host);
    match classify_host(&target.host) {
        HostClass::Public => Ok(()),
        HostClass::Loopback if registry_class == HostClass::Loopback => Ok(()),
        HostClass::Private if registry_class == HostClass::Private => Ok(()),
        HostClass::Loopback => Err("it points at a loopback address on another host"),
        HostClass::Private => Err("it points at a private address on another host"),
        HostClass::LinkLocal => Err("it points at a link-local address on another host"),
        HostClass::Unspecified => Err("it points at an unspecified address on another host"),
    }
}

/// Resolves a `Location` (or `Link`) value against the URL it was received from.
pub(crate) fn resolve(base: &Uri, reference: &str) -> Option<Uri> {
    let reference = reference.trim();
    if reference.is_empty() {
        return None;
    }
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let absolute = if reference.contains("://") {
        let lower = reference.get(..8).unwrap_or(reference).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return None;
        }
        reference.to_owned()
    } else if let Some(rest) = reference.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if reference.starts_with('/') {
        format!("{scheme}://{authority}{reference}")
    } else if reference.starts_with('?') {
        format!("{scheme}://{authority}{}{reference}", base.path())
    } else {
        let path = base.path();
        let dir = &path[..=path.rfind('/').unwrap_or(0)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{reference}")
    };
    let uri: Uri = absolute.parse().ok()?;
    Origin::of(&uri)?;
    Some(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Origin {
        Origin::of(&s.parse().unwrap()).unwrap()
    }

    #[test]
    fn classify_table() {
        let cases = [
            ("registry.example", HostClass::Public),
            ("8.8.8.8", HostClass::Public),
            ("localhost", HostClass::Loopback),
            ("foo.localhost", HostClass::Loopback),
            ("127.0.0.1", HostClass::Loopback),
            ("127.1", HostClass::Loopback),
            ("2130706433", HostClass::Loopback),
            ("0x7f.0.0.1", HostClass::Loopback),
            ("0177.0.0.1", HostClass::Loopback),
            ("::1", HostClass::Loopback),
            ("::ffff:127.0.0.1", HostClass::Loopback),
            ("10.1.2.3", HostClass::Private),
            ("172.16.0.1", HostClass::Private),
            ("192.168.1.1", HostClass::Private),
            ("100.64.0.1", HostClass::Private),
            ("fd00:ec2::254", HostClass::Private),
            ("169.254.169.254", HostClass::LinkLocal),
            ("fe80::1", HostClass::LinkLocal),
            ("0.0.0.0", HostClass::Unspecified),
            ("::", HostClass::Unspecified),
            ("1.2.3", HostClass::Public),
            ("999.1.1.1", HostClass::Public),
        ];
        for (host, want) in cases {
            assert_eq!(classify_host(host), want, "{host}");
        }
    }

    #[test]
    fn check_target_table() {
        let public = origin("https://registry.example");
        let local = origin("http://127.0.0.1:5000");
        let private = origin("https://10.0.0.5");
        let cases = [
            (&public, "https://auth.example/token", true),
            (&public, "https://registry.example:8443/x", true),
            (&public, "https://169.254.169.254/latest", false),
            (&public, "https://127.0.0.1/", false),
            (&public, "https://[::1]/", false),
            (&public, "https://10.1.2.3/", false),
            (&public, "https://0.0.0.0/", false),
            (&public, "https://localhost:8080/", false),
            (&local, "http://127.0.0.1:5001/token", true),
            (&local, "http://localhost:5001/token", true),
            (&local, "http://169.254.169.254/", false),
            (&local, "http://10.0.0.1/", false),
            (&private, "https://10.0.0.6/", true),
            (&private, "https://127.0.0.1/", false),
        ];
        for (registry, target, ok) in cases {
            assert_eq!(
                check_target(registry, &origin(target)).is_ok(),
                ok,
                "{registry:?} -> {target}"
            );
        }
    }

    #[test]
    fn resolve_table() {
        let base: Uri = "https://r.example:5000/v2/a/blobs/uploads/?x=1"
            .parse()
            .unwrap();
        let cases = [
            (
                "https://cdn.example/b?sig=1",
                Some("https://cdn.example/b?sig=1"),
            ),
            ("//cdn.example/b", Some("https://cdn.example/b")),
            (
                "/v2/a/blobs/uploads/123",
                Some("https://r.example:5000/v2/a/blobs/uploads/123"),
            ),
            (
                "123?_state=s",
                Some("https://r.example:5000/v2/a/blobs/uploads/123?_state=s"),
            ),
            (
                "?n=1",
                Some("https://r.example:5000/v2/a/blobs/uploads/?n=1"),
            ),
            ("ftp://x/y", None),
            ("", None),
        ];
        for (reference, want) in cases {
            assert_eq!(
                resolve(&base, reference).map(|u| u.to_string()),
                want.map(str::to_owned),
                "{reference}"
            );
        }
    }

    #[test]
    fn empty_hosts_are_no_origin() {
        // Found by the `link` fuzz target: these parse as URIs with an empty host.
        let base: Uri = "https://r.example/v2/a/tags/list".parse().unwrap();
        for url in ["http://@@:./", "http://@/x", "https://user@:443/"] {
            if let Ok(uri) = url.parse::<Uri>() {
                assert_eq!(Origin::of(&uri), None, "{url}");
            }
            assert_eq!(resolve(&base, url), None, "{url}");
        }
        assert!(Origin::of(&"http://@@:1/".parse().unwrap()).is_none());
    }

    #[test]
    fn origin_defaults_ports() {
        assert_eq!(origin("https://a.example").port, 443);
        assert_eq!(origin("http://a.example").port, 80);
        assert_eq!(origin("http://[::1]:5000").host, "::1");
        assert!(origin("https://A.example").same_host(&origin("http://a.example:443")));
    }
}
