#!/usr/bin/env bash
# tools/launch_cluster.sh as a new user runs it, in a temp dir on ports nothing listens on:
# `start 3` serves and prints the status page's URL (which answers with the page); `restart K`
# exits 0 with the node running, every time (it once lost a race with its own pid check and
# said "failed to start" in 2 of 5 tries), also after `kill K`; `stop` ends every node; and the
# readiness probe leaves no key in the user's key space (`__launch_cluster_probe` once stayed).
#
#   tests/integration/launch_cluster_test.sh BUILD_DIR     (ctest: integ_launch_cluster)
set -euo pipefail

BUILD=$(realpath "${1:?usage: $0 BUILD_DIR}")
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAUNCH="$REPO/tools/launch_cluster.sh"
KVCTL="$BUILD/tools/kvctl/kvctl"
[[ -x $KVCTL && -x $BUILD/src/server/kvd ]] || { echo "SKIP: kvd or kvctl not built"; exit 0; }
DIR=$(mktemp -d /tmp/ringkv-launch-test.XXXXXX)
export RINGKV_DATA_DIR="$DIR/data" BUILD_DIR="$BUILD" RINGKV_NO_BUILD=1

cleanup() {
  # Only what this test started: the script's own pid files in our data dir.
  local f
  for f in "$DIR"/data/run/*.pid; do
    [[ -f $f ]] && kill -KILL "$(<"$f")" 2>/dev/null || true
  done
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$DIR"/data/logs/*.log; do [[ -f $f ]] && { echo "== $f"; tail -15 "$f"; }; done >&2
  exit 1
}
# Free: no socket of any state (listening, connected, UDP) has it as its local port.
port_free() { [[ -z $(ss -Hatun "sport = :$1" 2>/dev/null) ]]; }
# GET http://127.0.0.1:$1$2 with bash alone (no curl in the dependencies); prints the response.
http_get() {
  local out
  out=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$1" >&3
    cat <&3' "$1" "$2") || return 1
  printf '%s' "$out"
}

# Three port bases (client, peer, admin; node K uses base+K-1), all nine ports below the
# kernel's ephemeral range, so no port the OS hands out to other tests' outgoing connections
# (the highest, base + 6002, too: a peer port at 32800 once lost to one): a random candidate
# whose nine ports no socket uses.
pick_bases() {
  local try p ok lo span
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  span=$(((lo - 6003 - 20000) / 10))
  ((span > 0)) || return 1
  for try in $(seq 1 50); do
    p=$((20000 + (RANDOM % span) * 10))
    ok=1
    for q in $p $((p + 1)) $((p + 2)) $((p + 3000)) $((p + 3001)) $((p + 3002)) \
      $((p + 6000)) $((p + 6001)) $((p + 6002)); do
      port_free "$q" || { ok=0; break; }
    done
    ((ok)) && { echo "$p"; return 0; }
  done
  return 1
}
BASE=$(pick_bases) || fail "no free ports"
CLIENT=$BASE PEER=$((BASE + 3000)) ADMIN=$((BASE + 6000))

echo "== start 3 (client ports from $CLIENT, peer $PEER, admin $ADMIN)"
out=$("$LAUNCH" start 3 --client-port-base "$CLIENT" --peer-port-base "$PEER" \
  --admin-port-base "$ADMIN" 2>&1) || fail "start exited $?: $out"
echo "$out" | tail -n 25
url="http://127.0.0.1:$ADMIN/"
grep -qF "Status page (the ring, nodes, shards; any node's): $url" <<<"$out" ||
  fail "start does not print the status page URL $url"
page=$(http_get "$ADMIN" /) || fail "the status page $url does not answer"
grep -q '^HTTP/1.1 200' <<<"$page" || fail "$url: $(head -1 <<<"$page")"
grep -q '<svg id="ring"' <<<"$page" || fail "$url is not the status page"
EPS="127.0.0.1:$CLIENT,127.0.0.1:$((CLIENT + 1)),127.0.0.1:$((CLIENT + 2))"
"$KVCTL" --endpoints="$EPS" put user-key v >/dev/null || fail "put after start"

# restart K, several times in a row, and once after kill: exit 0, and the pid it names runs
# kvd with the node's id.
for k in 2 3 2; do
  out=$("$LAUNCH" restart "$k" 2>&1) || fail "restart $k exited $?: $out"
  pid=$(sed -n "s/^node $k restarted (pid \([0-9]*\)).*/\1/p" <<<"$out")
  [[ -n $pid ]] || fail "restart $k: no pid in: $out"
  kill -0 "$pid" 2>/dev/null || fail "restart $k: pid $pid does not run"
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--node_id=$k " || fail "pid $pid is not node $k"
  echo "restart $k: ok (pid $pid)"
done
"$LAUNCH" kill 3 >/dev/null || fail "kill 3"
out=$("$LAUNCH" restart 3 2>&1) || fail "restart 3 after kill exited $?: $out"
echo "restart 3 after kill: ok"

# The cluster serves, with the user's key and nothing of the script's.
"$LAUNCH" status >/dev/null 2>&1 || fail "status after the restarts"
got=$("$KVCTL" --endpoints="$EPS" get user-key) || fail "get user-key"
grep -q '^v$' <<<"$got" || fail "user-key: $got"
rc=0
"$KVCTL" --endpoints="$EPS" get __launch_cluster_probe >/dev/null 2>&1 || rc=$?
[[ $rc -eq 3 ]] || fail "__launch_cluster_probe: kvctl get exited $rc, not 3 (not found)"
keys=$("$KVCTL" --endpoints="$EPS" get --prefix __ --keys-only 2>&1 || true)
[[ -z $keys ]] || fail "keys the script left: $keys"

echo "== stop"
pids=$(cat "$DIR"/data/run/*.pid)
"$LAUNCH" stop >/dev/null 2>&1 || fail "stop exited $?"
for p in $pids; do
  kill -0 "$p" 2>/dev/null && fail "pid $p still runs after stop"
done
echo "PASS"
