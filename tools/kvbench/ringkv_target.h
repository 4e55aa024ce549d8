// kvbench's RingKV target: Connections are ringkv::client::Client instances (each with its own
// I/O thread, connected to every endpoint, routing to shard leaders), and Counts() reads the
// servers' admission counters from their node status over a separate client.
//
// Thread-safety: as target.h.
#ifndef RINGKV_TOOLS_KVBENCH_RINGKV_TARGET_H_
#define RINGKV_TOOLS_KVBENCH_RINGKV_TARGET_H_

#include <memory>

#include "load.h"
#include "target.h"

namespace ringkv::kvbench {

// Uses options.endpoints, op_timeout, consistency, seed and tls. Returns the connect error of
// the status client (a bad TLS file, for instance); servers are reached lazily.
Result<std::unique_ptr<Target>> MakeRingKvTarget(const LoadOptions& options);

}  // namespace ringkv::kvbench

#endif  // RINGKV_TOOLS_KVBENCH_RINGKV_TARGET_H_
