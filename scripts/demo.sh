#!/usr/bin/env bash
# The main job, end to end, on the embedded registry:
#   1. build crane;
#   2. start `crane registry serve` on a free loopback port;
#   3. create a small image (one layer holding this script) with nothing but curl
#      and the distribution API, so the only client logic in play is crane's;
#   4. copy it between repositories with crane, and read it back: manifest,
#      digest, config, tags, catalog, the layer blob;
#   5. stop the server.
# Fails (non-zero) on the first step that does not do what it should.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v curl >/dev/null || { echo "demo: curl is needed" >&2; exit 1; }
cargo build --release --quiet -p crane
crane=target/release/crane
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# 2. The embedded registry on a free port (it prints the address it listens on).
"$crane" registry serve --address 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do
  reg=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/serve.out" "$work/serve.err" 2>/dev/null | head -1 | cut -d: -f2- || true)
  [ -n "$reg" ] && break
  sleep 0.1
done
[ -n "${reg:-}" ] || { echo "demo: crane registry serve did not start:" >&2; cat "$work"/serve.* >&2; exit 1; }
reg=${reg#*:}
case "$reg" in 127.0.0.1:*) ;; *) reg="127.0.0.1:$reg" ;; esac
echo "embedded registry listening on $reg"

# 3. A one-layer image pushed with plain curl.
mkdir -p "$work/rootfs/app"
cp "$0" "$work/rootfs/app/demo.sh"
tar -C "$work/rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" app
gzip -n -c "$work/layer.tar" >"$work/layer.tar.gz"
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
layer_digest="sha256:$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)"
layer_size=$(stat -c %s "$work/layer.tar.gz")
printf '{"architecture":"amd64","created":"1970-01-01T00:00:00Z","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{"Cmd":["/app/demo.sh"]}}' \
  "$diff_id" >"$work/config.json"
config_digest="sha256:$(sha256sum "$work/config.json" | cut -d' ' -f1)"
config_size=$(stat -c %s "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
  "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
for blob in "$work/config.json:$config_digest" "$work/layer.tar.gz:$layer_digest"; do
  curl -fsS -X POST --data-binary "@${blob%%:*}" -H 'Content-Type: application/octet-stream' \
    "http://$reg/v2/demo/source/blobs/uploads/?digest=${blob#*:}" >/dev/null
done
curl -fsS -X PUT --data-binary "@$work/manifest.json" \
  -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  "http://$reg/v2/demo/source/manifests/v1" >/dev/null
manifest_digest="sha256:$(sha256sum "$work/manifest.json" | cut -d' ' -f1)"
echo "pushed $reg/demo/source:v1 ($manifest_digest) with curl"

# 4. crane, end to end.
step crane copy "$reg/demo/source:v1" "$reg/demo/copy:v1"
"$crane" copy "$reg/demo/source:v1" "$reg/demo/copy:v1"

step crane digest "$reg/demo/copy:v1"
got=$("$crane" digest "$reg/demo/copy:v1")
echo "$got"
[ "$got" = "$manifest_digest" ] || { echo "demo: digest changed in the copy: $got != $manifest_digest" >&2; exit 1; }

step crane manifest "$reg/demo/copy:v1"
"$crane" manifest "$reg/demo/copy:v1" >"$work/copied.json"
cat "$work/copied.json"; echo
cmp -s "$work/copied.json" "$work/manifest.json" || { echo "demo: manifest bytes changed in the copy" >&2; exit 1; }

step crane config "$reg/demo/copy:v1"
"$crane" config "$reg/demo/copy:v1"; echo

step crane tag "$reg/demo/copy:v1" latest
"$crane" tag "$reg/demo/copy:v1" latest

step crane ls "$reg/demo/copy"
"$crane" ls "$reg/demo/copy"

step crane catalog "$reg"
"$crane" catalog "$reg"

step crane blob "$reg/demo/copy@$layer_digest" '| tar -tz'
"$crane" blob "$reg/demo/copy@$layer_digest" | tar -tz

echo
echo "demo: OK (image copied with its digest $manifest_digest; server on $reg stopped)"
