//! The plain settings of a [`Client`](crate::Client): its [`Timeouts`] and its
//! [`ProxyConfig`]. Split from `client.rs`, which holds the client and the request machinery.

use std::fmt;
use std::time::Duration;

use hyper_util::client::proxy::matcher::Matcher;

use crate::redact::redact_url;

/// Timeouts of a [`Client`](crate::Client). All apply per attempt.
///
/// Together they bound every request: connecting (`connect` + `tls_handshake`), sending the
/// request body (no more than `idle_read` without the registry taking a byte), waiting for
/// the response headers once the body is sent (`response_headers`), and reading the
/// response body (no more than `idle_read` between chunks, and on average at least
/// `min_body_rate` bytes a second after `body_grace`, so a body of `n` bytes gets at most
/// `body_grace + n / min_body_rate`: a 4 KiB manifest 30 s, a 1 GiB layer about 18 h at the
/// floor rate). A server that trickles one byte every few seconds is cut off after about
/// `body_grace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP connect, including a proxy tunnel (default 30 s).
    pub connect: Duration,
    /// The TLS handshake (default 10 s).
    pub tls_handshake: Duration,
    /// From the end of the request body to the response headers (default 60 s).
    pub response_headers: Duration,
    /// Between two chunks of a response body, and between two chunks of a request body the
    /// registry reads (default 60 s).
    pub idle_read: Duration,
    /// How long a response body may take before the minimum rate applies (default 30 s).
    pub body_grace: Duration,
    /// The minimum average rate of a response body in bytes per second, counted from the
    /// response headers (default 16 KiB/s; 0 turns the check off).
    pub min_body_rate: u64,
}

/// The default [`Timeouts::body_grace`] (30 s).
pub const DEFAULT_BODY_GRACE: Duration = Duration::from_secs(30);
/// The default [`Timeouts::min_body_rate`] (16 KiB/s).
pub const DEFAULT_MIN_BODY_RATE: u64 = 16 * 1024;

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(30),
            tls_handshake: Duration::from_secs(10),
            response_headers: Duration::from_secs(60),
            idle_read: Duration::from_secs(60),
            body_grace: DEFAULT_BODY_GRACE,
            min_body_rate: DEFAULT_MIN_BODY_RATE,
        }
    }
}

impl Timeouts {
    /// The same timeouts with TCP connect set to `d`.
    #[must_use]
    pub fn with_connect(mut self, d: Duration) -> Self {
        self.connect = d;
        self
    }

    /// The same timeouts with the TLS handshake set to `d`.
    #[must_use]
    pub fn with_tls_handshake(mut self, d: Duration) -> Self {
        self.tls_handshake = d;
        self
    }

    /// The same timeouts with the wait for response headers set to `d`.
    #[must_use]
    pub fn with_response_headers(mut self, d: Duration) -> Self {
        self.response_headers = d;
        self
    }

    /// The same timeouts with the longest pause within a body set to `d`.
    #[must_use]
    pub fn with_idle_read(mut self, d: Duration) -> Self {
        self.idle_read = d;
        self
    }

    /// The same timeouts with the grace before the minimum body rate applies set to `d`.
    #[must_use]
    pub fn with_body_grace(mut self, d: Duration) -> Self {
        self.body_grace = d;
        self
    }

    /// The same timeouts with the minimum body rate set to `bytes_per_second` (0 turns the
    /// check off).
    #[must_use]
    pub fn with_min_body_rate(mut self, bytes_per_second: u64) -> Self {
        self.min_body_rate = bytes_per_second;
        self
    }
}

/// Proxies for http and https destinations, and the hosts that bypass them.
///
/// By default read from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`, upper or lower case). Loopback destinations are never proxied. Only `http://`
/// proxies are supported (https destinations go through a `CONNECT` tunnel); credentials in
/// the proxy URL are sent as `Proxy-Authorization: Basic`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    http: Option<String>,
    https: Option<String>,
    no_proxy: Option<String>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("http", &self.http.as_deref().map(redact_url))
            .field("https", &self.https.as_deref().map(redact_url))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyConfig {
    /// No proxy.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (for tests and for callers with their own
    /// environment): `HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`/`http_proxy`,
    /// `ALL_PROXY`/`all_proxy` (used for whichever of the two is unset) and
    /// `NO_PROXY`/`no_proxy`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| lookup(n).filter(|v| !v.is_empty()))
        };
        let all = first(&["ALL_PROXY", "all_proxy"]);
        Self {
            http: first(&["HTTP_PROXY", "http_proxy"]).or_else(|| all.clone()),
            https: first(&["HTTPS_PROXY", "https_proxy"]).or(all),
            no_proxy: first(&["NO_PROXY", "no_proxy"]),
        }
    }

    /// Sets the proxy for http destinations.
    #[must_use]
    pub fn http(mut self, proxy: impl Into<String>) -> Self {
        self.http = Some(proxy.into());
        self
    }

    /// Sets the proxy for https destinations.
    #[must_use]
    pub fn https(mut self, proxy: impl Into<String>) -> Self {
        self.https = Some(proxy.into());
        self
    }

    /// Sets the `NO_PROXY` list (comma separated hosts, domains, IPs, CIDRs, or `*`).
    #[must_use]
    pub fn no_proxy(mut self, list: impl Into<String>) -> Self {
        self.no_proxy = Some(list.into());
        self
    }

    pub(crate) fn matcher(&self) -> Option<Matcher> {
        if self.http.is_none() && self.https.is_none() {
            return None;
        }
        let mut b = Matcher::builder();
        if let Some(p) = &self.http {
            b = b.http(p.as_str());
        }
        if let Some(p) = &self.https {
            b = b.https(p.as_str());
        }
        if let Some(n) = &self.no_proxy {
            b = b.no(n.as_str());
        }
        Some(b.build())
    }
}
