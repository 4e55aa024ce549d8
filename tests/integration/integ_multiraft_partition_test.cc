// Two of five nodes cut off from the rest, in a 32-shard, R = 3 cluster of real kvd processes.
//
// The partition is MODELLED BY SIGSTOP: both nodes are frozen (they send and answer nothing,
// their sockets stay open) and later SIGCONTed, coming back with whatever leaderships and terms
// they had. Checked:
//  - election safety throughout: no shard ever shows two leaders at the same term;
//  - shards with a majority of voters on the live side elect a leader there and commit writes;
//    shards with two voters on the frozen side commit nothing on the live side;
//  - after healing, every shard has exactly one leader, at the highest term of its replicas,
//    all replicas converge to the same applied index, and every acknowledged write is readable.
// Replacement of dead nodes is pushed out (--dead_node_timeout_ms=60000) so the replica sets
// stay fixed and the test is about leadership only.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "integration/multiraft_checks.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

constexpr int kNodes = 5;
constexpr int kShards = 32;
constexpr int kReplication = 3;

TestClusterOptions Options() {
  TestClusterOptions o;
  o.nodes = kNodes;
  o.extra_flags = {"--shards=" + std::to_string(kShards),
                   "--replication=" + std::to_string(kReplication),
                   "--dead_node_timeout_ms=60000", "--gossip_probe_interval_ms=200"};
  return o;
}

// Every (group, term) -> nodes seen claiming leadership of that group at that term.
class LeaderLedger {
 public:
  void Sample(TestCluster& cluster, const std::set<int>& frozen) {
    for (int id = 1; id <= cluster.size(); ++id) {
      if (frozen.count(id) || !cluster.Running(id)) continue;
      auto gs = cluster.Groups(id);
      if (!gs.ok()) continue;
      for (const auto& [group, g] : *gs) {
        if (g.role() == "leader") seen_[{group, g.term()}].insert(id);
      }
    }
  }
  // Empty when no (group, term) had two leaders, else the first such.
  std::string Violation() const {
    for (const auto& [gt, leaders] : seen_) {
      if (leaders.size() > 1) {
        std::string s = "group " + std::to_string(gt.first) + " term " +
                        std::to_string(gt.second) + " led by";
        for (int n : leaders) s += " " + std::to_string(n);
        return s;
      }
    }
    return "";
  }

 private:
  std::map<std::pair<uint64_t, uint64_t>, std::set<int>> seen_;
};

// Empty when every group has exactly one node in the leader role, at the highest term of the
// group's replicas, and every replica has applied the same index as the leader.
std::string Unconverged(TestCluster& cluster) {
  std::map<uint64_t, std::vector<std::pair<int, kvpb::GroupStatus>>> by_group;
  for (int id = 1; id <= cluster.size(); ++id) {
    auto gs = cluster.Groups(id);
    if (!gs.ok()) return "node " + std::to_string(id) + ": " + gs.status().ToString();
    for (const auto& [group, g] : *gs) by_group[group].push_back({id, g});
  }
  if (static_cast<int>(by_group.size()) != kShards) {
    return std::to_string(by_group.size()) + " groups hosted";
  }
  for (const auto& [group, replicas] : by_group) {
    const std::string gname = "group " + std::to_string(group);
    int leaders = 0;
    uint64_t max_term = 0, leader_term = 0, leader_applied = 0;
    for (const auto& [id, g] : replicas) {
      max_term = std::max(max_term, g.term());
      if (g.role() == "leader") {
        ++leaders;
        leader_term = g.term();
        leader_applied = g.applied();
      }
    }
    if (leaders != 1) return gname + " has " + std::to_string(leaders) + " leaders";
    if (leader_term != max_term) {
      return gname + " leader at term " + std::to_string(leader_term) + " < " +
             std::to_string(max_term);
    }
    if (static_cast<int>(replicas.size()) != kReplication) {
      return gname + " hosted on " + std::to_string(replicas.size()) + " nodes";
    }
    for (const auto& [id, g] : replicas) {
      if (g.applied() != leader_applied) {
        return gname + " node " + std::to_string(id) + " applied " + std::to_string(g.applied()) +
               " != leader's " + std::to_string(leader_applied);
      }
    }
  }
  return "";
}

TEST(MultiRaftPartitionTest, SigstopOfTwoNodesModelsAPartitionNoSplitBrainAndHealing) {
  TestCluster cluster(Options());
  ASSERT_OK(cluster.StartAll());
  auto leader = cluster.WaitForLeader(40s);
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  std::string why;
  ASSERT_TRUE(WaitUntil(
      [&] {
        why = ShardMapView::Take(cluster).Unhealthy(kShards, kReplication, {1, 2, 3, 4, 5});
        return why.empty();
      },
      20s, 100ms))
      << why;
  const ShardMapView map = ShardMapView::Take(cluster);

  // Freeze the pair of nodes sharing the most shards: those shards lose their majority.
  std::pair<int, int> pair{1, 2};
  int best = -1;
  for (int a = 1; a <= kNodes; ++a) {
    for (int b = a + 1; b <= kNodes; ++b) {
      int both = 0;
      for (const auto& [group, g] : map.shards) {
        int in = 0;
        for (uint64_t n : g.voters()) in += (n == static_cast<uint64_t>(a) || n == static_cast<uint64_t>(b));
        both += in == 2;
      }
      if (both > best) best = both, pair = {a, b};
    }
  }
  const std::set<int> frozen = {pair.first, pair.second};
  std::set<uint64_t> minority_shards, majority_shards;
  for (const auto& [group, g] : map.shards) {
    int in = 0;
    for (uint64_t n : g.voters()) in += frozen.count(static_cast<int>(n));
    (in >= 2 ? minority_shards : majority_shards).insert(group);
  }
  ASSERT_FALSE(minority_shards.empty());
  ASSERT_FALSE(majority_shards.empty());

  // Two keys per shard (as the servers route them): the first gets an acknowledged value
  // before the partition, the second takes the minority-side write of unknown outcome.
  std::map<uint64_t, std::string> key_of, second_key_of;
  for (int i = 0; i < 4000 && static_cast<int>(second_key_of.size()) < kShards; ++i) {
    const std::string key = "key" + std::to_string(i);
    auto g = cluster.GroupOf(key);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    if (!key_of.emplace(*g, key).second) second_key_of.emplace(*g, key);
  }
  ASSERT_EQ(static_cast<int>(second_key_of.size()), kShards);
  std::map<std::string, std::string> acked;
  client::CallOptions co;
  co.timeout = 10s;
  for (const auto& [group, key] : key_of) {
    ASSERT_OK(cluster.client().Put(key, "before", co).status());
    acked[key] = "before";
  }

  LeaderLedger ledger;
  ledger.Sample(cluster, {});
  std::cout << "[ info ] freezing nodes " << pair.first << " and " << pair.second << " (SIGSTOP): "
            << minority_shards.size() << " shards lose their majority, "
            << majority_shards.size() << " keep it\n";
  cluster.process(pair.first).Pause();
  cluster.process(pair.second).Pause();

  // Majority side: every shard with a majority there commits a write (a new leader is elected
  // there within the client's 10 s deadline when the old one is frozen).
  for (uint64_t group : majority_shards) {
    const std::string& key = key_of.at(group);
    auto r = cluster.client().Put(key, "during", co);
    EXPECT_TRUE(r.ok()) << "group " << group << " (majority live) write: "
                        << r.status().ToString();
    if (r.ok()) acked[key] = "during";
    ledger.Sample(cluster, frozen);
  }
  // Minority-side shards: the one live replica commits nothing. (The outcome of these writes
  // is unknown, not failed: a frozen leader may commit them after SIGCONT, so the test never
  // reads them back.)
  client::CallOptions short_co;
  short_co.timeout = 2s;
  for (uint64_t group : minority_shards) {
    auto r = cluster.client().Put(second_key_of.at(group), "x", short_co);
    EXPECT_FALSE(r.ok()) << "group " << group
                         << " committed a write with 2 of its 3 voters frozen";
    ledger.Sample(cluster, frozen);
  }
  for (uint64_t group : majority_shards) {
    const auto views = cluster.LeaderViews({pair.first, pair.second});
    auto it = views.find(group);
    EXPECT_TRUE(it != views.end() && !frozen.count(static_cast<int>(it->second.leader())))
        << "group " << group << " has no leader on the live side";
  }

  // Heal.
  cluster.process(pair.first).Resume();
  cluster.process(pair.second).Resume();
  // Bound: 20 s for stale leaders to step down and every replica to catch up.
  const bool converged = WaitUntil(
      [&] {
        ledger.Sample(cluster, {});
        why = Unconverged(cluster);
        return why.empty();
      },
      20s, 100ms);
  EXPECT_TRUE(converged) << "not converged 20 s after healing: " << why;
  EXPECT_EQ(ledger.Violation(), "") << "two leaders in the same term";

  // Every acknowledged write is readable, and writes work everywhere again.
  EXPECT_EQ(ReadBackAll(cluster.client(), acked), "");
  for (const auto& [group, key] : key_of) {
    EXPECT_OK(cluster.client().Put(key, "after", co).status()) << "group " << group;
  }
}

}  // namespace
}  // namespace ringkv::integration
