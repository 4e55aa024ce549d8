// Raft: the follower and (pre-)candidate roles — elections, AppendEntries, heartbeats and
// InstallSnapshot on the receiving side.
#include <algorithm>

#include "raft/confchange.h"
#include "raft/panic.h"
#include "raft/raft.h"

namespace ringkv::raft {
Status Raft::StepCandidate(raftpb::Message& m) {
  raftpb::MessageType my_vote_resp =
      state_ == StateRole::kPreCandidate ? raftpb::MSG_PRE_VOTE_RESP : raftpb::MSG_VOTE_RESP;
  NodeId from(m.from());
  switch (m.type()) {
    case raftpb::MSG_APP:
      BecomeFollower(Term(m.term()), from);  // Raft §5.2: a leader of this term exists
      HandleAppendEntries(m);
      return Status::OK();
    case raftpb::MSG_HEARTBEAT:
      BecomeFollower(Term(m.term()), from);
      HandleHeartbeat(m);
      return Status::OK();
    case raftpb::MSG_SNAP:
      BecomeFollower(Term(m.term()), from);
      HandleSnapshot(m);
      return Status::OK();
    case raftpb::MSG_READ_INDEX:
      return Status::OK();  // no leader to ask; the requester times out
    default:
      break;
  }
  if (m.type() != my_vote_resp) return Status::OK();
  trk_.RecordVote(from, !m.reject());
  int granted = 0, rejected = 0;
  VoteResult res = trk_.TallyVotes(&granted, &rejected);
  // A quorum of other voters may grant before our own (term, vote) is durable; winning then
  // would let a crash-restart lead the same term twice with different logs. Our own vote is
  // stepped only once durable (RawNode::Advance), so wait for it (thesis 10.2.1's rule applied
  // to the term).
  if (res == VoteResult::kWon && !trk_.HasVoted(id_)) return Status::OK();
  if (res == VoteResult::kWon) {
    if (state_ == StateRole::kPreCandidate) {
      Campaign(CampaignType::kElection);
    } else {
      BecomeLeader();
      BcastAppend();
    }
  } else if (res == VoteResult::kLost) {
    // A pre-vote response carries a future term; stay in ours.
    BecomeFollower(term_, kNoNode);
  }
  return Status::OK();
}

Status Raft::StepFollower(raftpb::Message& m) {
  NodeId from(m.from());
  switch (m.type()) {
    case raftpb::MSG_APP:
      election_elapsed_ = 0;
      lead_ = from;
      HandleAppendEntries(m);
      break;
    case raftpb::MSG_HEARTBEAT:
      election_elapsed_ = 0;
      lead_ = from;
      HandleHeartbeat(m);
      break;
    case raftpb::MSG_SNAP:
      election_elapsed_ = 0;
      lead_ = from;
      HandleSnapshot(m);
      break;
    case raftpb::MSG_TRANSFER_LEADER:
      if (lead_ == kNoNode) return Status::Unavailable("no leader to transfer leadership from");
      m.set_to(lead_.value());
      m.set_term(0);
      Send(m);
      break;
    case raftpb::MSG_TIMEOUT_NOW:
      // Leadership transfer: campaign at once, skipping pre-vote and the leader lease, but
      // first take the leader's commit (SendTimeoutNow): a committed conf change not yet
      // applied holds the campaign back (Hup) until the leader asks again.
      raft_log_.CommitTo(std::min(Index(m.commit()), raft_log_.LastIndex()));
      Log(LogLevel::kInfo, "received timeout-now from " + Str(from.value()) + "; campaigning");
      Hup(CampaignType::kTransfer);
      break;
    case raftpb::MSG_READ_INDEX:
      if (lead_ == kNoNode) return Status::Unavailable("no leader to confirm a read index");
      m.set_to(lead_.value());
      Send(m);
      break;
    case raftpb::MSG_READ_INDEX_RESP:
      read_states_.push_back(ReadState{Index(m.index()), m.context()});
      break;
    default:
      break;
  }
  return Status::OK();
}

void Raft::HandleAppendEntries(const raftpb::Message& m) {
  Index index(m.index());
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_APP_RESP);
  if (index < raft_log_.committed()) {
    // Everything up to our commit index matches the leader's log (Log Matching); say so.
    resp.set_index(raft_log_.committed().value());
    Send(std::move(resp));
    return;
  }
  std::vector<raftpb::Entry> ents(m.entries().begin(), m.entries().end());
  std::optional<Index> last_new =
      raft_log_.MaybeAppend(index, Term(m.log_term()), Index(m.commit()), ents);
  if (last_new) {
    resp.set_index(last_new->value());
    Send(std::move(resp));
    return;
  }
  // Raft §5.3 consistency check failed. Hint the leader at the largest (index, term) at which
  // our logs may match, skipping our whole conflicting tail at once.
  Index hint_index = std::min(index, raft_log_.LastIndex());
  auto [hi, ht] = raft_log_.FindConflictByTerm(hint_index, Term(m.log_term()));
  resp.set_index(index.value());
  resp.set_reject(true);
  resp.set_reject_hint(hi.value());
  resp.set_log_term(ht.value());
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const raftpb::Message& m) {
  raft_log_.CommitTo(Index(m.commit()));
  if (m.quiesce() && FollowerMayQuiesce(m)) {
    // Asleep with the leader: no answer (an answer would wake it).
    quiesced_ = true;
    return;
  }
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_HEARTBEAT_RESP);
  resp.set_context(m.context());
  if (m.quiesce()) {
    // Refusing to sleep: stay (or get) awake, and say so, which wakes the leader.
    Unquiesce();
    resp.set_reject(true);
  }
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const raftpb::Message& m) {
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_APP_RESP);
  if (Restore(m.snapshot())) {
    Log(LogLevel::kInfo, "restored snapshot at index " + Str(m.snapshot().metadata().index()));
    resp.set_index(raft_log_.LastIndex().value());
  } else {
    resp.set_index(raft_log_.committed().value());
  }
  Send(std::move(resp));
}

bool Raft::Restore(const raftpb::Snapshot& s) {
  Index sindex(s.metadata().index());
  if (sindex <= raft_log_.committed()) return false;
  if (state_ != StateRole::kFollower) {
    // Defense in depth: only a follower installs snapshots.
    BecomeFollower(term_ + 1, kNoNode);
    return false;
  }
  const raftpb::ConfState& cs = s.metadata().conf_state();
  bool found = false;
  for (auto* set : {&cs.voters(), &cs.learners(), &cs.voters_outgoing()}) {
    for (uint64_t id : *set) found = found || id == id_.value();
  }
  if (!found) {
    Log(LogLevel::kWarning, "ignoring snapshot at " + Str(sindex.value()) +
                                " whose configuration does not contain this node");
    return false;
  }
  if (raft_log_.MatchTerm(sindex, Term(s.metadata().term()))) {
    // We already have the snapshot's last entry: just fast-forward the commit index.
    raft_log_.CommitTo(sindex);
    return false;
  }
  if (raft_log_.applying() > raft_log_.applied()) {
    // The driver is still applying committed entries we handed out, and those may hold conf
    // changes it will pass to ApplyConfChange. Restoring now would switch to the snapshot's
    // configuration first, so those older changes would be applied on top of a newer
    // configuration (seed 3878: a joint change applied twice, a core panic). Refuse; the
    // leader sends the snapshot again (see #11).
    Log(LogLevel::kInfo, "not restoring snapshot at " + Str(sindex.value()) + " while entries up to " +
                             Str(raft_log_.applying().value()) + " are being applied");
    return false;
  }
  raft_log_.Restore(s);
  ProgressTracker fresh(trk_.max_inflight(), trk_.max_inflight_bytes());
  Result<ConfAndProgress> cfg = RestoreConfig(fresh, raft_log_.LastIndex(), cs);
  if (!cfg.ok()) Panic(logger_, "unable to restore config from snapshot: " + cfg.status().ToString());
  SwitchToConfig(std::move(cfg->first), std::move(cfg->second));
  return true;
}

}  // namespace ringkv::raft
