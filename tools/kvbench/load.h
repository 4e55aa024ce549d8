// The kvbench load generator: keeps `concurrency` operations in flight through a Target's
// asynchronous Connections (target.h; each completion issues the next), over a uniform random key
// space with a read/write mix, and records latency and error counts after the warmup. The same
// driver loads RingKV and etcd, so their numbers are comparable.
//
// Thread-safety: RunLoad blocks the caller; completions run on the connections' I/O threads and
// record under a mutex.
#ifndef RINGKV_TOOLS_KVBENCH_LOAD_H_
#define RINGKV_TOOLS_KVBENCH_LOAD_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "histogram.h"
#include "ringkv/client.h"
#include "target.h"
#include "timeline.h"

namespace ringkv::kvbench {

struct LoadOptions {
  std::vector<std::string> endpoints;
  int concurrency = 64;                    // operations in flight
  int clients = 1;                         // Connections (each has its own I/O thread)
  size_t value_size = 128;                 // bytes per written value
  uint64_t keys = 100000;                  // key space size
  double read_ratio = 0.0;                 // fraction of reads, 0..1
  std::chrono::milliseconds duration{10000};
  std::chrono::milliseconds warmup{2000};
  std::chrono::milliseconds op_timeout{5000};
  client::Consistency consistency = client::Consistency::kLinearizable;
  uint64_t seed = 1;
  client::ClientOptions::Tls tls;          // TLS to the client ports (off by default)
  // Server processes (local pids) whose CPU time the report sums over the measured window.
  // Default: none.
  std::vector<int> cpu_pids;
  // Length of the intervals of LoadReport::timeline (warmup included); 0 = no timeline.
  // Default: 0.
  std::chrono::milliseconds timeline_interval{0};
};

struct LoadReport {
  double seconds = 0;  // measured window
  // Operations that completed in the window (whenever they started), by outcome; latencies
  // are each one's whole duration.
  uint64_t ok_reads = 0;
  uint64_t ok_writes = 0;
  std::map<std::string, uint64_t> errors;  // by status code name
  LatencyHistogram all, reads, writes;     // microseconds, successful ops only
  // The servers' admission counters over the measured window, summed over the endpoints (from
  // their status; absent when a server does not report them): requests admitted, and requests
  // shed with BUSY "too many requests" — including the client library's retries, which the
  // counts above do not see.
  bool have_server_counts = false;
  uint64_t server_admitted = 0;
  uint64_t server_shed = 0;
  // Latency of the requests the servers answered in the window (admission to answer), by
  // bucket: counts[i] up to bounds_ms[i], the last count above the last bound.
  std::vector<uint32_t> server_latency_bounds_ms;
  std::vector<uint64_t> server_latency_counts;
  // The smallest bucket bound below which a fraction `q` of those answers fall (0 if none;
  // UINT32_MAX if beyond the last bound).
  uint32_t ServerLatencyQuantileMs(double q) const;
  uint64_t total_errors() const;
  // CPU seconds over the measured window: kvbench's own, and the sum of LoadOptions::cpu_pids
  // (have_server_cpu false without pids, or when one of them exited during the window).
  double client_cpu_seconds = 0;
  bool have_server_cpu = false;
  double server_cpu_seconds = 0;
  // Every completion of the run by interval (LoadOptions::timeline_interval); null without one.
  std::unique_ptr<Timeline> timeline;
};

// Connects `options.clients` connections of `target` and runs the load. Returns the first
// connect error. Server counts come from target.Counts() (absent when it reports none).
Result<LoadReport> RunLoad(const LoadOptions& options, Target& target);

// RunLoad on RingKV (ringkv_target.h) at options.endpoints.
Result<LoadReport> RunLoad(const LoadOptions& options);

}  // namespace ringkv::kvbench

#endif  // RINGKV_TOOLS_KVBENCH_LOAD_H_
