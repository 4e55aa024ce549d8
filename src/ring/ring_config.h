// RingConfig: the versioned parameters that, together with the set of live nodes, fully determine
// key -> shard and shard -> replicas placement. It is fixed at cluster bootstrap, stored in node
// metadata, and handed to clients, so every node and client computes the same placement.
//
// Wire format (RingConfig::Encode, 24 bytes, all integers big-endian):
//   u32 version | u32 num_shards | u32 replication_factor | u64 hash_seed | u32 crc32c(bytes 0..19)
//
// Thread-safety: plain value.
#ifndef RINGKV_RING_RING_CONFIG_H_
#define RINGKV_RING_RING_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

namespace ringkv::ring {

// Version 1: key token = XXH3_64bits_withSeed(key, hash_seed); shard i (0-based) owns the i-th of
// num_shards equal contiguous token ranges; replicas by rendezvous hashing with bounded loads
// (see shard_map.h).
// Version 2: as version 1, except that a key with a hash tag is hashed by its tag alone
// (ring/hashing.h HashTag: "{user42}/name" hashes as "user42"), so an application can keep
// related keys on one shard (transactions are per shard). New clusters bootstrap with it;
// clusters bootstrapped with version 1 keep it (their data lives where version 1 put it).
// A new placement algorithm must get a new version, never change an existing one.
inline constexpr uint32_t kRingConfigVersion = 2;
inline constexpr uint32_t kMinRingConfigVersion = 1;

inline constexpr uint32_t kDefaultNumShards = 32;
inline constexpr uint32_t kDefaultReplicationFactor = 3;
// Upper bounds on values accepted from outside (Decode/Validate).
inline constexpr uint32_t kMaxNumShards = 1u << 16;
inline constexpr uint32_t kMaxReplicationFactor = 9;

struct RingConfig {
  // Placement algorithm version. Default: kRingConfigVersion. Accepted: [kMinRingConfigVersion,
  // kRingConfigVersion].
  uint32_t version = kRingConfigVersion;
  // Number of shards (Raft groups); shard ids are GroupId 1..num_shards. Fixed for the life of
  // the cluster. Default: 32. Range: [1, kMaxNumShards].
  uint32_t num_shards = kDefaultNumShards;
  // Replicas per shard (fewer when fewer nodes are live). Default: 3. Range:
  // [1, kMaxReplicationFactor].
  uint32_t replication_factor = kDefaultReplicationFactor;
  // Seed of every hash the ring computes; chosen at bootstrap. Default: 0.
  uint64_t hash_seed = 0;

  // OK, or kInvalidArgument naming the first field out of range (unknown version included).
  Status Validate() const;

  // Returns the 24-byte encoding described at the top of this file.
  std::string Encode() const;

  // Parses an Encode() result. Returns kCorruption if the length or checksum is wrong, and
  // kInvalidArgument if the checksum is right but Validate() fails (e.g. a newer version).
  static Result<RingConfig> Decode(std::string_view data);

  // "RingConfig{v=1 shards=32 rf=3 seed=0}".
  std::string ToString() const;

  bool operator==(const RingConfig&) const = default;
};

}  // namespace ringkv::ring

#endif  // RINGKV_RING_RING_CONFIG_H_
