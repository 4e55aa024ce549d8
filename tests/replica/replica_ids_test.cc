// Configurations hold replica ids; status and placement see nodes.
#include <gtest/gtest.h>

#include "replica/replica.h"

namespace ringkv::replica {
namespace {

raftpb::ConfState Conf() {
  raftpb::ConfState cs;
  cs.add_voters(1);
  cs.add_voters(MakeReplicaId(NodeId(2), 40).value());
  cs.add_learners(MakeReplicaId(NodeId(5), 41).value());
  return cs;
}

TEST(ReplicaIdsTest, ReplicaOnNodeFindsTheNodesReplicaInAnyRole) {
  const raftpb::ConfState cs = Conf();
  EXPECT_EQ(ReplicaOnNode(cs, NodeId(1)), std::optional<NodeId>(NodeId(1)));
  EXPECT_EQ(ReplicaOnNode(cs, NodeId(2)), std::optional<NodeId>(MakeReplicaId(NodeId(2), 40)));
  EXPECT_EQ(ReplicaOnNode(cs, NodeId(5)), std::optional<NodeId>(MakeReplicaId(NodeId(5), 41)));
  EXPECT_EQ(ReplicaOnNode(cs, NodeId(3)), std::nullopt);
}

TEST(ReplicaIdsTest, ConfByNodeNamesNodes) {
  const raftpb::ConfState by_node = ConfByNode(Conf());
  ASSERT_EQ(by_node.voters_size(), 2);
  EXPECT_EQ(by_node.voters(0), 1u);
  EXPECT_EQ(by_node.voters(1), 2u);
  ASSERT_EQ(by_node.learners_size(), 1);
  EXPECT_EQ(by_node.learners(0), 5u);
}

TEST(ReplicaIdsTest, ConfContainsComparesReplicaIdsNotNodes) {
  const raftpb::ConfState cs = Conf();
  EXPECT_TRUE(ConfContains(cs, MakeReplicaId(NodeId(2), 40)));
  // Node 2's earlier replica (its bootstrap one) is not a member any more.
  EXPECT_FALSE(ConfContains(cs, NodeId(2)));
}

}  // namespace
}  // namespace ringkv::replica
