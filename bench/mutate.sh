#!/usr/bin/env bash
# bench/mutate.sh: `crane append`, `crane export` and `crane mutate --label` against ggcr's own
# crane and raw baselines (`gzip -1`, `pigz -1`, `curl | gzip -d`), side by side in one run, on a
# real registry (CNCF distribution) on loopback. Writes its table into docs/performance.md
# (between the bench-mutate:begin/end markers). Issue 12's targets: append at least 1.8x faster
# than `gzip -1` on 2 cores and no slower than `pigz -1`; export within 1.2x of the raw baseline;
# `mutate --label` moves 0 layer bytes; peak RSS under 64 MiB for each.
#
# Usage: bench/mutate.sh               full run (a ~700 MB tar, 3 rounds)
#        QUICK=1 bench/mutate.sh       smoke run (a ~64 MB tar, 1 round)
# Environment: ROUNDS, SIZE_MB, BENCH_DIR (default /var/tmp/ocireg-bench), DOC (default
# docs/performance.md; /dev/null to skip), GGCR_CRANE (default ../shared/peers/... or
# OCIREG_GGCR_CRANE).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then ROUNDS=${ROUNDS:-1}; SIZE_MB=${SIZE_MB:-64}; else ROUNDS=${ROUNDS:-3}; SIZE_MB=${SIZE_MB:-700}; fi
BENCH_DIR=${BENCH_DIR:-/var/tmp/ocireg-bench}
DOC=${DOC:-$ROOT/docs/performance.md}
GGCR_CRANE=${GGCR_CRANE:-${OCIREG_GGCR_CRANE:-$ROOT/../shared/peers/ggcr-crane-v0.21.9/crane}}

log() { printf '[bench-mutate %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v pigz >/dev/null || missing+=(pigz)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; run as root or install them"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[[ -x $GGCR_CRANE ]] || { log "no ggcr crane at $GGCR_CRANE: its rows are left out"; GGCR_CRANE=; }

log "building crane (release)"
(cd "$ROOT" && cargo build --release -q -p crane)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CRANE=$TARGET/release/crane
[[ -x $CRANE ]] || die "crane was not built at $CRANE"

# ---------------------------------------------------------------- the input tar
mkdir -p "$BENCH_DIR"
TAR=$BENCH_DIR/mutate-${SIZE_MB}m.tar
if [[ ! -s $TAR ]]; then
    log "making a ${SIZE_MB} MB tar of system files at $TAR"
    python3 - "$TAR" "$SIZE_MB" <<'EOF'
import os, sys, tarfile
out, size = sys.argv[1], int(sys.argv[2]) << 20
total = 0
with tarfile.open(out + ".tmp", "w", format=tarfile.PAX_FORMAT) as t:
    for top in ("/usr/lib", "/usr/share", "/usr/bin"):
        for d, _, files in os.walk(top):
            for f in sorted(files):
                p = os.path.join(d, f)
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                try:
                    t.add(p, recursive=False)
                except OSError:
                    continue
                total += os.path.getsize(p) + 512
                if total >= size:
                    break
            if total >= size:
                break
        if total >= size:
            break
os.rename(out + ".tmp", out)
EOF
fi
TAR_BYTES=$(stat -c %s "$TAR")

# ---------------------------------------------------------------- the registry
WORK=$(mktemp -d /var/tmp/ocireg-bench-mutate.XXXXXX)
REG_PID=
cleanup() {
    [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $WORK/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
EOF
docker-registry serve "$WORK/config.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
REG=127.0.0.1:$PORT

# ---------------------------------------------------------------- measuring
RESULTS=$WORK/results.tsv
: >"$RESULTS"
# measure SCENARIO TOOL CMD...: wall seconds and peak RSS (KiB) of one run, appended to RESULTS.
measure() {
    local scenario=$1 tool=$2
    shift 2
    /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr" ||
        { cat "$WORK/stderr" >&2; die "$scenario/$tool failed"; }
    read -r wall rss <"$WORK/time"
    printf '%s\t%s\t%s\t%s\n' "$scenario" "$tool" "$wall" "$rss" >>"$RESULTS"
}

for round in $(seq "$ROUNDS"); do
    log "round $round of $ROUNDS: append"
    measure append "crane" "$CRANE" append -f "$TAR" -t "$REG/bench/app:ours"
    [[ -n $GGCR_CRANE ]] && measure append "ggcr crane" "$GGCR_CRANE" append -f "$TAR" -t "$REG/bench/app:ggcr"
    measure append "gzip -1" sh -c "gzip -1 -c '$TAR' >/dev/null"
    measure append "pigz -1" sh -c "pigz -1 -c '$TAR' >/dev/null"

    log "round $round: export"
    LAYER=$("$CRANE" manifest "$REG/bench/app:ours" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
    measure export "crane" "$CRANE" export "$REG/bench/app:ours" "$WORK/out.tar"
    [[ -n $GGCR_CRANE ]] && measure export "ggcr crane" "$GGCR_CRANE" export "$REG/bench/app:ours" "$WORK/out.tar"
    measure export "curl | gzip -d" sh -c "curl -fsL 'http://$REG/v2/bench/app/blobs/$LAYER' | gzip -d >'$WORK/out.tar'"

    log "round $round: mutate --label"
    before=$(wc -l <"$WORK/registry.log")
    measure "mutate --label" "crane" "$CRANE" mutate "$REG/bench/app:ours" --label "round=$round" -t "$REG/bench/app:labelled"
    # Requests that could move layer bytes during the mutate: those naming the layer, except
    # HEADs (an existence check moves none). Distribution logs each request twice (its
    # "response completed" line and the access log line); both are counted alike.
    moved=$(tail -n +"$((before + 1))" "$WORK/registry.log" | grep "${LAYER#sha256:}" |
        grep -v -e 'method=HEAD' -e '"HEAD ' -c || true)
    printf '%s\t%s\t%s\t%s\n' "mutate-layer-requests" "crane" "$moved" 0 >>"$RESULTS"
done

# ---------------------------------------------------------------- the table
TABLE=$WORK/table.md
python3 - "$RESULTS" "$TAR_BYTES" "$ROUNDS" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$TABLE" <<'EOF'
import statistics, sys, collections
rows = collections.defaultdict(list)
layer_requests = []
for line in open(sys.argv[1]):
    scenario, tool, wall, rss = line.rstrip("\n").split("\t")
    if scenario == "mutate-layer-requests":
        layer_requests.append(int(wall))
        continue
    rows[(scenario, tool)].append((float(wall), int(rss)))
size, rounds, cores, load = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
base = {"append": "gzip -1", "export": "curl | gzip -d"}
print(f"Input: a {size / 2**20:.0f} MiB tar; {rounds} rounds, medians; {cores} cores; load average at the end {load}.")
print()
print("| scenario | tool | wall (s) | vs baseline | peak RSS (MiB) |")
print("|---|---|---|---|---|")
med = {k: (statistics.median(w for w, _ in v), max(r for _, r in v)) for k, v in rows.items()}
for (scenario, tool), (wall, rss) in med.items():
    ref = med.get((scenario, base.get(scenario, "")))
    ratio = f"{wall / ref[0]:.2f}x" if ref and ref[0] > 0 else "-"
    label = tool.replace("|", "\\|")
    print(f"| {scenario} | {label} | {wall:.2f} | {ratio} | {rss / 1024:.1f} |")
print()
print(f"`crane mutate --label`: registry log lines of a GET, PUT, PATCH or POST naming the layer, per round: {layer_requests} (0: no layer byte moved; HEADs are not counted).")
EOF
cat "$TABLE"
if [[ $DOC != /dev/null ]]; then
    python3 - "$DOC" "$TABLE" "$(date -u +%F)" <<'EOF'
import sys
doc, table, day = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
text = open(doc).read()
begin, end = "<!-- bench-mutate:begin -->", "<!-- bench-mutate:end -->"
block = f"{begin}\n_`bench/mutate.sh`, {day}._\n\n{table}{end}"
if begin in text:
    head, rest = text.split(begin, 1)
    text = head + block + rest.split(end, 1)[1]
else:
    text = text.rstrip("\n") + "\n\n## Changing images (bench/mutate.sh)\n\n" + block + "\n"
open(doc, "w").write(text)
EOF
    log "table written to $DOC"
fi
