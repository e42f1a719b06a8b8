//! The HTTP client for registries: TLS, ping, auth challenges, bearer tokens, retries and safe redirects (a port of ggcr remote/transport).
