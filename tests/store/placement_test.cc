#include "store/placement.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringkv::store {
namespace {

using K = PlacementStep::Kind;

GroupView View(std::vector<uint64_t> voters, std::vector<uint64_t> learners, uint64_t self,
               std::map<uint64_t, uint64_t> match, uint64_t last) {
  GroupView v;
  v.self = NodeId(self);
  for (auto id : voters) v.conf.add_voters(id);
  for (auto id : learners) v.conf.add_learners(id);
  for (auto [id, m] : match) v.match[NodeId(id)] = Index(m);
  v.last_index = Index(last);
  return v;
}

std::vector<NodeId> T(std::vector<uint64_t> ids) {
  std::vector<NodeId> out;
  for (auto id : ids) out.push_back(NodeId(id));
  return out;
}

TEST(PlacementTest, NothingToDoWhenAtTarget) {
  auto v = View({1, 2, 3}, {}, 1, {{1, 10}, {2, 10}, {3, 10}}, 10);
  EXPECT_EQ(NextPlacementStep(v, T({1, 2, 3}), 3, 100, true).kind, K::kNone);
}

TEST(PlacementTest, ReplacesDeadNodeAddBeforeRemove) {
  // Node 3 died; the ring now wants 4.
  auto v = View({1, 2, 3}, {}, 1, {{1, 10}, {2, 10}, {3, 5}}, 10);
  PlacementStep s = NextPlacementStep(v, T({1, 2, 4}), 3, 100, false);
  EXPECT_EQ(s.kind, K::kAddLearner);
  EXPECT_EQ(s.node, NodeId(4));
  // Learner 4 caught up: promote.
  v = View({1, 2, 3}, {4}, 1, {{1, 20}, {2, 20}, {3, 5}, {4, 19}}, 20);
  s = NextPlacementStep(v, T({1, 2, 4}), 3, 100, false);
  EXPECT_EQ(s.kind, K::kPromote);
  EXPECT_EQ(s.node, NodeId(4));
  // Now four voters: remove 3.
  v = View({1, 2, 3, 4}, {}, 1, {{1, 30}, {2, 30}, {3, 5}, {4, 30}}, 30);
  s = NextPlacementStep(v, T({1, 2, 4}), 3, 100, false);
  EXPECT_EQ(s.kind, K::kRemove);
  EXPECT_EQ(s.node, NodeId(3));
}

TEST(PlacementTest, LaggingLearnerIsNotPromoted) {
  auto v = View({1, 2, 3}, {4}, 1, {{1, 1000}, {2, 1000}, {3, 1000}, {4, 10}}, 1000);
  EXPECT_EQ(NextPlacementStep(v, T({1, 2, 4}), 3, 100, false).kind, K::kNone);
}

TEST(PlacementTest, LearnerThatNeverAnsweredIsNotPromotedOnAShortLog) {
  // The log is shorter than the catch-up lag, but learner 4 has acknowledged nothing (it may
  // not even host a replica yet): promoting it would count a voter that holds no data.
  auto v = View({1, 2, 3}, {4}, 1, {{1, 30}, {2, 30}, {3, 30}, {4, 0}}, 30);
  EXPECT_EQ(NextPlacementStep(v, T({1, 2, 4}), 3, 100, false).kind, K::kNone);
  v = View({1, 2, 3}, {4}, 1, {{1, 30}, {2, 30}, {3, 30}, {4, 12}}, 30);
  EXPECT_EQ(NextPlacementStep(v, T({1, 2, 4}), 3, 100, false).kind, K::kPromote);
}

TEST(PlacementTest, NeverShrinksBelowReplicationFactor) {
  // Only two live nodes: the dead voter 3 stays until a replacement exists.
  auto v = View({1, 2, 3}, {}, 1, {{1, 10}, {2, 10}, {3, 5}}, 10);
  EXPECT_EQ(NextPlacementStep(v, T({1, 2}), 3, 100, false).kind, K::kNone);
}

TEST(PlacementTest, LeaderLeavingTransfersFirst) {
  auto v = View({1, 2, 3, 4}, {}, 1, {{1, 30}, {2, 30}, {3, 30}, {4, 30}}, 30);
  PlacementStep s = NextPlacementStep(v, T({2, 3, 4}), 3, 100, false);
  EXPECT_EQ(s.kind, K::kTransferLeader);
  EXPECT_EQ(s.node, NodeId(2));
}

TEST(PlacementTest, BalancesLeadershipToPreferred) {
  auto v = View({1, 2, 3}, {}, 1, {{1, 30}, {2, 30}, {3, 30}}, 30);
  PlacementStep s = NextPlacementStep(v, T({3, 1, 2}), 3, 100, true);
  EXPECT_EQ(s.kind, K::kTransferLeader);
  EXPECT_EQ(s.node, NodeId(3));
  EXPECT_EQ(NextPlacementStep(v, T({3, 1, 2}), 3, 100, false).kind, K::kNone);
}

TEST(PlacementTest, JointConfigWaits) {
  auto v = View({1, 2, 4}, {}, 1, {{1, 30}, {2, 30}, {4, 30}}, 30);
  v.conf.add_voters_outgoing(3);
  EXPECT_EQ(NextPlacementStep(v, T({1, 2, 5}), 3, 100, false).kind, K::kNone);
}

TEST(PlacementTest, ExtraLearnerRemoved) {
  auto v = View({1, 2, 3}, {9}, 1, {{1, 30}, {2, 30}, {3, 30}, {9, 30}}, 30);
  PlacementStep s = NextPlacementStep(v, T({1, 2, 3}), 3, 100, false);
  EXPECT_EQ(s.kind, K::kRemove);
  EXPECT_EQ(s.node, NodeId(9));
}

}  // namespace
}  // namespace ringkv::store
