// LatencyHistogram: a small log-linear histogram of non-negative integers (kvbench records
// microseconds), in the spirit of HdrHistogram (not packaged in Debian): values below 128 are
// exact, larger ones fall in buckets 1/64 of their power of two wide, so any reported percentile
// is within ~1.6% of the true value. Fixed memory (~33 KiB), O(1) Record.
//
// Thread-safety: not thread-safe; one owner (or an external lock). Merge to combine.
#ifndef RINGKV_TOOLS_KVBENCH_HISTOGRAM_H_
#define RINGKV_TOOLS_KVBENCH_HISTOGRAM_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace ringkv::kvbench {

class LatencyHistogram {
 public:
  void Record(uint64_t value);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  // The value at quantile q in [0, 1]: the upper bound of the bucket holding the ceil(q*count)-th
  // smallest value, clamped to max(). 0 when empty.
  uint64_t Percentile(double q) const;

  // Bucketing, exposed for tests.
  static size_t BucketFor(uint64_t value);
  static uint64_t BucketHigh(size_t bucket);

 private:
  static constexpr int kSubBits = 6;  // 64 sub-buckets per power of two above 128
  static constexpr size_t kBuckets = 128 + (64 - kSubBits - 1) * 64;
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace ringkv::kvbench

#endif  // RINGKV_TOOLS_KVBENCH_HISTOGRAM_H_
