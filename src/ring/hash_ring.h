// HashRing: key -> shard. A key's token is a 64-bit XXH3 hash; the token space [0, 2^64) is cut
// into num_shards equal contiguous ranges, and shard i (GroupId i, 1-based) owns the i-th range.
// The mapping is a pure function of (key, RingConfig): the same on every node and client, and
// never changes for the life of the cluster because num_shards is fixed at bootstrap.
//
// Equal ranges (rather than random tokens per shard) make the key -> shard split exactly even up
// to the hash's own uniformity, and let a shard's key range be stated as one token interval.
//
// Thread-safety: immutable after construction; safe to share between threads.
#ifndef RINGKV_RING_HASH_RING_H_
#define RINGKV_RING_HASH_RING_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/ids.h"
#include "common/result.h"
#include "ring/ring_config.h"

namespace ringkv::ring {

// An inclusive token interval [first, last]. Inclusive so the last shard can own 2^64 - 1.
struct TokenRange {
  uint64_t first = 0;
  uint64_t last = 0;
  bool Contains(uint64_t token) const { return first <= token && token <= last; }
  bool operator==(const TokenRange&) const = default;
};

class HashRing {
 public:
  // Returns a ring for `config`, or kInvalidArgument if config.Validate() fails.
  static Result<HashRing> Create(const RingConfig& config);

  // The token of `key` (any bytes, possibly empty) under this ring's seed: of its hash tag from
  // config version 2 on (ring_config.h).
  uint64_t TokenOf(std::string_view key) const;

  // The one shard every key starting with `prefix` lives on (the prefix holds a complete hash
  // tag, config version 2), or nullopt when they spread over the shards.
  std::optional<GroupId> ShardForPrefix(std::string_view prefix) const;

  // The shard owning `key`: a GroupId in [1, num_shards]. Never 0.
  GroupId ShardForKey(std::string_view key) const { return ShardForToken(TokenOf(key)); }

  // The shard owning `token`: a GroupId in [1, num_shards]. Never 0.
  GroupId ShardForToken(uint64_t token) const;

  // The tokens owned by `shard`. Ranges of shards 1..num_shards are non-empty, disjoint, ascending
  // and together cover [0, 2^64). Returns kInvalidArgument for a shard outside [1, num_shards].
  Result<TokenRange> RangeOfShard(GroupId shard) const;

  uint32_t num_shards() const { return config_.num_shards; }
  const RingConfig& config() const { return config_; }

 private:
  explicit HashRing(const RingConfig& config) : config_(config) {}

  RingConfig config_;  // valid (Validate() is OK); never changes
};

}  // namespace ringkv::ring

#endif  // RINGKV_RING_HASH_RING_H_
