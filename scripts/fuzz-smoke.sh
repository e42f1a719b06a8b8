#!/usr/bin/env bash
# A short smoke run of every fuzz target in fuzz/ (a few seconds each), from
# the committed seed corpus. Needs the nightly toolchain and cargo-fuzz.
#
#   scripts/fuzz-smoke.sh            # every target, FUZZ_SECONDS (default 5) each
#   scripts/fuzz-smoke.sh link digest
#
# When nightly or cargo-fuzz is missing it says so on stderr and exits 0,
# unless OCIREG_REQUIRE_FUZZ=1, when it fails instead. New inputs go to a
# scratch directory, never into fuzz/corpus/. A crash fails the run; its
# input is left in fuzz/artifacts/<target>/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-5}

skip() {
    echo "fuzz-smoke: SKIPPING the fuzz smoke run: $1" >&2
    if [[ ${OCIREG_REQUIRE_FUZZ:-0} == 1 ]]; then
        echo "fuzz-smoke: OCIREG_REQUIRE_FUZZ=1, so this is a failure" >&2
        exit 1
    fi
    exit 0
}

command -v rustup >/dev/null 2>&1 || skip "rustup is not installed"
rustup run nightly rustc --version >/dev/null 2>&1 ||
    skip "the nightly toolchain is not installed (rustup toolchain install nightly)"
cargo +nightly fuzz --version >/dev/null 2>&1 ||
    skip "cargo-fuzz is not installed (cargo install --locked cargo-fuzz)"

cd "$root/fuzz"
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

start=$SECONDS
echo "fuzz-smoke: building ${#targets[@]} targets" >&2
cargo +nightly fuzz build

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    if cargo +nightly fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1; then
        runs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 || true)
        echo "fuzz-smoke: $target ok (${runs:-#?} runs)"
    else
        echo "fuzz-smoke: $target FAILED; its log:" >&2
        tail -n 60 "$log" >&2
        failed+=("$target")
    fi
done

echo "fuzz-smoke: ${#targets[@]} targets in $((SECONDS - start)) s"
echo "fuzz-smoke: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz-smoke: failed: ${failed[*]}" >&2
    exit 1
fi
