#!/usr/bin/env bash
# RingKV against etcd (issue 13): the same kvbench rows against a 3-member etcd 3.4 (Debian's
# etcd-server) and a 3-node RingKV, both on 127.0.0.1, alternating the systems row by row so a
# slow period of the shared machine hits both. Results: docs/benchmarks.md, "RingKV and etcd".
#
#   bench/compare_etcd.sh [options]
#
# Rows (100,000 keys, closed loop, kvbench's one load driver and histograms for both systems):
#   w1 w64 w256   writes of 128-byte values at 1, 64 and 256 operations in flight
#   lin64 ser64   linearizable / serializable reads at 64
#   mix64         50/50 linearizable reads and writes at 64
#   big64         writes of 64 KiB values at 64 (last: its values would skew the reads)
# For every round and every RingKV shard count, a fresh etcd cluster and a fresh RingKV cluster
# run every row, etcd first; before each row the script waits until both clusters are idle
# (under 5% of a core), so neither pays for the other's leftover work. CPU per operation = the
# three servers' utime+stime over kvbench's measured window (kvbench --cpu-pids reads
# /proc/PID/stat when the warmup ends and when the window closes) divided by the operations
# counted in it; kvbench's own CPU is reported alike.
#
# Options:
#   --build-dir DIR   holds src/server/kvd, tools/kvctl/kvctl and tools/kvbench/kvbench built
#                     with the etcd target (RelWithDebInfo)               default ./build
#   --duration S      measured seconds per row                             default 10
#   --warmup S        unmeasured seconds before each row                   default 2
#   --rounds N        rounds; the table shows medians over rounds          default 1
#   --shards LIST     RingKV shard counts, comma-separated                 default 1,32,256
#   --rows LIST       rows to run, comma-separated                         default all, as above
#   --kvd-flags "F"   extra flags for every kvd, e.g. "--lease_reads"      default none
#   --out FILE        also write the markdown report (command, machine, table) to FILE
#   --keep DIR        keep logs and raw kvbench JSON in DIR                default a temp dir,
#                     removed unless a step fails
#   --etcd-endpoints all|leader
#                     where kvbench sends etcd calls: leader = the current leader only (found
#                     before each row), as RingKV's client sends to shard leaders, and etcd's
#                     best case on one machine; all = round-robin over the three members, as
#                     clientv3 does (followers forward writes and ReadIndex to the leader)
#                                                                          default leader
#   --quick           smoke run: 1 s rows after 0.5 s warmup, shards 4 (unless given)
#
# Needs: etcd and etcdctl (tools/install_deps.sh bench-etcd), python3. Exit 77 when the etcd
# binaries or kvbench's etcd target are missing (ctest reports the smoke test as skipped).
set -euo pipefail

PROG=bench/compare_etcd.sh
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$REPO/build"
DURATION=10
WARMUP=2
ROUNDS=1
SHARDS=""
ROWS="w1,w64,w256,lin64,ser64,mix64,big64"
OUT=""
KEEP=""
QUICK=0
ETCD_MODE=leader
KVD_FLAGS=""
KEYS=100000
ARGS=$(printf "%q " "$@"); ARGS=${ARGS% }

die() { echo "$PROG: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIPPED: $*" >&2; exit 77; }

while (($# > 0)); do
  case "$1" in
    --build-dir) BUILD=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --shards) SHARDS=${2:?}; shift 2 ;;
    --rows) ROWS=${2:?}; shift 2 ;;
    --kvd-flags) KVD_FLAGS=${2?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --keep) KEEP=${2:?}; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --etcd-endpoints) ETCD_MODE=${2:?}; shift 2 ;;
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
if ((QUICK)); then
  DURATION=1
  WARMUP=0.5
  [[ -n $SHARDS ]] || SHARDS=4
fi
[[ -n $SHARDS ]] || SHARDS=1,32,256
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, got '$ROUNDS'"
[[ $SHARDS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--shards must be a list like 1,32, got '$SHARDS'"
[[ $ETCD_MODE =~ ^(all|leader)$ ]] || die "--etcd-endpoints must be all or leader, got '$ETCD_MODE'"
for r in ${ROWS//,/ }; do
  [[ $r =~ ^(w1|w64|w256|lin64|ser64|mix64|big64)$ ]] || die "unknown row '$r' (see --help)"
done

KVD=$BUILD/src/server/kvd
KVCTL=$BUILD/tools/kvctl/kvctl
KVBENCH=$BUILD/tools/kvbench/kvbench
for bin in "$KVD" "$KVCTL" "$KVBENCH"; do
  [[ -x $bin ]] || die "$bin is missing (build: ninja -C $BUILD kvd kvctl kvbench)"
done
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  skip "etcd/etcdctl not installed (tools/install_deps.sh bench-etcd)"
fi
if "$KVBENCH" --target=etcd --endpoints= 2>&1 | grep -q 'built without the etcd target'; then
  skip "$KVBENCH has no etcd target (tools/install_deps.sh bench-etcd, re-run cmake, rebuild)"
fi
command -v python3 >/dev/null || die "python3 is missing (tools/install_deps.sh)"

RUN=${KEEP:-$(mktemp -d /tmp/ringkv-compare-etcd.XXXXXX)}
mkdir -p "$RUN"
RESULTS=$RUN/results.tsv
: >"$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

ALL_PIDS=()  # every process this script started and has not reaped; killed by pid on exit
# forget PID...: reaped, so no longer ours to kill (the pid may be reused by anyone).
forget() {
  local q p keep=()
  for q in "${ALL_PIDS[@]}"; do
    for p in "$@"; do [[ $q == "$p" ]] && continue 2; done
    keep+=("$q")
  done
  ALL_PIDS=("${keep[@]}")
}
OK_EXIT=0
cleanup() {
  local p
  for p in "${ALL_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if ((OK_EXIT)) && [[ -z $KEEP ]]; then
    rm -rf "$RUN"
  else
    rm -rf "$RUN"/r*/etcd/e[0-9] "$RUN"/r*/ringkv/node[0-9]  # data, possibly gigabytes
    echo "$PROG: logs and raw results in $RUN" >&2
  fi
}
trap cleanup EXIT
trap "exit 130" INT TERM

port_free() { [[ -z $(ss -Hltnu "sport = :$1" 2>/dev/null) ]]; }
# N consecutive free ports from a random base below the kernel's ephemeral range (the runs'
# thousands of client connections take ephemeral ports, which could take a picked one first).
EPHEMERAL_LOW=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
pick_ports() {
  local n=$1 tries base k ok
  for ((tries = 0; tries < 50; tries++)); do
    base=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000 - n)))
    ok=1
    for ((k = 0; k < n; k++)); do port_free $((base + k)) || { ok=0; break; }; done
    ((ok)) && { echo "$base"; return 0; }
  done
  die "no $n free ports found"
}

# wait_until SECONDS WHAT CMD...: runs CMD until it succeeds, or dies after SECONDS.
wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what not ready in $limit s (logs: $RUN)"
    sleep 0.3
  done
}

# cpu_ticks PID...: the summed utime+stime (clock ticks) of the live PIDs.
cpu_ticks() {
  local p sum=0 f
  for p in "$@"; do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    set -- $f
    sum=$((sum + ${12} + ${13}))
  done
  echo "$sum"
}

# wait_quiet PID...: wait (up to 60 s) until the PIDs together use under 5% of a core over
# half a second. A system goes on working after its row ends (etcd's followers apply and
# commit a 64 KiB row's backlog for seconds; RocksDB flushes and compacts), and the next row,
# on the other system, would pay for it: without this wait, whichever system ran second in a
# 64 KiB pair lost about a third of its writes. Prints the seconds waited when over 1 s.
wait_quiet() {
  local start=$SECONDS hz before after
  hz=$(getconf CLK_TCK)
  while ((SECONDS - start < 60)); do
    before=$(cpu_ticks "$@")
    sleep 0.5
    after=$(cpu_ticks "$@")
    if (((after - before) * 100 < hz * 5 / 2)); then
      ((SECONDS - start <= 1)) || echo "  (waited $((SECONDS - start)) s for the servers to go quiet)"
      return 0
    fi
  done
  echo "  (the servers did not go quiet in 60 s; running the row anyway)"
}

SERVER_PIDS=()  # the three servers of the system under test
ENDPOINTS=""

stop_servers() {
  local p
  for p in "${SERVER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  forget "${SERVER_PIDS[@]}"
  SERVER_PIDS=()
}

etcd_ready() {
  etcdctl --endpoints="$ENDPOINTS" --command-timeout=2s endpoint health &&
    etcdctl --endpoints="$ENDPOINTS" --command-timeout=2s put __compare_etcd_probe ok
}

# start_etcd DIR: a 3-member etcd with default timings (heartbeat 100 ms, election 1 s,
# snapshot every 100,000 entries) and an 8 GiB backend quota: without compaction every
# revision stays, and the 64 KiB rows write gigabytes.
start_etcd() {
  local dir=$1 base k cluster=""
  base=$(pick_ports 6)
  for k in 1 2 3; do cluster+="${cluster:+,}e$k=http://127.0.0.1:$((base + 2 + k))"; done
  ENDPOINTS="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
  mkdir -p "$dir"
  for k in 1 2 3; do
    etcd --name "e$k" --data-dir "$dir/e$k" \
      --listen-client-urls "http://127.0.0.1:$((base + k - 1))" \
      --advertise-client-urls "http://127.0.0.1:$((base + k - 1))" \
      --listen-peer-urls "http://127.0.0.1:$((base + 2 + k))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((base + 2 + k))" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token "compare-etcd-$$-$base" \
      --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) \
      --logger zap --log-outputs stderr --log-level warn >"$dir/e$k.log" 2>&1 &
    SERVER_PIDS+=($!)
    ALL_PIDS+=($!)
  done
  wait_until 60 "etcd in $dir" etcd_ready
}

# The client URL (host:port) of the etcd member that leads now, of the members at $1; retried
# for 20 s (an election may be under way).
etcd_leader() {
  local deadline=$((SECONDS + 20))
  until etcd_leader_once "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || die "no etcd member leads (logs: $RUN)"
    sleep 0.3
  done
}
etcd_leader_once() {
  etcdctl --endpoints="$1" --command-timeout=5s endpoint status -w json | python3 -c '
import json, sys
leaders = [e["Endpoint"].split("://")[-1] for e in json.load(sys.stdin)
           if e["Status"]["leader"] == e["Status"]["header"]["member_id"]]
sys.exit("no etcd member leads") if not leaders else print(leaders[0])'
}

ringkv_ready() {
  "$KVCTL" --endpoints="$ENDPOINTS" --command-timeout=2s cluster status -w table 2>/dev/null |
    awk -F'|' -v want="$1" '/^SHARDS/ {s = 1}
      s && $2 ~ /^ *[0-9]+ *$/ {n++; l = $3; gsub(/ /, "", l); if (l == "-" || l == "0" || l == "") bad++}
      END {exit !(n >= want && bad == 0)}' &&
    "$KVCTL" --endpoints="$ENDPOINTS" --command-timeout=2s put __compare_etcd_probe ok
}

# start_ringkv DIR SHARDS: 3 kvd with default flags but --shards (and --kvd-flags); ready when every shard has a
# leader and a write succeeds (as tools/overload_bench.sh).
start_ringkv() {
  local dir=$1 shards=$2 base k peers="" clients=""
  base=$(pick_ports 6)
  for k in 1 2 3; do
    peers+="${peers:+,}$k=127.0.0.1:$((base + 2 + k))"
    clients+="${clients:+,}$k=127.0.0.1:$((base + k - 1))"
  done
  ENDPOINTS="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
  mkdir -p "$dir"
  for k in 1 2 3; do
    "$KVD" --node_id=$k --data_dir="$dir/node$k" \
      --listen_client=127.0.0.1:$((base + k - 1)) --listen_peer=127.0.0.1:$((base + 2 + k)) \
      --initial_cluster="$peers" --initial_cluster_clients="$clients" --shards="$shards" \
      $KVD_FLAGS >"$dir/node$k.log" 2>&1 &
    SERVER_PIDS+=($!)
    ALL_PIDS+=($!)
  done
  wait_until 120 "RingKV ($shards shards) in $dir" ringkv_ready "$shards"
}

row_flags() {
  case "$1" in
    w1) echo "--concurrency=1 --value-size=128 --read-ratio=0" ;;
    w64) echo "--concurrency=64 --value-size=128 --read-ratio=0" ;;
    w256) echo "--concurrency=256 --value-size=128 --read-ratio=0" ;;
    lin64) echo "--concurrency=64 --value-size=128 --read-ratio=1 --consistency=l" ;;
    ser64) echo "--concurrency=64 --value-size=128 --read-ratio=1 --consistency=s" ;;
    mix64) echo "--concurrency=64 --value-size=128 --read-ratio=0.5 --consistency=l" ;;
    big64) echo "--concurrency=64 --value-size=65536 --read-ratio=0" ;;
  esac
}

# run_row SYSTEM TARGET SHARDS ROUND ROW: one kvbench run against the servers in SERVER_PIDS;
# appends a line to results.tsv.
run_row() {
  local system=$1 target=$2 shards=$3 round=$4 row=$5 json pids bpid rc=0
  json="$RUN/r$round-s$shards-$row-$system.json"
  pids=$(IFS=,; echo "${SERVER_PIDS[*]}")
  # kvbench samples the servers' CPU (--cpu-pids) and its own at the edges of its measured
  # window.
  # shellcheck disable=SC2046
  "$KVBENCH" --target="$target" --endpoints="$ENDPOINTS" $(row_flags "$row") --keys=$KEYS \
    --duration="$DURATION" --warmup="$WARMUP" --cpu-pids="$pids" -w json >"$json" 2>"$json.err" &
  bpid=$!
  ALL_PIDS+=("$bpid")
  wait "$bpid" || rc=$?
  forget "$bpid"
  ((rc == 0)) || die "kvbench $system $row failed (exit $rc): $(tail -3 "$json.err")"
  python3 - "$json" "$system" "$shards" "$round" "$row" >>"$RESULTS" <<'EOF'
import json, sys
path, system, shards, rnd, row = sys.argv[1:]
j = json.load(open(path))
ops = j["ok_reads"] + j["ok_writes"]
errors = sum(j["errors"].values())
us = lambda seconds: 1e6 * seconds / ops if ops and seconds is not None else 0
mbs = j["writes_per_sec"] * j["config"]["value_size"] / 1e6
print("\t".join(str(x) for x in [system, shards, rnd, row, round(j["ops_per_sec"], 1),
      j["latency"]["p50_ms"], j["latency"]["p99_ms"], round(us(j["server_cpu_s"]), 1),
      round(us(j["client_cpu_s"]), 1), round(mbs, 2), errors]))
EOF
  tail -1 "$RESULTS" | awk -F'\t' '{printf "  %-6s %-6s %5s shards  %10s ops/s  p50 %s  p99 %s ms  server CPU %s us/op  client %s us/op  errors %s\n", $1, $4, $2, $5, $6, $7, $8, $9, $11}'
}

echo "$PROG: rows ${ROWS}, shards ${SHARDS}, ${ROUNDS} round(s) of ${DURATION} s (+${WARMUP} s warmup); load ${LOAD_START}; run dir ${RUN}"
for ((round = 1; round <= ROUNDS; round++)); do
  for shards in ${SHARDS//,/ }; do
    echo "round $round, RingKV at $shards shards: starting both clusters"
    start_etcd "$RUN/r$round-s$shards/etcd"
    ETCD_PIDS=("${SERVER_PIDS[@]}") ETCD_EPS=$ENDPOINTS
    SERVER_PIDS=()
    start_ringkv "$RUN/r$round-s$shards/ringkv" "$shards"
    RINGKV_PIDS=("${SERVER_PIDS[@]}") RINGKV_EPS=$ENDPOINTS
    for row in ${ROWS//,/ }; do
      wait_quiet "${ETCD_PIDS[@]}" "${RINGKV_PIDS[@]}"
      SERVER_PIDS=("${ETCD_PIDS[@]}") ENDPOINTS=$ETCD_EPS
      [[ $ETCD_MODE == all ]] || ENDPOINTS=$(etcd_leader "$ETCD_EPS")
      run_row etcd etcd "$shards" "$round" "$row"
      wait_quiet "${ETCD_PIDS[@]}" "${RINGKV_PIDS[@]}"
      SERVER_PIDS=("${RINGKV_PIDS[@]}") ENDPOINTS=$RINGKV_EPS
      run_row ringkv ringkv "$shards" "$round" "$row"
    done
    SERVER_PIDS=("${ETCD_PIDS[@]}" "${RINGKV_PIDS[@]}")
    stop_servers
    # The data (gigabytes after the 64 KiB rows); the logs stay.
    rm -rf "$RUN/r$round-s$shards"/etcd/e[0-9] "$RUN/r$round-s$shards"/ringkv/node[0-9]
  done
done

REPORT=$(python3 "$REPO/bench/compare_etcd_table.py" "$RESULTS" \
  --command "$PROG $ARGS" --commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --machine "$(nproc) cores, Linux $(uname -r), $(etcd --version | head -1); etcd calls to: $ETCD_MODE" \
  --when "$START_DATE, load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)")
echo
echo "$REPORT"
[[ -z $OUT ]] || echo "$REPORT" >"$OUT"
OK_EXIT=1
