// Changer: computes the configuration that a ConfChange leads to, without touching the live
// tracker (etcd raft's confchange package). Joint consensus (Raft thesis 4.3): EnterJoint makes
// the old voters the outgoing half and applies the changes to the incoming half; LeaveJoint
// drops the outgoing half. Simple applies at most one voter change directly.
//
// Thread-safety: pure, works on copies.
#ifndef RINGKV_RAFT_CONFCHANGE_H_
#define RINGKV_RAFT_CONFCHANGE_H_

#include <utility>
#include <vector>

#include "common/result.h"
#include "proto/raft.pb.h"
#include "raft/tracker.h"

namespace ringkv::raft {

using ConfAndProgress = std::pair<TrackerConfig, ProgressMap>;

class Changer {
 public:
  // `tracker` is the current state; `last_index` seeds the Progress of new members.
  Changer(const ProgressTracker& tracker, Index last_index)
      : tracker_(tracker), last_index_(last_index) {}

  // kFailedPrecondition if already joint, the incoming config is empty, or a change is invalid.
  Result<ConfAndProgress> EnterJoint(bool auto_leave,
                                     const std::vector<raftpb::ConfChangeSingle>& ccs) const;
  // kFailedPrecondition if not joint.
  Result<ConfAndProgress> LeaveJoint() const;
  // kFailedPrecondition if joint, or if more than one voter would change.
  Result<ConfAndProgress> Simple(const std::vector<raftpb::ConfChangeSingle>& ccs) const;

 private:
  Status Apply(TrackerConfig* cfg, ProgressMap* prs,
               const std::vector<raftpb::ConfChangeSingle>& ccs) const;
  void MakeVoter(TrackerConfig* cfg, ProgressMap* prs, NodeId id) const;
  void MakeLearner(TrackerConfig* cfg, ProgressMap* prs, NodeId id) const;
  void Remove(TrackerConfig* cfg, ProgressMap* prs, NodeId id) const;
  void InitProgress(TrackerConfig* cfg, ProgressMap* prs, NodeId id, bool is_learner) const;
  static Status CheckInvariants(const TrackerConfig& cfg, const ProgressMap& prs);

  const ProgressTracker& tracker_;
  Index last_index_;
};

// Whether cc asks to enter a joint config, and with auto-leave.
bool EnterJointRequested(const raftpb::ConfChange& cc, bool* auto_leave);
// An empty ConfChange leaves a joint config.
bool IsLeaveJoint(const raftpb::ConfChange& cc);

// Rebuilds the configuration described by a ConfState (from a snapshot or on restart) by
// replaying it as a sequence of changes from an empty tracker.
Result<ConfAndProgress> RestoreConfig(const ProgressTracker& empty_tracker, Index last_index,
                                      const raftpb::ConfState& cs);

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_CONFCHANGE_H_
