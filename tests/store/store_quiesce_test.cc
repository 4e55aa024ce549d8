// Quiescence through whole simulated nodes (Store, replicas, gossip views): an idle cluster
// sleeps, a write wakes its group and is answered, and a sleeping group whose leader's node dies
// elects a new leader once gossip calls the node suspect. The node simulation checks the same at
// scale (its leadership invariant); this is the readable case.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "store/sim_cluster.h"

namespace ringkv::store::sim {
namespace {

using namespace std::chrono_literals;

SimCluster::Options QuiescingOptions() {
  SimCluster::Options o;
  o.seed = 7;
  o.nodes = 3;
  o.shards = 4;
  o.quiesce = true;
  return o;
}

// Starts the cluster of QuiescingOptions and runs it until every group is led and asleep.
void StartAndSleep(SimCluster& c) {
  c.Start();
  ASSERT_TRUE(c.WaitForLeaders(10s));
  c.RunFor(1s);
  ASSERT_EQ(c.QuiescedReplicas().second, 12u);
}

// Whether a node other than `old` leads `g` now.
std::function<bool()> AnotherLeads(SimCluster& c, GroupId g, NodeId old) {
  return [&c, g, old] {
    std::optional<NodeId> l = c.LeaderOf(g);
    return l.has_value() && *l != old;
  };
}

TEST(StoreQuiesceTest, IdleClusterSleepsAndAWriteWakesItsGroup) {
  SimCluster c(QuiescingOptions());
  c.Start();
  ASSERT_TRUE(c.WaitForLeaders(10s));
  c.RunFor(1s);
  auto [replicas, quiesced] = c.QuiescedReplicas();
  EXPECT_EQ(replicas, 12u);
  EXPECT_EQ(quiesced, replicas) << "an idle cluster should sleep";

  const std::string key = "k";
  std::optional<NodeId> leader = c.LeaderOf(c.GroupOf(key));
  ASSERT_TRUE(leader.has_value());
  const uint64_t put = c.Put(*leader, key, "v");
  ASSERT_TRUE(c.WaitForAnswer(put, 5s));
  EXPECT_FALSE(c.answer(put)->has_error()) << c.answer(put)->ShortDebugString();
  const uint64_t get = c.Get(*leader, key);
  ASSERT_TRUE(c.WaitForAnswer(get, 5s));
  ASSERT_TRUE(c.answer(get)->get().found());
  EXPECT_EQ(c.answer(get)->get().kv().value(), "v");

  c.RunFor(1s);
  std::tie(replicas, quiesced) = c.QuiescedReplicas();
  EXPECT_EQ(quiesced, replicas) << "the woken group should sleep again";
}

// Issue 13 (idle cost): a loop turn visits only the replicas something touched, so once every
// group sleeps the turns (placement rounds still schedule them) visit none, and a write visits
// its own group's replicas, not the others.
TEST(StoreQuiesceTest, IdleTurnsVisitNoSleepingGroup) {
  SimCluster::Options o = QuiescingOptions();
  o.shards = 32;
  SimCluster c(o);
  c.Start();
  ASSERT_TRUE(c.WaitForLeaders(10s));
  // Placement starts 3 s after start (stability delay) and balances leaderships first.
  c.RunFor(10s);
  c.RunUntil([&] { return c.QuiescedReplicas().second == 96u; }, 5s);
  ASSERT_EQ(c.QuiescedReplicas().second, 96u);
  // A replica that fell asleep is ticked once more, which takes it out of the ticking set.
  c.RunFor(100ms);
  auto visits = [&] {
    uint64_t n = 0;
    for (uint64_t id = 1; id <= 3; ++id) n += c.store(NodeId(id))->ReplicaVisitsForTesting();
    return n;
  };
  uint64_t before = visits();
  c.RunFor(3s);  // three placement rounds, 300 ticks
  EXPECT_EQ(visits() - before, 0u) << "idle turns visited sleeping replicas";

  const std::string key = "k";
  std::optional<NodeId> leader = c.LeaderOf(c.GroupOf(key));
  ASSERT_TRUE(leader.has_value());
  before = visits();
  const uint64_t put = c.Put(*leader, key, "v");
  ASSERT_TRUE(c.WaitForAnswer(put, 5s));
  EXPECT_FALSE(c.answer(put)->has_error()) << c.answer(put)->ShortDebugString();
  c.RunUntil([&] { return c.QuiescedReplicas().second == 96u; }, 5s);
  ASSERT_EQ(c.QuiescedReplicas().second, 96u) << "the woken group should sleep again";
  // The write's group: 3 replicas, visited in each turn until they sleep again (tens of
  // turns); all 96 replicas once each would be 96 per turn.
  c.RunFor(100ms);
  const uint64_t write_visits = visits() - before;
  EXPECT_GT(write_visits, 0u);
  EXPECT_LT(write_visits, 3u * 1000u);
  before = visits();
  c.RunFor(2s);
  EXPECT_EQ(visits() - before, 0u);
}

TEST(StoreQuiesceTest, SleepingGroupsOfADeadLeaderElect) {
  SimCluster c(QuiescingOptions());
  StartAndSleep(c);
  const GroupId g(1);
  std::optional<NodeId> old = c.LeaderOf(g);
  ASSERT_TRUE(old.has_value());
  c.Crash(*old);
  // Gossip calls it suspect after 300 ms (rounds of 100 ms); the woken followers' election
  // timers (150-300 ms, after an election timeout out of the old leader's lease) run out.
  EXPECT_TRUE(c.RunUntil(AnotherLeads(c, g, *old), 1500ms)) << c.DescribeGroup(g);
}

// Node sim seed 39342: a sleeping group's leader node crashed and restarted twice, each time
// back before gossip's suspicion timeout (300 ms), so its followers were never told and slept
// on under it; the restarted replica's election timer (150-300 ms) was all that could wake
// them, and the first restart crashed before it ran out. Here the leader's node flaps (down
// 150 ms, up 100 ms, shorter than any election timeout) and gossip never suspects it: a
// restarted replica's pre-vote wakes the group at once, and the two other voters elect.
TEST(StoreQuiesceTest, SleepingGroupsOfALeaderThatFlapsElect) {
  SimCluster c(QuiescingOptions());
  StartAndSleep(c);
  const GroupId g(1);
  std::optional<NodeId> old = c.LeaderOf(g);
  ASSERT_TRUE(old.has_value());
  const auto another_leads = AnotherLeads(c, g, *old);
  bool elected = false;
  for (int flap = 0; flap < 8 && !elected; ++flap) {
    c.Crash(*old);
    elected = c.RunUntil(another_leads, 150ms);
    c.Restart(*old);
    elected = c.RunUntil(another_leads, 100ms) || elected;
  }
  EXPECT_TRUE(elected) << c.DescribeGroup(g);
}

}  // namespace
}  // namespace ringkv::store::sim
