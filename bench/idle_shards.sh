#!/usr/bin/env bash
# The idle cost of many groups (issue 13): a fresh 3-node RingKV with --shards=N (every node
# hosts N replicas), the time to the first write, each node's CPU over 30 s once it has been
# idle for --settle seconds, its RSS, then all three restarted on their data: the time to the
# first linearizable read and until every replica on every node has a leader. With --perf
# FILE, node 1 is then profiled idle for 20 s (perf record -F 999 -g) into FILE, after the
# measurement so that perf's own cost is not in it.
#
#   bench/idle_shards.sh [--build-dir DIR] [--shards N] [--settle S] [--perf FILE]
#                                                                   defaults: build 10000 60 -
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build S=10000 SETTLE=60 PERF=
while (($#)); do
  case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --shards) S=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --perf) PERF=$2; shift 2 ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done
KVD=$BUILD/src/server/kvd KVCTL=$BUILD/tools/kvctl/kvctl
RUN=$(mktemp -d /tmp/idle_shards.XXXXXX)
PIDS=()
stop() { local p; for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
         for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done; PIDS=(); }
trap 'stop; rm -rf "$RUN"' EXIT
port_free() { [[ -z $(ss -Hltnu "sport = :$1" 2>/dev/null) ]]; }
for _ in $(seq 50); do
  base=$((10000 + RANDOM % 20000)) ok=1
  for k in 0 1 2 3 4 5; do port_free $((base + k)) || ok=0; done
  ((ok)) && break
done
peers="" clients=""
for k in 1 2 3; do
  peers+="${peers:+,}$k=127.0.0.1:$((base + 2 + k))"
  clients+="${clients:+,}$k=127.0.0.1:$((base + k - 1))"
done
EP="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
start() {  # start LOGPREFIX
  for k in 1 2 3; do
    "$KVD" --node_id=$k --data_dir="$RUN/node$k" --listen_client=127.0.0.1:$((base + k - 1)) \
      --listen_peer=127.0.0.1:$((base + 2 + k)) --initial_cluster="$peers" \
      --initial_cluster_clients="$clients" --shards="$S" >"$RUN/$1$k.log" 2>&1 &
    PIDS+=($!)
  done
}
since() { python3 -c "import time; print(round(time.time() - $1, 1))"; }
until_ok() {  # until_ok SECONDS CMD...: retries CMD until it succeeds (false after SECONDS)
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}
all_led() { [[ $(grep -l "shard replicas here have a leader" "$RUN"/$1?.log | wc -l) == 3 ]]; }

t0=$(date +%s.%N); start boot
until_ok 600 "$KVCTL" --endpoints="$EP" --command-timeout=2s put __idle_probe x || { echo "no write in 600 s"; exit 1; }
echo "$S shards: first write $(since "$t0") s after start"
sleep "$SETTLE"  # pacing: the measurement starts once the groups have been idle a while
hz=$(getconf CLK_TCK) c0=()
for p in "${PIDS[@]}"; do c0+=("$(awk '{print $14 + $15}' /proc/"$p"/stat)"); done
sleep 30
for i in 0 1 2; do
  p=${PIDS[$i]} c1=$(awk '{print $14 + $15}' /proc/"${PIDS[$i]}"/stat)
  echo "node $((i + 1)): idle CPU $(python3 -c "print(round(($c1 - ${c0[$i]}) / $hz / 30 * 100, 1))")% of a core, RSS $(awk '/VmRSS/ {printf "%d MiB", $2 / 1024}' /proc/"$p"/status)"
done
if [[ -n $PERF ]]; then
  perf record -F 999 -g -o "$PERF" -p "${PIDS[0]}" -- sleep 20 >/dev/null 2>&1
  echo "node 1 profiled idle for 20 s: $PERF"
fi
stop
t0=$(date +%s.%N); start restart
until_ok 600 "$KVCTL" --endpoints="$EP" --command-timeout=2s get __idle_probe || { echo "no read in 600 s"; exit 1; }
echo "restart of all three: first linearizable read after $(since "$t0") s"
until_ok 600 all_led restart || { echo "not every replica led in 600 s"; exit 1; }
echo "restart of all three: every replica on every node has a leader after $(since "$t0") s"
