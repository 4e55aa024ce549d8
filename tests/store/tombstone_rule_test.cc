// Cases of the rule that keeps a removed replica removed (store/tombstone_rule.h).
#include "store/tombstone_rule.h"

#include <gtest/gtest.h>

namespace ringkv::store {
namespace {

using Tombstone = storage::MetaStore::Tombstone;

TEST(TombstoneRule, RefusesTheRemovedReplicaAndOlderOnes) {
  const Tombstone t{Index(17), MakeReplicaId(NodeId(2), 16)};
  EXPECT_TRUE(TombstoneForbids(t, MakeReplicaId(NodeId(2), 16), std::nullopt));
  EXPECT_TRUE(TombstoneForbids(t, MakeReplicaId(NodeId(2), 16), Index(40)));
  EXPECT_TRUE(TombstoneForbids(t, NodeId(2), Index(40)));  // the bootstrap replica (epoch 0)
}

// integ_multiraft_heal_test, group 32 on node 2: a removal notice left a tombstone at the
// notifying leader's applied index (17), past the entry that had already re-added node 2 as
// replica 2@16. The new replica's snapshot at 17 was refused 687 times in 40 s.
TEST(TombstoneRule, NewerReplicaIsAcceptedWhateverTheSnapshotIndex) {
  const Tombstone t{Index(17), NodeId(2)};
  EXPECT_FALSE(TombstoneForbids(t, MakeReplicaId(NodeId(2), 16), std::nullopt));
  EXPECT_FALSE(TombstoneForbids(t, MakeReplicaId(NodeId(2), 16), Index(17)));
  EXPECT_FALSE(TombstoneForbids(t, MakeReplicaId(NodeId(2), 16), Index(12)));
}

TEST(TombstoneRule, TombstoneWithoutReplicaIdBoundsTheSnapshotIndex) {
  const Tombstone t{Index(17), kNoNode};
  EXPECT_TRUE(TombstoneForbids(t, NodeId(2), Index(17)));
  EXPECT_TRUE(TombstoneForbids(t, NodeId(2), Index(3)));
  EXPECT_FALSE(TombstoneForbids(t, NodeId(2), Index(18)));
  EXPECT_FALSE(TombstoneForbids(t, NodeId(2), std::nullopt));  // a leader's append: no index
}

}  // namespace
}  // namespace ringkv::store
