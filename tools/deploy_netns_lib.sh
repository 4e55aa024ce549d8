#!/usr/bin/env bash
# Shared by the namespaced-host tests of docs/deploy.md (tools/test_deploy_netns.sh: 3 hosts;
# tools/test_deploy_netns5.sh: 5 hosts). Sourced, not run: expects BUILD (the build dir) and
# `set -euo pipefail`; exits 0 with "SKIP: ..." without root. Gives: KVD, KVCTL, DIR (temp,
# removed at exit unless KEEP=1), fail MSG, add_host K (namespace with 10.213.0.K on a private
# bridge), start_host K FLAGS (kvd from a flagfile with the documented per-host flags, --shards=8
# and FLAGS), on1 CMD (run in host 1), until_ok CMD (poll in host 1 up to $WAIT s, default 40),
# http_status K PATH (the status code of GET http://10.213.0.K:8001PATH, asked from host 1).
# Everything started is killed at exit, by pid; the namespaces are deleted.

BUILD=${1:-build}
KVD=$(realpath "$BUILD/src/server/kvd")
KVCTL=$(realpath "$BUILD/tools/kvctl/kvctl")
if [[ $(id -u) -ne 0 ]] || ! ip netns list >/dev/null 2>&1; then
  echo "SKIP: needs root and ip netns"; exit 0
fi
TAG="rkv$$"
DIR=$(mktemp -d)
NS=()
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  ip netns del "${TAG}sw" 2>/dev/null || true
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$DIR"/*.log; do echo "== $f"; tail -20 "$f"; done >&2; exit 1; }

# A switch namespace holding the bridge; each host namespace gets a veth into it.
ip netns add "${TAG}sw"
ip -n "${TAG}sw" link add br0 type bridge
ip -n "${TAG}sw" link set br0 up
add_host() {
  local k=$1 ns="${TAG}h$1"
  ip netns add "$ns"
  NS+=("$ns")
  ip link add "v${TAG}$k" type veth peer name eth0 netns "$ns"
  ip link set "v${TAG}$k" netns "${TAG}sw"
  ip -n "${TAG}sw" link set "v${TAG}$k" master br0 up
  ip -n "$ns" addr add "10.213.0.$k/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
}
# Starts kvd on host $1 from a flagfile with the documented flags plus $2 (membership flags).
start_host() {
  local k=$1 ip="10.213.0.$1"
  cat >"$DIR/kvd$k.flags" <<FLAGS
# docs/deploy.md, host $k
--node_id=$k
--cluster_id=7
--data_dir=$DIR/data$k
--listen_client=0.0.0.0:7001
--advertise_client=$ip:7001
--listen_peer=$ip:7101
--listen_admin=0.0.0.0:8001
--advertise_admin=$ip:8001
--shards=8
$2
FLAGS
  ip netns exec "${TAG}h$k" "$KVD" --flagfile="$DIR/kvd$k.flags" >"$DIR/kvd$k.log" 2>&1 &
  PIDS[k]=$!
  disown "${PIDS[k]}"  # killed by us at the end; no "Killed" job notices
}
on1() { ip netns exec "${TAG}h1" "$@"; }
# Polls "$@" (run in host 1) until it succeeds, up to $WAIT seconds.
until_ok() {
  local deadline=$((SECONDS + ${WAIT:-40}))
  until on1 "$@" >"$DIR/last.out" 2>&1; do
    ((SECONDS < deadline)) || { cat "$DIR/last.out" >&2; return 1; }
    sleep 0.5
  done
}
http_status() {  # host, path -> HTTP status of GET http://10.213.0.<host>:8001<path>
  on1 bash -c "exec 3<>/dev/tcp/10.213.0.$1/8001; printf 'GET $2 HTTP/1.0\r\n\r\n' >&3; head -1 <&3" |
    awk '{print $2}'
}
