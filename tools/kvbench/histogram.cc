#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ringkv::kvbench {

size_t LatencyHistogram::BucketFor(uint64_t v) {
  if (v < 128) return static_cast<size_t>(v);
  const int msb = 63 - std::countl_zero(v);  // >= 7
  const int shift = msb - kSubBits;          // >= 1
  const uint64_t sub = v >> shift;           // in [64, 127]
  return static_cast<size_t>(shift) * 64 + static_cast<size_t>(sub);
}

uint64_t LatencyHistogram::BucketHigh(size_t bucket) {
  if (bucket < 128) return bucket;
  const int shift = static_cast<int>(bucket / 64) - 1;
  const uint64_t sub = bucket % 64 + 64;
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::Record(uint64_t value) {
  ++counts_[std::min(BucketFor(value), kBuckets - 1)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void LatencyHistogram::Merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * count_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(BucketHigh(i), max_);
  }
  return max_;
}

}  // namespace ringkv::kvbench
