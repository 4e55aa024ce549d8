#include "ring/hash_ring.h"

#include <string>

#include "ring/hashing.h"

namespace ringkv::ring {
namespace {

using u128 = unsigned __int128;

// The first token of 0-based range `i` of `n`: ceil(i * 2^64 / n). For i == n this is 2^64, which
// does not fit in 64 bits; callers subtract 1 first.
u128 RangeStart(uint64_t i, uint64_t n) { return ((u128{i} << 64) + (n - 1)) / n; }

}  // namespace

Result<HashRing> HashRing::Create(const RingConfig& config) {
  Status s = config.Validate();
  if (!s.ok()) return s;
  return HashRing(config);
}

uint64_t HashRing::TokenOf(std::string_view key) const {
  return KeyToken(config_.version >= 2 ? HashTag(key) : key, config_.hash_seed);
}

std::optional<GroupId> HashRing::ShardForPrefix(std::string_view prefix) const {
  if (config_.version < 2) return std::nullopt;
  std::optional<std::string_view> tag = PrefixHashTag(prefix);
  if (!tag) return std::nullopt;
  return ShardForToken(KeyToken(*tag, config_.hash_seed));
}

GroupId HashRing::ShardForToken(uint64_t token) const {
  // floor(token * n / 2^64) is in [0, n); token lies in range i iff
  // i * 2^64 <= token * n < (i + 1) * 2^64, which is exactly RangeOfShard's interval.
  const uint64_t index = static_cast<uint64_t>((u128{token} * config_.num_shards) >> 64);
  return GroupId(index + 1);
}

Result<TokenRange> HashRing::RangeOfShard(GroupId shard) const {
  const uint64_t n = config_.num_shards;
  if (shard.value() == 0 || shard.value() > n) {
    return Status::InvalidArgument("shard " + std::to_string(shard.value()) + " not in [1, " +
                                   std::to_string(n) + "]");
  }
  const uint64_t i = shard.value() - 1;
  TokenRange range;
  range.first = static_cast<uint64_t>(RangeStart(i, n));
  range.last = static_cast<uint64_t>(RangeStart(i + 1, n) - 1);
  return range;
}

}  // namespace ringkv::ring
