// Raft log retention by bytes (issue 14): with 64 KiB values the 20,000-entry limit let one
// shard keep over a gigabyte of log. With --raft_log_max_bytes=1 MiB, 60 such writes (under
// 4 MiB, far below the entry limit) make the leader compact, so a node that was down meanwhile
// can only come back through a snapshot — and then holds every value. The node budget
// (--raft_log_node_max_bytes) does the same across shards: with no per-shard byte budget, 4
// shards and 8 MiB of writes, each node's logs together stay under 2 MiB, and a node that was
// down comes back through snapshots with every value.
#include <gtest/gtest.h>

#include "integration/http_get.h"
#include "testutil/prometheus_text.h"

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

// Sum of the entry bytes of every Raft log on node `id` (nullopt when it does not answer).
std::optional<uint64_t> NodeLogEntryBytes(TestCluster& cluster, int id) {
  auto groups = cluster.Groups(id);
  if (!groups.ok()) return std::nullopt;
  uint64_t total = 0;
  for (const auto& [g, gs] : *groups) total += gs.log_entry_bytes();
  return total;
}

TEST(LogRetentionTest, NodeBudgetHoldsAllShardsLogsTogether) {
  constexpr uint64_t kBudget = 2 << 20;
  TestClusterOptions o;
  o.extra_flags = {"--shards=4", "--raft_log_max_bytes=0",
                   "--raft_log_node_max_bytes=" + std::to_string(kBudget)};
  TestCluster cluster(o);
  ASSERT_OK(cluster.StartAll());
  auto leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int down = *leader % cluster.size() + 1;
  client::Client& c = cluster.client();
  ASSERT_OK(cluster.WaitCaughtUp(down));
  cluster.Kill(down);
  // 128 writes of 64 KiB over many keys (every shard): 8 MiB of log per node without the
  // budget (no per-shard byte budget, far below the entry limit).
  std::map<std::string, std::string> want;
  for (int i = 0; i < 128; ++i) {
    const std::string key = "k" + std::to_string(i % 40);
    want[key] = std::string(64 << 10, static_cast<char>('a' + i % 26)) + std::to_string(i);
    auto r = c.Put(key, want[key]);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  for (int id = 1; id <= cluster.size(); ++id) {
    if (id == down) continue;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto bytes = NodeLogEntryBytes(cluster, id);
          return bytes.has_value() && *bytes <= kBudget;
        },
        10s))
        << "node " << id << " keeps " << NodeLogEntryBytes(cluster, id).value_or(0)
        << " bytes of Raft log, over the node budget of " << kBudget;
    auto metrics = HttpGet(cluster.admin_port(id), "/metrics");
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    auto p = testutil::ParsePrometheusText(metrics->body);
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_GT(p.Value("ringkv_raft_log_budget_compactions_total",
                      "ringkv_raft_log_budget_compactions_total")
                  .value_or(0),
              0);
    EXPECT_EQ(p.Value("ringkv_raft_log_node_max_bytes", "ringkv_raft_log_node_max_bytes"),
              static_cast<double>(kBudget));
  }
  // The node that was down missed compacted entries: it catches up through snapshots.
  ASSERT_OK(cluster.Start(down));
  ASSERT_OK(cluster.WaitCaughtUp(down));
  for (const auto& [key, value] : want) {
    auto kv = cluster.LocalGet(down, key);
    ASSERT_TRUE(kv.ok()) << kv.status();
    ASSERT_TRUE(kv->has_value()) << key;
    EXPECT_EQ((*kv)->value(), value) << key;
  }
}

}  // namespace
}  // namespace ringkv::integration
