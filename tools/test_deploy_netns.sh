#!/usr/bin/env bash
# Runs docs/deploy.md's multi-host instructions on "hosts" that are network namespaces: three
# namespaces with their own addresses on a private bridge (10.213.0.1-3, reachable only inside
# these namespaces), one kvd per namespace started with exactly the documented flags (from a
# --flagfile, as the systemd unit does), then checks from "host" 1: every shard answers a
# quorum read through every node (kvctl endpoint health --cluster), a write and a read, each
# node's /readyz, and that writes survive one host going down. Then adds a 4th host with --join
# and decommissions it again. Cleans up everything it made (namespaces, processes, temp dir).
#
#   tools/test_deploy_netns.sh [BUILD_DIR]      (root; ctest runs it as integ_deploy_netns)
set -euo pipefail

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
EPS=10.213.0.1:7001,10.213.0.2:7001,10.213.0.3:7001
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

for k in 1 2 3; do add_host "$k"; done
INITIAL="--initial_cluster=1=10.213.0.1:7101,2=10.213.0.2:7101,3=10.213.0.3:7101
--initial_cluster_clients=1=10.213.0.1:7001,2=10.213.0.2:7001,3=10.213.0.3:7001"
for k in 1 2 3; do start_host "$k" "$INITIAL"; done

until_ok "$KVCTL" --endpoints=$EPS endpoint health --cluster || fail "cluster never became healthy"
on1 "$KVCTL" --endpoints=$EPS put deploy works >/dev/null || fail "put"
[[ $(on1 "$KVCTL" --endpoints=$EPS get deploy --print-value-only) == works ]] || fail "get"
for k in 1 2 3; do
  [[ $(http_status "$k" /readyz) == 200 ]] || fail "host $k /readyz is not 200"
done
grep -q "effective configuration: .*advertise_client=10.213.0.1:7001 (flagfile)" "$DIR/kvd1.log" ||
  fail "kvd did not log its effective configuration with sources"
echo "ok: 3 hosts healthy, effective configuration logged"

# One host down: writes go on (replication 3, quorum 2).
kill -KILL "${PIDS[3]}"
WAIT=30 until_ok "$KVCTL" --endpoints=$EPS put after-loss still-writable || fail "no writes with a host down"
echo "ok: writable with host 3 down"
start_host 3 "$INITIAL"
WAIT=60 until_ok "$KVCTL" --endpoints=$EPS endpoint health --cluster || fail "host 3 did not rejoin"
echo "ok: host 3 restarted and healthy"

# Add a 4th host with --join, then decommission it (docs: adding and removing a host).
add_host 4
start_host 4 "--join=10.213.0.1:7101,10.213.0.2:7101"
WAIT=60 until_ok bash -c "'$KVCTL' --endpoints=$EPS node status 4 -w json | grep -q '\"replicas\": [1-9]'" ||
  fail "host 4 never received replicas"
echo "ok: host 4 joined and holds replicas"
on1 "$KVCTL" --endpoints=$EPS node decommission 4 --wait --stall-after=60s >"$DIR/decom.out" 2>&1 ||
  { cat "$DIR/decom.out" >&2; fail "decommission of host 4"; }
grep -q "drained and has left" "$DIR/decom.out" || fail "decommission did not finish"
[[ $(on1 "$KVCTL" --endpoints=$EPS get after-loss --print-value-only) == still-writable ]] || fail "data"
echo "ok: host 4 decommissioned"
echo "1 passed, 0 failed"
