// Timeline: kvbench's per-interval record of a run (--timeline, --timeline-ms), for benchmarks
// that change the cluster under load (bench/kill_under_load.sh kills a node) and need to see
// throughput drop and come back. Every completion from the start of the run (warmup included) to
// the end of the measured window falls in the interval of its completion time; each interval
// keeps its successes, its errors and the latency of its successes as sparse LatencyHistogram
// buckets, so that a script can merge any span of intervals and take percentiles over it.
//
// Intervals are stamped on the system clock (Unix time), the clock glog and `date +%s.%N` use,
// so a script can line the timeline up with a kill it did or a line a server logged.
//
// Thread-safety: not thread-safe; the load driver records under its own mutex.
#ifndef RINGKV_TOOLS_KVBENCH_TIMELINE_H_
#define RINGKV_TOOLS_KVBENCH_TIMELINE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <vector>

namespace ringkv::kvbench {

class Timeline {
 public:
  using Clock = std::chrono::steady_clock;

  // Interval 0 starts at `start` on the steady clock, which is `wall_start` on the system clock.
  // REQUIRES: interval > 0.
  Timeline(Clock::time_point start, std::chrono::system_clock::time_point wall_start,
           std::chrono::milliseconds interval);

  // Counts an operation that completed at `end` (ignored if before `start`): a success with its
  // latency in microseconds, or an error (whose latency is not kept, as in LoadReport).
  void Record(Clock::time_point end, bool ok, uint64_t latency_us);

  // Writes a '#' header line naming the columns, then one line per interval from the first to
  // the last that saw a completion (intervals without any included, as zeros):
  //   start_unix_ms ok errors p50_ms p99_ms max_ms latency_us
  // where latency_us lists the successes' histogram buckets as upper_bound_us:count,... ("-"
  // when none). The percentiles are the bucket upper bounds (LatencyHistogram::Percentile).
  void Write(std::ostream& out) const;

 private:
  struct Interval {
    uint64_t ok = 0;
    uint64_t errors = 0;
    uint64_t max_us = 0;
    std::map<uint64_t, uint64_t> buckets;  // LatencyHistogram bucket upper bound (us) -> count
  };

  const Clock::time_point start_;
  const std::chrono::system_clock::time_point wall_start_;
  const std::chrono::milliseconds interval_;
  std::vector<Interval> intervals_;  // grows to the last interval with a completion
};

}  // namespace ringkv::kvbench

#endif  // RINGKV_TOOLS_KVBENCH_TIMELINE_H_
