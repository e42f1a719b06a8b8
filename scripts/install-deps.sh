#!/usr/bin/env bash
# Installs the real parts the tests run against, when they are missing:
# CNCF distribution (docker-registry), skopeo and umoci from Debian, and
# cargo-deny from crates.io. Safe to run again; does nothing when all are present.
set -euo pipefail

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v umoci >/dev/null 2>&1 || missing+=(umoci)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]} from Debian" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo-nextest >/dev/null 2>&1; then
  echo "install-deps: installing cargo-nextest from crates.io (a few minutes, once)" >&2
  cargo install --locked --quiet cargo-nextest
fi

if [ "${OCIREG_SKIP_DENY:-0}" != 1 ] && ! command -v cargo-deny >/dev/null 2>&1; then
  echo "install-deps: installing cargo-deny from crates.io (a few minutes, once)" >&2
  cargo install --locked --quiet cargo-deny
fi
