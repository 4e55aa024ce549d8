// A small seeded pseudo-random generator (SplitMix64). Deterministic for a given seed, so the
// pure modules (raft, gossip) and the simulations replay exactly.
//
// Thread-safety: not thread-safe; one per owner.
#ifndef RINGKV_COMMON_RANDOM_H_
#define RINGKV_COMMON_RANDOM_H_

#include <cstdint>

namespace ringkv {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  // True with probability p in [0, 1].
  bool Bernoulli(double p) { return (Next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t state_;
};

}  // namespace ringkv

#endif  // RINGKV_COMMON_RANDOM_H_
