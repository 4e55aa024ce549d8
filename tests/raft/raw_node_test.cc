// RawNode behaviour through its public API on a small synchronous network.
#include "raft/raw_node.h"

#include <gtest/gtest.h>

#include <memory>

#include "raft/test_network.h"
#include "testutil/status_matchers.h"

namespace ringkv::raft {
namespace {

using testing::TestNetwork;

// Counts the heartbeats sent from now on (only those confirming reads with `reads_only`).
std::shared_ptr<int> CountHeartbeats(TestNetwork& net, bool reads_only = false) {
  auto n = std::make_shared<int>(0);
  net.SetDrop([n, reads_only](const raftpb::Message& m) {
    if (m.type() == raftpb::MSG_HEARTBEAT && (!reads_only || !m.context().empty())) ++*n;
    return false;
  });
  return n;
}

// Node 1 elected, with one entry of its term committed everywhere.
void ElectNodeOneAndCommit(TestNetwork& net) {
  net.node(1).Campaign();
  net.Stabilize();
  ASSERT_OK(net.node(1).Propose("w"));
  net.Stabilize();
}

TEST(RawNodeTest, CampaignElectsLeaderAndReplicates) {
  TestNetwork net(3);
  net.node(1).Campaign();
  net.Stabilize();
  EXPECT_EQ(net.node(1).role(), StateRole::kLeader);
  EXPECT_EQ(net.node(2).lead(), NodeId(1));
  EXPECT_EQ(net.node(3).lead(), NodeId(1));

  Result<EntryId> id = net.node(1).Propose("x=1");
  ASSERT_OK(id);
  net.Stabilize();
  for (uint64_t n = 1; n <= 3; ++n) {
    ASSERT_EQ(net.test_node(n).applied.size(), 1u) << "node " << n;
    EXPECT_EQ(net.test_node(n).applied[0], "x=1");
    EXPECT_GE(net.node(n).committed(), id->index);
  }
}

TEST(RawNodeTest, FollowerRejectsProposalWithLeaderHint) {
  TestNetwork net(3);
  net.node(1).Campaign();
  net.Stabilize();
  Result<EntryId> r = net.node(2).Propose("y");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotLeader());
  EXPECT_EQ(r.status().leader_hint(), 1u);
}

TEST(RawNodeTest, ProposalWithoutLeaderFailsFast) {
  TestNetwork net(3);
  Result<EntryId> r = net.node(1).Propose("y");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status();
}

TEST(RawNodeTest, StepRejectsLocalMessagesFromPeers) {
  TestNetwork net(1);
  raftpb::Message m;
  m.set_type(raftpb::MSG_HUP);
  m.set_from(2);
  EXPECT_TRUE(net.node(1).Step(m).IsInvalidArgument());
}

TEST(RawNodeTest, SingleNodeCommitsOnlyAfterPersist) {
  TestNetwork net(1);
  net.node(1).Campaign();
  net.Stabilize();
  ASSERT_EQ(net.node(1).role(), StateRole::kLeader);
  ASSERT_OK(net.node(1).Propose("a"));
  // Before the Ready is handled, the entry is not committed: the leader's own append is not
  // durable yet.
  Index before = net.node(1).committed();
  ASSERT_TRUE(net.node(1).HasReady());
  Ready rd = net.node(1).GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.committed_entries.empty());
  EXPECT_EQ(net.node(1).committed(), before);
  net.test_node(1).storage->Append(rd.entries).IgnoreError();
  net.node(1).Advance();
  EXPECT_EQ(net.node(1).committed(), Index(rd.entries[0].index()));
}

TEST(RawNodeTest, ReadIndexConfirmedByQuorum) {
  TestNetwork net(3);
  net.node(1).Campaign();
  net.Stabilize();
  ASSERT_OK(net.node(1).Propose("v1"));
  net.Stabilize();
  ASSERT_OK(net.node(1).ReadIndex("r1"));
  net.Stabilize();
  ASSERT_EQ(net.test_node(1).read_states.size(), 1u);
  EXPECT_EQ(net.test_node(1).read_states[0].request_ctx, "r1");
  EXPECT_EQ(net.test_node(1).read_states[0].index, net.node(1).committed());
  // A follower's read is forwarded to the leader and answered to the follower.
  ASSERT_OK(net.node(2).ReadIndex("r2"));
  net.Stabilize();
  ASSERT_EQ(net.test_node(2).read_states.size(), 1u);
  EXPECT_EQ(net.test_node(2).read_states[0].request_ctx, "r2");
}

TEST(RawNodeTest, IsolatedLeaderCannotConfirmReads) {
  TestNetwork net(3);
  net.node(1).Campaign();
  net.Stabilize();
  net.Isolate(1);
  ASSERT_OK(net.node(1).ReadIndex("stale?"));
  net.Stabilize();
  EXPECT_TRUE(net.test_node(1).read_states.empty());
}

// QuorumKnownCommit (Membership rule 9): the leader counts what its followers reported as
// their commit index, not what it committed or sent. Seed 15306's shape: node 3 cut off, node
// 2 has the entry but not its commit (the append that carried the commit is lost), so only the
// leader knows it is committed, which is not a quorum; heartbeats' answers then tell.
TEST(RawNodeTest, QuorumKnownCommitCountsFollowersAnswers) {
  TestNetwork net(3);
  net.node(1).Campaign();
  net.Stabilize();
  const Index before = net.node(1).committed();
  EXPECT_EQ(net.node(1).QuorumKnownCommit(), before);
  EXPECT_EQ(net.node(2).QuorumKnownCommit(), Index(0));  // not a leader
  const Index next = net.node(1).GetStatus().last_index + 1;
  net.SetDrop([next](const raftpb::Message& m) {
    if (m.to() == 3 || m.from() == 3) return true;
    return m.to() == 2 && (m.type() == raftpb::MSG_HEARTBEAT ||
                           (m.type() == raftpb::MSG_APP && Index(m.commit()) >= next));
  });
  Result<EntryId> id = net.node(1).Propose("x");
  ASSERT_OK(id);
  ASSERT_EQ(id->index, next);
  net.Stabilize();
  ASSERT_GE(net.node(1).committed(), id->index);
  EXPECT_LT(net.node(2).committed(), id->index);
  EXPECT_LT(net.node(1).QuorumKnownCommit(), id->index);
  net.Heal();
  net.TickAll(10);
  net.Stabilize();
  EXPECT_GE(net.node(1).QuorumKnownCommit(), id->index);
}

// The commit index a follower reports in a heartbeat response is one it has on disk. The
// response leaves at once, before the Ready that persists the commit index the heartbeat
// carried: had the follower crashed in between, it would restart without knowing it, and
// QuorumKnownCommit would have counted knowledge that no longer exists (rule 9).
TEST(RawNodeTest, HeartbeatResponsesReportADurableCommit) {
  TestNetwork net(3, [](Config& c) { c.driver_heartbeats = true; });
  net.node(1).Campaign();
  net.Stabilize();
  const Index next = net.node(1).GetStatus().last_index + 1;
  // Node 3 cut off; node 2 gets the entry but not its commit.
  net.SetDrop([next](const raftpb::Message& m) {
    if (m.to() == 3 || m.from() == 3) return true;
    return m.to() == 2 && m.type() == raftpb::MSG_APP && Index(m.commit()) >= next;
  });
  Result<EntryId> id = net.node(1).Propose("x");
  ASSERT_OK(id);
  net.Stabilize();
  ASSERT_LT(net.node(2).committed(), id->index);
  std::vector<Index> reported;
  net.SetDrop([&reported](const raftpb::Message& m) {
    if (m.to() == 3 || m.from() == 3) return true;
    if (m.type() == raftpb::MSG_HEARTBEAT_RESP && m.from() == 2) reported.emplace_back(m.commit());
    return false;
  });
  // A tick first: a follower that got an append this tick gets no heartbeat (redundant).
  net.node(1).Tick();
  net.node(1).Heartbeat();
  net.Stabilize();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_GE(net.node(2).committed(), id->index);  // learned from the heartbeat...
  EXPECT_LT(reported[0], id->index);               // ...but had not persisted it when answering
  EXPECT_LT(net.node(1).QuorumKnownCommit(), id->index);
  net.node(1).Tick();
  net.node(1).Heartbeat();
  net.Stabilize();
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_GE(reported[1], id->index);
  EXPECT_GE(net.node(1).QuorumKnownCommit(), id->index);
}

TEST(RawNodeTest, LeadershipTransfer) {
  TestNetwork net(3);
  net.node(1).Campaign();
  net.Stabilize();
  net.node(1).TransferLeader(NodeId(3));
  net.Stabilize();
  EXPECT_EQ(net.node(3).role(), StateRole::kLeader);
  EXPECT_EQ(net.node(1).role(), StateRole::kFollower);
  EXPECT_EQ(net.node(1).lead(), NodeId(3));
}

TEST(RawNodeTest, CheckQuorumMakesIsolatedLeaderStepDown) {
  TestNetwork net(3);
  net.node(1).Campaign();
  net.Stabilize();
  net.Isolate(1);
  net.TickAll(25);
  EXPECT_NE(net.node(1).role(), StateRole::kLeader);
  bool other_leader = net.node(2).role() == StateRole::kLeader || net.node(3).role() == StateRole::kLeader;
  EXPECT_TRUE(other_leader);
}

// A busy group's appends do a heartbeat's work: the leader sends no periodic heartbeat to a
// follower that got an append and answered within the interval, and goes back to heartbeats
// once the appends stop.
TEST(RawNodeTest, AppendsStandInForHeartbeatsWhileTheyFlow) {
  TestNetwork net(3, [](Config& c) { c.heartbeat_tick = 3; });
  net.node(1).Campaign();
  net.Stabilize();
  std::shared_ptr<int> heartbeats = CountHeartbeats(net);
  for (int i = 0; i < 12; ++i) {
    ASSERT_OK(net.node(1).Propose("busy"));
    net.Stabilize();
    net.TickAll(1);
  }
  EXPECT_EQ(*heartbeats, 0);
  EXPECT_EQ(net.node(1).role(), StateRole::kLeader);
  net.TickAll(12);  // idle: heartbeats again, every 3 ticks to each follower
  EXPECT_GE(*heartbeats, 6);
  EXPECT_EQ(net.node(2).lead(), NodeId(1));
  EXPECT_EQ(net.node(3).lead(), NodeId(1));
}

// Reads are confirmed by a heartbeat round whatever the appends did.
TEST(RawNodeTest, ReadIndexHeartbeatsAreNeverSkipped) {
  TestNetwork net(3, [](Config& c) { c.heartbeat_tick = 3; });
  ElectNodeOneAndCommit(net);
  std::shared_ptr<int> heartbeats = CountHeartbeats(net, /*reads_only=*/true);
  ASSERT_OK(net.node(1).ReadIndex("r1"));
  net.Stabilize();
  EXPECT_EQ(*heartbeats, 2);
  ASSERT_EQ(net.test_node(1).read_states.size(), 1u);
}

// Config::driver_heartbeats (coalesced heartbeats): ticks send no periodic heartbeats, the
// driver's Heartbeat() does, on a leader only; followers stay with the leader as long as the
// driver beats at least every heartbeat_tick ticks.
TEST(RawNodeTest, DriverHeartbeatsGoOnlyWhenTheDriverSays) {
  TestNetwork net(3, [](Config& c) {
    c.heartbeat_tick = 3;
    c.driver_heartbeats = true;
  });
  net.node(1).Campaign();
  net.Stabilize();
  std::shared_ptr<int> heartbeats = CountHeartbeats(net);
  net.TickAll(9);  // three heartbeat intervals of ticks alone: no heartbeat
  EXPECT_EQ(*heartbeats, 0);
  net.node(1).Heartbeat();
  net.Stabilize();
  EXPECT_EQ(*heartbeats, 2);  // one to each follower
  net.node(2).Heartbeat();   // a follower has none to send
  net.Stabilize();
  EXPECT_EQ(*heartbeats, 2);
  // Beaten every 3 ticks, the leader keeps its followers for many election timeouts.
  const Term term = net.node(1).term();
  for (int i = 0; i < 30; ++i) {
    net.TickAll(3);
    net.node(1).Heartbeat();
    net.Stabilize();
  }
  EXPECT_EQ(net.node(1).role(), StateRole::kLeader);
  EXPECT_EQ(net.node(2).term(), term);
  EXPECT_EQ(net.node(3).lead(), NodeId(1));
  EXPECT_EQ(*heartbeats, 2 + 60);
}

// Without driver_heartbeats, Heartbeat() changes nothing (the tick keeps the rhythm).
TEST(RawNodeTest, HeartbeatIsANoOpWithoutDriverHeartbeats) {
  TestNetwork net(3, [](Config& c) { c.heartbeat_tick = 3; });
  net.node(1).Campaign();
  net.Stabilize();
  std::shared_ptr<int> heartbeats = CountHeartbeats(net);
  net.node(1).Heartbeat();
  net.Stabilize();
  EXPECT_EQ(*heartbeats, 0);
  net.TickAll(3);
  EXPECT_EQ(*heartbeats, 2);
}

// Lease reads answer at once while the lease holds; VoidLease (the driver saw time pass that
// its ticks did not count) sends the next read through a heartbeat round until a quorum
// acknowledges again.
TEST(RawNodeTest, VoidLeaseSendsReadsThroughAHeartbeatRound) {
  TestNetwork net(3, [](Config& c) {
    c.heartbeat_tick = 1;
    c.read_only_option = ReadOnlyOption::kLeaseBased;
  });
  ElectNodeOneAndCommit(net);
  net.TickAll(2);  // acknowledged heartbeats: the lease holds
  std::shared_ptr<int> read_heartbeats = CountHeartbeats(net, /*reads_only=*/true);
  ASSERT_OK(net.node(1).ReadIndex("by-lease"));
  net.Stabilize();
  EXPECT_EQ(*read_heartbeats, 0);
  ASSERT_EQ(net.test_node(1).read_states.size(), 1u);

  net.node(1).VoidLease();
  ASSERT_OK(net.node(1).ReadIndex("confirmed"));
  net.Stabilize();
  EXPECT_EQ(*read_heartbeats, 2);
  ASSERT_EQ(net.test_node(1).read_states.size(), 2u);

  net.TickAll(2);  // fresh acknowledgements after the void: the lease holds again
  ASSERT_OK(net.node(1).ReadIndex("by-lease-again"));
  net.Stabilize();
  EXPECT_EQ(*read_heartbeats, 2);
  EXPECT_EQ(net.test_node(1).read_states.size(), 3u);
}

}  // namespace
}  // namespace ringkv::raft
