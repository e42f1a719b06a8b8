//! The HTTP client for registries: TLS, ping, auth challenges, bearer tokens, retries and safe
//! redirects (a port of go-containerregistry's `pkg/v1/remote/transport`).
//!
//! # Where it fits
//!
//! `ocireg-remote` (the registry API: manifests, blobs, uploads, tags) sits above this crate
//! and sends every request through a [`Transport`]. Below it, `ocireg-authn` supplies
//! credentials (an [`ocireg_authn::Authenticator`], usually resolved from a keychain) and
//! `ocireg-name` the [`ocireg_name::Registry`] and its scheme heuristics. Only `http` types and
//! this crate's [`Body`] and [`ResponseBody`] appear in the API; hyper, hyper-util and rustls
//! stay inside.
//!
//! - A [`Client`] (built with [`Client::builder`]) is one pooled hyper client (HTTP/1.1, or
//!   HTTP/2 when the server offers it through ALPN) over rustls with its options. Clone it
//!   freely.
//! - [`Client::transport`] pings `GET /v2/` (once per registry and client: later transports
//!   for the registry reuse what the ping learned), learns the challenge (Basic, Bearer, or
//!   none), validates the token realm and fetches a first token, so bad credentials fail at
//!   once. The result is a [`Transport`] for one registry.
//! - [`Transport::send`] attaches `Authorization` (only to the registry's own origin),
//!   retries, follows redirects and refreshes tokens; [`Transport::check`] turns unexpected
//!   statuses into typed [`Error`]s; [`Transport::fetch_bytes`] also retries failures while
//!   reading a small body.
//!
//! # Security defaults
//!
//! - Credentials go only to the registry's origin and (as Basic, for the token GET) to the
//!   token realm's origin. Redirects are followed by us (at most 10), `Authorization` is
//!   attached per hop only when the hop's scheme, host and port are the registry's, so
//!   a CDN or an attacker-chosen host never sees it, even on a later same-host hop.
//! - An https→http redirect is refused. A token realm must be https unless the registry itself
//!   answered over http.
//! - Registry-supplied URLs (realms, redirects, and through [`Transport::resolve_url`] upload
//!   `Location`s and `Link`s) naming a loopback, private, link-local or unspecified IP literal
//!   (legacy forms such as `127.1` or `2130706433` included) on another host are refused before
//!   any connection, unless the registry is itself on such an address (tests run on
//!   127.0.0.1).
//! - Logs (tracing) and errors show URLs through [`redact_url`] (query values other than
//!   `scope`, `service`, `mount`, `from`, `digest`, `n`, `last` become `REDACTED`; userinfo is
//!   dropped) and sensitive headers as `Bearer <redacted>`. Token and blob bodies are never
//!   logged; secrets are [`ocireg_authn::Secret`]s whose `Debug` is `****`.
//! - Limits: token responses 1 MiB, error bodies 64 KiB read and at most 1 KiB shown,
//!   `Warning` headers 4096 bytes per response.
//! - Registry `Warning: 299` texts go to the [`ClientBuilder::warning_sink`] only from the
//!   registry's own origin, never from token services or other hosts, with control
//!   characters removed.
//!
//! # Retries
//!
//! [`RetryPolicy::default`]: up to 5 attempts, waiting 1 s, 2 s, 4 s, 8 s (doubling, capped at
//! 30 s, ±10 % jitter), on 408, 429, 500, 502, 503, 504, refused or reset connections, early
//! EOF and timeouts. `Retry-After` (seconds or an HTTP date) replaces the backoff up to 60 s;
//! a longer request fails at once with [`Error::RateLimited`], which says how long to wait.
//! Never retried: other 4xx, TLS and certificate errors, a 401 that survives one token
//! refresh, and streaming request bodies (see [`Body`]). Cancellation is dropping the future.
//! Timeouts ([`Timeouts`]): connect 30 s, TLS handshake 10 s, response headers 60 s (counted
//! from the end of the request body, so a long upload is not cut off while the registry keeps
//! reading it), idle read 60 s, and a response body must average at least 16 KiB/s after a
//! 30 s grace (so a server trickling a byte every few seconds fails after about 30 s, and a
//! body of `n` bytes never takes longer than `30 s + n / 16 KiB/s`).
//! [`ClientBuilder::for_tests`] makes all of these short. Responses may carry up to
//! [`MAX_RESPONSE_HEADERS`] header lines; repeated values are deduplicated and capped at
//! [`MAX_VALUES_PER_HEADER`] per name. Every limit is listed in the repository's
//! `docs/security.md`.
//!
//! The ping (`GET /v2/` in [`Client::transport`]) follows the same policy. When http is
//! allowed (see below) each attempt races https against http, one request per scheme, and a
//! race that fails transiently (refused or reset connections, early EOF, timeouts, 408, 429,
//! 5xx) is run again after the backoff, so a local registry that is still starting or
//! briefly answers 503 is waited for, as a remote one is. A success from either scheme wins
//! at once; a TLS handshake failure only rules https out (the registry speaks plain http, as
//! before); any other answer (a 404 on `/v2/`, say) is final and not retried. When every
//! attempt fails, [`Error::Ping`] names both schemes and the number of attempts.
//!
//! # Differences from ggcr
//!
//! - `Retry-After` is honoured (ggcr ignores it); the default policy retries more (5 attempts,
//!   1 s doubling to 30 s, against ggcr's 3), and rate limits beyond the cap are a typed error.
//! - Plain http ([`ClientBuilder::plain_http`]) and skipping certificate checks
//!   ([`ClientBuilder::skip_tls_verify`]) are separate options; crane's `--insecure` sets both
//!   ([`ClientBuilder::insecure`]). As in ggcr, registries that `Registry::scheme()` calls http
//!   (the insecure option, `localhost:port`, loopback and RFC 1918 addresses) race https
//!   against http after 300 ms.
//! - A per-repository auth mode ([`ClientBuilder::per_repository_auth`], regclient's
//!   `repoAuth`) fetches one token per repository for registries that cannot grant scopes on
//!   several repositories at once.
//! - Per-registry connection settings (regclient's `tls`): plain http only for one registry,
//!   without an https attempt ([`ClientBuilder::plain_http_for`]), and no certificate
//!   verification for one `host[:port]` only ([`ClientBuilder::skip_tls_verify_for`]);
//!   [`ClientBuilder::per_repository_auth_for`] is the per-registry `repoAuth`.
//! - Tokens are cached per registry, realm, service, scope set and credentials, and honour
//!   `expires_in` (60 s when absent); ggcr keeps one token per transport and never expires it.
//! - Docker's `certs.d/<host>/` directories (CAs and client certificates), proxies from the
//!   environment and the docker config's `HttpHeaders` are built in.
//! - HTTP/1 connections read and buffer at most [`HTTP1_MAX_BUFFER`] (64 KiB) at a time,
//!   which bounds the memory a streamed copy holds per blob.
//! - A registry is pinged once per [`Client`]: later transports for it (other repositories,
//!   other scopes) reuse what the ping learned; ggcr pings for every transport it makes.
//! - A 401 after a cross-host redirect is returned as is (ggcr #2360 tries an anonymous token
//!   for the other host); the remote layer decides.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use http::{Request, StatusCode};
//! use ocireg_authn::Anonymous;
//! use ocireg_name::Registry;
//! use ocireg_transport::{Body, Client, Scopes};
//!
//! let client = Client::builder().user_agent_suffix("crane/0.1.0").build()?;
//! let registry = Registry::new("registry.example")?;
//! let transport = client
//!     .transport(&registry, Scopes::pull("library/alpine"), Arc::new(Anonymous))
//!     .await?;
//! let request = Request::get("/v2/library/alpine/tags/list").body(Body::empty())?;
//! let tags = transport.fetch_bytes(request, &[StatusCode::OK], 16 << 20).await?;
//! assert!(!tags.body().is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! Everything that needs no server runs as is:
//!
//! ```
//! use ocireg_transport::{Client, RetryPolicy, Scope, Scopes, parse_challenges, redact_url};
//!
//! let client = Client::builder().insecure(true).retry(RetryPolicy::never()).build()?;
//! assert!(client.user_agent().starts_with("ocireg/"));
//!
//! let scopes = Scopes::push("team/app").with_mount_from("team/base");
//! assert_eq!(scopes.iter().next(), Some(&Scope::push("team/app")));
//!
//! let challenges = parse_challenges(r#"Bearer realm="https://auth.example/token",service="reg""#);
//! assert_eq!(challenges[0].realm(), Some("https://auth.example/token"));
//!
//! assert_eq!(redact_url("https://cdn.example/b?sig=s3cr3t"), "https://cdn.example/b?sig=REDACTED");
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use body::{Body, ResponseBody};
pub use challenge::{Challenge, parse_challenges, parse_www_authenticate};
pub use client::{
    Client, ClientBuilder, DEFAULT_ERROR_BODY_LIMIT, DEFAULT_MAX_REDIRECTS,
    DEFAULT_TOKEN_RESPONSE_LIMIT, HTTP1_MAX_BUFFER, MAX_RESPONSE_HEADER_BYTES,
    MAX_RESPONSE_HEADERS, MAX_VALUES_PER_HEADER, USER_AGENT_BASE,
};
pub use error::{Diagnostic, Error, ErrorCode, RegistryError, Result, TimeoutPhase};
pub use redact::redact_url;
pub use retry::{RetryPolicy, is_retryable_status, parse_retry_after};
pub use scope::{ACTION_DELETE, ACTION_PULL, ACTION_PUSH, Scope, Scopes};
pub use settings::{DEFAULT_BODY_GRACE, DEFAULT_MIN_BODY_RATE, ProxyConfig, Timeouts};
pub use tls::TrustRoots;
pub use token::TokenReply;
pub use transport::Transport;
pub use warning::{
    DOCKER_RATELIMIT_SOURCE, MAX_RATE_LIMIT_HEADER_BYTES, MAX_WARNING_BYTES,
    RATE_LIMIT_WARN_PERCENT, RATELIMIT_LIMIT, RATELIMIT_REMAINING, RATELIMIT_RESET, RateLimit,
    WARNING_CODE, parse_rate_limit, parse_warning_header,
};

mod body;
mod challenge;
mod client;
mod connector;
mod error;
mod ping;
mod redact;
mod retry;
mod scope;
mod settings;
mod target;
mod tls;
mod token;
mod transport;
mod warning;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
