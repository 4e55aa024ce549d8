// Placement: the next membership step a shard's leader takes toward the shard's target
// replicas (computed from the ring over the live nodes). Pure: a function of the group's
// current configuration and replication progress, so it is unit-tested on its own.
//
// One change at a time, always adding before removing (design.md "Membership"):
//   1. a target node that is not a member -> add it as a learner (it catches up by snapshot);
//   2. a learner in the target whose log is within `catch_up_lag` of the leader -> promote it;
//   3. a voter outside the target, while the target's voters number at least R -> remove it
//      (if it is the leader itself, transfer leadership to a caught-up target voter first);
//   4. a learner outside the target -> remove it;
//   5. leadership not on the preferred leader (a caught-up voter) -> transfer it there.
// Gossip only triggers these; the group's own Raft log decides them.
//
// Thread-safety: pure functions.
#ifndef RINGKV_STORE_PLACEMENT_H_
#define RINGKV_STORE_PLACEMENT_H_

#include <map>
#include <span>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "proto/raft.pb.h"

namespace ringkv::store {

// Bug point (common/failpoint.h; tests and kvd_buggy only): the bug 4f94b90 and 49c7ebe fixed,
// found by the Jepsen member nemesis. A node removed from a group and added back gets no
// replica from the leader's messages (any tombstone refuses them, ReplicaSet; only a snapshot
// could revive it, which the leader never sends), and a learner that acknowledged nothing
// counts as caught up (match 0 within the lag of a short log) and is promoted: the re-added
// member's old acknowledgements count, and the shard runs a voter short.
inline constexpr std::string_view kBugReaddOldAcks = "bug.store.readd_old_acks";

struct GroupView {
  NodeId self;  // the leader
  raftpb::ConfState conf;
  std::map<NodeId, Index> match;  // leader's view of every member's log
  Index last_index;               // leader's last log index
};

struct PlacementStep {
  enum class Kind { kNone, kAddLearner, kPromote, kRemove, kTransferLeader };
  Kind kind = Kind::kNone;
  NodeId node;
  std::string ToString() const;
};

// `target`: the shard's replicas from the ring, preferred leader first. `balance_leaders`
// enables step 5.
PlacementStep NextPlacementStep(const GroupView& view, std::span<const NodeId> target,
                                size_t replication_factor, uint64_t catch_up_lag,
                                bool balance_leaders);

}  // namespace ringkv::store

#endif  // RINGKV_STORE_PLACEMENT_H_
