#include "timeline.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "histogram.h"

namespace ringkv::kvbench {
namespace {

// As LatencyHistogram::Percentile, over sparse buckets: the upper bound of the bucket holding
// the ceil(q * count)-th smallest value, clamped to the largest value seen.
uint64_t Percentile(const std::map<uint64_t, uint64_t>& buckets, uint64_t count, uint64_t max,
                    double q) {
  if (count == 0) return 0;
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count))));
  uint64_t seen = 0;
  for (const auto& [high, n] : buckets) {
    seen += n;
    if (seen >= rank) return std::min(high, max);
  }
  return max;
}

}  // namespace

Timeline::Timeline(Clock::time_point start, std::chrono::system_clock::time_point wall_start,
                   std::chrono::milliseconds interval)
    : start_(start), wall_start_(wall_start), interval_(interval) {}

void Timeline::Record(Clock::time_point end, bool ok, uint64_t latency_us) {
  if (end < start_) return;
  const auto index = static_cast<size_t>((end - start_) / interval_);
  if (index >= intervals_.size()) intervals_.resize(index + 1);
  Interval& in = intervals_[index];
  if (!ok) {
    ++in.errors;
    return;
  }
  ++in.ok;
  in.max_us = std::max(in.max_us, latency_us);
  ++in.buckets[LatencyHistogram::BucketHigh(LatencyHistogram::BucketFor(latency_us))];
}

void Timeline::Write(std::ostream& out) const {
  out << "# kvbench timeline, " << interval_.count()
      << " ms intervals: start_unix_ms ok errors p50_ms p99_ms max_ms latency_us\n";
  const int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              wall_start_.time_since_epoch())
                              .count();
  char line[128];
  for (size_t i = 0; i < intervals_.size(); ++i) {
    const Interval& in = intervals_[i];
    std::snprintf(line, sizeof(line), "%lld %llu %llu %.3f %.3f %.3f ",
                  static_cast<long long>(wall_ms + static_cast<int64_t>(i) * interval_.count()),
                  static_cast<unsigned long long>(in.ok),
                  static_cast<unsigned long long>(in.errors),
                  Percentile(in.buckets, in.ok, in.max_us, 0.5) / 1000.0,
                  Percentile(in.buckets, in.ok, in.max_us, 0.99) / 1000.0, in.max_us / 1000.0);
    out << line;
    if (in.buckets.empty()) out << '-';
    bool first = true;
    for (const auto& [high, n] : in.buckets) {
      out << (first ? "" : ",") << high << ':' << n;
      first = false;
    }
    out << '\n';
  }
}

}  // namespace ringkv::kvbench
