#!/usr/bin/env bash
# Local RingKV cluster on 127.0.0.1 for trying things out (like etcd's Procfile or
# `tiup playground`). Installs what is missing, builds kvd/kvctl if needed, starts N kvd
# processes, waits until a leader serves writes and prints how to talk to it.
#
#   tools/launch_cluster.sh start [N]    start N nodes (default 3; idempotent)
#   tools/launch_cluster.sh status       which nodes run, and kvctl cluster status
#   tools/launch_cluster.sh kill K       SIGKILL node K (its id, as in `kvctl cluster status`)
#   tools/launch_cluster.sh restart K    stop node K if running, start it again with its data
#   tools/launch_cluster.sh stop         SIGTERM every node, wait until they exit
#   tools/launch_cluster.sh logs [K] [-f]  last lines of node K's log (all nodes if no K)
#   tools/launch_cluster.sh env          print `export KVCTL_ENDPOINTS=...`
#   tools/launch_cluster.sh clean        stop, then delete the data dir
#
# Options (before or after the command) and their environment variables:
#   --data-dir DIR          RINGKV_DATA_DIR          default ./data (in the repo)
#   --client-port-base P    RINGKV_CLIENT_PORT_BASE  default 7001 (node K listens on P+K-1)
#   --peer-port-base P      RINGKV_PEER_PORT_BASE    default 7101
#   --admin-port-base P     RINGKV_ADMIN_PORT_BASE   default 8001 (status page, /metrics)
#   --cluster-id ID         RINGKV_CLUSTER_ID        default 1
#   --build-dir DIR         BUILD_DIR                default ./build
#   --no-build              RINGKV_NO_BUILD=1        use the binaries already built
#   --tls                   RINGKV_TLS=1             TLS on every port with client certificates
#                                                    required: certificates from
#                                                    tools/make_certs.sh in DIR/certs, kvctl as
#                                                    user root (docs/security.md)
# The data dir remembers the cluster's size, ports and TLS (cluster.env), so later commands
# need no options. Extra kvd flags: RINGKV_KVD_FLAGS="--tick_ms=20 ...".
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

PROG="tools/launch_cluster.sh"
HOST=127.0.0.1
DATA_DIR=${RINGKV_DATA_DIR:-data}
CLIENT_BASE=${RINGKV_CLIENT_PORT_BASE:-7001}
PEER_BASE=${RINGKV_PEER_PORT_BASE:-7101}
ADMIN_BASE=${RINGKV_ADMIN_PORT_BASE:-8001}
CLUSTER_ID=${RINGKV_CLUSTER_ID:-1}
BUILD_DIR=${BUILD_DIR:-build}
NO_BUILD=${RINGKV_NO_BUILD:-0}
WANT_TLS=${RINGKV_TLS:-0}
START_TIMEOUT=${RINGKV_START_TIMEOUT:-30}
STOP_TIMEOUT=${RINGKV_STOP_TIMEOUT:-15}

die() {
  echo "$PROG: $*" >&2
  exit 1
}
note() { echo "$PROG: $*" >&2; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------------------------------------
# Arguments

CMD=""
ARGS=()
FOLLOW=0
while (($# > 0)); do
  case "$1" in
    --data-dir) DATA_DIR=${2:?--data-dir needs a value}; shift 2 ;;
    --data-dir=*) DATA_DIR=${1#*=}; shift ;;
    --client-port-base) CLIENT_BASE=${2:?}; shift 2 ;;
    --client-port-base=*) CLIENT_BASE=${1#*=}; shift ;;
    --peer-port-base) PEER_BASE=${2:?}; shift 2 ;;
    --peer-port-base=*) PEER_BASE=${1#*=}; shift ;;
    --admin-port-base) ADMIN_BASE=${2:?}; shift 2 ;;
    --admin-port-base=*) ADMIN_BASE=${1#*=}; shift ;;
    --cluster-id) CLUSTER_ID=${2:?}; shift 2 ;;
    --cluster-id=*) CLUSTER_ID=${1#*=}; shift ;;
    --build-dir) BUILD_DIR=${2:?}; shift 2 ;;
    --build-dir=*) BUILD_DIR=${1#*=}; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    --tls) WANT_TLS=1; shift ;;
    -f|--follow) FOLLOW=1; shift ;;
    -h|--help|help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see $PROG --help)" ;;
    *)
      if [[ -z $CMD ]]; then CMD=$1; else ARGS+=("$1"); fi
      shift ;;
  esac
done
[[ -n $CMD ]] || { usage; exit 2; }

DATA_DIR=$(realpath -m -- "$DATA_DIR")
STATE="$DATA_DIR/cluster.env"
KVD="$REPO/$BUILD_DIR/src/server/kvd"
KVCTL="$REPO/$BUILD_DIR/tools/kvctl/kvctl"
[[ $BUILD_DIR = /* ]] && KVD="$BUILD_DIR/src/server/kvd" && KVCTL="$BUILD_DIR/tools/kvctl/kvctl"

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
if ! is_uint "$CLIENT_BASE" || ! is_uint "$PEER_BASE" || ! is_uint "$ADMIN_BASE" ||
  ! is_uint "$CLUSTER_ID"; then
  die "port bases and cluster id must be numbers"
fi

# A cluster recorded in the data dir wins over defaults (its ports and size are fixed).
N=0
TLS=$WANT_TLS
if [[ -f $STATE ]]; then
  TLS=0
  # shellcheck disable=SC1090
  source "$STATE"
  if ((WANT_TLS && !TLS)) && [[ $CMD == start ]]; then
    die "the cluster in $DATA_DIR runs without TLS; '$PROG clean' it first to start one with --tls"
  fi
fi
CERTS="$DATA_DIR/certs"
# kvctl's TLS flags as user root (empty without TLS).
tls_kvctl_flags() {
  ((TLS)) || return 0
  echo "--cacert=$CERTS/ca.crt --cert=$CERTS/client-root.crt --key=$CERTS/client-root.key"
}

client_port() { echo $((CLIENT_BASE + $1 - 1)); }
peer_port() { echo $((PEER_BASE + $1 - 1)); }
admin_port() { echo $((ADMIN_BASE + $1 - 1)); }
endpoints() {
  local out="" k
  for ((k = 1; k <= N; k++)); do out+="${out:+,}$HOST:$(client_port "$k")"; done
  echo "$out"
}
pid_file() { echo "$DATA_DIR/run/$1.pid"; }
log_file() { echo "$DATA_DIR/logs/$1.log"; }

# The pid of node K if it runs (the pid file's process is a kvd with our --node_id).
node_pid() {
  local f pid
  f=$(pid_file "$1")
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  [[ -r /proc/$pid/cmdline ]] || return 1
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *" --node_id=$1 "* && $cmdline == *" --data_dir=$DATA_DIR/$1 "* ]] || return 1
  echo "$pid"
}
running() { node_pid "$1" >/dev/null; }

check_node_id() {
  [[ -f $STATE ]] || die "no cluster in $DATA_DIR (run: $PROG start)"
  if ! is_uint "${1:-}" || (($1 < 1 || $1 > N)); then
    die "node id must be 1..$N (as in 'kvctl cluster status'), got '${1:-}'"
  fi
}

have_kvctl() { [[ -x $KVCTL ]]; }
# shellcheck disable=SC2046
kvctl() { "$KVCTL" --endpoints="$(endpoints)" $(tls_kvctl_flags) "$@"; }

# ---------------------------------------------------------------------------------------------
# Build

build() {
  bash tools/install_deps.sh
  ((NO_BUILD)) && { [[ -x $KVD ]] || die "--no-build, but $KVD does not exist"; return 0; }
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    note "configuring $BUILD_DIR (RelWithDebInfo)"
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  local targets=(kvd)
  if ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep -q '^kvctl:'; then targets+=(kvctl); fi
  # Ninja does nothing (quickly) when the binaries are up to date.
  if ! ninja -C "$BUILD_DIR" -n "${targets[@]}" 2>/dev/null | grep -q 'ninja: no work to do'; then
    note "building ${targets[*]} in $BUILD_DIR"
    ninja -C "$BUILD_DIR" -j "${JOBS:-$(nproc)}" "${targets[@]}" >/dev/null ||
      die "build failed; run: ninja -C $BUILD_DIR ${targets[*]}"
  fi
  [[ -x $KVD ]] || die "build produced no $KVD"
}

# ---------------------------------------------------------------------------------------------
# Ports

# Who listens on TCP port $1 (empty when free).
port_user() {
  ss -Hltnp "sport = :$1" 2>/dev/null | head -1 |
    sed -n 's/.*users:((\("[^"]*",pid=[0-9]*\).*/\1/p; t; s/.*/a process/p'
}

check_ports_free() {
  local k busy=()
  for k in "$@"; do
    for p in "$(client_port "$k")" "$(peer_port "$k")" "$(admin_port "$k")"; do
      local who
      who=$(port_user "$p")
      [[ -n $who ]] && busy+=("$HOST:$p (node $k) is in use by $who")
    done
  done
  if ((${#busy[@]} > 0)); then
    local b
    for b in "${busy[@]}"; do echo "$PROG: port busy: $b" >&2; done
    die "free the ports, or choose others: $PROG start --client-port-base P --peer-port-base Q" \
      "(or RINGKV_CLIENT_PORT_BASE / RINGKV_PEER_PORT_BASE)"
  fi
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Processes

start_node() {
  local k=$1 peers="" clients="" j
  for ((j = 1; j <= N; j++)); do
    peers+="${peers:+,}$j=$HOST:$(peer_port "$j")"
    clients+="${clients:+,}$j=$HOST:$(client_port "$j")"
  done
  mkdir -p "$DATA_DIR/run" "$DATA_DIR/logs"
  local tls_flags=()
  if ((TLS)); then
    tls_flags=(--tls_cert="$CERTS/node-$k.crt" --tls_key="$CERTS/node-$k.key"
      --tls_ca="$CERTS/ca.crt" --client_cert_auth=required)
  fi
  # shellcheck disable=SC2086
  setsid "$KVD" --node_id="$k" --data_dir="$DATA_DIR/$k" \
    --listen_client="$HOST:$(client_port "$k")" --listen_peer="$HOST:$(peer_port "$k")" \
    --listen_admin="$HOST:$(admin_port "$k")" \
    --initial_cluster="$peers" --initial_cluster_clients="$clients" --cluster_id="$CLUSTER_ID" \
    "${tls_flags[@]}" ${RINGKV_KVD_FLAGS:-} </dev/null >>"$(log_file "$k")" 2>&1 &
  echo $! >"$(pid_file "$k")"
}

# Waits (deadline $2 s) until node $1 accepts on its client port; fails if it exits. "Exited"
# means the started pid is gone: right after the fork the pid runs this script's subshell, not
# yet kvd, so matching its command line (running) would misreport a starting node as dead.
wait_node_up() {
  local k=$1 deadline=$((SECONDS + $2)) pid
  pid=$(<"$(pid_file "$k")")
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      note "node $k exited during startup; last lines of $(log_file "$k"):"
      tail -n 15 "$(log_file "$k")" >&2 || true
      return 1
    fi
    port_open "$(client_port "$k")" && return 0
    sleep 0.1
  done
  note "node $k does not accept connections on $HOST:$(client_port "$k") after $2 s"
  return 1
}

# Waits until every shard has a leader: kvctl endpoint health (a linearizable read of every
# shard, which writes nothing into the user's key space) passes; without kvctl, some node's log
# names a leader.
wait_leader() {
  local deadline=$((SECONDS + START_TIMEOUT)) k
  while ((SECONDS < deadline)); do
    if have_kvctl; then
      # shellcheck disable=SC2046
      if timeout 10 "$KVCTL" --endpoints="$(endpoints)" $(tls_kvctl_flags) endpoint health \
        >/dev/null 2>&1; then
        return 0
      fi
    else
      for ((k = 1; k <= N; k++)); do
        if [[ -f $(log_file "$k") ]] &&
          grep -qE 'leader is now node|shard replicas here have a leader' "$(log_file "$k")" &&
          port_open "$(client_port "$k")"; then
          return 0
        fi
      done
    fi
    sleep 0.2
  done
  return 1
}

# SIGTERM node $1 and wait for it (SIGKILL after STOP_TIMEOUT).
stop_node() {
  local k=$1 pid deadline
  pid=$(node_pid "$k") || { rm -f "$(pid_file "$k")"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    note "node $k (pid $pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  fi
  rm -f "$(pid_file "$k")"
  echo "node $k stopped (pid $pid)"
}

# The KVCTL_* exports of the TLS flags (nothing without TLS).
tls_exports() {
  ((TLS)) || return 0
  echo "  export KVCTL_CACERT=$CERTS/ca.crt"
  echo "  export KVCTL_CERT=$CERTS/client-root.crt KVCTL_KEY=$CERTS/client-root.key"
}

print_banner() {
  local eps kvctl_cmd SCHEME=http
  ((TLS)) && SCHEME=https
  eps=$(endpoints)
  kvctl_cmd=$KVCTL
  [[ $kvctl_cmd == "$REPO/"* ]] && kvctl_cmd=${kvctl_cmd#"$REPO/"}
  cat <<EOF

RingKV: $N-node cluster on $HOST (cluster id $CLUSTER_ID), data and logs in $DATA_DIR
$( ((TLS)) && echo "TLS on every port, client certificates required; certificates in $CERTS" ||
  echo "No TLS: every port is unauthenticated (start with --tls for certificates)")
$(for ((k = 1; k <= N; k++)); do
    printf '  node %d  pid %-7s client %s:%d  peer %s:%d  log %s\n' "$k" \
      "$(node_pid "$k" || echo -)" "$HOST" "$(client_port "$k")" "$HOST" "$(peer_port "$k")" \
      "$(log_file "$k")"
  done)

Status page (the ring, nodes, shards; any node's): $SCHEME://$HOST:$(admin_port 1)/
  health: $SCHEME://$HOST:$(admin_port 1)/readyz?verbose   metrics: $SCHEME://$HOST:$(admin_port 1)/metrics
$( ((TLS)) && echo "  (TLS: curl --cacert $CERTS/ca.crt ...)")

Talk to it (from $REPO):
  export KVCTL_ENDPOINTS=$eps
$(tls_exports)
  $kvctl_cmd put greeting hello
  $kvctl_cmd get greeting
  $kvctl_cmd get --prefix gr
  $kvctl_cmd cluster status -w table
  $kvctl_cmd shard list -w table
  $kvctl_cmd endpoint health --cluster
EOF
  have_kvctl || echo "  (kvctl is not built yet in $BUILD_DIR; the commands above need it)"
  cat <<EOF

Break it:
  $PROG kill 1       # SIGKILL node 1 (ids as in 'kvctl cluster status')
  $PROG restart 1    # start it again with its data; it catches up
  $PROG logs 1       # its log
  $PROG stop         # SIGTERM all;  $PROG clean  also deletes $DATA_DIR
EOF
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_start() {
  local want=${ARGS[0]:-}
  if [[ -n $want ]]; then
    if ! is_uint "$want" || ((want < 1 || want > 99)); then die "N must be 1..99, got '$want'"; fi
  fi
  if [[ -f $STATE ]]; then
    if [[ -n $want && $want != "$N" ]]; then
      die "$DATA_DIR holds a $N-node cluster; to start $want nodes run '$PROG clean' first" \
        "(or use another --data-dir)"
    fi
  else
    N=${want:-3}
  fi

  build

  local k to_start=()
  for ((k = 1; k <= N; k++)); do running "$k" || to_start+=("$k"); done
  if ((${#to_start[@]} == 0)); then
    note "all $N nodes already running"
  else
    check_ports_free "${to_start[@]}"
    if [[ ! -f $STATE ]]; then  # a new cluster: remember its shape for later commands
      mkdir -p "$DATA_DIR" || die "cannot create $DATA_DIR"
      printf 'N=%d\nCLIENT_BASE=%d\nPEER_BASE=%d\nADMIN_BASE=%d\nCLUSTER_ID=%d\nTLS=%d\n' \
        "$N" "$CLIENT_BASE" "$PEER_BASE" "$ADMIN_BASE" "$CLUSTER_ID" "$TLS" >"$STATE"
    fi
    if ((TLS)); then
      bash tools/make_certs.sh --dir "$CERTS" --nodes "$N" >/dev/null ||
        die "cannot make certificates in $CERTS (tools/make_certs.sh)"
    fi
    for k in "${to_start[@]}"; do start_node "$k"; done
    note "started node(s) ${to_start[*]}; waiting for a leader (up to ${START_TIMEOUT}s)"
    for k in "${to_start[@]}"; do wait_node_up "$k" "$START_TIMEOUT" || die "node $k failed to start"; done
  fi
  wait_leader || die "no leader serves writes after ${START_TIMEOUT}s; see '$PROG logs'"
  print_banner
}

cmd_stop() {
  [[ -f $STATE ]] || { note "no cluster in $DATA_DIR"; return 0; }
  local k pids=() deadline
  for ((k = 1; k <= N; k++)); do
    pids[k]=$(node_pid "$k") || pids[k]=""
    [[ -n ${pids[k]} ]] && kill -TERM "${pids[k]}" 2>/dev/null
  done
  deadline=$((SECONDS + STOP_TIMEOUT))
  for ((k = 1; k <= N; k++)); do
    local pid=${pids[k]}
    rm -f "$(pid_file "$k")"
    [[ -n $pid ]] || continue
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      note "node $k (pid $pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    fi
    echo "node $k stopped (pid $pid)"
  done
  [[ -n ${pids[*]// /} ]] || note "no node was running"
}

cmd_status() {
  [[ -f $STATE ]] || die "no cluster in $DATA_DIR (run: $PROG start)"
  local k up=0
  for ((k = 1; k <= N; k++)); do
    if running "$k"; then
      up=$((up + 1))
      printf 'node %d  running  pid %-7s client %s:%d  peer %s:%d\n' "$k" "$(node_pid "$k")" \
        "$HOST" "$(client_port "$k")" "$HOST" "$(peer_port "$k")"
    else
      printf 'node %d  stopped                client %s:%d  peer %s:%d\n' "$k" \
        "$HOST" "$(client_port "$k")" "$HOST" "$(peer_port "$k")"
    fi
  done
  echo "$up of $N nodes running; export KVCTL_ENDPOINTS=$(endpoints)"
  if ((up > 0)) && have_kvctl; then
    echo
    kvctl cluster status -w table || true
  fi
}

cmd_kill() {
  local k=${ARGS[0]:-} pid
  check_node_id "$k"
  pid=$(node_pid "$k") || { note "node $k is not running"; return 0; }
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$(pid_file "$k")"
  echo "node $k killed (SIGKILL, pid $pid); restart it with: $PROG restart $k"
}

cmd_restart() {
  local k=${ARGS[0]:-}
  check_node_id "$k"
  build
  stop_node "$k" >/dev/null
  check_ports_free "$k"
  start_node "$k"
  wait_node_up "$k" "$START_TIMEOUT" || die "node $k failed to start"
  echo "node $k restarted (pid $(node_pid "$k")) with its data in $DATA_DIR/$k"
}

cmd_logs() {
  [[ -f $STATE ]] || die "no cluster in $DATA_DIR"
  local k=${ARGS[0]:-}
  if [[ -n $k ]]; then
    check_node_id "$k"
    if ((FOLLOW)); then exec tail -n 50 -f "$(log_file "$k")"; fi
    tail -n 50 "$(log_file "$k")"
  else
    local files=()
    for ((k = 1; k <= N; k++)); do [[ -f $(log_file "$k") ]] && files+=("$(log_file "$k")"); done
    ((${#files[@]} > 0)) || die "no logs yet"
    if ((FOLLOW)); then exec tail -n 20 -f "${files[@]}"; fi
    tail -n 20 "${files[@]}"
  fi
}

cmd_env() {
  [[ -f $STATE ]] || die "no cluster in $DATA_DIR (run: $PROG start)"
  echo "export KVCTL_ENDPOINTS=$(endpoints)"
  tls_exports | sed 's/^  //'
}

cmd_clean() {
  cmd_stop
  if [[ -d $DATA_DIR ]]; then
    if [[ -f $STATE || -z $(ls -A "$DATA_DIR") ]]; then
      rm -rf "$DATA_DIR"
      echo "removed $DATA_DIR"
    else
      die "$DATA_DIR has no cluster.env; not deleting a directory this script did not create"
    fi
  fi
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill) cmd_kill ;;
  restart) cmd_restart ;;
  logs) cmd_logs ;;
  env) cmd_env ;;
  clean) cmd_clean ;;
  *) die "unknown command '$CMD' (start|stop|status|kill K|restart K|logs [K]|env|clean)" ;;
esac
