#!/usr/bin/env bash
# ctest wrapper around jepsen/run: ctest_run.sh valid|invalid <jepsen/run arguments...>
#   valid    passes when the run's verdict is valid (exit 0);
#   invalid  passes when the run reports an anomaly (exit 1) - the injected-bug ("teeth") tests.
# Either way it fails when the run's namespace or any of its processes is left behind, and it
# prints the report's verdict section. Exits 77 (ctest SKIP_RETURN_CODE) without root or
# network namespaces.
set -u
EXPECT="$1"; shift
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! command -v iptables >/dev/null; then
  echo "SKIP: needs root, ip and iptables"; exit 77
fi
probe="ringkv-jepsen-probe-$$"
if ! ip netns add "$probe" 2>/dev/null; then echo "SKIP: cannot create network namespaces"; exit 77; fi
ip netns del "$probe"

OUT=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ "${args[$i]}" == "--out" ]] && OUT="${args[$((i + 1))]}"
done
[[ -n "$OUT" ]] && rm -rf "$OUT"

"$REPO/jepsen/run" "$@" &
child=$!
wait "$child"
rc=$?
status=0
if ip netns list | awk '{print $1}' | grep -qx "ringkv-jepsen-$child"; then
  echo "FAIL: namespace ringkv-jepsen-$child left behind"; status=1
fi
if [[ -n "$OUT" && -f "$OUT/report.txt" ]]; then
  sed -n '/^VERDICT/,/^operations/p' "$OUT/report.txt" | head -40
  sed -n '/^faults/,/^notes/p' "$OUT/report.txt"
fi
case "$EXPECT" in
  valid) [[ $rc -eq 0 ]] || { echo "FAIL: expected a valid run, jepsen/run exited $rc"; status=1; } ;;
  invalid) [[ $rc -eq 1 ]] || { echo "FAIL: expected the injected bug to be caught (exit 1), jepsen/run exited $rc"; status=1; } ;;
  *) echo "usage: ctest_run.sh valid|invalid ARGS"; exit 2 ;;
esac
[[ $status -eq 0 ]] && echo "PASS ($EXPECT, exit $rc)"
exit $status
