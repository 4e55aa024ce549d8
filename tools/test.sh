#!/usr/bin/env bash
# Installs what is missing, builds RingKV and runs the default test suite (everything not
# labelled sim-long, soak, jepsen-full or bench). It includes the label fuzz: every fuzz target
# for a short, bounded time (RINGKV_FUZZ_SECONDS, after one clang + ASan build of the targets);
# long campaigns are `tools/fuzz.sh TARGET SECONDS`. This is the README's test command; .ci/run
# calls it. Extra arguments go to ctest (e.g. -L sim-long, -R raft).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh fuzz  # the default suite includes the fuzz label
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGKV_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
cd "$BUILD_DIR"
if (($# > 0)); then
  exec ctest --output-on-failure "$@"
fi
exec ctest --output-on-failure -j "$(nproc)" -LE 'sim-long|soak|jepsen-full|bench'
