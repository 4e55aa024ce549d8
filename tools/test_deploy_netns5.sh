#!/usr/bin/env bash
# docs/deploy.md's 5-host cluster on "hosts" that are network namespaces (10.213.0.1-5 on a
# private bridge), each kvd started from a flagfile with the documented flags (replication 3),
# and the section's claims about failures, checked from host 1:
# - the 5 hosts become healthy (every shard answers a quorum read through every node);
# - two hosts down at once: exactly the shards with 2 of their 3 replicas on them stop
#   answering (the others go on), and no data is lost once one of the two is back;
# - a host dead for --dead_node_timeout_ms has its replicas re-created on the others, after
#   which the cluster survives the next host failure.
#
#   tools/test_deploy_netns5.sh [BUILD_DIR]     (root; ctest runs it as integ_deploy_netns5)
set -euo pipefail

# shellcheck source=tools/deploy_netns_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy_netns_lib.sh"
EPS=10.213.0.1:7001,10.213.0.2:7001,10.213.0.3:7001,10.213.0.4:7001,10.213.0.5:7001
EPS123=10.213.0.1:7001,10.213.0.2:7001,10.213.0.3:7001
EPS1234=$EPS123,10.213.0.4:7001
for k in 1 2 3 4 5; do add_host "$k"; done
INITIAL="--replication=3
--initial_cluster=1=10.213.0.1:7101,2=10.213.0.2:7101,3=10.213.0.3:7101,4=10.213.0.4:7101,5=10.213.0.5:7101
--initial_cluster_clients=1=10.213.0.1:7001,2=10.213.0.2:7001,3=10.213.0.3:7001,4=10.213.0.4:7001,5=10.213.0.5:7001"
for k in 1 2 3 4 5; do start_host "$k" "$INITIAL"; done

until_ok "$KVCTL" --endpoints=$EPS endpoint health --cluster || fail "cluster never became healthy"
for k in 1 2 3 4 5; do
  [[ $(http_status "$k" /readyz) == 200 ]] || fail "host $k /readyz is not 200"
done
for i in $(seq 1 20); do
  on1 "$KVCTL" --endpoints=$EPS put "k$i" "v$i" >/dev/null || fail "put k$i"
done
# Each shard on 3 of the 5 hosts; the shards with replicas on both hosts 4 and 5.
on1 "$KVCTL" --endpoints=$EPS shard list -w table >"$DIR/shards.txt" || fail "shard list"
replicas=$(awk -F'|' '$2 ~ /^ *[0-9]+ *$/ {gsub(/ /, "", $2); gsub(/ /, "", $8); print $2, $8}' \
  "$DIR/shards.txt")
[[ $(wc -l <<<"$replicas") -eq 8 ]] || fail "not 8 shards: $(cat "$DIR/shards.txt")"
while read -r shard reps; do
  [[ $(tr ',' '\n' <<<"$reps" | wc -l) -eq 3 ]] || fail "shard $shard has replicas $reps"
done <<<"$replicas"
both=$(awk '$2 ~ /(^|,)4(,|$)/ && $2 ~ /(^|,)5(,|$)/' <<<"$replicas" | wc -l)
echo "ok: 5 hosts healthy, each shard on 3; $both of 8 shards have replicas on both hosts 4 and 5"

# Two hosts down at once: through host 1, exactly those shards fail a quorum read. (Right
# after the kill more fail, until the shards that lost one replica elect a leader; the shards
# that lost two cannot answer, so the count falls to theirs and stays.)
kill -KILL "${PIDS[4]}" "${PIDS[5]}"
failing() {  # shards failing a linearizable read through host 1
  local out
  out=$(on1 "$KVCTL" --endpoints=10.213.0.1:7001 --command-timeout=2s endpoint health -w json \
    2>/dev/null || true)
  grep -q '"health": true' <<<"$out" && { echo 0; return; }
  sed -n 's/.*"failed_shards": \([0-9]*\).*/\1/p' <<<"$out" | head -1
}
deadline=$((SECONDS + 40))
until [[ $(failing) == "$both" ]]; do
  ((SECONDS < deadline)) || fail "hosts 4 and 5 down: $(failing) shards fail, not $both"
  sleep 0.5
done
echo "ok: hosts 4 and 5 down: $both shards unavailable, the other $((8 - both)) answer"

# One of them back (with its data): every shard answers again, nothing lost.
start_host 4 "$INITIAL"
WAIT=60 until_ok "$KVCTL" --endpoints=$EPS1234 endpoint health ||
  fail "host 4 back, but not every shard answers"
for i in $(seq 1 20); do
  [[ $(on1 "$KVCTL" --endpoints=$EPS1234 get "k$i" --print-value-only) == "v$i" ]] ||
    fail "k$i lost"
done
echo "ok: host 4 back, every shard answers, no write lost"

# Host 5 stays dead: after --dead_node_timeout_ms (10 s) its replicas are re-created on the
# other hosts, and then the cluster survives losing host 4 as well.
WAIT=90 until_ok bash -c "'$KVCTL' --endpoints=$EPS1234 shard list -w table |
  awk -F'|' '\$2 ~ /^ *[0-9]+ *\$/ { n++; r = \$8; gsub(/ /, \"\", r);
    if (r ~ /(^|,)5(,|\$)/ || split(r, a, \",\") != 3) bad++ }
    END { exit !(n == 8 && bad == 0) }'" ||
  fail "host 5's replicas were not re-created elsewhere: $(cat "$DIR/last.out")"
echo "ok: host 5's replicas re-created on hosts 1-4"
kill -KILL "${PIDS[4]}"
WAIT=40 until_ok "$KVCTL" --endpoints=$EPS123 endpoint health ||
  fail "hosts 1-3 do not serve every shard after host 4 went down too"
[[ $(on1 "$KVCTL" --endpoints=$EPS123 get k7 --print-value-only) == v7 ]] || fail "k7 lost"
echo "ok: host 4 down after the repair: every shard answers"
echo "1 passed, 0 failed"
