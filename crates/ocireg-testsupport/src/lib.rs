//! Test support, never published: starts CNCF distribution on loopback (htpasswd, token auth, TLS), a token server and a scripted fault server.
