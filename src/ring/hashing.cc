#include "ring/hashing.h"

#include <xxhash.h>

namespace ringkv::ring {
namespace {

// Domain separators, so that a key whose bytes equal an encoded (shard, node) pair cannot
// correlate with placement scores. Arbitrary constants; part of ring config version 1.
constexpr uint64_t kScoreDomain = 0x52494e47'53434f52ull;  // "RINGSCOR"
constexpr uint64_t kNodeDomain = 0x52494e47'4e4f4445ull;   // "RINGNODE"

uint64_t HashPair(uint64_t a, uint64_t b, uint64_t seed) {
  // Big-endian, so the hashed bytes do not depend on the host's byte order.
  unsigned char buf[16];
  for (int i = 0; i < 8; ++i) {
    buf[i] = static_cast<unsigned char>(a >> (56 - 8 * i));
    buf[8 + i] = static_cast<unsigned char>(b >> (56 - 8 * i));
  }
  return XXH3_64bits_withSeed(buf, sizeof(buf), seed);
}

}  // namespace

uint64_t KeyToken(std::string_view key, uint64_t seed) {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed);
}

std::string_view HashTag(std::string_view key) {
  return PrefixHashTag(key).value_or(key);
}

std::optional<std::string_view> PrefixHashTag(std::string_view prefix) {
  const size_t open = prefix.find('{');
  if (open == std::string_view::npos) return std::nullopt;
  const size_t close = prefix.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return std::nullopt;
  return prefix.substr(open + 1, close - open - 1);
}

uint64_t PlacementScore(GroupId shard, NodeId node, uint64_t seed) {
  return HashPair(shard.value(), node.value(), seed ^ kScoreDomain);
}

uint64_t NodeRank(NodeId node, uint64_t seed) {
  return HashPair(node.value(), 0, seed ^ kNodeDomain);
}

}  // namespace ringkv::ring
