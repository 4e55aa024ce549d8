// ProgressTracker: the membership configuration of a group plus the leader's Progress of every
// member and the votes of the current election (etcd raft's tracker.ProgressTracker).
//
// Invariants (checked by confchange): voters and learners are disjoint; learners_next is a
// subset of the outgoing voters; every member has a Progress and nothing else does.
//
// Thread-safety: not thread-safe; owned by Raft.
#ifndef RINGKV_RAFT_TRACKER_H_
#define RINGKV_RAFT_TRACKER_H_

#include <map>
#include <set>

#include "common/ids.h"
#include "proto/raft.pb.h"
#include "raft/progress.h"
#include "raft/quorum.h"

namespace ringkv::raft {

struct TrackerConfig {
  JointConfig voters;
  // Non-voting members that receive the log.
  std::set<NodeId> learners;
  // Outgoing voters that become learners when the joint config is left (a voter demoted to
  // learner stays a voter of the outgoing half until then).
  std::set<NodeId> learners_next;
  // Leave the joint config automatically once it is applied.
  bool auto_leave = false;
};

using ProgressMap = std::map<NodeId, Progress>;

class ProgressTracker {
 public:
  ProgressTracker(int max_inflight, uint64_t max_inflight_bytes)
      : max_inflight_(max_inflight), max_inflight_bytes_(max_inflight_bytes) {}

  raftpb::ConfState ConfState() const;
  bool IsSingleton() const {
    return config.voters.incoming.size() == 1 && config.voters.outgoing.empty();
  }
  // The largest index acknowledged by a quorum (of both halves when joint).
  Index Committed() const;
  // Whether a quorum was recently active (CheckQuorum).
  bool QuorumActive() const;
  std::set<NodeId> VoterNodes() const { return config.voters.Ids(); }

  void ResetVotes() { votes_.clear(); }
  // Records the first vote of `id` in this election.
  void RecordVote(NodeId id, bool granted) { votes_.emplace(id, granted); }
  bool HasVoted(NodeId id) const { return votes_.count(id) > 0; }
  // Counts granted and rejected votes and the election's result.
  VoteResult TallyVotes(int* granted, int* rejected) const;

  Progress MakeProgress(Index next, bool is_learner) const;
  int max_inflight() const { return max_inflight_; }
  uint64_t max_inflight_bytes() const { return max_inflight_bytes_; }

  TrackerConfig config;
  // Every member (voters of both halves and learners), in id order.
  ProgressMap progress;

 private:
  int max_inflight_;
  uint64_t max_inflight_bytes_;
  std::map<NodeId, bool> votes_;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_TRACKER_H_
