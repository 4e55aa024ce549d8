#!/usr/bin/env bash
# Local cluster launcher. The server (kvd) arrives with issue #3 (a replicated cluster you can
# run); until then this builds the project and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
echo "launch_cluster: the kvd server is not built yet (issue #3); only the library and tests exist." >&2
exit 1
