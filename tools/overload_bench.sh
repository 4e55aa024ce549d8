#!/usr/bin/env bash
# Overload benchmark (issue #10): goodput, shed rate, p99 and peak RSS per node of a 3-node,
# 32-shard cluster on 127.0.0.1 under more requests in flight than it can serve. Results and
# commands: docs/benchmarks.md, section "Overload".
#
#   tools/overload_bench.sh [options] [NAME=BUILD_DIR ...]
#
# Every case (value size x requests in flight) runs on a fresh cluster (fresh data dirs, so the
# peak RSS is that case's), once per build; builds alternate within each case so that the
# machine's background load hits them alike. A build dir holds src/server/kvd,
# tools/kvbench/kvbench and tools/kvctl/kvctl (a CMake build dir, or a copy with that layout).
# After each load an untimed 64-in-flight, 1 KiB "probe" run checks that the cluster serves
# normally at once. Default build: after=./build.
#
# Options:
#   --inflight LIST   requests in flight, comma-separated          default 64,2000,5000
#   --values LIST     value sizes in bytes, comma-separated         default 1024,65536
#   --duration S      measured seconds per run                      default 15
#   --warmup S        unmeasured seconds first                      default 3
#   --keys N          key space                                     default 5000
#   --shards N        shards (Raft groups)                          default 32
#   --probe S         seconds of the after-load probe (0 = none)    default 5
#   --kvd-flags "..." extra flags for every kvd                     default none
#   --out DIR         logs and raw kvbench output                   default a new temp dir
#   --same-cluster    run all cases of a build in sequence on one cluster (as issue #10 did):
#                     peak RSS then accumulates (caches, memtables), and a case starts where the
#                     previous one left the cluster; builds take turns by whole sequences
#
# Output: one line per run (build, value bytes, in flight, goodput writes/s, client errors, server
# shed %, p99 of successful writes, peak RSS of each node in MiB, probe writes/s), and the raw
# kvbench outputs and node logs in --out.
set -euo pipefail

PROG=tools/overload_bench.sh
INFLIGHT=64,2000,5000
VALUES=1024,65536
DURATION=15
WARMUP=3
KEYS=5000
SHARDS=32
PROBE=5
KVD_FLAGS=""
OUT=""
BUILDS=()
SAME=0

die() { echo "$PROG: $*" >&2; exit 1; }

while (($# > 0)); do
  case "$1" in
    --inflight) INFLIGHT=${2:?}; shift 2 ;;
    --values) VALUES=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --keys) KEYS=${2:?}; shift 2 ;;
    --shards) SHARDS=${2:?}; shift 2 ;;
    --probe) PROBE=${2:?}; shift 2 ;;
    --kvd-flags) KVD_FLAGS=${2:-}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --same-cluster) SAME=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *=*) BUILDS+=("$1"); shift ;;
    *) die "builds are given as NAME=BUILD_DIR, got '$1'" ;;
  esac
done
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
((${#BUILDS[@]} > 0)) || BUILDS=("after=$REPO/build")
for b in "${BUILDS[@]}"; do
  dir=${b#*=}
  for bin in src/server/kvd tools/kvbench/kvbench tools/kvctl/kvctl; do
    [[ -x $dir/$bin ]] || die "${b%%=*}: $dir/$bin is missing (build it: ninja -C $dir kvd kvbench kvctl)"
  done
done
[[ -n $OUT ]] || OUT=$(mktemp -d /tmp/ringkv-overload.XXXXXX)
mkdir -p "$OUT"

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

port_free() { [[ -z $(ss -Hltnu "sport = :$1" 2>/dev/null) ]]; }
# Six free ports (3 client, 3 peer+gossip) from a random base, below the kernel's ephemeral
# range: the thousands of connections of a run take ephemeral ports, and one of them could
# take a picked port before its kvd binds it.
EPHEMERAL_LOW=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
pick_ports() {
  local tries base k ok
  for ((tries = 0; tries < 50; tries++)); do
    base=$((10000 + RANDOM % (EPHEMERAL_LOW - 10010)))
    ok=1
    for ((k = 0; k < 6; k++)); do port_free $((base + k)) || { ok=0; break; }; done
    ((ok)) && { echo "$base"; return 0; }
  done
  die "no free ports found"
}

# start_cluster BUILD_DIR RUN_DIR -> sets PIDS and ENDPOINTS
start_cluster() {
  local dir=$1 run=$2 base peers="" clients="" k
  base=$(pick_ports)
  for k in 1 2 3; do
    peers+="${peers:+,}$k=127.0.0.1:$((base + 2 + k))"
    clients+="${clients:+,}$k=127.0.0.1:$((base + k - 1))"
  done
  ENDPOINTS="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
  PIDS=()
  mkdir -p "$run"
  for k in 1 2 3; do
    # shellcheck disable=SC2086
    "$dir/src/server/kvd" --node_id=$k --data_dir="$run/node$k" \
      --listen_client=127.0.0.1:$((base + k - 1)) --listen_peer=127.0.0.1:$((base + 2 + k)) \
      --initial_cluster="$peers" --initial_cluster_clients="$clients" --shards="$SHARDS" \
      $KVD_FLAGS >"$run/node$k.log" 2>&1 &
    PIDS+=($!)
  done
  # Ready when every shard has a leader: a status with no leaderless shard, and a write works.
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if "$dir/tools/kvctl/kvctl" --endpoints="$ENDPOINTS" --command-timeout=2s \
        cluster status -w table 2>/dev/null |
      awk -F'|' -v want="$SHARDS" '/^SHARDS/ {s = 1}
        s && $2 ~ /^ *[0-9]+ *$/ {n++; l = $3; gsub(/ /, "", l); if (l == "-" || l == "0" || l == "") bad++}
        END {exit !(n >= want && bad == 0)}' &&
      "$dir/tools/kvctl/kvctl" --endpoints="$ENDPOINTS" --command-timeout=2s \
        put __overload_bench_probe ok >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  die "cluster in $run did not get leaders for all shards in 60 s (logs: $run/node*.log)"
}

stop_cluster() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}

# Node data of a finished case (gigabytes with 64 KiB values); its logs and outputs stay.
drop_data() { rm -rf "$1"/node[0-9]/; }

hwm_mib() { awk '/^VmHWM:/ {printf "%d\n", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# Fields of kvbench's simple output.
goodput() { sed -n 's/^throughput: .*(writes \([0-9.]*\)\/s.*/\1/p' "$1"; }
p99() { sed -n 's/^writes  *latency ms: .*p99 \([0-9.]*\) .*/\1/p' "$1"; }
errors() { local e; e=$(sed -n 's/^errors: //p' "$1"); echo "${e:-none}"; }
shed() { local s; s=$(sed -n 's/^server: .*shed \([0-9.]*%\).*/\1/p' "$1"); echo "${s:--}"; }

echo "# $PROG: $(date -u +%FT%TZ), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?)," \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), output in $OUT"
printf '%-8s %7s %8s %10s %8s %9s %-24s %-22s %s\n' build value inflight writes/s p99_ms shed \
  "peak_rss_mib(n1,n2,n3)" "probe_writes/s" errors
IFS=, read -ra VALUE_LIST <<<"$VALUES"
IFS=, read -ra INFLIGHT_LIST <<<"$INFLIGHT"

# run_case NAME DIR RUN_DIR VALUE INFLIGHT: one load and probe on the running cluster; prints
# its line.
run_case() {
  local name=$1 dir=$2 run=$3 value=$4 inflight=$5 tag="v$4-c$5" rss probe="-" alive=0 p
  "$dir/tools/kvbench/kvbench" --endpoints="$ENDPOINTS" --concurrency="$inflight" \
    --value-size="$value" --keys="$KEYS" --duration="$DURATION" --warmup="$WARMUP" \
    >"$run/bench-$tag.txt" 2>&1 || true
  rss=$(for p in "${PIDS[@]}"; do hwm_mib "$p"; done | paste -sd, -)
  if ((PROBE > 0)); then
    "$dir/tools/kvbench/kvbench" --endpoints="$ENDPOINTS" --concurrency=64 --value-size=1024 \
      --keys="$KEYS" --duration="$PROBE" --warmup=0 >"$run/probe-$tag.txt" 2>&1 || true
    probe=$(goodput "$run/probe-$tag.txt")
  fi
  for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
  printf '%-8s %7s %8s %10s %8s %9s %-24s %-22s %s\n' "$name" "$value" "$inflight" \
    "$(goodput "$run/bench-$tag.txt")" "$(p99 "$run/bench-$tag.txt")" \
    "$(shed "$run/bench-$tag.txt")" "$rss" "${probe:-?}" \
    "$(errors "$run/bench-$tag.txt")$( ((alive == 3)) || echo " NODE DIED")"
}

if ((SAME)); then
  for b in "${BUILDS[@]}"; do
    name=${b%%=*} dir=${b#*=} run="$OUT/$name-sequence"
    rm -rf "$run"
    start_cluster "$dir" "$run"
    for value in "${VALUE_LIST[@]}"; do
      for inflight in "${INFLIGHT_LIST[@]}"; do run_case "$name" "$dir" "$run" "$value" "$inflight"; done
    done
    stop_cluster
    drop_data "$run"
  done
else
  for value in "${VALUE_LIST[@]}"; do
    for inflight in "${INFLIGHT_LIST[@]}"; do
      for b in "${BUILDS[@]}"; do
        name=${b%%=*} dir=${b#*=} run="$OUT/${b%%=*}-v$value-c$inflight"
        rm -rf "$run"
        start_cluster "$dir" "$run"
        run_case "$name" "$dir" "$run" "$value" "$inflight"
        stop_cluster
        drop_data "$run"
      done
    done
  done
fi
echo "# done: load average $(cut -d' ' -f1-3 /proc/loadavg)"
