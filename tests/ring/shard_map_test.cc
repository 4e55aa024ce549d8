#include "ring/shard_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "common/random.h"
#include "testutil/status_matchers.h"

namespace ringkv::ring {
namespace {

RingConfig Config(uint32_t shards, uint32_t rf = 3, uint64_t seed = 0) {
  RingConfig config;
  config.num_shards = shards;
  config.replication_factor = rf;
  config.hash_seed = seed;
  return config;
}

ShardMap MustCompute(const RingConfig& config, const std::vector<NodeId>& nodes) {
  Result<ShardMap> map = ShardMap::Compute(config, nodes);
  EXPECT_OK(map);
  return *map;
}

std::vector<NodeId> Nodes(std::initializer_list<uint64_t> ids) {
  std::vector<NodeId> out;
  for (uint64_t id : ids) out.push_back(NodeId(id));
  return out;
}

// `n` distinct random node ids from `seed`, in random order.
std::vector<NodeId> RandomNodes(uint64_t seed, int n) {
  Random rng(seed);
  std::vector<NodeId> nodes;
  while (static_cast<int>(nodes.size()) < n) {
    NodeId id(rng.Uniform(1'000'000) + 1);
    if (std::find(nodes.begin(), nodes.end(), id) == nodes.end()) nodes.push_back(id);
  }
  return nodes;
}

// Checks what must hold for every map: each shard has min(R, N) distinct live replicas.
void ExpectWellFormed(const ShardMap& map) {
  const size_t want = std::min<size_t>(map.config().replication_factor, map.nodes().size());
  std::set<NodeId> live(map.nodes().begin(), map.nodes().end());
  for (uint32_t s = 1; s <= map.num_shards(); ++s) {
    std::span<const NodeId> r = map.Replicas(GroupId(s));
    ASSERT_EQ(r.size(), want) << "shard " << s;
    std::set<NodeId> distinct(r.begin(), r.end());
    ASSERT_EQ(distinct.size(), r.size()) << "shard " << s << " repeats a node";
    for (NodeId n : r) ASSERT_TRUE(live.count(n)) << "shard " << s << " on dead node " << n;
    ASSERT_EQ(map.PreferredLeader(GroupId(s)), want ? r.front() : kNoNode);
  }
}

// The balance guarantee: every node holds floor or ceil of R*S/N replicas and leads floor or ceil
// of S/N shards.
void ExpectExactlyBalanced(const ShardMap& map) {
  const uint64_t n = map.nodes().size();
  const uint64_t s = map.num_shards();
  const uint64_t replicas = s * std::min<uint64_t>(map.config().replication_factor, n);
  for (NodeId node : map.nodes()) {
    EXPECT_GE(map.ReplicaCount(node), replicas / n) << "node " << node;
    EXPECT_LE(map.ReplicaCount(node), (replicas + n - 1) / n) << "node " << node;
    EXPECT_GE(map.LeaderCount(node), s / n) << "node " << node;
    EXPECT_LE(map.LeaderCount(node), (s + n - 1) / n) << "node " << node;
  }
}

TEST(ShardMapTest, RejectsInvalidInput) {
  EXPECT_TRUE(ShardMap::Compute(Config(0), Nodes({1, 2, 3})).status().IsInvalidArgument());
  EXPECT_TRUE(ShardMap::Compute(Config(32), Nodes({1, 0, 3})).status().IsInvalidArgument());
}

TEST(ShardMapTest, NoNodesMeansNoReplicas) {
  ShardMap map = MustCompute(Config(32), {});
  EXPECT_TRUE(map.nodes().empty());
  for (uint32_t s = 1; s <= 32; ++s) {
    EXPECT_TRUE(map.Replicas(GroupId(s)).empty());
    EXPECT_EQ(map.PreferredLeader(GroupId(s)), kNoNode);
  }
}

TEST(ShardMapTest, UnknownShardOrNodeIsEmpty) {
  ShardMap map = MustCompute(Config(32), Nodes({1, 2, 3}));
  EXPECT_TRUE(map.Replicas(GroupId(0)).empty());
  EXPECT_TRUE(map.Replicas(GroupId(33)).empty());
  EXPECT_EQ(map.PreferredLeader(GroupId(33)), kNoNode);
  EXPECT_TRUE(map.ShardsOf(NodeId(4)).empty());
  EXPECT_EQ(map.ReplicaCount(NodeId(4)), 0u);
  EXPECT_EQ(map.LeaderCount(NodeId(4)), 0u);
}

TEST(ShardMapTest, FewerNodesThanReplicationFactorUsesAllNodes) {
  for (int n = 1; n <= 2; ++n) {
    std::vector<NodeId> nodes = RandomNodes(n, n);
    ShardMap map = MustCompute(Config(32), nodes);
    ExpectWellFormed(map);
    for (uint32_t s = 1; s <= 32; ++s) {
      std::span<const NodeId> r = map.Replicas(GroupId(s));
      EXPECT_TRUE(std::is_permutation(r.begin(), r.end(), map.nodes().begin()));
    }
    ExpectExactlyBalanced(map);  // leaders spread even when every node holds every shard
  }
}

TEST(ShardMapTest, DuplicatesAndOrderDoNotMatter) {
  ShardMap a = MustCompute(Config(64), Nodes({5, 3, 9, 1, 7}));
  ShardMap b = MustCompute(Config(64), Nodes({1, 3, 5, 7, 9, 9, 3, 1}));
  EXPECT_EQ(a.nodes(), Nodes({1, 3, 5, 7, 9}));
  EXPECT_TRUE(a == b) << a.DebugString() << "\nvs\n" << b.DebugString();
}

TEST(ShardMapTest, DeterministicAcrossComputations) {
  std::vector<NodeId> nodes = RandomNodes(42, 10);
  ShardMap a = MustCompute(Config(1000), nodes);
  std::reverse(nodes.begin(), nodes.end());
  ShardMap b = MustCompute(Config(1000), nodes);
  EXPECT_TRUE(a == b);
  EXPECT_EQ(a.DebugString(), b.DebugString());
}

TEST(ShardMapTest, SeedChangesPlacement) {
  std::vector<NodeId> nodes = Nodes({1, 2, 3, 4, 5});
  ShardMap a = MustCompute(Config(32, 3, 0), nodes);
  ShardMap b = MustCompute(Config(32, 3, 1), nodes);
  EXPECT_GT(ReplicaMoves(a, b), 0u);
  ExpectExactlyBalanced(b);
}

TEST(ShardMapTest, ShardsOfAgreesWithReplicas) {
  ShardMap map = MustCompute(Config(32), Nodes({10, 20, 30, 40, 50}));
  uint32_t total = 0;
  for (NodeId node : map.nodes()) {
    std::vector<GroupId> shards = map.ShardsOf(node);
    EXPECT_EQ(shards.size(), map.ReplicaCount(node));
    EXPECT_TRUE(std::is_sorted(shards.begin(), shards.end()));
    for (GroupId s : shards) {
      std::span<const NodeId> r = map.Replicas(s);
      EXPECT_NE(std::find(r.begin(), r.end(), node), r.end());
    }
    total += map.ReplicaCount(node);
  }
  EXPECT_EQ(total, 32u * 3u);
}

// Balance bound, 32 shards, R = 3, 5 nodes: mean 19.2 replicas; every node holds 19 or 20, i.e.
// within 5% of the mean (4.2% at worst), and leads 6 or 7 of the 32 shards.
TEST(ShardMapTest, Balance32ShardsOver5Nodes) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    ShardMap map = MustCompute(Config(32, 3, seed), RandomNodes(seed, 5));
    ExpectWellFormed(map);
    ExpectExactlyBalanced(map);
    for (NodeId node : map.nodes()) {
      EXPECT_LE(std::abs(map.ReplicaCount(node) - 19.2) / 19.2, 0.05) << "seed " << seed;
    }
  }
}

// Balance bound, 1000 shards, R = 3, 10 nodes: every node holds exactly 300 replicas (0% from the
// mean) and leads exactly 100 shards.
TEST(ShardMapTest, Balance1000ShardsOver10Nodes) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    ShardMap map = MustCompute(Config(1000, 3, seed), RandomNodes(seed, 10));
    ExpectWellFormed(map);
    for (NodeId node : map.nodes()) {
      EXPECT_EQ(map.ReplicaCount(node), 300u) << "seed " << seed;
      EXPECT_EQ(map.LeaderCount(node), 100u) << "seed " << seed;
    }
  }
}

TEST(ShardMapTest, BalancedForManyShapes) {
  for (uint32_t shards : {1u, 7u, 32u, 100u, 257u}) {
    for (uint32_t rf : {1u, 3u, 5u}) {
      for (int n : {1, 2, 3, 4, 6, 9, 17}) {
        ShardMap map = MustCompute(Config(shards, rf, n), RandomNodes(shards * 100 + n, n));
        ExpectWellFormed(map);
        ExpectExactlyBalanced(map);
        if (HasFailure()) {
          FAIL() << "shards=" << shards << " rf=" << rf << " nodes=" << n;
        }
      }
    }
  }
}

// Movement on membership change. The minimum for adding a node is the replicas the new node must
// hold (R*S/(N+1) rounded); for removing one it is the replicas the removed node held. Exact
// balance costs some cascade moves above that minimum. Asserted bounds, over 40 seeded clusters:
//   32 shards, 5 nodes:   each change <= 1.75x minimum, mean over clusters <= 1.35x.
//   1000 shards, 10 nodes: each change <= 1.30x minimum, mean over clusters <= 1.20x.
// (Measured over 100 clusters: 32/5 worst 1.50x, mean 1.24x (add) / 1.15x (remove);
// 1000/10 worst 1.18x, mean 1.11x / 1.10x.)
struct MovementCase {
  uint32_t shards;
  int nodes;
  double max_ratio;
  double mean_ratio;
};

void CheckMovement(const MovementCase& c) {
  const int kClusters = 40;
  double add_sum = 0;
  double remove_sum = 0;
  for (uint64_t seed = 1; seed <= kClusters; ++seed) {
    const RingConfig config = Config(c.shards, 3, seed);
    std::vector<NodeId> nodes = RandomNodes(seed, c.nodes + 1);
    const NodeId extra = nodes.back();
    nodes.pop_back();
    ShardMap before = MustCompute(config, nodes);

    std::vector<NodeId> grown = nodes;
    grown.push_back(extra);
    ShardMap after_add = MustCompute(config, grown);
    const double add_min = after_add.ReplicaCount(extra);
    const double add_moves = ReplicaMoves(before, after_add);
    EXPECT_GE(add_moves, add_min);
    EXPECT_LE(add_moves, c.max_ratio * add_min) << "add, seed " << seed;
    add_sum += add_moves / add_min;

    std::vector<NodeId> shrunk = nodes;
    const NodeId gone = shrunk[seed % shrunk.size()];
    shrunk.erase(std::find(shrunk.begin(), shrunk.end(), gone));
    ShardMap after_remove = MustCompute(config, shrunk);
    const double remove_min = before.ReplicaCount(gone);
    const double remove_moves = ReplicaMoves(before, after_remove);
    EXPECT_GE(remove_moves, remove_min);
    EXPECT_LE(remove_moves, c.max_ratio * remove_min) << "remove, seed " << seed;
    remove_sum += remove_moves / remove_min;
  }
  EXPECT_LE(add_sum / kClusters, c.mean_ratio);
  EXPECT_LE(remove_sum / kClusters, c.mean_ratio);
}

TEST(ShardMapTest, Movement32ShardsOver5Nodes) { CheckMovement({32, 5, 1.75, 1.35}); }

TEST(ShardMapTest, Movement1000ShardsOver10Nodes) { CheckMovement({1000, 10, 1.30, 1.20}); }

TEST(ShardMapTest, RemovingANodeDropsItEverywhere) {
  std::vector<NodeId> nodes = Nodes({1, 2, 3, 4, 5, 6});
  ShardMap before = MustCompute(Config(32), nodes);
  nodes.erase(nodes.begin() + 2);
  ShardMap after = MustCompute(Config(32), nodes);
  ExpectWellFormed(after);
  EXPECT_TRUE(after.ShardsOf(NodeId(3)).empty());
  EXPECT_GT(before.ReplicaCount(NodeId(3)), 0u);
}

TEST(ShardMapTest, ShrinkingBelowReplicationFactorMovesNothing) {
  // From 3 nodes to 2 with R = 3, every shard just loses the removed node.
  ShardMap before = MustCompute(Config(32), Nodes({1, 2, 3}));
  ShardMap after = MustCompute(Config(32), Nodes({1, 3}));
  EXPECT_EQ(ReplicaMoves(before, after), 0u);
}

}  // namespace
}  // namespace ringkv::ring
