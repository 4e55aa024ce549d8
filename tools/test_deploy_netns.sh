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

# shellcheck source=tools/deploy_netns_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy_netns_lib.sh"
EPS=10.213.0.1:7001,10.213.0.2:7001,10.213.0.3:7001
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
