// InvariantChecker: the simulation's safety oracle (LogCabin's RaftConsensusInvariants idea).
// The Cluster reports what it observes after every step; the checker remembers what must never
// change and records the first violation:
//   - election safety: at most one leader per term, ever;
//   - log matching: an (index, term) pair identifies one entry and one log prefix (checked with
//     a registry of every (index, term) -> (previous term, content) ever seen in any log);
//   - leader completeness: a leader of term T holds every entry committed in a term < T;
//   - commit safety / no committed entry lost: every node that commits index i commits the same
//     entry; a node's commit index never decreases except by a crash, and after a crash never
//     below its durable commit;
//   - state-machine safety: no two nodes apply different entries at the same index, entries are
//     applied only once committed, and snapshots at the same index carry the same state;
//   - durability: an index is committed only once it is durable on a quorum;
//   - durable hard state: the persisted term never decreases and a persisted vote never changes
//     within a term.
//
// Thread-safety: not thread-safe; owned by one Cluster.
#ifndef RINGKV_TESTS_RAFT_SIM_INVARIANTS_H_
#define RINGKV_TESTS_RAFT_SIM_INVARIANTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/ids.h"
#include "proto/raft.pb.h"
#include "raft/ready.h"
#include "raft/sim/sim_node.h"

namespace ringkv::raft::sim {

class InvariantChecker {
 public:
  // Checks `node` as it is now. `log_may_have_changed` asks for a full scan of its log (the
  // step delivered entries or a snapshot, proposed, or restarted the node); otherwise only the
  // parts that can change without that (commit, role) are checked.
  void CheckNode(const SimNode& node, bool log_may_have_changed);
  // Raft thesis 10.2.1 / §5.3: when leader `node` has just advanced its commit index to
  // `commit`, that entry must already be durable (in the storage, or covered by its snapshot)
  // on a majority of every voter set of the leader's configuration. Checked at the first commit
  // of an index only (see the .cc for why).
  void CheckDurableQuorum(const SimNode& leader, Index commit,
                          const std::map<NodeId, std::unique_ptr<SimNode>>& nodes);
  // A full scan of every node; cheap enough to run every few steps and at the end.
  void CheckAll(const std::map<NodeId, std::unique_ptr<SimNode>>& nodes);

  void OnCrash(NodeId id);
  // After Start(): the commit index restarts from the durable hard state.
  void OnRestart(const SimNode& node);
  void OnPersisted(NodeId id, const Ready& rd);
  // `node_commit` is the node's commit index at apply time (0 = unknown, during replay).
  void OnApplied(NodeId id, const raftpb::Entry& e, Index node_commit);
  void OnSnapshot(NodeId id, Index index, const std::string& data);

  void Fail(std::string violation);
  bool failed() const { return !violation_.empty(); }
  const std::string& violation() const { return violation_; }

  // The highest index known committed anywhere.
  Index max_committed() const { return Index(committed_.size() - 1); }
  const std::map<Term, NodeId>& leaders() const { return leaders_; }

 private:
  struct Fingerprint {
    uint64_t term = 0;
    uint64_t prev_term = 0;  // 0 = not known yet
    bool prev_known = false;
    uint64_t hash = 0;
  };
  struct CommittedEntry {
    bool known = false;
    uint64_t term = 0;
    uint64_t hash = 0;
    uint64_t committed_in_term = 0;  // the term of the first node seen committing it
    NodeId first_by;
  };
  struct NodeTrack {
    Index commit;          // last commit index seen (lower bound after a restart)
    uint64_t lc_term = 0;  // leader completeness: term already verified ...
    Index lc_verified;     // ... up to this committed index
    bool has_durable = false;
    raftpb::HardState durable;  // last persisted hard state
    uint64_t last_term = 0;
    int role = -1;
  };

  void CheckLog(const SimNode& node, const std::vector<raftpb::Entry>& log, Index first);
  void CheckCommits(const SimNode& node, const std::vector<raftpb::Entry>& log, Index first,
                    Index from, Index to);
  void CheckLeaderCompleteness(const SimNode& node, NodeTrack& t);
  static uint64_t Hash(const raftpb::Entry& e);

  std::string violation_;
  std::map<Term, NodeId> leaders_;
  // Log matching registry, by index.
  std::vector<std::vector<Fingerprint>> seen_;
  // committed_[i]: what index i committed to; index 0 unused. Grows with the max commit.
  std::vector<CommittedEntry> committed_{1};
  // applied_[i]: (term, hash) applied at index i.
  std::vector<std::pair<uint64_t, uint64_t>> applied_{1};
  std::map<uint64_t, uint64_t> snapshot_digest_;
  std::map<NodeId, NodeTrack> tracks_;
};

}  // namespace ringkv::raft::sim

#endif  // RINGKV_TESTS_RAFT_SIM_INVARIANTS_H_
