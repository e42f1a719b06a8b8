//! Registry credentials: authenticators, keychains, docker and podman config files, credential helpers (a port of ggcr pkg/authn).
