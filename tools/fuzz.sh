#!/usr/bin/env bash
# Runs one fuzz target with libFuzzer (clang) for a bounded time (docs/security.md):
#
#   tools/fuzz.sh TARGET SECONDS [--build-dir DIR] [-- LIBFUZZER_FLAGS...]
#   tools/fuzz.sh --build-only [--build-dir DIR]      configure and build every target
#   tools/fuzz.sh --list                              the targets
#
# TARGET is one of: frame handshake client_request raft_message gossip snapshot_chunk
# edn_history. The build (clang, -DRINGKV_FUZZ=ON: coverage, ASan, UBSan) lives in DIR
# (default: build-fuzz) and is made on first use. The run starts from the committed corpus
# fuzz/corpus/TARGET (read only) and a scratch corpus in DIR/corpus/TARGET, where new inputs
# accumulate across runs. A crash stops the run: the input is saved as DIR/artifacts/TARGET-*
# and the script exits non-zero — add that input to fuzz/corpus/TARGET/ (named regress-*)
# with the fix. The last lines print the executions done (stat::number_of_executed_units).
# Exit codes: 0 no crash, 1 a crash, 2 usage or a failed build, 77 clang/libFuzzer missing.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGETS=(frame handshake client_request raft_message gossip snapshot_chunk edn_history)
BUILD_DIR="$REPO/build-fuzz"
TARGET=""
SECONDS_TO_RUN=""
BUILD_ONLY=0
EXTRA=()

die() {
  echo "fuzz.sh: $*" >&2
  exit 2
}

while (($# > 0)); do
  case "$1" in
    --build-dir) BUILD_DIR=${2:?--build-dir needs a value}; shift 2 ;;
    --build-dir=*) BUILD_DIR=${1#*=}; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --list) printf '%s\n' "${TARGETS[@]}"; exit 0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      if [[ -z $TARGET ]]; then TARGET=$1
      elif [[ -z $SECONDS_TO_RUN ]]; then SECONDS_TO_RUN=$1
      else die "unexpected argument '$1'"; fi
      shift ;;
  esac
done

if ((!BUILD_ONLY)); then
  [[ -n $TARGET && -n $SECONDS_TO_RUN ]] || die "usage: tools/fuzz.sh TARGET SECONDS (see --help)"
  [[ " ${TARGETS[*]} " == *" $TARGET "* ]] || die "unknown target '$TARGET' (one of: ${TARGETS[*]})"
  [[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] || die "SECONDS must be a number"
fi
# Without clang and libFuzzer (the optional install_deps group "fuzz") there is nothing to run:
# exit 77, which ctest reports as skipped.
skip() {
  echo "fuzz.sh: SKIPPED: $* (install with: tools/install_deps.sh fuzz)" >&2
  exit 77
}
command -v clang++ >/dev/null || skip "clang++ not found"
[[ -f $(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a) ]] || skip "libFuzzer not found"

# Configure and build (ninja does nothing when up to date). Only what the targets need is
# built. A lock keeps concurrent invocations (ctest -j) from building at the same time.
build() {
  mkdir -p "$BUILD_DIR"
  exec 9>"$BUILD_DIR/.lock"
  flock 9
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    CC=clang CXX=clang++ cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g" -DRINGKV_FUZZ=ON -DRINGKV_WERROR=OFF \
      -DRINGKV_BUILD_BENCHMARKS=OFF -DRINGKV_UNITY_BUILD=ON "${launcher[@]}" >/dev/null
  fi
  local names=()
  for t in "${TARGETS[@]}"; do names+=("${t}_fuzz"); done
  nice -n 5 ninja -C "$BUILD_DIR" -j "${JOBS:-$(nproc)}" "${names[@]}" >"$BUILD_DIR/build.log" 2>&1 || {
    tail -n 40 "$BUILD_DIR/build.log" >&2
    die "fuzz build failed (log: $BUILD_DIR/build.log)"
  }
  flock -u 9
}

build
((BUILD_ONLY)) && { echo "fuzz.sh: fuzz targets built in $BUILD_DIR"; exit 0; }

BIN="$BUILD_DIR/fuzz/${TARGET}_fuzz"
SCRATCH="$BUILD_DIR/corpus/$TARGET"
ARTIFACTS="$BUILD_DIR/artifacts"
mkdir -p "$SCRATCH" "$ARTIFACTS"
LOG="$BUILD_DIR/$TARGET.log"
echo "fuzz.sh: fuzzing $TARGET for ${SECONDS_TO_RUN}s (corpus fuzz/corpus/$TARGET + $SCRATCH)"
set +e
# -rss_limit_mb: RocksDB-backed targets hold an in-memory engine; -timeout: one input may take
# at most 10 s (snapshot installs are the slowest).
"$BIN" -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 -rss_limit_mb=4096 -timeout=10 \
  -artifact_prefix="$ARTIFACTS/$TARGET-" "${EXTRA[@]}" "$SCRATCH" "$REPO/fuzz/corpus/$TARGET" \
  >"$LOG" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
if ((rc != 0)); then
  grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "$LOG" | head -20 >&2 || true
  tail -n 30 "$LOG" >&2
  echo "fuzz.sh: $TARGET FAILED after ${execs:-?} executions (log: $LOG)" >&2
  exit 1
fi
echo "fuzz.sh: $TARGET ok: ${execs:-?} executions in ${SECONDS_TO_RUN}s, no crash (log: $LOG)"
