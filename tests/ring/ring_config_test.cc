#include "ring/ring_config.h"

#include <gtest/gtest.h>

#include <string>

#include "common/coding.h"
#include "common/crc32c.h"
#include "testutil/status_matchers.h"

namespace ringkv::ring {
namespace {

TEST(RingConfigTest, DefaultsAreValid) {
  RingConfig config;
  EXPECT_EQ(config.version, 2u);
  EXPECT_EQ(config.num_shards, 32u);
  EXPECT_EQ(config.replication_factor, 3u);
  EXPECT_EQ(config.hash_seed, 0u);
  EXPECT_OK(config.Validate());
  EXPECT_EQ(config.ToString(), "RingConfig{v=2 shards=32 rf=3 seed=0}");
}

TEST(RingConfigTest, EncodingIsBigEndianWithTrailingCrc) {
  RingConfig config;
  config.version = 1;
  config.num_shards = 1000;
  config.replication_factor = 5;
  config.hash_seed = 0x0102030405060708ull;
  const std::string encoded = config.Encode();
  const std::string payload(
      "\x00\x00\x00\x01"                   // version 1
      "\x00\x00\x03\xe8"                   // 1000 shards
      "\x00\x00\x00\x05"                   // rf 5
      "\x01\x02\x03\x04\x05\x06\x07\x08",  // seed
      20);
  ASSERT_EQ(encoded.size(), 24u);
  EXPECT_EQ(encoded.substr(0, 20), payload);
  EXPECT_EQ(DecodeFixed32BE(encoded.data() + 20), crc32c::Value(payload));
}

TEST(RingConfigTest, RoundTrips) {
  RingConfig config;
  config.num_shards = kMaxNumShards;
  config.replication_factor = kMaxReplicationFactor;
  config.hash_seed = ~0ull;
  Result<RingConfig> decoded = RingConfig::Decode(config.Encode());
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, config);
}

TEST(RingConfigTest, EveryFlippedBitIsCorruption) {
  const std::string good = RingConfig().Encode();
  for (size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      Result<RingConfig> decoded = RingConfig::Decode(bad);
      ASSERT_FALSE(decoded.ok()) << "byte " << byte << " bit " << bit;
      EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status();
    }
  }
}

TEST(RingConfigTest, WrongLengthIsCorruption) {
  const std::string good = RingConfig().Encode();
  for (size_t len : {size_t{0}, size_t{1}, good.size() - 1}) {
    Result<RingConfig> decoded = RingConfig::Decode(good.substr(0, len));
    ASSERT_FALSE(decoded.ok());
    EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status();
  }
  Result<RingConfig> longer = RingConfig::Decode(good + "x");
  ASSERT_FALSE(longer.ok());
  EXPECT_TRUE(longer.status().IsCorruption());
}

TEST(RingConfigTest, ValidateRejectsOutOfRangeFields) {
  auto invalid = [](auto mutate) {
    RingConfig config;
    mutate(config);
    return config.Validate().IsInvalidArgument();
  };
  EXPECT_TRUE(invalid([](RingConfig& c) { c.version = 3; }));
  EXPECT_FALSE(invalid([](RingConfig& c) { c.version = 1; }));
  EXPECT_TRUE(invalid([](RingConfig& c) { c.version = 0; }));
  EXPECT_TRUE(invalid([](RingConfig& c) { c.num_shards = 0; }));
  EXPECT_TRUE(invalid([](RingConfig& c) { c.num_shards = kMaxNumShards + 1; }));
  EXPECT_TRUE(invalid([](RingConfig& c) { c.replication_factor = 0; }));
  EXPECT_TRUE(invalid([](RingConfig& c) { c.replication_factor = kMaxReplicationFactor + 1; }));
  EXPECT_FALSE(invalid([](RingConfig& c) { c.num_shards = 1; }));
  EXPECT_FALSE(invalid([](RingConfig& c) { c.replication_factor = 1; }));
}

TEST(RingConfigTest, WellFramedButInvalidIsInvalidArgument) {
  // A newer version with a correct checksum must be refused as unsupported, not as damage.
  RingConfig future;
  future.version = kRingConfigVersion + 1;
  Result<RingConfig> decoded = RingConfig::Decode(future.Encode());
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(decoded.status().IsInvalidArgument()) << decoded.status();
}

}  // namespace
}  // namespace ringkv::ring
