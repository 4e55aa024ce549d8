#include "raft/tracker.h"

namespace ringkv::raft {

raftpb::ConfState ProgressTracker::ConfState() const {
  raftpb::ConfState cs;
  for (NodeId id : config.voters.incoming.ids()) cs.add_voters(id.value());
  for (NodeId id : config.voters.outgoing.ids()) cs.add_voters_outgoing(id.value());
  for (NodeId id : config.learners) cs.add_learners(id.value());
  for (NodeId id : config.learners_next) cs.add_learners_next(id.value());
  cs.set_auto_leave(config.auto_leave);
  return cs;
}

Index ProgressTracker::Committed() const {
  return config.voters.CommittedIndex([this](NodeId id) -> std::optional<Index> {
    auto it = progress.find(id);
    if (it == progress.end()) return std::nullopt;
    return it->second.match;
  });
}

bool ProgressTracker::QuorumActive() const {
  std::map<NodeId, bool> votes;
  for (const auto& [id, pr] : progress) {
    if (pr.is_learner) continue;
    votes[id] = pr.recent_active;
  }
  return config.voters.Vote(votes) == VoteResult::kWon;
}

VoteResult ProgressTracker::TallyVotes(int* granted, int* rejected) const {
  *granted = 0;
  *rejected = 0;
  for (const auto& [id, pr] : progress) {
    if (pr.is_learner) continue;
    auto it = votes_.find(id);
    if (it == votes_.end()) continue;
    if (it->second) {
      ++*granted;
    } else {
      ++*rejected;
    }
  }
  return config.voters.Vote(votes_);
}

Progress ProgressTracker::MakeProgress(Index next, bool is_learner) const {
  Progress pr(max_inflight_, max_inflight_bytes_);
  pr.next = next;
  pr.is_learner = is_learner;
  return pr;
}

}  // namespace ringkv::raft
