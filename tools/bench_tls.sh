#!/usr/bin/env bash
# The cost of TLS (docs/benchmarks.md section 4): kvbench against a 3-node cluster in three modes,
#   plain  no TLS anywhere;
#   peer   TLS with mutual authentication on the peer port only (Raft traffic);
#   tls    TLS on the client and peer ports, client certificates required (launch --tls),
# alternated round by round so that whatever else loads the machine weighs on all alike. One
# cluster runs at a time, each started fresh (tools/launch_cluster.sh) in its own data dir.
# peer - plain is the peer port's cost, tls - peer the client port's.
#
#   tools/bench_tls.sh [ROUNDS] [SECONDS]      defaults: 3 rounds of 10 s (+2 s warmup)
#
# Extra kvd flags: RINGKV_KVD_FLAGS (default --shards=1); extra kvbench flags: KVBENCH_FLAGS.
# Prints one line per run and the medians. Needs kvd, kvctl and kvbench built in build/.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
ROUNDS=${1:-3}
SECS=${2:-10}
BUILD_DIR=${BUILD_DIR:-build}
KVBENCH="$BUILD_DIR/tools/kvbench/kvbench"
export RINGKV_KVD_FLAGS=${RINGKV_KVD_FLAGS:---shards=1}
# Ports away from the default 7001/7101, so a developer's own cluster is left alone.
CPORT=${RINGKV_CLIENT_PORT_BASE:-17001}
PPORT=${RINGKV_PEER_PORT_BASE:-17101}
APORT=${RINGKV_ADMIN_PORT_BASE:-18001}
WORK=$(mktemp -d /tmp/ringkv-bench-tls-XXXXXX)
MODES=(plain peer tls)
trap 'for m in "${MODES[@]}"; do tools/launch_cluster.sh --no-build --data-dir "$WORK/$m" clean >/dev/null 2>&1 || true; done; rm -rf "$WORK"' EXIT
[[ -x $KVBENCH ]] || { echo "bench_tls: build kvbench first (ninja -C $BUILD_DIR kvbench)" >&2; exit 1; }

# Certificates for the peer-only mode (one node certificate serves every node: a peer is
# admitted for its CA and its serverAuth usage, not its name).
bash tools/make_certs.sh --dir "$WORK/pki" --nodes 1 >/dev/null
PEER_TLS_FLAGS="--peer_tls_cert=$WORK/pki/node-1.crt --peer_tls_key=$WORK/pki/node-1.key"
PEER_TLS_FLAGS+=" --peer_tls_ca=$WORK/pki/ca.crt"
BASE_KVD_FLAGS=$RINGKV_KVD_FLAGS

run() {  # run MODE ROUND -> prints "MODE ROUND writes/s p50 p99"
  local mode=$1 round=$2 tls_flag=() bench_tls=()
  RINGKV_KVD_FLAGS=$BASE_KVD_FLAGS
  [[ $mode == peer ]] && RINGKV_KVD_FLAGS+=" $PEER_TLS_FLAGS"
  if [[ $mode == tls ]]; then
    tls_flag=(--tls)
    bench_tls=(--cacert="$WORK/$mode/certs/ca.crt" --cert="$WORK/$mode/certs/client-root.crt"
      --key="$WORK/$mode/certs/client-root.key")
  fi
  tools/launch_cluster.sh --no-build --data-dir "$WORK/$mode" --client-port-base "$CPORT" \
    --peer-port-base "$PPORT" --admin-port-base "$APORT" start "${tls_flag[@]}" >/dev/null
  local out
  # shellcheck disable=SC2086
  out=$("$KVBENCH" --endpoints="127.0.0.1:$CPORT,127.0.0.1:$((CPORT + 1)),127.0.0.1:$((CPORT + 2))" \
    --concurrency=64 \
    --value-size=128 --duration="$SECS" --warmup=2 -w json "${bench_tls[@]}" ${KVBENCH_FLAGS:-})
  tools/launch_cluster.sh --no-build --data-dir "$WORK/$mode" clean >/dev/null
  python3 - "$mode" "$round" "$out" <<'EOF'
import json, sys
mode, rnd, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
lat = out["latency"]
print(f"{mode:5s} round {rnd}: {out['writes_per_sec']:9.1f} writes/s  p50 {lat['p50_ms']:.2f} ms  "
      f"p99 {lat['p99_ms']:.2f} ms  errors {sum(out['errors'].values())}")
EOF
}

echo "bench_tls: $ROUNDS rounds x ${SECS}s, kvd flags '$RINGKV_KVD_FLAGS', commit $(git rev-parse --short HEAD)"
for ((r = 1; r <= ROUNDS; r++)); do
  # Rotate which one goes first, so none always runs on a warmer machine.
  order=("${MODES[@]:$(((r - 1) % 3))}" "${MODES[@]:0:$(((r - 1) % 3))}")
  for m in "${order[@]}"; do run "$m" "$r" | tee -a "$WORK/results"; done
done
python3 - "$WORK/results" <<'EOF'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+)\s+round \d+:\s+([\d.]+) writes/s\s+p50 ([\d.]+) ms\s+p99 ([\d.]+) ms", line)
    if m:
        rows.setdefault(m.group(1), []).append(tuple(float(x) for x in m.groups()[1:]))
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
for k in ("plain", "peer", "tls"):
    if k in med:
        print(f"median {k:5s}: {med[k][0]:9.1f} writes/s  p50 {med[k][1]:.2f} ms  p99 {med[k][2]:.2f} ms")
def cost(what, a, b):
    if a in med and b in med:
        print(f"{what}: writes/s {100 * (med[b][0] / med[a][0] - 1):+.1f}%, "
              f"p50 {med[b][1] - med[a][1]:+.2f} ms, p99 {med[b][2] - med[a][2]:+.2f} ms")
cost("peer port TLS (peer vs plain)", "plain", "peer")
cost("client port TLS (tls vs peer)", "peer", "tls")
cost("both (tls vs plain)", "plain", "tls")
EOF
