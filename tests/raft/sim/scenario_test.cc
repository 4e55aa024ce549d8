// Readable scenarios of the Raft paper's cases, run on the simulated cluster with the network
// and persistence under the test's control (no ticks unless the test ticks, no random faults).
// Each test is init / act / check and named after the rule it demonstrates; the invariant
// checker also runs after every step of every scenario.
//
// Log indices: the cluster is bootstrapped from a snapshot at index 5 (kBootstrapIndex), so the
// paper's index i is index 5 + i here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raft/sim/cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::raft::sim {
namespace {

constexpr uint64_t kBase = kBootstrapIndex;  // paper index i is kBase + i

ClusterOptions ScenarioOptions(int nodes) {
  ClusterOptions o;
  o.seed = 7;
  o.num_nodes = nodes;
  o.auto_tick = false;
  o.persist_min_ms = 0;
  o.persist_max_ms = 0;
  return o;
}

void Reliable(Cluster& c) {
  NetworkParams p;
  p.min_delay_ms = 1;
  p.max_delay_ms = 1;
  c.network().set_params(p);
}

// Ticks every node `ticks` times, delivering everything after each tick.
void Settle(Cluster& c, int ticks) {
  for (int i = 0; i < ticks && !c.failed(); ++i) {
    c.TickAll();
    c.Stabilize();
  }
}

void Campaign(Cluster& c, uint64_t id) {
  c.WithNode(
      NodeId(id), [](RawNode& r) { r.Campaign(); }, true);
  c.Stabilize();
}

raftpb::Entry Ent(uint64_t paper_index, uint64_t term) {
  raftpb::Entry e;
  e.set_index(kBase + paper_index);
  e.set_term(term);
  // Same (index, term) => same command, as Raft guarantees.
  e.set_data(EncodeWrite(KvWrite{"f", paper_index * 1000 + term}));
  return e;
}

// A log of the paper's figures: terms of entries 1..n.
std::vector<raftpb::Entry> PaperLog(const std::vector<uint64_t>& terms) {
  std::vector<raftpb::Entry> log;
  for (size_t i = 0; i < terms.size(); ++i) log.push_back(Ent(i + 1, terms[i]));
  return log;
}

std::vector<uint64_t> Terms(Cluster& c, uint64_t id) {
  const RawNode& r = c.node(NodeId(id)).raw();
  Result<std::vector<raftpb::Entry>> log =
      r.LogEntriesForTesting(Index(kBase + 1), r.LastIndexForTesting() + 1);
  std::vector<uint64_t> terms;
  if (!log.ok()) return terms;
  for (const raftpb::Entry& e : *log) terms.push_back(e.term());
  return terms;
}

bool IsLeader(Cluster& c, uint64_t id) {
  return c.node(NodeId(id)).up() && c.node(NodeId(id)).raw().role() == StateRole::kLeader;
}

// Raft §5.3, figure 7: whatever state the followers' logs are in (missing entries, extra
// uncommitted entries, both), the leader for term 8 brings them all to its own log.
TEST(RaftScenario, Figure7FollowersConvergeToTheLeadersLog) {
  const std::vector<std::vector<uint64_t>> logs = {
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6},        // n1: the leader-to-be
      {1, 1, 1, 4, 4, 5, 5, 6, 6},           // (a) missing one entry
      {1, 1, 1, 4},                          // (b) missing many
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},     // (c) one extra uncommitted entry
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},  // (d) extra entries of a later term
      {1, 1, 1, 4, 4, 4, 4},                 // (e) missing and extra
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},     // (f) a long divergent suffix
  };
  ClusterOptions o = ScenarioOptions(7);
  o.prepare_storage = [&logs](NodeId id, MemoryStorage& s) {
    ASSERT_OK(s.Append(PaperLog(logs[id.value() - 1])));
    raftpb::HardState hs;
    hs.set_term(7);
    hs.set_commit(kBase);
    s.SetHardState(hs);
  };
  Cluster c(o);
  Reliable(c);

  // n1 wins term 8 with the votes of a, b, e and f (c and d have more up-to-date logs).
  Campaign(c, 1);
  ASSERT_TRUE(IsLeader(c, 1)) << c.Report();
  EXPECT_EQ(c.node(NodeId(1)).raw().term(), Term(8));
  Settle(c, 3);  // heartbeats carry the final commit index

  std::vector<uint64_t> want = logs[0];
  want.push_back(8);  // the leader's no-op of term 8
  for (uint64_t id = 1; id <= 7; ++id) {
    EXPECT_EQ(Terms(c, id), want) << "n" << id;
    EXPECT_EQ(c.node(NodeId(id)).raw().committed(), Index(kBase + want.size())) << "n" << id;
  }
  EXPECT_FALSE(c.failed()) << c.Report();
}

// Raft §5.4.2, figure 8: a leader must not commit an entry of a previous term by counting its
// replicas; it becomes committed only together with an entry of the leader's own term.
TEST(RaftScenario, Figure8PreviousTermEntryIsNotCommittedByCountingReplicas) {
  // Figure 8 (c): S1 led term 2 and put (2, t2) on S2; S5 led term 3 and put (2, t3) on itself.
  const std::vector<std::vector<uint64_t>> logs = {{1, 2}, {1, 2}, {1}, {1}, {1, 3}};
  ClusterOptions o = ScenarioOptions(5);
  o.node_params.max_size_per_msg = 1;  // one entry per AppendEntries
  o.prepare_storage = [&logs](NodeId id, MemoryStorage& s) {
    ASSERT_OK(s.Append(PaperLog(logs[id.value() - 1])));
    raftpb::HardState hs;
    hs.set_term(3);
    hs.set_commit(kBase + 1);
    s.SetHardState(hs);
  };
  Cluster c(o);
  Reliable(c);
  // S1 never reaches S4 and S5 after the votes, and S3 never gets the term-4 entry (it still
  // sees, and rejects, the probe that S1 sends before it has (2, t2)).
  c.set_drop_filter([&c](const raftpb::Message& m) {
    if (m.from() != 1) return false;
    if (m.type() != raftpb::MSG_APP && m.type() != raftpb::MSG_HEARTBEAT) return false;
    if (m.to() == 4 || m.to() == 5) return true;
    if (m.to() == 3 && c.node(NodeId(3)).raw().LastIndexForTesting() >= Index(kBase + 2)) {
      for (const raftpb::Entry& e : m.entries()) {
        if (e.term() == 4) return true;
      }
    }
    return false;
  });

  // S1 wins term 4 (votes of S2, S3, S4) and appends its no-op (3, t4).
  Campaign(c, 1);
  ASSERT_TRUE(IsLeader(c, 1)) << c.Report();
  ASSERT_EQ(c.node(NodeId(1)).raw().term(), Term(4));
  Settle(c, 2);

  // (2, t2) is now on S1, S2 and S3 — a majority — and (3, t4) only on S1 and S2.
  ASSERT_EQ(Terms(c, 3), (std::vector<uint64_t>{1, 2})) << c.Report();
  ASSERT_EQ(Terms(c, 2), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(c.node(NodeId(1)).raw().committed(), Index(kBase + 1))
      << "the term-2 entry was committed by counting replicas";

  // Once the term-4 entry reaches a majority, both commit.
  c.set_drop_filter(nullptr);
  Settle(c, 3);
  EXPECT_EQ(c.node(NodeId(1)).raw().committed(), Index(kBase + 3));
  EXPECT_EQ(Terms(c, 3), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_FALSE(c.failed()) << c.Report();
}

// Raft §5.1, §6.2: a leader cut off from the majority cannot commit; once it hears the higher
// term of the new leader it steps down and its uncommitted entry is replaced.
TEST(RaftScenario, StaleLeaderCannotCommitAndStepsDownOnHigherTerm) {
  ClusterOptions o = ScenarioOptions(3);
  o.node_params.check_quorum = false;  // the stale leader must not step down on its own here
  Cluster c(o);
  Reliable(c);
  Campaign(c, 1);
  ASSERT_TRUE(IsLeader(c, 1));

  c.network().Split({NodeId(1)}, {NodeId(2), NodeId(3)});
  Result<uint64_t> stale = c.Write(NodeId(1), "k");
  ASSERT_OK(stale);
  const Index commit_before = c.node(NodeId(1)).raw().committed();
  Settle(c, 100);  // n2 or n3 times out and wins a higher term
  EXPECT_EQ(c.node(NodeId(1)).raw().committed(), commit_before);
  EXPECT_TRUE(IsLeader(c, 1)) << "without CheckQuorum it still believes it leads";
  const NodeId new_leader = c.Leader() == NodeId(1) ? kNoNode : c.Leader();
  ASSERT_TRUE(IsLeader(c, 2) || IsLeader(c, 3));
  Result<uint64_t> fresh = c.Write(IsLeader(c, 2) ? NodeId(2) : NodeId(3), "k");
  ASSERT_OK(fresh);
  Settle(c, 5);
  EXPECT_TRUE(c.WriteAcked(*fresh));
  (void)new_leader;

  c.network().HealAll();
  Settle(c, 10);
  EXPECT_FALSE(IsLeader(c, 1));
  EXPECT_EQ(c.node(NodeId(1)).raw().term(), c.node(NodeId(2)).raw().term());
  EXPECT_FALSE(c.WriteAcked(*stale));
  EXPECT_EQ(Terms(c, 1), Terms(c, 2)) << "the stale entry is replaced by the new leader's log";
  EXPECT_FALSE(c.failed()) << c.Report();
}

// CheckQuorum (thesis 6.2): a leader that has not heard from a quorum for an election timeout
// steps down by itself, so it stops serving as leader even if it never sees a higher term.
TEST(RaftScenario, StaleLeaderStepsDownByCheckQuorum) {
  ClusterOptions o = ScenarioOptions(3);
  o.node_params.check_quorum = true;
  Cluster c(o);
  Reliable(c);
  Campaign(c, 1);
  ASSERT_TRUE(IsLeader(c, 1));
  const Term term = c.node(NodeId(1)).raw().term();

  // Crash the followers: no higher term can ever reach n1.
  c.Crash(NodeId(2));
  c.Crash(NodeId(3));
  Settle(c, 2 * o.node_params.election_tick + 1);
  EXPECT_FALSE(IsLeader(c, 1));
  EXPECT_EQ(c.node(NodeId(1)).raw().term(), term) << "it stepped down without a higher term";
  EXPECT_FALSE(c.failed()) << c.Report();
}

// PreVote (thesis 9.6): a node partitioned away keeps failing its pre-vote without raising its
// term, so when it rejoins it does not depose the working leader.
TEST(RaftScenario, PartitionedCandidateDoesNotDisruptClusterWithPreVote) {
  ClusterOptions o = ScenarioOptions(3);
  o.node_params.pre_vote = true;
  Cluster c(o);
  Reliable(c);
  Campaign(c, 1);
  ASSERT_TRUE(IsLeader(c, 1));
  const Term term = c.node(NodeId(1)).raw().term();

  c.network().Split({NodeId(3)}, {NodeId(1), NodeId(2)});
  Settle(c, 10 * o.node_params.election_tick);
  EXPECT_EQ(c.node(NodeId(3)).raw().term(), term) << "pre-votes do not raise the term";
  Result<uint64_t> w = c.Write(NodeId(1), "k");
  ASSERT_OK(w);

  c.network().HealAll();
  Settle(c, 3 * o.node_params.election_tick);
  EXPECT_TRUE(IsLeader(c, 1));
  EXPECT_EQ(c.node(NodeId(1)).raw().term(), term);
  EXPECT_EQ(c.node(NodeId(3)).raw().lead(), NodeId(1));
  EXPECT_TRUE(c.WriteAcked(*w));
  EXPECT_EQ(Terms(c, 3), Terms(c, 1));
  EXPECT_FALSE(c.failed()) << c.Report();
}

// Raft thesis 4.2.2: the leader can remove itself. It commits the change, stops leading, a new
// leader takes over among the remaining voters, and the removed node takes no further part.
TEST(RaftScenario, LeaderRemovesItselfAndANewLeaderTakesOver) {
  ClusterOptions o = ScenarioOptions(3);
  Cluster c(o);
  Reliable(c);
  Campaign(c, 1);
  ASSERT_TRUE(IsLeader(c, 1));
  Result<uint64_t> before = c.Write(NodeId(1), "k");
  ASSERT_OK(before);
  Settle(c, 1);
  ASSERT_TRUE(c.WriteAcked(*before));

  raftpb::ConfChange cc;
  raftpb::ConfChangeSingle* s = cc.add_changes();
  s->set_type(raftpb::CONF_REMOVE_NODE);
  s->set_node_id(1);
  ASSERT_OK(c.ProposeConfChange(NodeId(1), cc));
  Settle(c, 10 * o.node_params.election_tick);

  for (uint64_t id : {2, 3}) {
    const raftpb::ConfState& cs = c.node(NodeId(id)).conf_state();
    EXPECT_EQ(std::vector<uint64_t>(cs.voters().begin(), cs.voters().end()),
              (std::vector<uint64_t>{2, 3}))
        << "n" << id;
  }
  EXPECT_FALSE(IsLeader(c, 1));
  EXPECT_FALSE(c.node(NodeId(1)).IsMember());
  const NodeId leader = c.Leader();
  ASSERT_TRUE(leader == NodeId(2) || leader == NodeId(3)) << c.Report();

  // The remaining two commit without n1, and n1 never leads again.
  const Term n1_term = c.node(NodeId(1)).raw().term();
  Result<uint64_t> after = c.Write(leader, "k");
  ASSERT_OK(after);
  Settle(c, 20 * o.node_params.election_tick);
  EXPECT_TRUE(c.WriteAcked(*after));
  EXPECT_FALSE(IsLeader(c, 1));
  EXPECT_LE(c.node(NodeId(1)).raw().term(), c.node(leader).raw().term());
  EXPECT_EQ(c.node(NodeId(1)).raw().term(), n1_term) << "the removed node does not campaign";
  EXPECT_FALSE(c.failed()) << c.Report();
}

}  // namespace
}  // namespace ringkv::raft::sim

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
