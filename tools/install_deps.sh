#!/usr/bin/env bash
# Installs the Debian packages RingKV needs to build, test and run. Idempotent: when every
# package is already present it only checks and returns (well under a second).
# Every other script (README commands, .ci/run, launch_cluster.sh) calls this one.
#
#   tools/install_deps.sh [GROUP...]     also installs the optional groups named:
#     fuzz   clang and libFuzzer for the fuzz targets (tools/fuzz.sh, ctest label fuzz);
#            tools/test.sh asks for it, since the default suite fuzzes. Without it the fuzz
#            tests are reported as skipped.
#     bench-etcd   etcd 3.4 (etcd-server, etcdctl from etcd-client) and gRPC C++ for kvbench's
#            etcd target and bench/compare_etcd.sh (ctest label bench). Without it kvbench
#            builds without --target=etcd and the comparison is skipped.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev        # Asio + Beast (header-only), Boost::system
  librocksdb-dev                          # state machine and Raft log storage
  libprotobuf-dev protobuf-compiler       # wire and disk records
  libgflags-dev libgoogle-glog-dev        # kvd flags, logging
  libgtest-dev libgmock-dev               # tests
  libbenchmark-dev                        # benchmarks
  libxxhash-dev                           # ring hash (XXH3_64bits)
  libjemalloc-dev                         # kvd's allocator (docs/benchmarks.md §10n)
  libcli11-dev nlohmann-json3-dev         # kvctl command line and JSON output
  libssl-dev openssl                      # TLS (OpenSSL via Asio); tools/make_certs.sh; SHA-256
                                          # of kvctl backups (libcrypto)
  gnuplot-nox                             # Jepsen report plots
  iproute2 iptables procps psmisc         # test harnesses (namespaces, partitions, pids)
  curl python3                            # HTTP/JSON API tests: curl and a standard-library
                                          # Python client (tests/integration/http_api_client.py)
  chromium fonts-dejavu-core              # status page browser test (headless) + its screenshot
)

declare -A OPTIONAL=(
  [fuzz]="clang libclang-rt-dev"          # libFuzzer targets, built with clang + ASan/UBSan
  [bench-etcd]="etcd-server etcd-client libgrpc++-dev protobuf-compiler-grpc"
)
for group in "$@"; do
  [[ -n ${OPTIONAL[$group]:-} ]] || {
    echo "install_deps: unknown group '$group' (known: ${!OPTIONAL[*]})" >&2
    exit 2
  }
  read -r -a extra <<<"${OPTIONAL[$group]}"
  PACKAGES+=("${extra[@]}")
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install_deps: missing packages: ${missing[*]}" >&2
  echo "install_deps: run as root (or: sudo $0)" >&2
  exit 1
fi

echo "install_deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_deps: done" >&2
