#!/usr/bin/env bash
# Runs the example programs of the application APIs (crates/ocireg-client/examples/, the
# seeds' example programs) as programs, against the embedded registry (`crane registry
# serve`), and checks what each prints. scripts/test.sh calls it, so CI runs them; the same
# bodies are tested against CNCF distribution in crates/ocireg-client/tests/.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p crane -p ocireg-client --examples --bins
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/debug"
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/crane" registry serve --address 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
reg=
for _ in $(seq 100); do
  reg=$(grep -oE '^127\.0\.0\.1:[0-9]+' "$work/serve.out" 2>/dev/null | head -1 || true)
  [ -n "$reg" ] && break
  sleep 0.1
done
[ -n "$reg" ] || { echo "examples: crane registry serve did not start:" >&2; cat "$work"/serve.* >&2; exit 1; }

failed=0
# run NAME EXPECTED-REGEX ARGS...: the program must exit 0 and print a line matching.
run() {
  local name=$1 want=$2
  shift 2
  printf '%-16s' "$name"
  local status=0
  "$bin/examples/$name" "$reg" "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "FAILED (exit $status)"
    cat "$work/$name.out" "$work/$name.err" >&2
    failed=1
    return
  fi
  if ! grep -Eq "$want" "$work/$name.out"; then
    echo "FAILED (no line matching /$want/)"
    cat "$work/$name.out" "$work/$name.err" >&2
    failed=1
    return
  fi
  echo "ok: $(grep -E "$want" "$work/$name.out" | head -1)"
}

run quick_start '^Available tags: \["v1\.0\.0"\]' deckhouse/modules/my-module v1.0.0
run mirror '^Mirrored .*/org/project:v1\.0\.0 to .*/mirror/org/project:v1\.0\.0 \(sha256:[0-9a-f]{64}\)' org/project org/project v1.0.0
run inspect '^Config Digest: sha256:[0-9a-f]{64}' org/project v1.0.0 "$work/rootfs.tar"
[ -s "$work/rootfs.tar" ] || { echo "inspect: no extracted filesystem at $work/rootfs.tar" >&2; failed=1; }
run sync_tags '^Already there: v1\.0\.0' org/project mirror/org/project
run platforms '^Platform: linux/arm, Size: [0-9]+ layers' myapp latest
run process_tags '^Tag v1\.0\.0: sha256:[0-9a-f]{64}' org/project
run error_handling '^Using v1\.0\.0' org/project
# The registry saw what the programs wrote.
"$bin/crane" ls "$reg/mirror/org/project" | grep -qx 'v1.0.0' || { echo "mirror: tag missing" >&2; failed=1; }

exit "$failed"
