// Backoff: exponential retry delays with jitter for the client's retry loop (as TiKV's client
// backoffer / etcd clientv3's retry interceptor): the n-th delay is min(initial * 2^n, max),
// jittered uniformly to [d/2, d] so that many clients retrying together spread out. A server's
// retry_after (an overloaded node's BUSY, issue #10) is a floor, itself jittered up to 1.5x: the
// clients one node shed together must not all come back in the same millisecond.
//
// Thread-safety: a single-owner value (one per call).
#ifndef RINGKV_CLIENT_BACKOFF_H_
#define RINGKV_CLIENT_BACKOFF_H_

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "common/random.h"

namespace ringkv::client {

class Backoff {
 public:
  // REQUIRES: 0 < initial <= max.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
      : initial_(initial), max_(max), rng_(seed) {}

  // The next delay: the exponential one, or a server's retry_after `floor` jittered to
  // [floor, 1.5 floor] if that is longer. Advances the exponent.
  std::chrono::milliseconds Next(std::chrono::milliseconds floor = std::chrono::milliseconds(0)) {
    const int64_t cap = max_.count();
    int64_t d = initial_.count();
    for (int i = 0; i < attempts_ && d < cap; ++i) d *= 2;
    d = std::min(d, cap);
    ++attempts_;
    const int64_t half = d / 2;
    const int64_t jittered = half + static_cast<int64_t>(rng_.Uniform(uint64_t(d - half) + 1));
    const int64_t f = std::max<int64_t>(0, floor.count());
    const int64_t floor_jittered = f + static_cast<int64_t>(rng_.Uniform(uint64_t(f / 2) + 1));
    return std::chrono::milliseconds(std::max(jittered, floor_jittered));
  }

  // Number of delays handed out so far.
  int attempts() const { return attempts_; }

 private:
  const std::chrono::milliseconds initial_;
  const std::chrono::milliseconds max_;
  Random rng_;
  int attempts_ = 0;
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_BACKOFF_H_
