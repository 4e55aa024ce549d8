// The system kvbench loads, behind two interfaces so that one load driver (load.cc) and one set
// of histograms measure every system alike: a Target (RingKV, or etcd when built with gRPC)
// makes Connections, and each Connection runs single-key reads and writes asynchronously.
//
// Thread-safety: a Connection's Get and Put may be called from any thread, including from a
// completion callback of the same Connection (the driver issues each slot's next operation from
// the previous one's completion). Completions run on the Connection's own I/O thread(s).
// Target::Connect and ServerCounts are called from the driver's thread only.
#ifndef RINGKV_TOOLS_KVBENCH_TARGET_H_
#define RINGKV_TOOLS_KVBENCH_TARGET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace ringkv::kvbench {

class Connection {
 public:
  // Called once per operation with its outcome (OK, or the error mapped to a StatusCode).
  using Done = std::function<void(const Status&)>;

  // Destroying a Connection with operations in flight is not allowed: the driver waits for
  // every completion first.
  virtual ~Connection() = default;

  // Reads `key` with the consistency the Target was made with. A missing key is OK.
  virtual void Get(const std::string& key, Done done) = 0;
  // Writes `value` under `key`; OK once the system acknowledges it as durable and replicated.
  // `value` must stay valid until `done` runs.
  virtual void Put(const std::string& key, const std::string& value, Done done) = 0;
};

// The servers' admission counters, summed over every endpoint (RingKV only).
struct ServerCounts {
  uint64_t admitted = 0, shed = 0;
  std::vector<uint32_t> bounds_ms;
  std::vector<uint64_t> latency_counts;
};

class Target {
 public:
  virtual ~Target() = default;

  // Makes the `index`-th connection (0-based; the driver makes LoadOptions::clients of them and
  // spreads the slots over them round-robin). Each has its own I/O thread. Returns kUnavailable
  // when the system cannot be reached.
  virtual Result<std::unique_ptr<Connection>> Connect(int index) = 0;

  // The servers' admission counters now; nullopt when the system does not report them or an
  // endpoint does not answer.
  virtual std::optional<ServerCounts> Counts() { return std::nullopt; }
};

}  // namespace ringkv::kvbench

#endif  // RINGKV_TOOLS_KVBENCH_TARGET_H_
