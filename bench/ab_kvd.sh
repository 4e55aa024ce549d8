#!/usr/bin/env bash
# Two kvd builds (or two flag sets) side by side: the same kvbench row against a fresh 3-node
# cluster of A, then of B, round after round, so a slow period of the shared machine hits both.
# Prints each run and, per round, B's ratio to A in ops/s and in the servers' CPU per
# operation (kvbench --cpu-pids: utime+stime of the three kvd over the measured window).
#
#   bench/ab_kvd.sh --a KVD_A --b KVD_B [options] [-- KVBENCH_FLAGS...]
#
# Options:
#   --a PATH, --b PATH   the two kvd binaries (may be the same binary with different flags)
#   --a-flags "F", --b-flags "F"   extra kvd flags for A or B              default none
#   --shards N           shards of both clusters                           default 32
#   --rounds N           rounds (A then B in each)                         default 3
#   --duration S, --warmup S   kvbench's measured and unmeasured seconds   default 15, 3
#   --build-dir DIR      where kvctl and kvbench are                       default ./build
# kvbench flags after `--` replace the default row: --concurrency=64 --value-size=128
# --read-ratio=0 --keys=100000.
set -euo pipefail

PROG=bench/ab_kvd.sh
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$REPO/build" A="" B="" A_FLAGS="" B_FLAGS="" SHARDS=32 ROUNDS=3 DURATION=15 WARMUP=3
ROW=(--concurrency=64 --value-size=128 --read-ratio=0 --keys=100000)
die() { echo "$PROG: $*" >&2; exit 1; }
while (($# > 0)); do
  case "$1" in
    --a) A=${2:?}; shift 2 ;;
    --b) B=${2:?}; shift 2 ;;
    --a-flags) A_FLAGS=${2?}; shift 2 ;;
    --b-flags) B_FLAGS=${2?}; shift 2 ;;
    --shards) SHARDS=${2:?}; shift 2 ;;
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --build-dir) BUILD=${2:?}; shift 2 ;;
    --) shift; ROW=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -x $A && -x $B ]] || die "--a and --b must name kvd binaries"
KVCTL=$BUILD/tools/kvctl/kvctl KVBENCH=$BUILD/tools/kvbench/kvbench
[[ -x $KVCTL && -x $KVBENCH ]] || die "kvctl or kvbench missing in $BUILD"

RUN=$(mktemp -d /tmp/ringkv-ab.XXXXXX)
PIDS=()
stop() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
trap 'stop; rm -rf "$RUN"' EXIT
trap "exit 130" INT TERM

port_free() { [[ -z $(ss -Hltnu "sport = :$1" 2>/dev/null) ]]; }
pick_ports() {
  local base k ok
  for _ in $(seq 50); do
    base=$((10000 + RANDOM % 20000)) ok=1
    for ((k = 0; k < $1; k++)); do port_free $((base + k)) || { ok=0; break; }; done
    ((ok)) && { echo "$base"; return 0; }
  done
  die "no $1 free ports found"
}
ready() {
  "$KVCTL" --endpoints="$EPS" --command-timeout=2s cluster status -w table 2>/dev/null |
    awk -F'|' -v want="$SHARDS" '/^SHARDS/ {s = 1}
      s && $2 ~ /^ *[0-9]+ *$/ {n++; l = $3; gsub(/ /, "", l); if (l == "-" || l == "0" || l == "") bad++}
      END {exit !(n >= want && bad == 0)}' &&
    "$KVCTL" --endpoints="$EPS" --command-timeout=2s put __ab_probe ok >/dev/null
}

# run LABEL KVD FLAGS: a fresh cluster, one kvbench row; prints "ops/s cpu_us_per_op p99_ms".
run() {
  local label=$1 kvd=$2 flags=$3 dir base k peers="" clients="" deadline json
  dir=$RUN/$label base=$(pick_ports 6)
  for k in 1 2 3; do
    peers+="${peers:+,}$k=127.0.0.1:$((base + 2 + k))"
    clients+="${clients:+,}$k=127.0.0.1:$((base + k - 1))"
  done
  EPS="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
  mkdir -p "$dir"
  for k in 1 2 3; do
    # shellcheck disable=SC2086
    "$kvd" --node_id=$k --data_dir="$dir/node$k" --listen_client=127.0.0.1:$((base + k - 1)) \
      --listen_peer=127.0.0.1:$((base + 2 + k)) --initial_cluster="$peers" \
      --initial_cluster_clients="$clients" --shards="$SHARDS" $flags >"$dir/node$k.log" 2>&1 &
    PIDS+=($!)
  done
  deadline=$((SECONDS + 120))
  until ready; do
    ((SECONDS < deadline)) || die "$label: cluster not ready in 120 s (logs: $dir)"
    sleep 0.3
  done
  json=$dir/bench.json
  "$KVBENCH" --endpoints="$EPS" "${ROW[@]}" --duration="$DURATION" --warmup="$WARMUP" \
    --cpu-pids="$(IFS=,; echo "${PIDS[*]}")" -w json >"$json" 2>"$dir/bench.err" ||
    die "$label: kvbench failed: $(tail -3 "$dir/bench.err")"
  stop
  rm -rf "$dir"/node[0-9]
  python3 - "$json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
ops = j["ok_reads"] + j["ok_writes"]
print(f'{j["ops_per_sec"]:.0f} {1e6 * j["server_cpu_s"] / max(ops, 1):.1f} {j["latency"]["p99_ms"]}')
EOF
}

echo "$PROG: A=$A ${A_FLAGS:+($A_FLAGS) }B=$B ${B_FLAGS:+($B_FLAGS) }shards=$SHARDS rounds=$ROUNDS" \
  "row: ${ROW[*]} ${DURATION}s; load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ROUNDS; r++)); do
  run "r$r-a" "$A" "$A_FLAGS" >"$RUN/a.txt"
  run "r$r-b" "$B" "$B_FLAGS" >"$RUN/b.txt"
  read -r a_ops a_cpu a_p99 <"$RUN/a.txt"
  read -r b_ops b_cpu b_p99 <"$RUN/b.txt"
  awk -v r="$r" -v ao="$a_ops" -v ac="$a_cpu" -v ap="$a_p99" -v bo="$b_ops" -v bc="$b_cpu" -v bp="$b_p99" \
    'BEGIN {printf "round %d  A %6d ops/s %6.1f us/op p99 %6.2f ms | B %6d ops/s %6.1f us/op p99 %6.2f ms | B/A ops %.2fx cpu/op %.2fx\n", r, ao, ac, ap, bo, bc, bp, bo / ao, bc / ac}'
done
