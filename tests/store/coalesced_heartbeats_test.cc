// Coalesced heartbeats (issue 13; ReplicaOptions::coalesced_heartbeats, kvd's
// --coalesce_heartbeats) through whole simulated nodes: every group a node leads heartbeats on
// the same tick, so they leave in one loop turn (one frame per peer in kvd), and the groups stay
// led. Without it each group heartbeats at its own phase, over many more moments.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "store/node_env.h"
#include "store/sim_cluster.h"

namespace ringkv::store::sim {
namespace {

using namespace std::chrono_literals;

// The distinct virtual moments at which each node sent a periodic heartbeat during 2 s of an
// idle, awake cluster (no quiescence: every group keeps heartbeating), and whether every group
// kept its leader.
struct Beats {
  std::map<NodeId, std::set<Clock::TimePoint>> moments;
  uint64_t heartbeats = 0;
  bool leaders_kept = true;
};

Beats IdleAwakeCluster(bool coalesced) {
  SimCluster::Options o;
  o.seed = 11;
  o.nodes = 3;
  o.shards = 32;
  o.quiesce = false;
  o.coalesced_heartbeats = coalesced;
  SimCluster c(o);
  c.Start();
  Beats b;
  if (!c.WaitForLeaders(10s)) {
    b.leaders_kept = false;
    return b;
  }
  c.RunFor(1s);
  std::map<GroupId, NodeId> leaders;
  for (uint64_t g = 1; g <= 32; ++g) leaders[GroupId(g)] = c.LeaderOf(GroupId(g)).value_or(NodeId(0));
  c.set_send_observer([&](NodeId from, const raftpb::Message& m) {
    if (m.type() != raftpb::MSG_HEARTBEAT || m.quiesce() || !m.context().empty()) return;
    ++b.heartbeats;
    b.moments[from].insert(c.scheduler().Now());
  });
  c.RunFor(2s);
  c.set_send_observer(nullptr);
  for (const auto& [g, l] : leaders) b.leaders_kept = b.leaders_kept && c.LeaderOf(g) == l;
  return b;
}

TEST(CoalescedHeartbeatsTest, AllGroupsOfANodeBeatAtOnce) {
  const Beats b = IdleAwakeCluster(/*coalesced=*/true);
  ASSERT_TRUE(b.leaders_kept);
  // 32 groups, 2 followers each: about 64 heartbeats per 50 ms interval across the nodes.
  EXPECT_GT(b.heartbeats, 32u * 2u * 30u);
  for (const auto& [node, moments] : b.moments) {
    // 2 s of 50 ms intervals: 40 moments (one more if the window starts on a beat).
    EXPECT_LE(moments.size(), 41u) << "node " << node;
    EXPECT_GE(moments.size(), 39u) << "node " << node;
  }
}

// The same cluster without coalescing: the groups' phases spread their heartbeats over more
// moments (this is what the test above would catch a regression to).
TEST(CoalescedHeartbeatsTest, WithoutItEachGroupBeatsAtItsOwnPhase) {
  const Beats b = IdleAwakeCluster(/*coalesced=*/false);
  ASSERT_TRUE(b.leaders_kept);
  size_t most = 0;
  for (const auto& [node, moments] : b.moments) most = std::max(most, moments.size());
  EXPECT_GT(most, 41u);
}

}  // namespace
}  // namespace ringkv::store::sim
