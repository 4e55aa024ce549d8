// Raft log retention by bytes (issue 14): with 64 KiB values the 20,000-entry limit let one
// shard keep over a gigabyte of log. With --raft_log_max_bytes=1 MiB, 60 such writes (under
// 4 MiB, far below the entry limit) make the leader compact, so a node that was down meanwhile
// can only come back through a snapshot — and then holds every value.
#include <gtest/gtest.h>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

TEST(LogRetentionTest, ByteBudgetCompactsLongBeforeTheEntryLimit) {
  TestClusterOptions o;
  o.extra_flags = {"--raft_log_max_bytes=1048576"};
  TestCluster cluster(o);
  ASSERT_OK(cluster.StartAll());
  auto leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int down = *leader % cluster.size() + 1;
  client::Client& c = cluster.client();
  ASSERT_OK(c.Put("big", "first"));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto kv = cluster.LocalGet(down, "big");
        return kv.ok() && kv->has_value();
      },
      10s));
  cluster.Kill(down);
  std::string last;
  for (int i = 0; i < 60; ++i) {
    last = std::string(64 << 10, static_cast<char>('a' + i % 26)) + std::to_string(i);
    auto r = c.Put("big", last);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  ASSERT_OK(cluster.Start(down));
  const std::string to_node = "to node " + std::to_string(down);
  EXPECT_TRUE(WaitUntil(
      [&] {
        for (int id = 1; id <= cluster.size(); ++id) {
          if (id != down && cluster.LogHasLine(id, {"streaming snapshot", to_node})) return true;
        }
        return false;
      },
      20s))
      << "the log was not compacted by bytes: node " << down << " got no snapshot";
  ASSERT_OK(cluster.WaitCaughtUp(down));
  auto kv = cluster.LocalGet(down, "big");
  ASSERT_TRUE(kv.ok()) << kv.status();
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->value(), last);
}

}  // namespace
}  // namespace ringkv::integration
