#!/usr/bin/env bash
# A node killed under load (issue 13: "throughput with a node killed under load recovers within
# 2 s after gossip declares it dead"). Each run: a fresh 3-node RingKV with --shards=N, kvbench
# writing 128-byte values at 64 in flight (100 ms timeline), and after the warmup and --before
# seconds of load, kill -9 of the node that leads the most groups. Then, from the timeline and
# the survivors' logs (bench/kill_under_load.py has the definitions): the 3-node steady
# throughput, the time from the kill to the first survivor's "gossip: member N (...) dead", the
# time until throughput is back at >= 90% of the 2-node steady level (once it was declared dead),
# the errors clients saw, and the p99 from the kill until 1 s after it was back.
#
#   bench/kill_under_load.sh [--build-dir DIR] [--shards N] [--runs R] [--warmup S]
#                            [--before S] [--after S] [--keep DIR] [--quick]
#   defaults: build 32 3 8 10 30; --quick (smoke): 1 run, 4 shards, 1 s warmup, 2 s before, 15 s
#   after (numbers not meaningful). --keep DIR keeps logs and timelines (else a temp dir, removed).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build S=32 RUNS=3 WARMUP=8 BEFORE=10 AFTER=30 KEEP=""
while (($#)); do
  case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --shards) S=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --before) BEFORE=$2; shift 2 ;;
    --after) AFTER=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --quick) RUNS=1 S=4 WARMUP=1 BEFORE=2 AFTER=15; shift ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done
KVD=$BUILD/src/server/kvd KVCTL=$BUILD/tools/kvctl/kvctl KVBENCH=$BUILD/tools/kvbench/kvbench
for b in "$KVD" "$KVCTL" "$KVBENCH"; do [[ -x $b ]] || { echo "missing $b (--build-dir)"; exit 2; }; done
RUN=${KEEP:-$(mktemp -d /tmp/kill_under_load.XXXXXX)}
mkdir -p "$RUN"
PIDS=() BENCH=""
stop() { local p; for p in "${PIDS[@]}" $BENCH; do kill -TERM "$p" 2>/dev/null || true; done
         for p in "${PIDS[@]}" $BENCH; do wait "$p" 2>/dev/null || true; done; PIDS=() BENCH=""; }
trap 'stop; [[ -n $KEEP ]] || rm -rf "$RUN"' EXIT
port_free() { [[ -z $(ss -Hltnu "sport = :$1" 2>/dev/null) ]]; }
until_ok() {  # until_ok SECONDS CMD...: retries CMD until it succeeds (false after SECONDS)
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}

one_run() {  # one_run DIR: a fresh cluster, the load, the kill; leaves run.env and the timeline
  local dir=$1 base ok k peers="" clients="" ep
  mkdir -p "$dir"
  for _ in $(seq 50); do
    base=$((10000 + RANDOM % 20000)) ok=1
    for k in 0 1 2 3 4 5; do port_free $((base + k)) || ok=0; done
    ((ok)) && break
  done
  for k in 1 2 3; do
    peers+="${peers:+,}$k=127.0.0.1:$((base + 2 + k))"
    clients+="${clients:+,}$k=127.0.0.1:$((base + k - 1))"
  done
  ep="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
  for k in 1 2 3; do
    "$KVD" --node_id=$k --data_dir="$dir/node$k" --listen_client=127.0.0.1:$((base + k - 1)) \
      --listen_peer=127.0.0.1:$((base + 2 + k)) --initial_cluster="$peers" \
      --initial_cluster_clients="$clients" --shards="$S" >"$dir/node$k.log" 2>&1 &
    PIDS+=($!)
  done
  until_ok 120 "$KVCTL" --endpoints="$ep" --command-timeout=2s put __kill_probe x ||
    { echo "no write in 120 s ($dir)"; return 1; }
  "$KVBENCH" --endpoints="$ep" --concurrency=64 --value-size=128 --warmup="$WARMUP" \
    --duration=$((BEFORE + AFTER)) --timeline="$dir/timeline.txt" --timeline-ms=100 -w json \
    >"$dir/kvbench.json" 2>"$dir/kvbench.err" &
  BENCH=$!
  # The victim: the node leading the most groups at the kill (their clients must find new
  # leaders). Each group's leader comes from a status query halfway through the warmup (a
  # status query under load slows the writes for a moment) updated by the changes the nodes
  # logged since: placement moves leaders in the first seconds.
  sleep "$(python3 -c "print($WARMUP / 2)")"  # pacing, not synchronization
  local victim leads kill_ts
  "$KVCTL" --endpoints="$ep" --command-timeout=5s -w json cluster status >"$dir/status.json"
  sleep "$(python3 -c "print($WARMUP / 2 + $BEFORE)")"  # the 3-node level is measured meanwhile
  read -r victim leads < <(python3 "$ROOT/bench/kill_under_load.py" --victim "$dir")
  kill_ts=$(date +%s.%N)
  kill -KILL "${PIDS[$((victim - 1))]}"
  { wait "${PIDS[$((victim - 1))]}"; } 2>/dev/null || true  # (braces: no "Killed" notice)
  wait "$BENCH" || { echo "kvbench failed ($dir):"; cat "$dir/kvbench.err"; return 1; }
  BENCH=""
  stop
  # kill_under_load.py finds the death declaration and the elections in the nodes' logs.
  printf 'KILL_TS=%s\nVICTIM=%s\nVICTIM_LEADS=%s\nSHARDS=%s\nWARMUP=%s\n' \
    "$kill_ts" "$victim" "$leads" "$S" "$WARMUP" >"$dir/run.env"
}

echo "kill_under_load: $RUNS run(s), $S shards, 64 writes in flight, kill after ${WARMUP}+${BEFORE} s," \
  "${AFTER} s after; $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null), $(nproc) cores"
dirs=()
for r in $(seq "$RUNS"); do
  one_run "$RUN/run$r"
  python3 "$ROOT/bench/kill_under_load.py" "$RUN/run$r"
  dirs+=("$RUN/run$r")
done
((RUNS > 1)) && python3 "$ROOT/bench/kill_under_load.py" "${dirs[@]}" | sed -n '/^over/,$p'
[[ -z $KEEP ]] || echo "logs and timelines in $RUN"
