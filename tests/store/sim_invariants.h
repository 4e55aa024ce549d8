// SimInvariants: Raft's safety invariants over every replica of a simulated cluster, checked
// at the moment they could break (issue 12 item 3), not only at the end of a run:
//   - election safety: at most one replica leads a group in a given term;
//   - state machine safety: no two replicas apply different entries at one index of a group
//     (same term and same bytes), across crashes and restarts too;
//   - and, reported here by SimCluster (Options::leaderless_bound), a liveness bound: no group
//     goes without an agreed leader for long while a quorum of it could elect one.
// A violation is kept as a readable line with the virtual time; the run reports them.
//
// Thread-safety: none; the simulation's one thread calls it.
#ifndef RINGKV_TESTS_STORE_SIM_INVARIANTS_H_
#define RINGKV_TESTS_STORE_SIM_INVARIANTS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "replica/replica_observer.h"

namespace ringkv::store::sim {

class SimInvariants final : public replica::ReplicaObserver {
 public:
  // `now` names the virtual time in violation lines.
  explicit SimInvariants(std::function<std::string()> now) : now_(std::move(now)) {}

  void OnLeader(GroupId group, Term term, NodeId replica) override;
  void OnApplied(GroupId group, NodeId replica, const raftpb::Entry& entry) override;

  const std::vector<std::string>& violations() const { return violations_; }
  // A violation found outside this class (SimCluster's leadership check).
  void Fail(std::string what) { Violation(std::move(what)); }
  // Leaders and applied entries seen (a run that saw none checked nothing).
  uint64_t leaders_seen() const { return leaders_.size(); }
  uint64_t entries_applied() const { return applied_count_; }

 private:
  struct Applied {
    uint64_t term;
    uint64_t hash;
    NodeId first_by;
  };
  void Violation(std::string what);

  std::function<std::string()> now_;
  std::map<std::pair<GroupId, uint64_t>, NodeId> leaders_;        // (group, term) -> replica
  std::map<std::pair<GroupId, uint64_t>, Applied> applied_;        // (group, index) -> entry
  uint64_t applied_count_ = 0;
  std::vector<std::string> violations_;
};

}  // namespace ringkv::store::sim

#endif  // RINGKV_TESTS_STORE_SIM_INVARIANTS_H_
