// The failures the 100,000-seed simulation found (issue #11), each replayed as a fixed
// interleaving through RawNode's public API, with the seeds that found it. Before the fixes the
// first test panics the core, the second never elects a leader and the third serves a stale
// read.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/panic.h"
#include "raft/raw_node.h"
#include "raft/test_network.h"
#include "testutil/status_matchers.h"

namespace ringkv::raft {
namespace {

using testing::TestNetwork;

[[noreturn]] void ThrowPanic(const std::string& message) { throw std::runtime_error(message); }

// Makes a core panic a C++ exception for the duration of a test, so it fails cleanly.
class PanicAsException {
 public:
  PanicAsException() { SetPanicHandlerForTesting(&ThrowPanic); }
  ~PanicAsException() { SetPanicHandlerForTesting(nullptr); }
};

raftpb::ConfState Voters(std::vector<uint64_t> incoming, std::vector<uint64_t> outgoing = {}) {
  raftpb::ConfState cs;
  for (uint64_t id : incoming) cs.add_voters(id);
  for (uint64_t id : outgoing) cs.add_voters_outgoing(id);
  cs.set_auto_leave(!outgoing.empty());
  return cs;
}

raftpb::Snapshot Snap(uint64_t index, uint64_t term, const raftpb::ConfState& cs) {
  raftpb::Snapshot s;
  s.mutable_metadata()->set_index(index);
  s.mutable_metadata()->set_term(term);
  *s.mutable_metadata()->mutable_conf_state() = cs;
  return s;
}

raftpb::Entry Normal(uint64_t index, uint64_t term) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data("w" + std::to_string(index));
  return e;
}

raftpb::Entry ConfEntry(uint64_t index, uint64_t term, const raftpb::ConfChange& cc) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_type(raftpb::ENTRY_CONF_CHANGE);
  e.set_data(cc.SerializeAsString());
  return e;
}

// Joint change: node `add` becomes a voter, `remove` leaves; automatic leave.
raftpb::ConfChange EnterJoint(uint64_t add, uint64_t remove) {
  raftpb::ConfChange cc;
  raftpb::ConfChangeSingle* a = cc.add_changes();
  a->set_type(raftpb::CONF_ADD_NODE);
  a->set_node_id(add);
  raftpb::ConfChangeSingle* r = cc.add_changes();
  r->set_type(raftpb::CONF_REMOVE_NODE);
  r->set_node_id(remove);
  cc.set_transition(raftpb::TRANSITION_AUTO);
  return cc;
}

std::unique_ptr<MemoryStorage> Storage(const raftpb::Snapshot& snap,
                                       const std::vector<raftpb::Entry>& ents, uint64_t term,
                                       uint64_t commit) {
  auto s = std::make_unique<MemoryStorage>();
  EXPECT_OK(s->ApplySnapshot(snap));
  if (!ents.empty()) {
    EXPECT_OK(s->Append(ents));
  }
  raftpb::HardState hs;
  hs.set_term(term);
  hs.set_commit(commit);
  s->SetHardState(hs);
  return s;
}

std::unique_ptr<RawNode> Start(NodeId id, MemoryStorage* storage) {
  Config c;
  c.id = id;
  c.storage = storage;
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  Result<std::unique_ptr<RawNode>> r = RawNode::Create(c);
  EXPECT_OK(r);
  return std::move(r).value();
}

// Seeds 3878, 18069, 46273, 84818 ("config is already joint"), 10866, 11261, 59218 ("can't
// leave a non-joint config") and 49228 ("can't apply simple config change in joint config").
// A follower took a Ready whose committed entries hold a conf change (here the joint change at
// 7) and, before it finished applying them, received a snapshot from the leader (at 10, whose
// configuration already includes that change). Restoring the snapshot switched the core to the
// snapshot's configuration at once; the driver then applied the older conf change on top of it,
// and the core panicked on what its own leader had committed. Every replica that restarts applies
// the same entry again, so in kvd the whole group would crash forever. Now the core refuses to
// restore a snapshot while entries it handed out are still being applied, and the leader sends
// the snapshot again.
TEST(SimFoundBugs, SnapshotIsNotRestoredWhileCommittedEntriesAreBeingApplied) {
  PanicAsException panics;
  const raftpb::ConfState before = Voters({1, 2, 3});
  const raftpb::ConfState joint = Voters({1, 2, 4}, {1, 2, 3});
  auto storage = Storage(Snap(5, 1, before),
                         {Normal(6, 2), ConfEntry(7, 2, EnterJoint(4, 3)), Normal(8, 2)}, 2, 5);
  std::unique_ptr<RawNode> follower = Start(NodeId(2), storage.get());

  // The leader's heartbeat commits 6..8; the follower takes a Ready that hands them out.
  raftpb::Message hb;
  hb.set_type(raftpb::MSG_HEARTBEAT);
  hb.set_from(1);
  hb.set_to(2);
  hb.set_term(2);
  hb.set_commit(8);
  ASSERT_OK(follower->Step(hb));
  Ready rd = follower->GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 3u);

  // The snapshot arrives while those entries are being applied.
  raftpb::Message snap;
  snap.set_type(raftpb::MSG_SNAP);
  snap.set_from(1);
  snap.set_to(2);
  snap.set_term(2);
  *snap.mutable_snapshot() = Snap(10, 2, joint);
  ASSERT_OK(follower->Step(snap));

  // The driver finishes the Ready: applying the joint change must not panic.
  raftpb::ConfState cs;
  EXPECT_NO_THROW({
    for (const raftpb::Entry& e : rd.committed_entries) {
      if (e.type() != raftpb::ENTRY_CONF_CHANGE) continue;
      raftpb::ConfChange cc;
      ASSERT_TRUE(cc.ParseFromString(e.data()));
      cs = follower->ApplyConfChange(cc);
    }
  });
  EXPECT_EQ(cs.ShortDebugString(), joint.ShortDebugString());
  follower->Advance();

  // The refused snapshot was answered with the commit index, so the leader will retry ...
  Ready next = follower->GetReady();
  EXPECT_FALSE(next.snapshot.has_value());
  bool answered = false;
  for (const raftpb::Message& m : next.messages_after_persist) {
    if (m.type() == raftpb::MSG_APP_RESP && m.to() == 1 && !m.reject()) {
      answered = true;
      EXPECT_EQ(m.index(), 8u);
    }
  }
  EXPECT_TRUE(answered);
  follower->Advance();

  // ... and the same snapshot, sent again now that nothing is being applied, is restored.
  ASSERT_OK(follower->Step(snap));
  Ready restored = follower->GetReady();
  ASSERT_TRUE(restored.snapshot.has_value());
  EXPECT_EQ(restored.snapshot->metadata().index(), 10u);
  EXPECT_EQ(follower->GetStatus().conf_state.ShortDebugString(), joint.ShortDebugString());
}

// Seeds 19470, 20745, 20935, 23027, 24454, 49596, 53066, 85298 (about one seed in 3,000): no
// leader ever again after a joint change. The group left the joint configuration {6,7} & {5,7}
// (entry 6 commits the leave, so n5 is removed), but n6 restarted with its durable commit index
// below 6 and so is still joint. n6 holds the most up-to-date log of the voters (n7 is behind
// it), so only n6 can win; still joint, it needs n5's vote too, and n5 (removed, so it never
// campaigns itself) has an entry n6 lost in the crash, so n5 refuses. n7 needs n6's vote and n6
// refuses it. Nothing changes this without a leader. Now vote traffic carries the sender's
// commit index and term: n6 learns from n7 (or n5) that 6 is committed, applies the leave, and
// wins with n7's vote alone.
TEST(SimFoundBugs, NodeWithStaleCommitLearnsItFromVotesAndLeavesTheJointConfig) {
  const raftpb::ConfState joint = Voters({6, 7}, {5, 7});
  const raftpb::ConfState left = Voters({6, 7});
  raftpb::ConfChange leave;  // an empty change leaves the joint configuration
  const raftpb::Entry leave_entry = ConfEntry(6, 2, leave);
  TestNetwork net;
  auto tweak = [](Config& c) {
    c.pre_vote = true;
    c.check_quorum = true;
  };
  // n5: applied the leave (its configuration excludes it) and holds 7 and 8 of term 3.
  net.AddNodeWithStorage(NodeId(5), Storage(Snap(6, 2, left), {Normal(7, 3), Normal(8, 3)}, 3, 6),
                         tweak);
  // n6: restarted with commit 5, so joint; its log ends at 7 (term 3): it lost 8 in the crash.
  net.AddNodeWithStorage(NodeId(6), Storage(Snap(5, 1, joint), {leave_entry, Normal(7, 3)}, 3, 5),
                         tweak);
  // n7: applied the leave; its log ends at 6 (term 2), behind n6's.
  net.AddNodeWithStorage(NodeId(7), Storage(Snap(6, 2, left), {}, 3, 6), tweak);

  NodeId leader;
  for (int tick = 0; tick < 200 && leader == kNoNode; ++tick) {
    net.TickAll(1);
    for (uint64_t id : {6, 7}) {
      if (net.node(id).role() == StateRole::kLeader) leader = NodeId(id);
    }
  }
  ASSERT_EQ(leader, NodeId(6)) << "no leader within 200 ticks (20 election timeouts)";
  EXPECT_EQ(net.node(6).GetStatus().conf_state.ShortDebugString(), left.ShortDebugString());
  ASSERT_OK(net.node(6).Propose("after"));
  net.Stabilize();
  // n7 applies n6's entry 7 (committed with n6's no-op) and the new write.
  EXPECT_EQ(net.test_node(7).applied, (std::vector<std::string>{"w7", "after"}));
}

// Membership-profile seed 76: n1 restarted with a stale commit in the old configuration {1,2}
// and can never win there (n2, removed since, has a longer log and refuses). Campaigning among
// its own voters, it raised its term again and again. n3, in the committed configuration {1,3},
// could win with n1's vote but was far behind in terms, and n1 ignored its lower-term vote
// requests, so n3 never learned the term it had to beat. Now a stale-term vote request is
// rejected with the receiver's term (Raft §5.1), and n3 catches up and wins.
TEST(SimFoundBugs, CandidateBehindInTermsLearnsTheTermFromARejection) {
  TestNetwork net;
  auto plain = [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  };
  net.AddNodeWithStorage(NodeId(1), Storage(Snap(5, 1, Voters({1, 2})), {Normal(6, 2)}, 1000, 5),
                         plain);
  net.AddNodeWithStorage(NodeId(2), Storage(Snap(7, 3, Voters({1, 3})), {}, 3, 7), plain);
  net.AddNodeWithStorage(NodeId(3), Storage(Snap(7, 3, Voters({1, 3})), {Normal(8, 3)}, 5, 7),
                         plain);
  NodeId leader;
  for (int tick = 0; tick < 300 && leader == kNoNode; ++tick) {
    net.TickAll(1);
    for (uint64_t id : {1, 3}) {
      if (net.node(id).role() == StateRole::kLeader) leader = NodeId(id);
    }
  }
  ASSERT_EQ(leader, NodeId(3)) << "no leader within 300 ticks";
  ASSERT_OK(net.node(3).Propose("after"));
  net.Stabilize();
  EXPECT_EQ(net.test_node(1).applied.back(), "after");
}

// Seeds 19225 and 53607 (check_quorum, pre_vote and lease reads on): a leader transferred its
// leadership (TimeoutNow), then heard from nobody. The transferee campaigned with votes that
// skip every follower's leader lease (that is what a transfer is), won, and committed a write,
// while the old leader's lease, counted from acknowledgements it had received before, still
// looked valid, so it answered a lease read without that write. Now a leader that sent TimeoutNow
// has no lease for the rest of its term: its reads take a heartbeat round, which an isolated or
// deposed leader cannot complete.
TEST(SimFoundBugs, LeaderThatSentTimeoutNowServesNoLeaseReads) {
  TestNetwork net(3, [](Config& c) {
    c.check_quorum = true;
    c.read_only_option = ReadOnlyOption::kLeaseBased;
  });
  net.node(1).Campaign();
  net.Stabilize();
  ASSERT_EQ(net.node(1).role(), StateRole::kLeader);
  ASSERT_OK(net.node(1).Propose("x"));
  net.Stabilize();

  // The lease serves a read at once before the transfer.
  ASSERT_OK(net.node(1).ReadIndex("before"));
  net.Stabilize();
  ASSERT_EQ(net.test_node(1).read_states.size(), 1u);

  // n1 hands leadership to the caught-up n2 and from then on hears nobody.
  net.node(1).TransferLeader(NodeId(2));
  net.SetDrop([](const raftpb::Message& m) { return m.to() == 1; });
  net.Stabilize();
  ASSERT_EQ(net.node(2).role(), StateRole::kLeader);
  ASSERT_OK(net.node(2).Propose("y"));
  net.Stabilize();
  ASSERT_EQ(net.test_node(3).applied.back(), "y");

  // n1 still believes it leads; its read must not be answered from the old state.
  ASSERT_EQ(net.node(1).role(), StateRole::kLeader);
  ASSERT_OK(net.node(1).ReadIndex("after"));
  net.Stabilize();
  EXPECT_EQ(net.test_node(1).read_states.size(), 1u) << "a deposed leader served a lease read";
}

// Found by reading the lease argument while fixing the transfer case above: a follower that
// restarts forgets the leader it heard from, so it would vote at once, inside the lease it had
// just renewed for that leader. Here n2 acknowledged n1, restarted, and voted for n3 (which could
// not hear n1); n3 won and committed while n1's lease, renewed by n2's acknowledgement, still
// looked valid. A node configured for lease reads now honours the lease of an unknown leader for
// an election timeout after it starts.
TEST(SimFoundBugs, RestartedFollowerDoesNotVoteInsideTheLeaseItGranted) {
  auto lease = [](Config& c) {
    c.check_quorum = true;
    c.pre_vote = true;
    c.read_only_option = ReadOnlyOption::kLeaseBased;
  };
  TestNetwork net(3, lease);
  net.node(1).Campaign();
  net.Stabilize();
  ASSERT_EQ(net.node(1).role(), StateRole::kLeader);
  ASSERT_OK(net.node(1).Propose("x"));
  net.Stabilize();

  // n1 and n3 cannot reach each other; n2 (which just acknowledged n1) restarts.
  net.SetDrop([](const raftpb::Message& m) {
    return (m.from() == 1 && m.to() == 3) || (m.from() == 3 && m.to() == 1);
  });
  net.RestartNode(2, lease);
  // n3 times out (only n3 ticks: n1's lease is measured in n1's ticks) and campaigns.
  for (int i = 0; i < 30; ++i) {
    net.node(3).Tick();
    net.Stabilize();
  }
  const bool n3_won = net.node(3).role() == StateRole::kLeader;
  if (n3_won) {
    ASSERT_OK(net.node(3).Propose("y"));
    net.Stabilize();
  }
  // n1's lease read must not miss a write n3 committed.
  ASSERT_EQ(net.node(1).role(), StateRole::kLeader);
  ASSERT_OK(net.node(1).ReadIndex("r"));
  net.Stabilize();
  EXPECT_FALSE(n3_won && net.test_node(1).read_states.size() == 1)
      << "n3 was elected with the vote of a follower inside n1's lease, and n1 served a lease read";
}

// Membership-profile seed 27729 (CheckQuorum and PreVote off): n3 was removed while cut off, so
// it never learned of it, and kept campaigning in its stale configuration {2,3} with ever
// higher terms. Each vote request raised the term of n2, a follower of the live leader n1 in
// the committed configuration {1,2}, which then refused n1's appends and deposed it: no write
// committed for good. Now a follower that heard from its leader within the election timeout
// ignores vote requests (Raft thesis 4.2.3) whether or not CheckQuorum is on. (A leader honours
// that lease only with CheckQuorum, so without it a removed node whose stale configuration
// names the leader can still depose it: docs/architecture.md, Membership.)
TEST(SimFoundBugs, RemovedNodeCampaigningDoesNotDeposeTheLeader) {
  TestNetwork net;
  auto plain = [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  };
  const raftpb::ConfState live = Voters({1, 2});
  net.AddNodeWithStorage(NodeId(1), Storage(Snap(5, 1, live), {}, 1, 5), plain);
  net.AddNodeWithStorage(NodeId(2), Storage(Snap(5, 1, live), {}, 1, 5), plain);
  net.AddNodeWithStorage(NodeId(3), Storage(Snap(2, 1, Voters({2, 3})), {}, 1, 2), plain);
  net.node(1).Campaign();
  net.Stabilize();
  ASSERT_EQ(net.node(1).role(), StateRole::kLeader);
  const Term term = net.node(1).term();

  for (int round = 0; round < 5; ++round) {
    net.node(3).Campaign();  // n3's election timeout: a vote request to n1 and n2
    net.Stabilize();
    ASSERT_OK(net.node(1).Propose("w" + std::to_string(round)));
    net.TickAll(1);  // a heartbeat round: n2 hears from its leader
    net.Stabilize();
    EXPECT_EQ(net.node(1).role(), StateRole::kLeader) << "round " << round;
  }
  EXPECT_EQ(net.node(1).term(), term);
  EXPECT_EQ(net.node(2).term(), term);
  EXPECT_EQ(net.test_node(2).applied.back(), "w4");
}

// Seed 306's scenario (the two tests below): in a group {1,2,3,4} led by n4, n1 is dead for
// good and n4 removes itself. Every message that would tell n2 or n3 that the removal committed
// is lost but TimeoutNow, and so is n4's vote for the transferee; once n4 stops leading it has
// deleted its replica. `transfer_early` starts the transfer to n2 before the removal commits.
// n2 and n3 must still elect a leader among themselves and serve a write; the leader's
// configuration is returned.
raftpb::ConfState RemovedLeaderHandsOver(bool transfer_early) {
  TestNetwork net(4, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.node(4).Campaign();
  net.Stabilize();
  EXPECT_EQ(net.node(4).role(), StateRole::kLeader);
  bool n4_gone = false;
  Index removal;
  net.SetDrop([&](const raftpb::Message& m) {
    if (m.from() == 1 || m.to() == 1) return true;  // n1 is dead for good
    if (n4_gone && (m.from() == 4 || m.to() == 4)) return true;
    if (m.from() == 4 && removal.value() > 0 && m.commit() >= removal.value() &&
        m.type() != raftpb::MSG_TIMEOUT_NOW) {
      return true;
    }
    return m.from() == 4 && m.type() == raftpb::MSG_VOTE_RESP;
  });
  raftpb::ConfChange cc;
  raftpb::ConfChangeSingle* r = cc.add_changes();
  r->set_type(raftpb::CONF_REMOVE_NODE);
  r->set_node_id(4);
  Result<EntryId> at = net.node(4).ProposeConfChange(cc);
  EXPECT_TRUE(at.ok()) << at.status();
  if (!at.ok()) return {};
  removal = at->index;
  if (transfer_early) net.node(4).TransferLeader(NodeId(2));
  net.Stabilize();
  NodeId leader;
  for (int tick = 0; tick < 300 && leader == kNoNode; ++tick) {
    if (net.node(4).role() != StateRole::kLeader) n4_gone = true;
    net.TickAll(1);
    for (uint64_t id : {2, 3}) {
      if (net.node(id).role() == StateRole::kLeader) leader = NodeId(id);
    }
  }
  EXPECT_NE(leader, kNoNode) << "n2 and n3 never elected a leader without n4";
  if (leader == kNoNode) return {};
  EXPECT_TRUE(net.node(leader.value()).Propose("after").ok());
  net.Stabilize();
  EXPECT_EQ(net.test_node(2).applied.back(), "after");
  EXPECT_EQ(net.test_node(3).applied.back(), "after");
  return net.node(leader.value()).GetStatus().conf_state;
}

// Found by the node simulation's membership profile (tests/node_sim, seed 306 of its first
// version): in a group {1,2,3,4} whose n1 was dead for good, the leader n4 committed its own
// removal, applied it and handed leadership over with TimeoutNow, but the append that carried
// the commit to the transferee was overtaken (or lost). The transferee campaigned in the old
// configuration, n4 stepped down on its vote request and deleted its replica (the store does
// once a removed replica no longer leads), and a vote was lost: n2 and n3 then needed a third
// vote among {1,4} that could never come. Now TimeoutNow carries the commit index, so the
// transferee applies the removal first and campaigns in {1,2,3}, where n2 and n3 are a quorum.
TEST(SimFoundBugs, TransfereeOfARemovedLeaderCampaignsInTheNewConfiguration) {
  EXPECT_EQ(RemovedLeaderHandsOver(/*transfer_early=*/false).ShortDebugString(),
            Voters({1, 2, 3}).ShortDebugString());
}

// The same seed's first run, one step earlier: the transfer (placement moving leadership off
// n4, which the ring no longer wants) started while n4's own removal was in its log but not yet
// committed, so TimeoutNow left with the old commit and the transferee campaigned in the old
// configuration; n4 then committed and applied its removal, stepped down on the vote request
// and was gone. Now a leader sends TimeoutNow only once it has applied every conf change in its
// log (its pending one), so the commit TimeoutNow carries covers them.
TEST(SimFoundBugs, TransferWaitsForTheLeadersPendingConfChange) {
  RemovedLeaderHandsOver(/*transfer_early=*/true);
}

// Found by the node simulation (node-sim-long on e43e308, seed 3048): a leader removed from its
// group hands leadership to the voter with the longest log. All were caught up, ties went to the
// lowest id, and that voter's node had died (it was wiped): each transfer timed out after an
// election timeout and the next went to the same dead voter, for good. The removed leader kept
// heartbeating the live voters, so they never elected one of their own, and placement (which
// runs on a member leader) never replaced the dead one. Now the transferee is a voter that
// acknowledged the leader within the last election timeout, if there is one.
TEST(SimFoundBugs, RemovedLeaderHandsOverToALiveVoter) {
  TestNetwork net(4);
  net.node(1).Campaign();
  net.Stabilize();
  ASSERT_EQ(net.node(1).role(), StateRole::kLeader);
  // The first voter the removed leader picks dies as its TimeoutNow leaves; until then every
  // voter gets the whole log, so the longest-log rule ties.
  uint64_t dead = 0;
  net.SetDrop([&dead](const raftpb::Message& m) {
    if (dead == 0 && m.type() == raftpb::MSG_TIMEOUT_NOW) dead = m.to();
    return dead != 0 && (m.from() == dead || m.to() == dead);
  });
  raftpb::ConfChange cc;
  raftpb::ConfChangeSingle* r = cc.add_changes();
  r->set_type(raftpb::CONF_REMOVE_NODE);
  r->set_node_id(1);
  ASSERT_OK(net.node(1).ProposeConfChange(cc));
  net.Stabilize();
  NodeId leader;
  for (int tick = 0; tick < 100 && leader == kNoNode; ++tick) {
    net.TickAll(1);
    for (uint64_t id : {2, 3, 4}) {
      if (id != dead && net.node(id).role() == StateRole::kLeader) leader = NodeId(id);
    }
  }
  ASSERT_NE(dead, 0u) << "the removed leader never tried to hand over";
  EXPECT_NE(leader, kNoNode) << "the removed leader never handed over to a live voter (it kept "
                             << "trying n" << dead << ")";
}

}  // namespace
}  // namespace ringkv::raft
