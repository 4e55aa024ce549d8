#!/usr/bin/env bash
# Where a replicated write's CPU goes (issue 13 item 4): a fresh 3-node RingKV, kvbench writes
# (128-byte values, 64 in flight by default), and `perf record` (DWARF call graphs) of the three kvd
# over a window of the run. Prints a table of microseconds per write by part of the node
# (bench/profile_table.py) and writes a flame graph SVG (tools/flamegraph.py).
#
#   bench/profile_write.sh [--build-dir DIR] [--shards N] [--concurrency C] [--seconds S]
#                          [--value-size BYTES] [--svg FILE] [--keep DIR]
#
# Needs: perf (Debian's linux-perf), python3, a RelWithDebInfo build of kvd, kvctl, kvbench.
# Results: docs/benchmarks.md, "Where a replicated write's CPU goes".
set -euo pipefail
PROG=$(basename "$0")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build SHARDS=32 CONC=64 SECONDS_=8 VALUE=128 SVG="" KEEP=""
die() { echo "$PROG: $*" >&2; exit 1; }
while (($#)); do
  case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --shards) SHARDS=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --value-size) VALUE=$2; shift 2 ;;
    --seconds) SECONDS_=$2; shift 2 ;;
    --svg) SVG=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)"
KVD=$BUILD/src/server/kvd KVCTL=$BUILD/tools/kvctl/kvctl KVBENCH=$BUILD/tools/kvbench/kvbench
for b in "$KVD" "$KVCTL" "$KVBENCH"; do [[ -x $b ]] || die "$b is missing (ninja -C $BUILD kvd kvctl kvbench)"; done

RUN=${KEEP:-$(mktemp -d /tmp/profile_write.XXXXXX)}
mkdir -p "$RUN"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -n $KEEP ]] || rm -rf "$RUN"
}
trap cleanup EXIT
trap "exit 130" INT TERM

port_free() { [[ -z $(ss -Hltnu "sport = :$1" 2>/dev/null) ]]; }
pick_ports() {  # 6 consecutive free ports below the ephemeral range
  local low base k ok
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 50); do
    base=$((10000 + RANDOM % (low - 10010))) ok=1
    for ((k = 0; k < 6; k++)); do port_free $((base + k)) || { ok=0; break; }; done
    ((ok)) && { echo "$base"; return 0; }
  done
  die "no free ports"
}
base=$(pick_ports) peers="" clients=""
for k in 1 2 3; do
  peers+="${peers:+,}$k=127.0.0.1:$((base + 2 + k))"
  clients+="${clients:+,}$k=127.0.0.1:$((base + k - 1))"
done
EP="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
for k in 1 2 3; do
  "$KVD" --node_id=$k --data_dir="$RUN/node$k" --listen_client=127.0.0.1:$((base + k - 1)) \
    --listen_peer=127.0.0.1:$((base + 2 + k)) --initial_cluster="$peers" \
    --initial_cluster_clients="$clients" --shards="$SHARDS" >"$RUN/node$k.log" 2>&1 &
  PIDS+=($!)
done
deadline=$((SECONDS + 120))
until "$KVCTL" --endpoints="$EP" --command-timeout=2s put __profile_probe ok >/dev/null 2>&1; do
  ((SECONDS < deadline)) || die "the cluster did not serve in 120 s (logs: $RUN)"
  sleep 0.3
done
# kvbench runs 2 s of warmup plus the profiled window, with a second of margin on each side.
"$KVBENCH" --endpoints="$EP" --concurrency="$CONC" --value-size="$VALUE" --read-ratio=0 \
  --duration=$((SECONDS_ + 2)) --warmup=2 >"$RUN/kvbench.txt" 2>&1 &
KB=$!
sleep 3  # pacing: the profile starts once kvbench's warmup is over
perf record -F 499 --call-graph=dwarf,16384 -p "$(IFS=,; echo "${PIDS[*]:0:3}")" \
  -o "$RUN/perf.data" -- sleep "$SECONDS_" 2>"$RUN/perf.log" >/dev/null
wait "$KB" || die "kvbench failed: $(tail -3 "$RUN/kvbench.txt")"
writes=$(grep -oE 'writes [0-9.]+/s' "$RUN/kvbench.txt" | grep -oE '[0-9.]+' | head -1)
perf script -i "$RUN/perf.data" 2>/dev/null >"$RUN/perf.txt"
python3 "$ROOT/tools/flamegraph.py" --folded <"$RUN/perf.txt" >"$RUN/folded.txt"
if [[ -n $SVG ]]; then
  mkdir -p "$(dirname "$SVG")"
  python3 "$ROOT/tools/flamegraph.py" --title "kvd x3, $SHARDS shards, $CONC writes in flight, $VALUE-byte values ($(git -C "$ROOT" rev-parse --short HEAD), perf -F 499)" \
    <"$RUN/perf.txt" >"$SVG"
fi
echo "# $SHARDS shards, $CONC in flight: $writes writes/s over the run ($(grep -m1 throughput "$RUN/kvbench.txt"))"
python3 "$ROOT/bench/profile_table.py" "$RUN/folded.txt" --writes-per-second "$writes" \
  --seconds "$SECONDS_" --hz 499
