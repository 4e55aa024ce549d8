// Three real kvd processes replicate: a write on the leader is read back linearizably and, with
// serializable reads, from every node's local state; requests over the size limits are refused
// with INVALID_ARGUMENT and write nothing.
#include <gtest/gtest.h>

#include <string>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(cluster_.StartAll());
    auto leader = cluster_.WaitForLeader();
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
    leader_ = *leader;
  }

  TestCluster cluster_;
  int leader_ = 0;  // the node leading the most groups
};

TEST_F(ReplicationTest, ThreeNodesReplicateAndServeReads) {
  client::Client& c = cluster_.client();
  auto version = c.Put("fruit", "apple");
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_GT(*version, 0u);

  auto got = c.Get("fruit");  // linearizable (ReadIndex on the leader)
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "apple");
  EXPECT_EQ((*got)->version, *version);

  // Every node's own state machine gets the write (serializable read served by that node).
  for (int id = 1; id <= cluster_.size(); ++id) {
    std::string last;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto kv = cluster_.LocalGet(id, "fruit");
          if (!kv.ok()) {
            last = kv.status().ToString();
            return false;
          }
          last = kv->has_value() ? (*kv)->value() : "<absent>";
          return kv->has_value() && (*kv)->value() == "apple" && (*kv)->version() == *version;
        },
        10s))
        << "node " << id << " last saw: " << last;
  }

  // An overwrite and a delete replicate too.
  auto v2 = c.Put("fruit", "pear");
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_GT(*v2, *version);
  auto del = c.Put("veg", "kale");
  ASSERT_TRUE(del.ok());
  auto deleted = c.Delete("veg");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_TRUE(*deleted);
  for (int id = 1; id <= cluster_.size(); ++id) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto fruit = cluster_.LocalGet(id, "fruit");
          auto veg = cluster_.LocalGet(id, "veg");
          return fruit.ok() && fruit->has_value() && (*fruit)->value() == "pear" && veg.ok() &&
                 !veg->has_value();
        },
        10s))
        << "node " << id;
  }

  // Every node agrees on the leader of the key's group and, once idle, on its applied index.
  auto group = cluster_.GroupOf("fruit");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  const int leader = cluster_.LeaderOf(*group);
  ASSERT_NE(leader, 0);
  EXPECT_TRUE(WaitUntil(
      [&] {
        uint64_t applied = 0;
        for (int id = 1; id <= cluster_.size(); ++id) {
          auto g = cluster_.Group(id, *group);
          if (!g.ok() || g->leader() != static_cast<uint64_t>(leader)) return false;
          if (id > 1 && g->applied() != applied) return false;
          applied = g->applied();
        }
        return applied >= *v2;
      },
      10s));
}

TEST_F(ReplicationTest, OversizedKeyOrValueIsInvalidArgumentAndWritesNothing) {
  client::Client& c = cluster_.client();
  const std::string big_key = "big/" + std::string(4096 - 4 + 1, 'k');  // 4097 bytes
  const std::string max_key = "big/" + std::string(4096 - 4, 'k');      // 4096 bytes
  const std::string big_value((1 << 20) + 1, 'v');
  const std::string max_value(1 << 20, 'v');

  auto r1 = c.Put(big_key, "x");
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidArgument) << r1.status().ToString();

  auto r2 = c.Put("big/value", big_value);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), StatusCode::kInvalidArgument) << r2.status().ToString();

  auto r3 = c.Append("big/appended", big_value);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.status().code(), StatusCode::kInvalidArgument) << r3.status().ToString();

  // Nothing was written under big/.
  auto scan = c.Scan("big/", "big0");
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_TRUE(scan->kvs.empty()) << "first key: " << scan->kvs.front().key.substr(0, 20);

  // The limits are inclusive: exactly 4 KiB of key and 1 MiB of value are fine.
  auto ok_key = c.Put(max_key, "x");
  EXPECT_TRUE(ok_key.ok()) << ok_key.status().ToString();
  auto ok_value = c.Put("big/value", max_value);
  EXPECT_TRUE(ok_value.ok()) << ok_value.status().ToString();
  auto got = c.Get("big/value");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value.size(), max_value.size());
}

}  // namespace
}  // namespace ringkv::integration
