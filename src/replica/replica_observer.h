// ReplicaObserver: what a test watches replicas decide, so a simulation can check Raft's
// safety invariants at the step they could break (tests/store/sim_invariants.h: one leader
// per (group, term); no two replicas apply different entries at one index). kvd passes none:
// each hook costs a null check.
//
// Thread-safety: called on the node's loop thread.
#ifndef RINGKV_REPLICA_REPLICA_OBSERVER_H_
#define RINGKV_REPLICA_REPLICA_OBSERVER_H_

#include "common/ids.h"
#include "proto/raft.pb.h"

namespace ringkv::replica {

class ReplicaObserver {
 public:
  virtual ~ReplicaObserver() = default;
  // Replica `replica` (a Raft id) of `group` leads in `term`: reported with the Ready that
  // first shows it leading.
  virtual void OnLeader(GroupId group, Term term, NodeId replica) = 0;
  // Replica `replica` of `group` applied the committed `entry` (conf changes and empty
  // entries included), in index order.
  virtual void OnApplied(GroupId group, NodeId replica, const raftpb::Entry& entry) = 0;
};

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_REPLICA_OBSERVER_H_
