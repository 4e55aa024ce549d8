// Tests of the simulator itself: a run is a pure function of its seed, the state machine's
// snapshot round-trips, the trace keeps the newest events, and the invariant checker flags
// the violations it is fed.
#include <gtest/gtest.h>

#include <string>

#include "raft/sim/cluster.h"
#include "raft/sim/invariants.h"
#include "raft/sim/kv_state_machine.h"
#include "raft/sim/sim_runner.h"
#include "raft/sim/trace.h"
#include "testutil/status_matchers.h"

namespace ringkv::raft::sim {
namespace {

TEST(SimSelfTest, SameSeedSameRun) {
  const SeedResult a = RunSeed(42, 5000);
  const SeedResult b = RunSeed(42, 5000);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.summary, b.summary);
  EXPECT_FALSE(a.violation) << a.report;
  const SeedResult c = RunSeed(43, 5000);
  EXPECT_NE(a.summary, c.summary);
}

TEST(SimSelfTest, RunsDoRealWork) {
  // A seed must elect leaders, acknowledge writes and complete reads, or it proves nothing.
  const SeedResult r = RunSeed(7, 5000);
  ASSERT_FALSE(r.violation) << r.report;
  EXPECT_GT(r.steps, 5000u);
  EXPECT_EQ(r.summary.find("writes 0/"), std::string::npos) << r.summary;
  EXPECT_EQ(r.summary.find("reads 0,"), std::string::npos) << r.summary;
}

// A core panic in one seed is that seed's violation, with its trace; the run goes on with the
// next seed, and the summary names the failing seed (#11).
TEST(SimSelfTest, CorePanicIsAViolationAndTheRunGoesOn) {
  SetSeedHookForTesting([](Cluster& c, uint64_t seed) {
    if (seed != 3) return;
    c.set_on_tick([&c] {
      const NodeId l = c.Leader();
      if (c.now_ms() < 2000 || l == kNoNode) return;
      // Leaving a joint configuration that is not joint: the core panics.
      c.WithNode(l, [](RawNode& r) { r.ApplyConfChange(raftpb::ConfChange()); });
    });
  });
  const RunTotals t = RunSeeds(2, 3, 5000, /*stop_at_first=*/false);
  SetSeedHookForTesting(nullptr);
  EXPECT_EQ(t.seeds, 3u);
  EXPECT_EQ(t.violations, 1u);
  EXPECT_EQ(t.first_failing_seed, 3u);
  EXPECT_NE(t.first_report.find("VIOLATION --seed=3: "), std::string::npos) << t.first_report;
  EXPECT_NE(t.first_report.find("raft panic: "), std::string::npos) << t.first_report;
  EXPECT_NE(t.first_report.find("can't leave a non-joint config"), std::string::npos)
      << t.first_report;
  // The trace shows the events before the panic, newest last.
  const size_t events = t.first_report.find("last events (oldest first):\n");
  ASSERT_NE(events, std::string::npos) << t.first_report;
  EXPECT_NE(t.first_report.find("[t=", events), std::string::npos) << t.first_report;
  EXPECT_NE(t.first_report.find("becomes leader", events), std::string::npos) << t.first_report;
  EXPECT_EQ(SummaryLine(t), "raft-sim: 3 seeds, " + std::to_string(t.steps) + " steps, 1 violations");
}

TEST(SimSelfTest, StateMachineSnapshotRoundTrips) {
  KvStateMachine sm;
  raftpb::Entry e;
  e.set_index(1);
  e.set_data(EncodeWrite(KvWrite{"a", 11}));
  sm.Apply(e);
  e.set_index(2);
  e.set_data("");  // a leader's no-op
  sm.Apply(e);
  e.set_index(3);
  e.set_data(EncodeWrite(KvWrite{"b", 12}));
  sm.Apply(e);
  Result<KvStateMachine> back = KvStateMachine::Deserialize(sm.Serialize());
  ASSERT_OK(back);
  EXPECT_EQ(back->applied(), Index(3));
  EXPECT_EQ(back->Get("a").write_id, 11u);
  EXPECT_EQ(back->Get("a").version, Index(1));
  EXPECT_EQ(back->Get("b").version, Index(3));
  EXPECT_EQ(back->Get("c").write_id, 0u);
  EXPECT_EQ(back->Serialize(), sm.Serialize());
}

TEST(SimSelfTest, TraceKeepsTheNewestEventsInOrder) {
  Trace t(3);
  for (int i = 1; i <= 5; ++i) {
    TraceEvent e;
    e.text = "event" + std::to_string(i);
    t.Add(e);
  }
  const std::string dump = t.Dump();
  EXPECT_EQ(dump.find("event2"), std::string::npos);
  const size_t p3 = dump.find("event3"), p4 = dump.find("event4"), p5 = dump.find("event5");
  ASSERT_NE(p3, std::string::npos);
  EXPECT_LT(p3, p4);
  EXPECT_LT(p4, p5);
}

TEST(SimSelfTest, CheckerFlagsDifferentEntriesAppliedAtOneIndex) {
  InvariantChecker c;
  raftpb::Entry e;
  e.set_index(9);
  e.set_term(2);
  e.set_data("x");
  c.OnApplied(NodeId(1), e, Index(9));
  EXPECT_FALSE(c.failed());
  c.OnApplied(NodeId(2), e, Index(9));
  EXPECT_FALSE(c.failed());
  e.set_term(3);
  c.OnApplied(NodeId(3), e, Index(9));
  ASSERT_TRUE(c.failed());
  EXPECT_NE(c.violation().find("state machine safety"), std::string::npos) << c.violation();
}

TEST(SimSelfTest, CheckerFlagsApplyingBeyondCommit) {
  InvariantChecker c;
  raftpb::Entry e;
  e.set_index(10);
  e.set_term(1);
  c.OnApplied(NodeId(1), e, Index(9));
  EXPECT_TRUE(c.failed());
}

TEST(SimSelfTest, CheckerFlagsADurableVoteChangedWithinATerm) {
  InvariantChecker c;
  Ready rd;
  rd.hard_state.emplace();
  rd.hard_state->set_term(5);
  rd.hard_state->set_vote(2);
  c.OnPersisted(NodeId(1), rd);
  rd.hard_state->set_commit(3);
  c.OnPersisted(NodeId(1), rd);
  EXPECT_FALSE(c.failed());
  rd.hard_state->set_vote(3);
  c.OnPersisted(NodeId(1), rd);
  ASSERT_TRUE(c.failed());
  EXPECT_NE(c.violation().find("vote"), std::string::npos) << c.violation();
}

TEST(SimSelfTest, CheckerFlagsDifferentSnapshotsAtOneIndex) {
  InvariantChecker c;
  c.OnSnapshot(NodeId(1), Index(20), "state-a");
  c.OnSnapshot(NodeId(2), Index(20), "state-a");
  EXPECT_FALSE(c.failed());
  c.OnSnapshot(NodeId(3), Index(20), "state-b");
  EXPECT_TRUE(c.failed());
}

TEST(SimSelfTest, StaleReadIsFlagged) {
  // A read served from a node that has not applied an acknowledged write must be caught. The
  // isolated old leader answers from its state machine only if the core skipped the quorum
  // check, so here we fake the core's answer by completing the read on the lagging node.
  ClusterOptions o;
  o.auto_tick = false;
  o.persist_max_ms = 0;
  Cluster c(o);
  c.WithNode(
      NodeId(1), [](RawNode& r) { r.Campaign(); }, true);
  c.Stabilize();
  ASSERT_EQ(c.Leader(), NodeId(1));
  c.network().Split({NodeId(3)}, {NodeId(1), NodeId(2)});
  Result<uint64_t> w = c.Write(NodeId(1), "k");
  ASSERT_OK(w);
  for (int i = 0; i < 3; ++i) {
    c.TickAll();
    c.Stabilize();
  }
  ASSERT_TRUE(c.WriteAcked(*w));
  Result<uint64_t> r = c.Read(NodeId(3), "k");
  ASSERT_OK(r);
  ReadState rs;
  rs.index = c.node(NodeId(3)).sm().applied();  // what a broken core might answer
  rs.request_ctx = "r" + std::to_string(*r);
  c.OnReadState(NodeId(3), rs);
  ASSERT_TRUE(c.failed());
  EXPECT_NE(c.checker().violation().find("stale read"), std::string::npos);
  EXPECT_NE(c.Report().find("--seed="), std::string::npos);
}

}  // namespace
}  // namespace ringkv::raft::sim

int main(int argc, char** argv) {
  ringkv::raft::sim::ParseSimFlags(&argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
