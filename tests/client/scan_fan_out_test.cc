// ScanFanOut: the shards' pages of one range scan merge in key order; the page ends where every
// shard's part is complete (the lowest point a shard stopped at) and at the limit; the first
// error wins; `done` runs once, after the last answer.
#include "client/scan_fan_out.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace ringkv::client {
namespace {

ScanResult Page(std::vector<std::string> keys, uint32_t shard, uint64_t revision,
                std::optional<std::string> continue_after = std::nullopt) {
  ScanResult r;
  for (auto& k : keys) {
    KeyValue kv;
    kv.key = std::move(k);
    r.kvs.push_back(std::move(kv));
  }
  r.more = continue_after.has_value();
  if (continue_after) r.continue_after = *continue_after;
  r.revisions[shard] = revision;
  return r;
}

std::vector<std::string> Keys(const ScanResult& r) {
  std::vector<std::string> out;
  for (const KeyValue& kv : r.kvs) out.push_back(kv.key);
  return out;
}

TEST(ScanFanOutTest, MergesInKeyOrderAfterTheLastShard) {
  int calls = 0;
  Result<ScanResult> got = Status::Aborted("not called");
  ScanFanOut f(2, /*limit=*/0, [&](Result<ScanResult> r) {
    ++calls;
    got = std::move(r);
  });
  f.OnShard(Page({"b", "d"}, 1, 10));
  EXPECT_EQ(calls, 0);
  f.OnShard(Page({"a", "c"}, 2, 20));
  ASSERT_EQ(calls, 1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Keys(*got), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_FALSE(got->more);
  EXPECT_EQ(got->revisions.at(1), 10u);
  EXPECT_EQ(got->revisions.at(2), 20u);
}

TEST(ScanFanOutTest, PageEndsWhereEveryShardIsComplete) {
  Result<ScanResult> got = Status::Aborted("not called");
  ScanFanOut f(2, /*limit=*/0, [&](Result<ScanResult> r) { got = std::move(r); });
  f.OnShard(Page({"a", "c"}, 1, 1, /*continue_after=*/"c"));  // shard 1 has more after c
  f.OnShard(Page({"b", "d", "e"}, 2, 1));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Keys(*got), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(got->more);
  EXPECT_EQ(got->continue_after, "c");
}

TEST(ScanFanOutTest, LimitCutsThePage) {
  Result<ScanResult> got = Status::Aborted("not called");
  ScanFanOut f(2, /*limit=*/3, [&](Result<ScanResult> r) { got = std::move(r); });
  f.OnShard(Page({"a", "c", "e"}, 1, 1));
  f.OnShard(Page({"b", "d"}, 2, 1));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Keys(*got), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(got->more);
  EXPECT_EQ(got->continue_after, "c");
}

TEST(ScanFanOutTest, FirstErrorWins) {
  int calls = 0;
  Result<ScanResult> got = ScanResult();
  ScanFanOut f(3, /*limit=*/0, [&](Result<ScanResult> r) {
    ++calls;
    got = std::move(r);
  });
  f.OnShard(Status::Unavailable("shard 1 down"));
  f.OnShard(Page({"a"}, 2, 1));
  f.OnShard(Status::DeadlineExceeded("shard 3 slow"));
  ASSERT_EQ(calls, 1);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ringkv::client
