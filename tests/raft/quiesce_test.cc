// Quiescence in the Raft core (raft_quiesce.cc): when an idle group sleeps, what wakes it, and
// that a dead leader's followers wake and elect on the failure detector's word.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "raft/raw_node.h"
#include "raft/test_network.h"
#include "testutil/status_matchers.h"

namespace ringkv::raft {
namespace {

using testing::TestNetwork;

// The failure detector of the tests: the set of Raft ids it calls down, shared by every node.
struct Detector {
  std::set<uint64_t> down;
  std::function<bool(NodeId)> Live() {
    return [this](NodeId id) { return !down.contains(id.value()); };
  }
};

// Three quiescing nodes (election 10 ticks, heartbeat 1), node 1 elected, one entry applied.
std::unique_ptr<TestNetwork> QuiescingCluster(Detector* d, bool lease_reads = false) {
  auto net = std::make_unique<TestNetwork>(3, [lease_reads](Config& c) {
    c.quiesce = true;
    c.quiesce_after_ticks = 6;
    if (lease_reads) c.read_only_option = ReadOnlyOption::kLeaseBased;
  });
  for (uint64_t n = 1; n <= 3; ++n) net->node(n).SetPeerLiveness(d->Live());
  net->node(1).Campaign();
  net->Stabilize();
  EXPECT_OK(net->node(1).Propose("x=1"));
  net->Stabilize();
  return net;
}

bool AllQuiesced(TestNetwork& net) {
  for (uint64_t n = 1; n <= 3; ++n) {
    if (!net.node(n).quiesced()) return false;
  }
  return true;
}

TEST(QuiesceTest, IdleGroupSleepsAfterQuiesceTicks) {
  Detector d;
  auto net = QuiescingCluster(&d);
  net->TickAll(5);
  EXPECT_FALSE(net->node(1).quiesced()) << "quiesced before 6 idle ticks";
  net->TickAll(2);
  EXPECT_TRUE(AllQuiesced(*net));
  // Asleep, ticks change nothing: no heartbeats, no elections, however long.
  const Term term = net->node(1).term();
  net->TickAll(200);
  EXPECT_TRUE(AllQuiesced(*net));
  EXPECT_EQ(net->node(1).role(), StateRole::kLeader);
  EXPECT_EQ(net->node(2).term(), term);
  for (uint64_t n = 1; n <= 3; ++n) EXPECT_FALSE(net->node(n).HasReady()) << "node " << n;
}

TEST(QuiesceTest, OffByDefault) {
  TestNetwork net(3);
  net.node(1).Campaign();
  net.Stabilize();
  net.TickAll(50);
  for (uint64_t n = 1; n <= 3; ++n) EXPECT_FALSE(net.node(n).quiesced());
}

TEST(QuiesceTest, ProposalWakesTheGroupWhichSleepsAgain) {
  Detector d;
  auto net = QuiescingCluster(&d);
  net->TickAll(8);
  ASSERT_TRUE(AllQuiesced(*net));
  ASSERT_OK(net->node(1).Propose("x=2"));
  EXPECT_FALSE(net->node(1).quiesced());
  net->Stabilize();
  // The leader's append woke the followers, and the entry is applied everywhere.
  for (uint64_t n = 1; n <= 3; ++n) {
    EXPECT_FALSE(net->node(n).quiesced()) << "node " << n;
    EXPECT_EQ(net->test_node(n).applied.back(), "x=2");
  }
  net->TickAll(8);
  EXPECT_TRUE(AllQuiesced(*net));
}

TEST(QuiesceTest, FollowerReadIsForwardedAndWakesBoth) {
  Detector d;
  auto net = QuiescingCluster(&d);
  net->TickAll(8);
  ASSERT_TRUE(AllQuiesced(*net));
  ASSERT_OK(net->node(2).ReadIndex("r"));
  EXPECT_FALSE(net->node(2).quiesced());
  net->Stabilize();
  EXPECT_FALSE(net->node(1).quiesced());
  ASSERT_EQ(net->test_node(2).read_states.size(), 1u);
  EXPECT_EQ(net->test_node(2).read_states[0].index, net->node(1).committed());
}

TEST(QuiesceTest, PendingDriverWorkHoldsQuiescenceOff) {
  Detector d;
  auto net = QuiescingCluster(&d);
  for (int i = 0; i < 20; ++i) {
    net->node(1).Tick(/*may_quiesce=*/false);
    net->Stabilize();
  }
  EXPECT_FALSE(net->node(1).quiesced());
}

TEST(QuiesceTest, LaggingLiveFollowerHoldsQuiescenceOffButADeadOneDoesNot) {
  Detector d;
  auto net = QuiescingCluster(&d);
  // Node 3 misses an entry.
  net->SetDrop([](const raftpb::Message& m) { return m.to() == 3 || m.from() == 3; });
  ASSERT_OK(net->node(1).Propose("x=2"));
  net->Stabilize();
  for (int i = 0; i < 20; ++i) {
    net->node(1).Tick();
    net->node(2).Tick();
    net->Stabilize();
  }
  EXPECT_FALSE(net->node(1).quiesced()) << "quiesced with a live follower behind";
  // Once the detector calls node 3 down, the leader and node 2 sleep without it.
  d.down.insert(3);
  for (int i = 0; i < 8; ++i) {
    net->node(1).Tick();
    net->node(2).Tick();
    net->Stabilize();
  }
  EXPECT_TRUE(net->node(1).quiesced());
  EXPECT_TRUE(net->node(2).quiesced());
  // Node 3 is back (behind): the leader wakes and catches it up, then all sleep.
  net->Heal();
  d.down.clear();
  net->node(1).LivenessChanged();
  EXPECT_FALSE(net->node(1).quiesced());
  net->TickAll(10);
  EXPECT_EQ(net->test_node(3).applied.back(), "x=2");
  net->TickAll(10);
  EXPECT_TRUE(AllQuiesced(*net));
}

TEST(QuiesceTest, FollowersOfADeadLeaderWakeAndElect) {
  Detector d;
  auto net = QuiescingCluster(&d);
  net->TickAll(8);
  ASSERT_TRUE(AllQuiesced(*net));
  const Term term = net->node(1).term();
  net->Isolate(1);  // the leader's node dies
  net->TickAll(100);
  EXPECT_TRUE(net->node(2).quiesced()) << "woke without word of the death";
  d.down.insert(1);
  net->node(2).LivenessChanged();
  net->node(3).LivenessChanged();
  EXPECT_FALSE(net->node(2).quiesced());
  EXPECT_FALSE(net->node(3).quiesced());
  // Election timeout 10 ticks, randomized to [10, 20): a new leader within a few of them.
  int ticks = 0;
  while (net->node(2).role() != StateRole::kLeader && net->node(3).role() != StateRole::kLeader &&
         ticks < 60) {
    net->TickAll(1);
    ++ticks;
  }
  EXPECT_LT(ticks, 60) << "no new leader";
  EXPECT_GT(std::max(net->node(2).term(), net->node(3).term()), term);
}

TEST(QuiesceTest, FollowerRefusesWhileItCallsTheLeaderDownAndTheLeaderWakes) {
  Detector d;
  auto net = QuiescingCluster(&d);
  d.down.insert(1);  // a false suspicion, on every node
  net->TickAll(7);
  // Node 1 sent its quiesce heartbeats; the followers refused and answered, waking it.
  EXPECT_FALSE(net->node(2).quiesced());
  EXPECT_FALSE(net->node(1).quiesced());
  EXPECT_EQ(net->node(1).role(), StateRole::kLeader);
  d.down.clear();
  net->TickAll(8);
  EXPECT_TRUE(AllQuiesced(*net));
}

TEST(QuiesceTest, LeaderThatLosesItsQuorumWakesAndStepsDown) {
  Detector d;
  auto net = QuiescingCluster(&d);
  Detector leader_view;  // node 1's own failure detector
  net->node(1).SetPeerLiveness(leader_view.Live());
  net->TickAll(8);
  ASSERT_TRUE(AllQuiesced(*net));
  // Node 1 is cut off; its detector calls both followers down. Asleep it would lead on.
  net->Isolate(1);
  leader_view.down = {2, 3};
  net->node(1).LivenessChanged();
  EXPECT_FALSE(net->node(1).quiesced());
  for (int i = 0; i < 25; ++i) {
    net->node(1).Tick();
    net->Stabilize();
  }
  EXPECT_NE(net->node(1).role(), StateRole::kLeader) << "CheckQuorum should have stepped it down";
  // And a leader that sees no live quorum does not quiesce at all.
  EXPECT_FALSE(net->node(1).quiesced());
}

TEST(QuiesceTest, QuiescedLeaderHasNoLease) {
  Detector d;
  auto net = QuiescingCluster(&d, /*lease_reads=*/true);
  // Awake and acknowledged, the lease serves a read without a round.
  net->TickAll(1);
  net->Isolate(1);
  ASSERT_OK(net->node(1).ReadIndex("lease"));
  net->Stabilize();
  EXPECT_EQ(net->test_node(1).read_states.size(), 1u) << "the awake lease should serve";
  net->Heal();
  net->TickAll(8);
  ASSERT_TRUE(AllQuiesced(*net));
  // After sleeping (for any time), the old acknowledgements prove nothing: an isolated leader
  // must not answer.
  net->Isolate(1);
  ASSERT_OK(net->node(1).ReadIndex("after sleep"));
  net->Stabilize();
  EXPECT_EQ(net->test_node(1).read_states.size(), 1u) << "served a read from a stale lease";
}

TEST(QuiesceTest, StaleQuiesceHeartbeatDoesNotPutAnUpToDateFollowerToSleep) {
  Detector d;
  auto net = QuiescingCluster(&d);
  // A quiesce heartbeat for an older last index, as if delayed past a later append.
  raftpb::Message m;
  m.set_type(raftpb::MSG_HEARTBEAT);
  m.set_from(1);
  m.set_to(2);
  m.set_term(net->node(1).term().value());
  m.set_index(net->node(2).LastIndexForTesting().value() - 1);
  m.set_commit(net->node(2).LastIndexForTesting().value() - 1);
  m.set_quiesce(true);
  ASSERT_OK(net->node(2).Step(m));
  EXPECT_FALSE(net->node(2).quiesced());
}

// The tick that puts the leader to sleep sends only quiesce heartbeats: a plain heartbeat of the
// same tick (this cluster heartbeats every tick) would leave beside them, and on a network that
// reorders could arrive after one and wake the follower it had put to sleep.
TEST(QuiesceTest, TheQuiescingTickSendsNoPlainHeartbeat) {
  Detector d;
  auto net = QuiescingCluster(&d);
  net->TickAll(5);
  ASSERT_FALSE(net->node(1).quiesced());
  net->node(1).Tick();
  ASSERT_TRUE(net->node(1).quiesced());
  int quiesce_beats = 0;
  for (const raftpb::Message& m : net->node(1).TakeMessages()) {
    if (m.type() != raftpb::MSG_HEARTBEAT) continue;
    EXPECT_TRUE(m.quiesce()) << "a plain heartbeat to " << m.to() << " beside the quiesce heartbeats";
    quiesce_beats += m.quiesce() ? 1 : 0;
  }
  EXPECT_EQ(quiesce_beats, 2);
}

// A follower that a late message woke after it fell asleep says so in its answer
// (Message.woke), and the sleeping leader wakes on it rather than taking it as a plain
// acknowledgement: else the follower, awake under a silent leader, would campaign. The group
// then sleeps again.
TEST(QuiesceTest, AFollowerWokenByALateHeartbeatWakesTheSleepingLeader) {
  Detector d;
  auto net = QuiescingCluster(&d);
  net->TickAll(7);
  ASSERT_TRUE(AllQuiesced(*net));
  raftpb::Message late;  // a plain heartbeat sent before the quiesce heartbeat, delivered after
  late.set_type(raftpb::MSG_HEARTBEAT);
  late.set_from(1);
  late.set_to(2);
  late.set_term(net->node(1).term().value());
  late.set_commit(net->node(2).LastIndexForTesting().value());
  ASSERT_OK(net->node(2).Step(late));
  EXPECT_FALSE(net->node(2).quiesced());
  std::vector<raftpb::Message> answers = net->node(2).TakeMessages();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].type(), raftpb::MSG_HEARTBEAT_RESP);
  EXPECT_TRUE(answers[0].woke());
  ASSERT_OK(net->node(1).Step(answers[0]));
  EXPECT_FALSE(net->node(1).quiesced()) << "the leader slept on with an awake follower";
  net->Stabilize();
  net->TickAll(8);
  EXPECT_TRUE(AllQuiesced(*net));
  // An answer of a follower that was awake anyway carries no such mark.
  raftpb::Message beat = late;
  ASSERT_OK(net->node(1).Propose("y=1").status());
  net->Stabilize();
  beat.set_commit(net->node(2).LastIndexForTesting().value());
  ASSERT_OK(net->node(2).Step(beat));
  for (const raftpb::Message& m : net->node(2).TakeMessages()) EXPECT_FALSE(m.woke());
}

// A sleeping leader sends no driver heartbeats (they would wake its followers).
TEST(QuiesceTest, SleepingLeaderIgnoresTheDriversHeartbeat) {
  Detector d;
  auto net = std::make_unique<TestNetwork>(3, [](Config& c) {
    c.quiesce = true;
    c.quiesce_after_ticks = 6;
    c.driver_heartbeats = true;
  });
  for (uint64_t n = 1; n <= 3; ++n) net->node(n).SetPeerLiveness(d.Live());
  net->node(1).Campaign();
  net->Stabilize();
  ASSERT_OK(net->node(1).Propose("x=1"));
  net->Stabilize();
  net->TickAll(7);
  ASSERT_TRUE(AllQuiesced(*net));
  net->node(1).Heartbeat();
  net->Stabilize();
  EXPECT_TRUE(AllQuiesced(*net));
  EXPECT_FALSE(net->node(1).HasReady());
}

}  // namespace
}  // namespace ringkv::raft
