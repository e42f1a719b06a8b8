#!/usr/bin/env bash
# bench/run.sh: `crane copy`, `crane pull --format oci` and `crane push LAYOUT` against ggcr's own
# crane, `skopeo copy` (docker://, oci:) and raw curl baselines, side by side in one run, on two real
# registries (CNCF distribution) on loopback. Writes the table into
# docs/performance.md (between the bench:begin/bench:end markers). See docs/performance.md for the
# method.
#
# Usage: bench/run.sh                 full run (3 rounds; about 25-35 min on 2 cores)
#        QUICK=1 bench/run.sh         smoke run (small images, 1 round; under 2 min after the build)
# Environment:
#   ROUNDS=N        rounds per scenario (default 3; 1 with QUICK=1); medians are taken over them
#   JOBS=N          concurrency of the curl baseline (default 4, crane's default --jobs)
#   CRANE_FLAGS=..  extra flags for crane (e.g. "-j 8"), to compare settings
#   BENCH_DIR=DIR   where the image set is cached between runs (default /var/tmp/ocireg-bench)
#   DOC=FILE        where to write the table (default docs/performance.md; DOC=/dev/null to skip)
#   SCENARIOS=".."  a subset of: xreg-multi xreg-big mount-multi tags recopy-multi recopy-same
#                   pull-multi pull-big repull-multi push-multi push-big
#   CRANE_WRAP=..   a command prefix for crane, for profiling only (e.g. "perf record -g -o F")
#   KEEP_WORK=1     keep the temporary directory (registry access logs) for inspection
#   GGCR_CRANE=..   ggcr's crane binary (default ../shared/peers/ggcr-crane-v0.21.9/crane beside the
#                   checkout, or OCIREG_GGCR_CRANE); without it the ggcr column is left out
# Disk: the image set (~1.5 GiB full, ~150 MiB quick) stays in BENCH_DIR; the registries' storage
# (~3.5 GiB at peak in full mode) lives in a temporary directory removed at exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then MODE=quick; ROUNDS=${ROUNDS:-1}; else MODE=full; ROUNDS=${ROUNDS:-3}; fi
JOBS=${JOBS:-4}
CRANE_FLAGS=${CRANE_FLAGS:-}
CRANE_WRAP=${CRANE_WRAP:-}
BENCH_DIR=${BENCH_DIR:-/var/tmp/ocireg-bench}
DOC=${DOC:-$ROOT/docs/performance.md}
SCENARIOS_SET=${SCENARIOS:+1}
SCENARIOS=${SCENARIOS:-xreg-multi xreg-big mount-multi tags recopy-multi recopy-same pull-multi pull-big repull-multi push-multi push-big}
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
PY="python3 $HERE/benchlib.py"

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- tools
missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
command -v gzip >/dev/null || missing+=(gzip)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; run as root or install them"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || die "cargo is needed to build crane (https://rustup.rs)"

GGCR_CRANE=${GGCR_CRANE:-${OCIREG_GGCR_CRANE:-$ROOT/../shared/peers/ggcr-crane-v0.21.9/crane}}
if [[ -x $GGCR_CRANE ]]; then
    TOOLS="crane ggcr skopeo curl"
else
    log "no ggcr crane at $GGCR_CRANE: its column is left out"
    TOOLS="crane skopeo curl"
fi
# Pull into and push from an OCI layout: a second raw baseline also checks every blob's sha256.
LTOOLS="$TOOLS curl+sha"

log "building crane (release)"
(cd "$ROOT" && cargo build --release -q -p crane)
# The revision the binary was built from (read now: the tree may move on during the run).
REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
[[ -n $(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null) ]] && REV="$REV+dirty"
CRANE=${CARGO_TARGET_DIR:-$ROOT/target}/release/crane
[[ -x $CRANE ]] || die "no crane binary at $CRANE"

# ---------------------------------------------------------------- image set
IMAGES=$BENCH_DIR/images-$MODE
mkdir -p "$BENCH_DIR"
log "image set ($MODE) in $IMAGES"
$PY images "$IMAGES" "$MODE"
PLAN=$IMAGES/plan.tsv

# ---------------------------------------------------------------- registries
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ocireg-bench.XXXXXX")
# The registries' storage and the pulled layouts need room: stop now rather than mid-run.
need_mib=$([[ $MODE == full ]] && echo 4096 || echo 512)
free_mib=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
if ((free_mib < need_mib)); then
    rm -rf "$WORK"
    die "only $free_mib MiB free under $WORK; the $MODE run needs about $need_mib MiB"
fi
declare -A PID PORT STORE ACCESS
cleanup() {
    local name
    for name in "${!PID[@]}"; do kill "${PID[$name]}" 2>/dev/null || true; done
    for name in "${!PID[@]}"; do wait "${PID[$name]}" 2>/dev/null || true; done
    if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_registry() { # NAME
    local name=$1 port dir
    port=$($PY freeport)
    dir=$WORK/$name
    mkdir -p "$dir/storage"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: ocireg-bench-secret
EOF
    # The access log (one line per request, combined format) goes to stdout.
    docker-registry serve "$dir/config.yml" >"$dir/access.log" 2>"$dir/registry.log" &
    PID[$name]=$!
    PORT[$name]=$port
    STORE[$name]=$dir/storage
    ACCESS[$name]=$dir/access.log
    local i
    for i in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
        sleep 0.1
    done
    cat "$dir/registry.log" >&2
    die "registry $name did not start on port $port"
}
start_registry src
start_registry dst
SRC=127.0.0.1:${PORT[src]}
DST=127.0.0.1:${PORT[dst]}
log "source registry http://$SRC, destination registry http://$DST, work dir $WORK"

# ---------------------------------------------------------------- push the image set with curl
# distribution 2.8 ignores `?digest=` on POST (no single-request monolithic upload), so a
# monolithic push is POST (open a session) + PUT ?digest= with the whole body.
cat >"$WORK/upload.sh" <<'EOF'
#!/bin/sh
# upload.sh REGISTRY REPO DIGEST SOURCE: PUT the bytes of SOURCE (a file, or a URL streamed
# through a pipe) as blob DIGEST of REGISTRY/REPO, in a POST + PUT monolithic upload.
set -eu
loc=$(curl -sS -f -X POST -o /dev/null -D - "http://$1/v2/$2/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: *//p')
case $loc in http*) ;; *) loc="http://$1$loc" ;; esac
case $loc in *\?*) loc="$loc&digest=$3" ;; *) loc="$loc?digest=$3" ;; esac
case $4 in
http*) curl -sS -f "$4" | curl -sS -f -o /dev/null -X PUT -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' -T - "$loc" ;;
*) curl -sS -f -o /dev/null -X PUT -H 'Expect:' -H 'Content-Type: application/octet-stream' \
    -T "$4" "$loc" ;;
esac
EOF
cat >"$WORK/mount.sh" <<'EOF'
#!/bin/sh
# mount.sh REGISTRY FROMREPO TOREPO DIGEST: cross-repository mount (expects 201).
set -eu
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
    "http://$1/v2/$3/blobs/uploads/?mount=$4&from=$2")
[ "$code" = 201 ] || { echo "mount $4 from $2 to $3: HTTP $code" >&2; exit 1; }
EOF
cat >"$WORK/manifest.sh" <<'EOF'
#!/bin/sh
# manifest.sh SRCREG SRCREPO DSTREG DSTREPO TAG MEDIATYPE: stream a manifest GET into a PUT.
set -eu
curl -sS -f -H "Accept: $6" "http://$1/v2/$2/manifests/$5" |
    curl -sS -f -o /dev/null -X PUT -H 'Expect:' -H "Content-Type: $6" -T - \
        "http://$3/v2/$4/manifests/$5"
EOF
chmod +x "$WORK"/*.sh

log "pushing the image set into the source registry with curl"
declare -A SEEN
while IFS=$'\t' read -r kind repo a b c; do
    if [[ $kind == blob ]]; then
        [[ -n ${SEEN[$repo/$a]:-} ]] && continue
        SEEN[$repo/$a]=1
        "$WORK/upload.sh" "$SRC" "$repo" "$a" "$IMAGES/blobs/${a#sha256:}"
    else
        curl -sS -f -o /dev/null -X PUT -H "Content-Type: $OCI_MANIFEST" -T "$c" \
            "http://$SRC/v2/$repo/manifests/$a"
    fi
done <"$PLAN"
unset SEEN

# Per-repository lists derived from the plan.
blobs_of() { awk -F'\t' -v r="$1" '$1=="blob" && $2==r {print $3}' "$PLAN" | sort -u; }
tags_of() { awk -F'\t' -v r="$1" '$1=="manifest" && $2==r {print $3}' "$PLAN"; }
digest_of() { awk -F'\t' -v r="$1" -v t="$2" '$1=="manifest" && $2==r && $3==t {print $4}' "$PLAN"; }
bytes_of() { awk -F'\t' -v r="$1" '$1=="blob" && $2==r && !s[$3]++ {n+=$4} END {print n}' "$PLAN"; }
NTAGS=$(tags_of small | wc -l)

# ---------------------------------------------------------------- the copiers
clear_skopeo_cache() {
    rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb \
        "${HOME:-/root}/.local/share/containers/cache/blob-info-cache-v1.boltdb"
}
# The raw baseline: every blob streamed GET -> PUT with curl ($JOBS at once), then the manifests.
curl_copy() { # SRCREG SRCREPO DSTREG DSTREPO TAG...
    local sreg=$1 srepo=$2 dreg=$3 drepo=$4
    shift 4
    blobs_of "$srepo" | xargs -P "$JOBS" -I{} \
        "$WORK/upload.sh" "$dreg" "$drepo" {} "http://$sreg/v2/$srepo/blobs/{}"
    printf '%s\n' "$@" | xargs -P "$JOBS" -I{} \
        "$WORK/manifest.sh" "$sreg" "$srepo" "$dreg" "$drepo" {} "$OCI_MANIFEST"
}
curl_mount() { # REG SRCREPO DSTREPO TAG
    blobs_of "$2" | xargs -P "$JOBS" -I{} "$WORK/mount.sh" "$1" "$2" "$3" {}
    "$WORK/manifest.sh" "$1" "$2" "$1" "$3" "$4" "$OCI_MANIFEST"
}
# The least a re-copy can do: one HEAD on each side, compare digests.
curl_recopy() { # SRCREG DSTREG REPO DSTREPO TAG
    local a b
    a=$(curl -sSfI -H "Accept: $OCI_MANIFEST" "http://$1/v2/$3/manifests/$5" | tr -d '\r' |
        sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')
    b=$(curl -sSfI -H "Accept: $OCI_MANIFEST" "http://$2/v2/$4/manifests/$5" | tr -d '\r' |
        sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')
    [[ -n $a && $a == "$b" ]]
}
# The raw baselines of a pull into a layout and a push from one: every blob GET into (PUT from)
# its file blobs/sha256/HEX, $JOBS at once, no existence checks; with `sha` each file's sha256 is
# also checked (sha256sum) after the download, before the upload.
cat >"$WORK/pullblob.sh" <<'EOF2'
#!/bin/sh
# pullblob.sh REGISTRY REPO DIGEST DIR [sha]: GET blob DIGEST into DIR/blobs/sha256/HEX.
set -eu
f=$4/blobs/sha256/${3#sha256:}
curl -sS -f -o "$f" "http://$1/v2/$2/blobs/$3"
if [ "${5:-}" = sha ]; then echo "${3#sha256:}  $f" | sha256sum -c --status; fi
EOF2
cat >"$WORK/pushblob.sh" <<'EOF2'
#!/bin/sh
# pushblob.sh REGISTRY REPO DIGEST DIR [sha]: upload DIR/blobs/sha256/HEX as blob DIGEST.
set -eu
f=$4/blobs/sha256/${3#sha256:}
if [ "${5:-}" = sha ]; then echo "${3#sha256:}  $f" | sha256sum -c --status; fi
exec "$(dirname "$0")/upload.sh" "$1" "$2" "$3" "$f"
EOF2
chmod +x "$WORK/pullblob.sh" "$WORK/pushblob.sh"
curl_pull() { # SRCREG REPO TAG DIR [sha]
    local reg=$1 repo=$2 tag=$3 dir=$4 sha=${5:-} m md
    mkdir -p "$dir/blobs/sha256"
    m=$dir/manifest.tmp
    md=$(curl -sS -f -H "Accept: $OCI_MANIFEST" -o "$m" -D - "http://$reg/v2/$repo/manifests/$tag" |
        tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')
    [[ $sha != sha ]] || echo "${md#sha256:}  $m" | sha256sum -c --status
    blobs_of "$repo" | xargs -P "$JOBS" -I{} "$WORK/pullblob.sh" "$reg" "$repo" {} "$dir" $sha
    mv "$m" "$dir/blobs/sha256/${md#sha256:}"
    printf '{"imageLayoutVersion": "1.0.0"}' >"$dir/oci-layout"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
        "$OCI_MANIFEST" "$md" "$(stat -c %s "$dir/blobs/sha256/${md#sha256:}")" "$tag" >"$dir/index.json"
}
curl_push() { # DIR REPO MANIFESTDIGEST DSTREG DSTREPO TAG [sha]: REPO names the blobs in the plan
    local dir=$1 repo=$2 md=$3 reg=$4 drepo=$5 tag=$6 sha=${7:-}
    blobs_of "$repo" | xargs -P "$JOBS" -I{} "$WORK/pushblob.sh" "$reg" "$drepo" {} "$dir" $sha
    [[ $sha != sha ]] || echo "${md#sha256:}  $dir/blobs/sha256/${md#sha256:}" | sha256sum -c --status
    curl -sS -f -o /dev/null -X PUT -H "Content-Type: $OCI_MANIFEST" \
        -T "$dir/blobs/sha256/${md#sha256:}" "http://$reg/v2/$drepo/manifests/$tag"
}
# The least a second pull into a layout can do: one HEAD of the tag, found in index.json.
curl_repull() { # SRCREG REPO TAG DIR
    local d
    d=$(curl -sSfI -H "Accept: $OCI_MANIFEST" "http://$1/v2/$2/manifests/$3" | tr -d '\r' |
        sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')
    [[ -n $d ]] && grep -q "$d" "$4/index.json"
}
export -f blobs_of curl_recopy curl_pull curl_push curl_repull
export PLAN WORK JOBS OCI_MANIFEST

# ---------------------------------------------------------------- checks
remote_digest() { # REG REPO TAG
    curl -sSI -H "Accept: $OCI_MANIFEST" "http://$1/v2/$2/manifests/$3" 2>/dev/null | tr -d '\r' |
        sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p'
}
check_image() { # REG REPO TAG EXPECTED
    [[ "$(remote_digest "$1" "$2" "$3")" == "$4" ]]
}
check_tags() { # REG REPO N
    local n
    n=$(curl -sS "http://$1/v2/$2/tags/list?n=10000" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("tags") or []))')
    [[ $n == "$3" ]]
}
wipe_dst() { rm -rf "${STORE[dst]}/docker"; }
wipe_src_repos() { rm -rf "${STORE[src]}"/docker/registry/v2/repositories/m-*; }

# ---------------------------------------------------------------- measuring
RESULTS=$WORK/results.tsv
KEEP_RESULTS=$BENCH_DIR/results-$MODE-$(date +%Y%m%dT%H%M%S).tsv
printf 'scenario\ttool\tround\twall\tuser\tsys\tmaxrss_kib\trequests\tregistry_cpu\tstatus\tblob_bytes\n' >"$RESULTS"
TICK=$(getconf CLK_TCK)
server_ticks() { # both registries' user+sys CPU, in clock ticks
    local t=0 name f
    for name in src dst; do
        read -ra f <"/proc/${PID[$name]}/stat"
        t=$((t + f[13] + f[14]))
    done
    echo "$t"
}
request_lines() { cat "${ACCESS[src]}" "${ACCESS[dst]}" | wc -l; }
log_lines() { echo "$(wc -l <"${ACCESS[src]}") $(wc -l <"${ACCESS[dst]}")"; }
# Bytes of blob bodies the registries served (GET .../blobs/... answered 200 or 206) since
# SRCLINES and DSTLINES lines of their access logs (combined format: field 10 is the size).
blob_bytes_since() { # SRCLINES DSTLINES
    { tail -n +$(($1 + 1)) "${ACCESS[src]}"; tail -n +$(($2 + 1)) "${ACCESS[dst]}"; } |
        awk '$6 == "\"GET" && $7 ~ /\/blobs\/sha256:/ && ($9 == 200 || $9 == 206) {n += $10} END {printf "%d", n}'
}

# measure SCENARIO TOOL ROUND CHECK -- COMMAND...: run COMMAND under /usr/bin/time, then CHECK
# (a shell string) to verify the result; append one row to the results.
measure() {
    local scen=$1 tool=$2 round=$3 check=$4
    shift 5
    local tf=$WORK/time.out req0 req1 cpu0 cpu1 t0 t1 rc=0 status=ok lines0
    sync
    sleep 0.5
    req0=$(request_lines)
    lines0=$(log_lines)
    cut -d' ' -f1 /proc/loadavg >>"$WORK/load.txt"
    cpu0=$(server_ticks)
    t0=$(date +%s%N)
    /usr/bin/time -f '%U %S %M' -o "$tf" "$@" >"$WORK/cmd.out" 2>"$WORK/cmd.err" || rc=$?
    t1=$(date +%s%N)
    cpu1=$(server_ticks)
    sleep 0.3 # the access log line is written just after the response
    req1=$(request_lines)
    local blob_bytes
    # shellcheck disable=SC2086
    blob_bytes=$(blob_bytes_since $lines0)
    if ((rc != 0)); then
        status=failed
        log "$scen/$tool round $round: exit $rc"
        tail -5 "$WORK/cmd.err" >&2
    elif ! eval "$check"; then
        status=wrong
        log "$scen/$tool round $round: result check failed ($check)"
    fi
    local user sys rss
    read -r user sys rss < <(tail -1 "$tf")
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    local srv
    srv=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICK" 'BEGIN {printf "%.2f", (b - a) / t}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$tool" "$round" "$wall" "$user" "$sys" \
        "$rss" "$((req1 - req0))" "$srv" "$status" "$blob_bytes" >>"$RESULTS"
    log "$(printf '%-13s %-8s round %s: wall %6.2fs cpu %5.2fs rss %6.1fMiB req %4d registry-cpu %5.2fs blobs-served %7.1fMiB %s' \
        "$scen" "$tool" "$round" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" \
        "$(awk -v r="$rss" 'BEGIN{print r/1024}')" "$((req1 - req0))" "$srv" \
        "$(awk -v b="$blob_bytes" 'BEGIN{print b/1048576}')" "$status")"
}

rotate() { # ROUND ITEMS...: the items rotated by ROUND, so no tool always goes first
    local r=$1
    shift
    local a=("$@") n=$# i
    for ((i = 0; i < n; i++)); do printf '%s ' "${a[$(((i + r) % n))]}"; done
}
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }

MULTI_DIGEST=$(digest_of multi v1)
BIG_DIGEST=$(digest_of big v1)
log "multi: $(($(bytes_of multi) / 1048576)) MiB in $(blobs_of multi | wc -l) blobs; big: $(($(bytes_of big) / 1048576)) MiB; small: $NTAGS tags"

export -f curl_copy curl_mount
for round in $(seq "$ROUNDS"); do
    log "round $round of $ROUNDS"
    for img in multi big; do
        has "xreg-$img" || continue
        digest=$(digest_of "$img" v1)
        for tool in $(rotate "$round" $TOOLS); do
            repo=x-$img-$tool-$round
            case $tool in
            crane) measure "xreg-$img" crane "$round" "check_image $DST $repo v1 $digest" -- \
                $CRANE_WRAP "$CRANE" copy -q $CRANE_FLAGS "$SRC/$img:v1" "$DST/$repo:v1" ;;
            ggcr) measure "xreg-$img" ggcr "$round" "check_image $DST $repo v1 $digest" -- \
                "$GGCR_CRANE" copy --insecure "$SRC/$img:v1" "$DST/$repo:v1" ;;
            skopeo)
                clear_skopeo_cache
                measure "xreg-$img" skopeo "$round" "check_image $DST $repo v1 $digest" -- \
                    skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false \
                    "docker://$SRC/$img:v1" "docker://$DST/$repo:v1" ;;
            curl) measure "xreg-$img" curl "$round" "check_image $DST $repo v1 $digest" -- \
                bash -c 'curl_copy "$@"' _ "$SRC" "$img" "$DST" "$repo" v1 ;;
            esac
            wipe_dst
        done
    done

    if has mount-multi; then
        for tool in $(rotate "$round" $TOOLS); do
            repo=m-multi-$tool-$round
            case $tool in
            crane) measure mount-multi crane "$round" "check_image $SRC $repo v1 $MULTI_DIGEST" -- \
                $CRANE_WRAP "$CRANE" copy -q $CRANE_FLAGS "$SRC/multi:v1" "$SRC/$repo:v1" ;;
            ggcr) measure mount-multi ggcr "$round" "check_image $SRC $repo v1 $MULTI_DIGEST" -- \
                "$GGCR_CRANE" copy --insecure "$SRC/multi:v1" "$SRC/$repo:v1" ;;
            skopeo)
                clear_skopeo_cache
                measure mount-multi skopeo "$round" "check_image $SRC $repo v1 $MULTI_DIGEST" -- \
                    skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false \
                    "docker://$SRC/multi:v1" "docker://$SRC/$repo:v1" ;;
            curl) measure mount-multi curl "$round" "check_image $SRC $repo v1 $MULTI_DIGEST" -- \
                bash -c 'curl_mount "$@"' _ "$SRC" multi "$repo" v1 ;;
            esac
        done
        wipe_src_repos
    fi

    if has tags; then
        for tool in $(rotate "$round" $TOOLS); do
            ns=t-$tool-$round
            case $tool in
            crane) measure tags crane "$round" "check_tags $DST $ns/small $NTAGS" -- \
                "$CRANE" copy -q -a $CRANE_FLAGS "$SRC/small" "$DST/$ns/small" ;;
            ggcr) measure tags ggcr "$round" "check_tags $DST $ns/small $NTAGS" -- \
                "$GGCR_CRANE" copy --insecure -a "$SRC/small" "$DST/$ns/small" ;;
            skopeo)
                clear_skopeo_cache
                measure tags skopeo "$round" "check_tags $DST $ns/small $NTAGS" -- \
                    skopeo --insecure-policy sync --src docker --dest docker \
                    --src-tls-verify=false --dest-tls-verify=false "$SRC/small" "$DST/$ns" ;;
            curl)
                # shellcheck disable=SC2046
                measure tags curl "$round" "check_tags $DST $ns/small $NTAGS" -- \
                    bash -c 'curl_copy "$@"' _ "$SRC" small "$DST" "$ns/small" $(tags_of small) ;;
            esac
            wipe_dst
        done
    fi

    if has recopy-multi; then
        # Seed the destination once (untimed), then every tool copies onto what is there.
        bash -c 'curl_copy "$@"' _ "$SRC" multi "$DST" recopy v1
        for tool in $(rotate "$round" $TOOLS); do
            case $tool in
            crane) measure recopy-multi crane "$round" "check_image $DST recopy v1 $MULTI_DIGEST" -- \
                $CRANE_WRAP "$CRANE" copy -q $CRANE_FLAGS "$SRC/multi:v1" "$DST/recopy:v1" ;;
            ggcr) measure recopy-multi ggcr "$round" "check_image $DST recopy v1 $MULTI_DIGEST" -- \
                "$GGCR_CRANE" copy --insecure "$SRC/multi:v1" "$DST/recopy:v1" ;;
            skopeo)
                clear_skopeo_cache
                measure recopy-multi skopeo "$round" "check_image $DST recopy v1 $MULTI_DIGEST" -- \
                    skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false \
                    "docker://$SRC/multi:v1" "docker://$DST/recopy:v1" ;;
            curl) measure recopy-multi curl "$round" "check_image $DST recopy v1 $MULTI_DIGEST" -- \
                bash -c 'curl_recopy "$@"' _ "$SRC" "$DST" multi recopy v1 ;;
            esac
        done
        wipe_dst
    fi

    if has recopy-same; then
        # The same within one registry: the image already sits in another repository there.
        bash -c 'curl_mount "$@"' _ "$SRC" multi m-recopy v1
        for tool in $(rotate "$round" $TOOLS); do
            case $tool in
            crane) measure recopy-same crane "$round" "check_image $SRC m-recopy v1 $MULTI_DIGEST" -- \
                $CRANE_WRAP "$CRANE" copy -q $CRANE_FLAGS "$SRC/multi:v1" "$SRC/m-recopy:v1" ;;
            ggcr) measure recopy-same ggcr "$round" "check_image $SRC m-recopy v1 $MULTI_DIGEST" -- \
                "$GGCR_CRANE" copy --insecure "$SRC/multi:v1" "$SRC/m-recopy:v1" ;;
            skopeo)
                clear_skopeo_cache
                measure recopy-same skopeo "$round" "check_image $SRC m-recopy v1 $MULTI_DIGEST" -- \
                    skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false \
                    "docker://$SRC/multi:v1" "docker://$SRC/m-recopy:v1" ;;
            curl) measure recopy-same curl "$round" "check_image $SRC m-recopy v1 $MULTI_DIGEST" -- \
                bash -c 'curl_recopy "$@"' _ "$SRC" "$SRC" multi m-recopy v1 ;;
            esac
        done
        wipe_src_repos
    fi

    for img in multi big; do
        has "pull-$img" || continue
        for tool in $(rotate "$round" $LTOOLS); do
            out=$WORK/out/pull-$img-$tool-$round
            check="$PY checklayout $out $IMAGES $img v1"
            case $tool in
            crane) measure "pull-$img" crane "$round" "$check" -- \
                $CRANE_WRAP "$CRANE" pull -q --format oci $CRANE_FLAGS "$SRC/$img:v1" "$out" ;;
            ggcr) measure "pull-$img" ggcr "$round" "$check" -- \
                "$GGCR_CRANE" pull --insecure --format oci "$SRC/$img:v1" "$out" ;;
            skopeo)
                clear_skopeo_cache
                measure "pull-$img" skopeo "$round" "$check" -- \
                    skopeo --insecure-policy copy -q --src-tls-verify=false \
                    "docker://$SRC/$img:v1" "oci:$out:v1" ;;
            curl) measure "pull-$img" curl "$round" "$check" -- \
                bash -c 'curl_pull "$@"' _ "$SRC" "$img" v1 "$out" ;;
            curl+sha) measure "pull-$img" curl+sha "$round" "$check" -- \
                bash -c 'curl_pull "$@"' _ "$SRC" "$img" v1 "$out" sha ;;
            esac
            rm -rf "$out"
        done
    done

    if has repull-multi; then
        # Each tool pulls into a fresh layout (untimed), then again into the same one (timed):
        # the second pull should move no blob bytes (see the blob column).
        for tool in $(rotate "$round" $TOOLS); do
            out=$WORK/out/repull-$tool-$round
            check="$PY checklayout $out $IMAGES multi v1"
            case $tool in
            crane)
                "$CRANE" pull -q --format oci "$SRC/multi:v1" "$out"
                measure repull-multi crane "$round" "$check" -- \
                    $CRANE_WRAP "$CRANE" pull -q --format oci $CRANE_FLAGS "$SRC/multi:v1" "$out" ;;
            ggcr)
                "$GGCR_CRANE" pull --insecure --format oci "$SRC/multi:v1" "$out" 2>/dev/null
                measure repull-multi ggcr "$round" "$check" -- \
                    "$GGCR_CRANE" pull --insecure --format oci "$SRC/multi:v1" "$out" ;;
            skopeo)
                clear_skopeo_cache
                skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$SRC/multi:v1" "oci:$out:v1"
                clear_skopeo_cache
                measure repull-multi skopeo "$round" "$check" -- \
                    skopeo --insecure-policy copy -q --src-tls-verify=false \
                    "docker://$SRC/multi:v1" "oci:$out:v1" ;;
            curl)
                bash -c 'curl_pull "$@"' _ "$SRC" multi v1 "$out"
                measure repull-multi curl "$round" "$check" -- \
                    bash -c 'curl_repull "$@"' _ "$SRC" multi v1 "$out" ;;
            esac
            rm -rf "$out"
        done
    fi

    for img in multi big; do
        has "push-$img" || continue
        digest=$(digest_of "$img" v1)
        layout=$WORK/layout-$img
        [[ -d $layout ]] || $PY layout "$layout" "$IMAGES" "$img" v1
        for tool in $(rotate "$round" $LTOOLS); do
            repo=p-$img-${tool/+/-}-$round
            check="check_image $DST $repo v1 $digest"
            case $tool in
            crane) measure "push-$img" crane "$round" "$check" -- \
                $CRANE_WRAP "$CRANE" push -q $CRANE_FLAGS "$layout" "$DST/$repo:v1" ;;
            ggcr) measure "push-$img" ggcr "$round" "$check" -- \
                "$GGCR_CRANE" push --insecure "$layout" "$DST/$repo:v1" ;;
            skopeo)
                clear_skopeo_cache
                measure "push-$img" skopeo "$round" "$check" -- \
                    skopeo --insecure-policy copy -q --dest-tls-verify=false \
                    "oci:$layout:v1" "docker://$DST/$repo:v1" ;;
            curl) measure "push-$img" curl "$round" "$check" -- \
                bash -c 'curl_push "$@"' _ "$layout" "$img" "$digest" "$DST" "$repo" v1 ;;
            curl+sha) measure "push-$img" curl+sha "$round" "$check" -- \
                bash -c 'curl_push "$@"' _ "$layout" "$img" "$digest" "$DST" "$repo" v1 sha ;;
            esac
            wipe_dst
        done
    done
done
cp "$RESULTS" "$KEEP_RESULTS"
log "raw results kept in $KEEP_RESULTS"

# ---------------------------------------------------------------- report
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
ggcr_version=""
[[ -x $GGCR_CRANE ]] && ggcr_version="ggcr crane $("$GGCR_CRANE" version 2>/dev/null | head -1), "
versions="crane $("$CRANE" version 2>/dev/null | head -1) ($REV), ${ggcr_version}$(skopeo --version), docker-registry $(docker-registry --version | awk '{print $3}'), $(curl --version | head -1 | awk '{print $1, $2}')"
load=$(sort -n "$WORK/load.txt" | awk '{a[NR] = $1} END {if (NR) printf "1-minute load average before each run: min %s, median %s, max %s", a[1], a[int((NR + 1) / 2)], a[NR]}')
cmd="bench/run.sh"
[[ $QUICK == 1 ]] && cmd="QUICK=1 $cmd"
cmd="ROUNDS=$ROUNDS JOBS=$JOBS${CRANE_FLAGS:+ CRANE_FLAGS=\"$CRANE_FLAGS\"}${SCENARIOS_SET:+ SCENARIOS=\"$SCENARIOS\"} $cmd"
imageset="multi = $(($(bytes_of multi) / 1048576)) MiB in $(($(blobs_of multi | wc -l) - 1)) gzip layers; big = one $(($(bytes_of big) / 1048576)) MiB gzip layer; small = $NTAGS tags of 2 layers ($MODE mode)"
python3 - "$WORK/meta.json" <<EOF
import json, sys
json.dump({
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "machine": "$(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r)",
    "load": "$load",
    "versions": """$versions""",
    "command": """$cmd""",
    "imageset": "$imageset",
    "scenarios": {
        "xreg-multi": "copy multi, registry to registry",
        "xreg-big": "copy big (1 layer), registry to registry",
        "mount-multi": "copy multi within one registry (mount)",
        "recopy-multi": "re-copy multi, registry to registry (all present)",
        "recopy-same": "re-copy multi within one registry (all present)",
        "tags": "copy $NTAGS tags (--all-tags / sync)",
        "pull-multi": "pull multi into an OCI layout",
        "pull-big": "pull big (1 layer) into an OCI layout",
        "repull-multi": "pull multi again into the same layout",
        "push-multi": "push multi from an OCI layout",
        "push-big": "push big (1 layer) from an OCI layout",
    },
}, open(sys.argv[1], "w"))
EOF
$PY report "$RESULTS" "$DOC" "$WORK/meta.json"
