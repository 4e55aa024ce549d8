#include "common/ids.h"

#include <gtest/gtest.h>

namespace ringkv {
namespace {

TEST(ReplicaIdTest, BootstrapReplicaIdIsTheNodeId) {
  EXPECT_EQ(MakeReplicaId(NodeId(7), 0), NodeId(7));
  EXPECT_EQ(NodeOfReplica(NodeId(7)), NodeId(7));
  EXPECT_EQ(ReplicaEpoch(NodeId(7)), 0u);
  EXPECT_EQ(ReplicaIdString(NodeId(7)), "7");
}

TEST(ReplicaIdTest, RoundTripsNodeAndEpoch) {
  const NodeId id = MakeReplicaId(NodeId(kMaxNodeId), 123456789);
  EXPECT_EQ(NodeOfReplica(id), NodeId(kMaxNodeId));
  EXPECT_EQ(ReplicaEpoch(id), 123456789u);
  EXPECT_EQ(ReplicaIdString(MakeReplicaId(NodeId(3), 12)), "3@12");
}

// The store relies on this order: of two replicas of one node, the later-added one (higher
// epoch) has the larger id, so a message for a smaller id than the local replica's is stale.
TEST(ReplicaIdTest, LaterEpochsOfANodeCompareGreater) {
  EXPECT_LT(MakeReplicaId(NodeId(3), 0), MakeReplicaId(NodeId(3), 1));
  EXPECT_LT(MakeReplicaId(NodeId(3), 9), MakeReplicaId(NodeId(3), 10));
  EXPECT_LT(MakeReplicaId(NodeId(kMaxNodeId), 4), MakeReplicaId(NodeId(kMaxNodeId), 5));
}

}  // namespace
}  // namespace ringkv
