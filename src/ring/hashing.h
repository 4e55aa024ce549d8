// The ring's hash functions, in one place so that every placement decision uses the same, stable
// functions. XXH3_64bits has a frozen output since xxHash 0.8.0, so tokens and scores are the
// same on every platform, build and release.
//
// Thread-safety: pure functions.
#ifndef RINGKV_RING_HASHING_H_
#define RINGKV_RING_HASHING_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/ids.h"

namespace ringkv::ring {

// The token of a key: XXH3_64bits_withSeed(key, seed).
uint64_t KeyToken(std::string_view key, uint64_t seed);

// The part of `key` that ring config version 2 hashes (Redis Cluster's hash tags): when the key
// has a '{' followed later by a '}' with at least one byte between them, the bytes between the
// first '{' and the first '}' after it; otherwise the whole key. "{user42}/name" -> "user42",
// "a{b}{c}" -> "b", "{}x" and "x{y" -> the whole key.
std::string_view HashTag(std::string_view key);

// When every key starting with `prefix` has the same hash tag (the prefix itself contains a
// complete, non-empty tag), that tag; otherwise nullopt. Lets a prefix scan or watch go to one
// shard under ring config version 2.
std::optional<std::string_view> PrefixHashTag(std::string_view prefix);

// The rendezvous (highest-random-weight) score of `node` for `shard`: a well-mixed 64-bit hash of
// (shard, node) under `seed`, in a different domain from KeyToken. Higher is more preferred.
uint64_t PlacementScore(GroupId shard, NodeId node, uint64_t seed);

// A per-node hash used to rank nodes for tie-breaking decisions that concern a node alone (which
// nodes may carry one replica above the floor of the mean).
uint64_t NodeRank(NodeId node, uint64_t seed);

}  // namespace ringkv::ring

#endif  // RINGKV_RING_HASHING_H_
