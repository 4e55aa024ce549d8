#include "ring/hash_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ring/hashing.h"
#include "testutil/status_matchers.h"

namespace ringkv::ring {
namespace {

constexpr uint64_t kMaxToken = std::numeric_limits<uint64_t>::max();

HashRing MakeRing(uint32_t num_shards, uint64_t seed = 0) {
  RingConfig config;
  config.num_shards = num_shards;
  config.hash_seed = seed;
  Result<HashRing> ring = HashRing::Create(config);
  EXPECT_OK(ring);
  return *ring;
}

TEST(HashRingTest, RejectsInvalidConfig) {
  RingConfig config;
  config.num_shards = 0;
  EXPECT_TRUE(HashRing::Create(config).status().IsInvalidArgument());
}

TEST(HashRingTest, TokenIsXxh3) {
  // XXH3_64bits of the empty input with seed 0 is the published test vector 0x2D06800538D394C2.
  // Tokens must never change: they decide where data already on disk lives.
  EXPECT_EQ(MakeRing(32).TokenOf(""), 0x2D06800538D394C2ull);
  EXPECT_NE(MakeRing(32).TokenOf("a"), MakeRing(32).TokenOf("b"));
  EXPECT_NE(MakeRing(32, 0).TokenOf("a"), MakeRing(32, 1).TokenOf("a"));
}

TEST(HashRingTest, HashTagsKeepKeysTogetherFromVersion2) {
  EXPECT_EQ(HashTag("{user42}/name"), "user42");
  EXPECT_EQ(HashTag("a{b}{c}"), "b");
  EXPECT_EQ(HashTag("{}x"), "{}x");
  EXPECT_EQ(HashTag("x{y"), "x{y");
  EXPECT_EQ(PrefixHashTag("{lock}/"), std::optional<std::string_view>("lock"));
  EXPECT_EQ(PrefixHashTag("{lock"), std::nullopt);

  HashRing v2 = MakeRing(64);
  EXPECT_EQ(v2.TokenOf("{user42}/name"), v2.TokenOf("user42"));
  EXPECT_EQ(v2.ShardForKey("{user42}/name"), v2.ShardForKey("{user42}/email"));
  EXPECT_EQ(v2.ShardForPrefix("{user42}/"), v2.ShardForKey("{user42}/x"));
  EXPECT_EQ(v2.ShardForPrefix("user42/"), std::nullopt);

  // Version 1 (clusters bootstrapped before tags) hashes whole keys, as it always did.
  RingConfig c1;
  c1.version = 1;
  c1.num_shards = 64;
  Result<HashRing> v1 = HashRing::Create(c1);
  ASSERT_OK(v1);
  EXPECT_EQ(v1->TokenOf("{user42}/name"), KeyToken("{user42}/name", 0));
  EXPECT_EQ(v1->ShardForPrefix("{user42}/"), std::nullopt);
}

TEST(HashRingTest, ShardForTokenAtTheEdges) {
  HashRing ring = MakeRing(4);
  EXPECT_EQ(ring.ShardForToken(0), GroupId(1));
  EXPECT_EQ(ring.ShardForToken((1ull << 62) - 1), GroupId(1));
  EXPECT_EQ(ring.ShardForToken(1ull << 62), GroupId(2));
  EXPECT_EQ(ring.ShardForToken(1ull << 63), GroupId(3));
  EXPECT_EQ(ring.ShardForToken(kMaxToken), GroupId(4));
  EXPECT_EQ(MakeRing(1).ShardForToken(kMaxToken), GroupId(1));
  EXPECT_EQ(MakeRing(1).ShardForToken(0), GroupId(1));
}

TEST(HashRingTest, RangesTileTheTokenSpace) {
  for (uint32_t n : {1u, 2u, 3u, 7u, 32u, 1000u, kMaxNumShards}) {
    HashRing ring = MakeRing(n);
    uint64_t next_first = 0;
    for (uint32_t s = 1; s <= n; ++s) {
      Result<TokenRange> range = ring.RangeOfShard(GroupId(s));
      ASSERT_OK(range);
      ASSERT_EQ(range->first, next_first) << "n=" << n << " shard " << s;
      ASSERT_LE(range->first, range->last);
      // Both ends and the token just outside map consistently.
      ASSERT_EQ(ring.ShardForToken(range->first), GroupId(s));
      ASSERT_EQ(ring.ShardForToken(range->last), GroupId(s));
      if (s > 1) {
        ASSERT_EQ(ring.ShardForToken(range->first - 1), GroupId(s - 1));
      }
      if (s < n) {
        ASSERT_EQ(ring.ShardForToken(range->last + 1), GroupId(s + 1));
        next_first = range->last + 1;
      } else {
        ASSERT_EQ(range->last, kMaxToken);
      }
    }
  }
}

TEST(HashRingTest, RangesAreEqualWithinOneToken) {
  HashRing ring = MakeRing(7);
  const uint64_t ideal = kMaxToken / 7;
  for (uint32_t s = 1; s <= 7; ++s) {
    TokenRange r = *ring.RangeOfShard(GroupId(s));
    const uint64_t width_minus_one = r.last - r.first;
    EXPECT_GE(width_minus_one + 1, ideal);
    EXPECT_LE(width_minus_one, ideal);  // width <= ideal + 1
  }
}

TEST(HashRingTest, RangeOfUnknownShardIsInvalidArgument) {
  HashRing ring = MakeRing(32);
  EXPECT_TRUE(ring.RangeOfShard(GroupId(0)).status().IsInvalidArgument());
  EXPECT_TRUE(ring.RangeOfShard(GroupId(33)).status().IsInvalidArgument());
}

TEST(HashRingTest, ShardForKeyIsDeterministicAndInRange) {
  HashRing a = MakeRing(32, 7);
  HashRing b = MakeRing(32, 7);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    const GroupId shard = a.ShardForKey(key);
    EXPECT_EQ(shard, b.ShardForKey(key));
    EXPECT_EQ(shard, a.ShardForToken(a.TokenOf(key)));
    EXPECT_GE(shard.value(), 1u);
    EXPECT_LE(shard.value(), 32u);
  }
}

TEST(HashRingTest, SeedChangesTheMapping) {
  HashRing a = MakeRing(32, 0);
  HashRing b = MakeRing(32, 1);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    differ += a.ShardForKey(key) != b.ShardForKey(key);
  }
  // Independent mappings agree on 1/32 of keys; expect ~969 differences.
  EXPECT_GT(differ, 900);
}

// Counts sequential, highly similar keys (the worst case for a weak hash) per shard.
std::vector<int> CountKeys(const HashRing& ring, int num_keys) {
  std::vector<int> counts(ring.num_shards(), 0);
  for (int i = 0; i < num_keys; ++i) {
    ++counts[ring.ShardForKey("user:" + std::to_string(i)).value() - 1];
  }
  return counts;
}

double ChiSquare(const std::vector<int>& counts, double expected) {
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

// Uniformity bound: every shard within 5% (32 shards, 10000 keys each: 5 standard deviations)
// and a chi-square statistic below its 0.1% critical value (61.1 for 31 degrees of freedom).
TEST(HashRingTest, KeysSpreadUniformlyOver32Shards) {
  const int kKeys = 320000;
  std::vector<int> counts = CountKeys(MakeRing(32), kKeys);
  const double expected = kKeys / 32.0;
  for (size_t s = 0; s < counts.size(); ++s) {
    EXPECT_NEAR(counts[s], expected, 0.05 * expected) << "shard " << s + 1;
  }
  EXPECT_LT(ChiSquare(counts, expected), 61.1);
}

// 1000 shards, 1000 keys each: every shard within 15% (4.7 standard deviations); chi-square
// below its 0.1% critical value for 999 degrees of freedom (1142.6).
TEST(HashRingTest, KeysSpreadUniformlyOver1000Shards) {
  const int kKeys = 1000000;
  std::vector<int> counts = CountKeys(MakeRing(1000), kKeys);
  const double expected = kKeys / 1000.0;
  for (size_t s = 0; s < counts.size(); ++s) {
    EXPECT_NEAR(counts[s], expected, 0.15 * expected) << "shard " << s + 1;
  }
  EXPECT_LT(ChiSquare(counts, expected), 1142.6);
}

}  // namespace
}  // namespace ringkv::ring
