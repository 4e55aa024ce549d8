// Three whole nodes (Store, replicas, MemEngine) on the deterministic SimNodeEnv: leaders are
// elected, writes through Store::HandleRequest are acknowledged and read back, a node crashes
// (losing its unsynced writes), misses writes, restarts on its engine and catches up; a leader
// stops cleanly with a write in flight and restarts. The same
// seed gives the same run: the traces of two runs are identical, line by line.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "store/sim_cluster.h"

namespace ringkv::store::sim {
namespace {

using namespace std::chrono_literals;

// Puts `key` through the current leader of its shard until it is acknowledged (a put without
// a session may apply twice; the value is the same).
bool PutAcked(SimCluster& c, const std::string& key, const std::string& value) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::optional<NodeId> leader = c.LeaderOf(c.GroupOf(key));
    if (!leader || !c.up(*leader)) {
      c.RunFor(100ms);
      continue;
    }
    const uint64_t id = c.Put(*leader, key, value);
    if (!c.WaitForAnswer(id, 10s)) return false;
    const kvpb::Response* r = c.answer(id);
    if (!r->has_error() || r->error().code() == kvpb::OK) return true;
    c.RunFor(100ms);
  }
  return false;
}

// Reads `key` linearizably from its shard's leader (once there is one): its value, or an error
// text.
std::string GetFromLeader(SimCluster& c, const std::string& key) {
  c.RunUntil([&] { return c.LeaderOf(c.GroupOf(key)).has_value(); }, 10s);
  std::optional<NodeId> leader = c.LeaderOf(c.GroupOf(key));
  if (!leader) return "<no leader>";
  const uint64_t id = c.Get(*leader, key);
  if (!c.WaitForAnswer(id, 10s)) return "<no answer>";
  const kvpb::Response* r = c.answer(id);
  if (r->has_error() && r->error().code() != kvpb::OK) return "<" + r->error().message() + ">";
  if (!r->get().found()) return "<not found>";
  return r->get().kv().value();
}

// The scenario; its trace.
std::vector<std::string> RunCrashAndCatchUp(uint64_t seed) {
  SimCluster c(SimCluster::Options{.seed = seed, .nodes = 3, .shards = 2});
  c.Start();
  EXPECT_TRUE(c.WaitForLeaders(10s));
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(PutAcked(c, "k" + std::to_string(i), "v" + std::to_string(i))) << i;
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(GetFromLeader(c, "k" + std::to_string(i)), "v" + std::to_string(i));
  }

  // Node 3 crashes with whatever it had not synced; the others go on without it.
  const NodeId victim(3);
  c.Crash(victim);
  EXPECT_TRUE(c.WaitForLeaders(10s));
  for (int i = 20; i < 40; ++i) {
    EXPECT_TRUE(PutAcked(c, "k" + std::to_string(i), "v" + std::to_string(i))) << i;
  }
  c.Restart(victim);
  EXPECT_TRUE(c.RunUntil(
      [&] {
        return c.ReplicasAgree(GroupId(1)) && c.ReplicasAgree(GroupId(2));
      },
      30s));
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(GetFromLeader(c, "k" + std::to_string(i)), "v" + std::to_string(i));
  }
  // The restarted node holds every write: its replicas agree with the leaders' by digest, and
  // its applied index reached theirs.
  for (uint32_t g = 1; g <= 2; ++g) {
    std::optional<NodeId> leader = c.LeaderOf(GroupId(g));
    EXPECT_TRUE(leader.has_value());
    if (!leader) continue;
    EXPECT_GE(c.AppliedIndex(victim, GroupId(g)), 20u / 2);
    EXPECT_EQ(c.AppliedIndex(victim, GroupId(g)), c.AppliedIndex(*leader, GroupId(g)));
  }
  // A clean restart of a leader with a write in flight. A stopping store drops the requests it
  // holds unanswered (their callbacks are destroyed: kvd's client connections close with it);
  // nothing acknowledged is lost.
  const NodeId stopped = c.LeaderOf(c.GroupOf("k40")).value_or(NodeId(1));
  const uint64_t in_flight = c.Put(stopped, "k40", "v40");
  c.Shutdown(stopped);
  c.Restart(stopped);
  EXPECT_EQ(c.answer(in_flight), nullptr);
  EXPECT_TRUE(PutAcked(c, "k41", "v41"));
  EXPECT_TRUE(c.RunUntil(
      [&] {
        return c.ReplicasAgree(GroupId(1)) && c.ReplicasAgree(GroupId(2));
      },
      30s));
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(GetFromLeader(c, "k" + std::to_string(i)), "v" + std::to_string(i));
  }
  EXPECT_EQ(GetFromLeader(c, "k41"), "v41");
  return c.trace();
}

TEST(StoreSimTest, WritesSurviveACrashAndTheNodeCatchesUp) {
  std::vector<std::string> trace = RunCrashAndCatchUp(7);
  EXPECT_GT(trace.size(), 80u);
}

TEST(StoreSimTest, SameSeedSameRun) {
  std::vector<std::string> a = RunCrashAndCatchUp(11);
  std::vector<std::string> b = RunCrashAndCatchUp(11);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "line " << i;
  // And the seed drives the run (the network's delays, the election timeouts).
  EXPECT_NE(RunCrashAndCatchUp(12), a);
}

}  // namespace
}  // namespace ringkv::store::sim
