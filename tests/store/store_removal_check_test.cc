// A replica that applied its own removal stays until the group's leader says a quorum of the new
// configuration knows the removal is committed (docs/architecture.md, Membership rule 9). It
// asks the voters of the configuration it applied, but the leader may be none of them by the
// time its questions get through: the group may have replaced more members meanwhile (three
// nodes decommissioned at once). A voter that is not the leader passes the question on to its
// leader. Here the asker's every message to the leader's node is lost, so only the voters that
// follow hear it; before they passed it on, the removed replica, and its node's decommission,
// waited forever.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "store/sim_cluster.h"

namespace ringkv::store::sim {
namespace {

using namespace std::chrono_literals;

constexpr GroupId kGroup{1};

// `node`'s replica of kGroup as it reports itself, if it has one.
std::optional<kvpb::GroupStatus> GroupOn(SimCluster& c, NodeId node) {
  Store* s = c.store(node);
  if (s == nullptr) return std::nullopt;
  const kvpb::NodeStatus status = s->GetNodeStatus();
  for (const kvpb::GroupStatus& g : status.groups()) {
    if (g.group_id() == kGroup.value()) return g;
  }
  return std::nullopt;
}

TEST(StoreRemovalCheckTest, AFollowerPassesTheQuestionOnToItsLeader) {
  SimCluster::Options o;
  o.seed = 3;
  o.nodes = 4;
  o.shards = 1;
  o.membership = true;
  SimCluster c(o);
  c.Start();
  ASSERT_TRUE(c.WaitForLeaders(10s));
  c.RunFor(2s);  // settled: the group on three nodes, the fourth free
  const std::optional<NodeId> leader = c.LeaderOf(kGroup);
  ASSERT_TRUE(leader.has_value());
  const std::optional<kvpb::GroupStatus> before = GroupOn(c, *leader);
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(before->voters_size(), 3);
  NodeId asker(0);  // a voter that does not lead
  for (uint64_t v : before->voters()) {
    if (NodeId(v) != *leader) asker = NodeId(v);
  }
  ASSERT_NE(asker, NodeId(0));

  const NodeId lead = *leader;
  c.set_send_filter([asker, lead](NodeId from, const raftpb::Message& m) {
    return from == asker && NodeOfReplica(NodeId(m.to())) == lead;
  });
  c.Decommission(asker);
  EXPECT_TRUE(c.RunUntil([&] { return c.gone(asker); }, 30s))
      << "the removed replica still waits: " << c.DescribeGroup(kGroup);
  // The case at hand: the leader never changed, so the asker's questions reached only voters
  // that follow.
  EXPECT_EQ(c.LeaderOf(kGroup), std::optional<NodeId>(lead)) << c.DescribeGroup(kGroup);
  EXPECT_TRUE(c.GroupsAtFullStrength()) << c.DescribeGroup(kGroup);
  std::string why;
  EXPECT_TRUE(c.AllReplicasAgree(&why)) << why;
}

}  // namespace
}  // namespace ringkv::store::sim
