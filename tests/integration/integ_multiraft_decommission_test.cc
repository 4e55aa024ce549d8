// Decommissioning a node of a 5-node, 32-shard, R = 3 cluster under a write load (real kvd
// processes): its replicas move to the other nodes, it ends holding none and leaves the gossip
// membership ("left" in every other node's member list), and no acknowledged write is lost.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <set>
#include <string>

#include "client/admin.h"
#include "integration/multiraft_checks.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kNodes = 5;
constexpr int kShards = 32;
constexpr int kReplication = 3;

TestClusterOptions Options() {
  TestClusterOptions o;
  o.nodes = kNodes;
  o.extra_flags = {"--shards=" + std::to_string(kShards),
                   "--replication=" + std::to_string(kReplication),
                   "--dead_node_timeout_ms=3000", "--stability_delay_ms=1000",
                   "--gossip_probe_interval_ms=200"};
  return o;
}

// Node `id`'s gossip state as node `observer` sees it ("" when it does not list it).
std::string StateSeenBy(TestCluster& cluster, int observer, int id) {
  auto st = cluster.NodeStatus(observer);
  if (!st.ok()) return "<" + st.status().ToString() + ">";
  for (int i = 0; i < st->member_ids_size() && i < st->member_states_size(); ++i) {
    if (st->member_ids(i) == static_cast<uint64_t>(id)) return st->member_states(i);
  }
  return "";
}

TEST(MultiRaftDecommissionTest, DrainedNodeHoldsNothingLeavesAndNoAckedWriteIsLost) {
  TestCluster cluster(Options());
  ASSERT_OK(cluster.StartAll());
  auto leader = cluster.WaitForLeader(40s);
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  const std::set<int> all = {1, 2, 3, 4, 5};
  std::string why;
  ASSERT_TRUE(WaitUntil(
      [&] {
        why = ShardMapView::Take(cluster).Unhealthy(kShards, kReplication, all);
        return why.empty();
      },
      20s, 100ms))
      << why;

  // Drain the node leading the most shards: its leaderships must move too.
  const ShardMapView before = ShardMapView::Take(cluster);
  const int victim = before.MostLeaders();
  std::set<int> rest = all;
  rest.erase(victim);
  std::cout << "[ info ] decommissioning node " << victim
            << " (replicas/leaders: " << before.CountsString() << ")\n";

  WriteLoad load(cluster.client(), "load", 3);
  ASSERT_TRUE(WaitUntil([&] { return load.acked() >= 50; }, 10s)) << "load not running";
  const auto started = Clock::now();
  auto r = client::Decommission(cluster.client(), cluster.client_address(victim), 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  // Bound: 40 s for 19-20 replicas to move (each shard: learner, snapshot, promote, remove;
  // shards in parallel) and for the node to leave.
  ShardMapView view;
  const bool drained = WaitUntil(
      [&] {
        view = ShardMapView::Take(cluster);
        why = view.Unhealthy(kShards, kReplication, rest);
        if (!why.empty()) return false;
        if (view.replicas.count(victim) != 0) {
          why = "node still holds replicas: " + view.CountsString();
          return false;
        }
        for (int observer : rest) {
          const std::string state = StateSeenBy(cluster, observer, victim);
          if (state != "left") {
            why = "node " + std::to_string(observer) + " sees node " + std::to_string(victim) +
                  " as '" + state + "'";
            return false;
          }
        }
        return true;
      },
      40s, 200ms);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  // Keep writing a little after the drain: writes go on without the node.
  const int acked_at_drain = load.acked();
  EXPECT_TRUE(WaitUntil([&] { return load.acked() >= acked_at_drain + 20; }, 10s))
      << "writes stalled after the drain";
  load.Stop();
  ASSERT_TRUE(drained) << "node " << victim << " not drained and gone 40 s after decommission: "
                       << why;
  std::cout << "[ metric ] node " << victim << " drained and left " << took.count()
            << " ms after decommission; replicas/leaders: " << view.CountsString()
            << "; writes: " << load.acked() << " acked, " << load.failed() << " failed\n";

  // The node itself agrees it hosts nothing (if it still answers; it may have exited).
  if (cluster.Running(victim)) {
    auto groups = cluster.Groups(victim);
    if (groups.ok()) {
      EXPECT_TRUE(WaitUntil(
          [&] {
            auto g = cluster.Groups(victim);
            return !g.ok() || g->empty();
          },
          10s, 100ms))
          << "node " << victim << " still hosts replicas after leaving";
    }
  }
  // No acknowledged write is lost.
  EXPECT_GT(load.acked(), 0);
  EXPECT_EQ(ReadBackAll(cluster.client(), load.acked_writes()), "");
}

}  // namespace
}  // namespace ringkv::integration
