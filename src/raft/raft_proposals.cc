// Raft: the entry points a replica calls between Readys: proposals, read index requests,
// applied-index and uncommitted-size accounting, and the status snapshot. Role changes and
// the term rules are in raft.cc.
#include <algorithm>

#include "raft/panic.h"
#include "raft/raft.h"

namespace ringkv::raft {

Result<EntryId> Raft::Propose(std::string data, raftpb::EntryType type) {
  Unquiesce();  // a proposal wakes the group, also on a follower (the driver forwards it)
  if (state_ != StateRole::kLeader) {
    if (lead_ != kNoNode) {
      return Status::NotLeader("node " + Str(id_.value()) + " is not the leader", lead_.value());
    }
    return Status::Unavailable("no leader for this group (election in progress)");
  }
  auto self = trk_.progress.find(id_);
  if (self == trk_.progress.end() || self->second.is_learner) {
    return Status::Unavailable("this node was removed from the group's voters");
  }
  if (lead_transferee_ != kNoNode) {
    return Status::Unavailable("leadership transfer to node " + Str(lead_transferee_.value()) +
                               " in progress");
  }
  if (type == raftpb::ENTRY_CONF_CHANGE) {
    raftpb::ConfChange cc;
    if (!cc.ParseFromString(data)) return Status::InvalidArgument("malformed conf change");
    bool already_pending = pending_conf_index_ > raft_log_.applied();
    bool already_joint = trk_.config.voters.joint();
    bool wants_leave_joint = cc.changes_size() == 0;
    if (already_pending) {
      return Status::FailedPrecondition("a configuration change is already pending (index " +
                                        Str(pending_conf_index_.value()) + ")");
    }
    if (already_joint && !wants_leave_joint) {
      return Status::FailedPrecondition("must leave the joint configuration first");
    }
    if (!already_joint && wants_leave_joint) {
      return Status::FailedPrecondition("not in a joint configuration; empty change refused");
    }
  }
  std::vector<raftpb::Entry> es(1);
  es[0].set_type(type);
  es[0].set_data(std::move(data));
  if (!AppendEntry(es)) {
    return Status::ResourceExhausted("too many uncommitted entries on the leader");
  }
  if (type == raftpb::ENTRY_CONF_CHANGE) pending_conf_index_ = Index(es[0].index());
  // Replication of new proposals is deferred to the next Ready (FlushProposals), so that all
  // proposals between two Readys travel in one AppendEntries per follower.
  proposals_unsent_ = true;
  return EntryId{Index(es[0].index()), Term(es[0].term())};
}

Status Raft::ReadIndex(std::string ctx) {
  Unquiesce();  // a read wakes the group: the leader must confirm its leadership afresh
  raftpb::Message m;
  m.set_type(raftpb::MSG_READ_INDEX);
  m.set_context(std::move(ctx));
  if (state_ == StateRole::kLeader) {
    HandleReadIndexAsLeader(m);
    return Status::OK();
  }
  if (lead_ == kNoNode) return Status::Unavailable("no leader to confirm a read index");
  m.set_to(lead_.value());
  Send(std::move(m));
  return Status::OK();
}

void Raft::AppliedTo(Index index, uint64_t applied_payload_bytes) {
  const Index old_applied = raft_log_.applied();
  Index new_applied = std::max(index, old_applied);
  raft_log_.AppliedTo(new_applied);
  ReduceUncommittedSize(applied_payload_bytes);
  if (state_ == StateRole::kLeader && lead_transferee_ != kNoNode &&
      old_applied < pending_conf_index_ && new_applied >= pending_conf_index_) {
    // A transfer held back until the pending conf change was applied (TransfereeReady).
    auto pr = trk_.progress.find(lead_transferee_);
    if (pr != trk_.progress.end() && TransfereeReady(pr->second)) {
      Log(LogLevel::kInfo, "sent timeout-now to " + Str(lead_transferee_.value()) +
                               " once the pending conf change was applied");
      SendTimeoutNow(lead_transferee_);
    }
  }
  if (trk_.config.auto_leave && new_applied >= pending_conf_index_ &&
      state_ == StateRole::kLeader) {
    // The joint config is applied: leave it with an empty change (thesis 4.3).
    Result<EntryId> r = Propose(raftpb::ConfChange().SerializeAsString(), raftpb::ENTRY_CONF_CHANGE);
    if (!r.ok()) Log(LogLevel::kDebug, "not leaving joint config yet: " + r.status().ToString());
  }
}

bool Raft::IncreaseUncommittedSize(const std::vector<raftpb::Entry>& es) {
  uint64_t s = 0;
  for (const auto& e : es) s += e.data().size();
  if (uncommitted_size_ > 0 && s > 0 && max_uncommitted_size_ > 0 &&
      uncommitted_size_ + s > max_uncommitted_size_) {
    return false;
  }
  uncommitted_size_ += s;
  return true;
}

void Raft::ReduceUncommittedSize(uint64_t bytes) {
  uncommitted_size_ = bytes > uncommitted_size_ ? 0 : uncommitted_size_ - bytes;
}

RaftStatus Raft::GetStatus() const {
  RaftStatus st;
  st.id = id_;
  st.hard_state = hard_state();
  st.soft_state = soft_state();
  st.applied = raft_log_.applied();
  st.last_index = raft_log_.LastIndex();
  st.conf_state = trk_.ConfState();
  st.lead_transferee = lead_transferee_;
  if (state_ == StateRole::kLeader) {
    for (const auto& [id, pr] : trk_.progress) {
      st.progress[id] = PeerProgress{pr.match, pr.next, pr.state, pr.is_learner, pr.recent_active};
    }
  }
  return st;
}

}  // namespace ringkv::raft
