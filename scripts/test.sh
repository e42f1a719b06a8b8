#!/usr/bin/env bash
# The whole test suite, as README.md gives it and .ci/run calls it.
# Installs what the tests need on a fresh machine, then runs every test
# (unit, integration against the real registry, doc tests) and the
# dependency policy checks.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# Layering: the two bottom crates, and ocireg-mutate above them, do no IO and never see tokio.
for crate in ocireg-name ocireg-v1 ocireg-mutate; do
  if cargo tree -q -p "$crate" -e normal --prefix none | grep -Eq '^(tokio|hyper|mio) '; then
    echo "layering: $crate depends on an async runtime or IO stack:" >&2
    cargo tree -p "$crate" -e normal -i tokio >&2 || true
    exit 1
  fi
done

if command -v cargo-deny >/dev/null 2>&1; then
  cargo deny --log-level error check bans licenses sources
elif [ "${CI:-}" = true ]; then
  echo "cargo-deny is missing under CI=true" >&2
  exit 1
fi

# nextest runs every test in its own process (no shared globals between tests:
# environment, tracing subscribers) and prints one summary line; doc tests run
# through cargo test, which nextest does not cover.
cargo nextest run --workspace --all-targets --no-fail-fast
cargo test --workspace --doc

# The example programs of the application APIs, run as programs against the embedded registry.
scripts/examples.sh
