// Raft: the leader role — proposals, replication with flow control, commitment, heartbeats,
// CheckQuorum, ReadIndex and leadership transfer.
#include <algorithm>

#include "common/failpoint.h"
#include "raft/panic.h"
#include "raft/raft.h"

namespace ringkv::raft {
namespace {
uint64_t PayloadBytes(const std::vector<raftpb::Entry>& es) {
  uint64_t s = 0;
  for (const auto& e : es) s += e.data().size();
  return s;
}
}  // namespace

bool Raft::AppendEntry(std::vector<raftpb::Entry>& es) {
  Index li = raft_log_.LastIndex();
  for (size_t i = 0; i < es.size(); ++i) {
    es[i].set_term(term_.value());
    es[i].set_index((li + 1 + i).value());
  }
  if (!IncreaseUncommittedSize(es)) return false;
  li = raft_log_.Append(es);
  // The leader acknowledges its own entries once they are durable (thesis 10.2.1): this
  // response is held back and stepped in RawNode::Advance.
  raftpb::Message self_ack;
  self_ack.set_to(id_.value());
  self_ack.set_type(raftpb::MSG_APP_RESP);
  self_ack.set_index(li.value());
  Send(std::move(self_ack));
  return true;
}

bool Raft::MaybeCommit() {
  Index mci = trk_.Committed();
  return raft_log_.MaybeCommit(mci, term_);
}

bool Raft::MaybeSendAppend(NodeId to, bool send_if_empty) {
  auto it = trk_.progress.find(to);
  if (it == trk_.progress.end()) return false;
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  Index prev_index = pr.next - 1;
  Result<Term> prev_term = raft_log_.TermOf(prev_index);
  if (!prev_term.ok()) {
    // The entries the follower needs were compacted: send a snapshot instead.
    return MaybeSendSnapshot(to, pr);
  }
  std::vector<raftpb::Entry> ents;
  // A throttled follower in replicate still gets empty appends so that lost messages cannot
  // stall it forever.
  if (pr.state != ProgressState::kReplicate || !pr.inflights.Full()) {
    Result<std::vector<raftpb::Entry>> r = raft_log_.Entries(pr.next, max_msg_size_);
    if (!r.ok()) return MaybeSendSnapshot(to, pr);
    ents = std::move(r).value();
  }
  if (ents.empty() && !send_if_empty) return false;
  raftpb::Message m;
  m.set_to(to.value());
  m.set_type(raftpb::MSG_APP);
  m.set_index(prev_index.value());
  m.set_log_term(prev_term->value());
  m.set_commit(raft_log_.committed().value());
  size_t n = ents.size();
  uint64_t bytes = PayloadBytes(ents);
  for (auto& e : ents) *m.add_entries() = std::move(e);
  Send(std::move(m));
  pr.SentEntries(n, bytes);
  pr.SentCommit(raft_log_.committed());
  pr.append_sent_tick = ticks_ + 1;
  return true;
}

bool Raft::MaybeSendSnapshot(NodeId to, Progress& pr) {
  if (!pr.recent_active) return false;
  Result<raftpb::Snapshot> snap = raft_log_.Snapshot();
  if (!snap.ok()) {
    if (snap.status().code() == StatusCode::kUnavailable) return false;  // not ready yet
    Panic(logger_, "cannot read snapshot: " + snap.status().ToString());
  }
  if (snap->metadata().index() == 0) Panic(logger_, "need a non-empty snapshot");
  pr.BecomeSnapshot(Index(snap->metadata().index()));
  Log(LogLevel::kInfo, "sending snapshot at index " + Str(snap->metadata().index()) + " to " +
                           Str(to.value()) + " [" + pr.DebugString() + "]");
  raftpb::Message m;
  m.set_to(to.value());
  m.set_type(raftpb::MSG_SNAP);
  *m.mutable_snapshot() = std::move(snap).value();
  Send(std::move(m));
  return true;
}

void Raft::SendHeartbeat(NodeId to, const std::string& ctx) {
  auto it = trk_.progress.find(to);
  if (it == trk_.progress.end()) return;
  // The follower may not have every committed entry yet; it must not commit beyond what it has.
  Index commit = std::min(it->second.match, raft_log_.committed());
  it->second.SentCommit(commit);
  raftpb::Message m;
  m.set_to(to.value());
  m.set_type(raftpb::MSG_HEARTBEAT);
  m.set_commit(commit.value());
  m.set_context(ctx);
  Send(std::move(m));
}

void Raft::BcastAppend() {
  for (auto& [id, pr] : trk_.progress) {
    if (id == id_) continue;
    SendAppend(id);
  }
}

bool Raft::HeartbeatIsRedundant(const Progress& pr) const {
  // Under load a group sends appends every turn, and each one already does what a periodic
  // heartbeat would: it resets the follower's election timer, and its answer counts for
  // CheckQuorum and the lease (last_ack_tick). So a follower that is replicating, got an
  // append and answered within the last heartbeat interval, and knows the commit index a
  // heartbeat would carry, gets none. With many groups this is most of the heartbeat traffic
  // of a busy node. A heartbeat that confirms reads (a context) is never skipped, and a
  // follower whose appends or answers were lost gets one at the next interval, whose answer
  // restarts its appends as before.
  const uint64_t interval = static_cast<uint64_t>(heartbeat_timeout_);
  return pr.state == ProgressState::kReplicate && !pr.IsPaused() && pr.append_sent_tick > 0 &&
         ticks_ + 1 - pr.append_sent_tick < interval && ticks_ - pr.last_ack_tick < interval &&
         pr.sent_commit >= std::min(pr.match, raft_log_.committed());
}

void Raft::BcastHeartbeat() {
  std::string ctx = read_only_.LastPendingRequestCtx();
  for (auto& [id, pr] : trk_.progress) {
    if (id == id_) continue;
    if (ctx.empty() && HeartbeatIsRedundant(pr)) continue;
    SendHeartbeat(id, ctx);
  }
}

void Raft::SendTimeoutNow(NodeId to) {
  raftpb::Message m;
  m.set_to(to.value());
  m.set_type(raftpb::MSG_TIMEOUT_NOW);
  // The commit index goes along (as in a heartbeat: no further than the transferee's match).
  // The append that carried it may be lost or overtaken; without it, a transferee could
  // campaign under a configuration whose replacement is already committed and still count a
  // replica that has applied its own removal and is gone (a removed leader hands over this
  // way): with one voter already dead, the group could never elect again. Knowing the commit,
  // the transferee first applies the change (Hup waits for it) and campaigns in the new
  // configuration on the leader's next attempt.
  auto pr = trk_.progress.find(to);
  if (pr != trk_.progress.end()) {
    m.set_commit(std::min(pr->second.match, raft_log_.committed()).value());
  }
  Send(std::move(m));
  lease_given_away_ = true;
}

bool Raft::CommittedEntryInCurrentTerm() const {
  return raft_log_.ZeroTermOf(raft_log_.committed()) == term_;
}

void Raft::RespondToReadIndex(const raftpb::Message& req, Index read_index) {
  if (req.from() == 0 || req.from() == id_.value()) {
    read_states_.push_back(ReadState{read_index, req.context()});
    return;
  }
  raftpb::Message resp;
  resp.set_to(req.from());
  resp.set_type(raftpb::MSG_READ_INDEX_RESP);
  resp.set_index(read_index.value());
  resp.set_context(req.context());
  Send(std::move(resp));
}

void Raft::HandleReadIndexAsLeader(const raftpb::Message& m) {
  if (trk_.IsSingleton()) {
    RespondToReadIndex(m, raft_log_.committed());
    return;
  }
  if (failpoint::Injected(kBugReadIndexNoQuorum)) {
    // The injected bug: the commit index without confirming leadership.
    RespondToReadIndex(m, raft_log_.committed());
    return;
  }
  // Thesis 6.4 step 1: until the leader commits an entry of its term it does not know the
  // latest commit index; postpone.
  if (!CommittedEntryInCurrentTerm()) {
    pending_read_index_messages_.push_back(m);
    return;
  }
  switch (read_only_option_) {
    case ReadOnlyOption::kSafe: {
      // Thesis 6.4 steps 2-3: record the commit index, confirm leadership with a heartbeat
      // round; the answer goes out when a quorum acks (StepLeaderResponse).
      read_only_.AddRequest(raft_log_.committed(), m);
      read_only_.RecvAck(id_, m.context());
      BcastHeartbeat();
      break;
    }
    case ReadOnlyOption::kLeaseBased:
      // Thesis 6.4.1: serve at once only while the lease holds; otherwise confirm leadership
      // with a heartbeat round like kSafe.
      if (LeaseValid()) {
        RespondToReadIndex(m, raft_log_.committed());
      } else {
        read_only_.AddRequest(raft_log_.committed(), m);
        read_only_.RecvAck(id_, m.context());
        BcastHeartbeat();
      }
      break;
  }
}

bool Raft::LeaseValid() const {
  // The tick by which a quorum had acknowledged us (our own ack is "now"). Followers that
  // acknowledged us ignore other candidates for an election timeout after hearing from us
  // (the in_lease check in Step). The lease is half an election timeout from the
  // acknowledgement, leaving the other half for message delay and clock drift: the documented
  // assumption of lease reads. A leader that sent TimeoutNow has no lease: the transferee's
  // votes are forced past every follower's lease (Step's in_lease check).
  if (lease_given_away_) return false;
  // A quiesced leader hears no acknowledgements; Unquiesce also ages the old ones past use.
  if (quiesced_) return false;
  Index quorum_tick = trk_.config.voters.CommittedIndex([this](NodeId id) -> std::optional<Index> {
    if (id == id_) return Index(ticks_);
    auto it = trk_.progress.find(id);
    if (it == trk_.progress.end()) return std::nullopt;
    return Index(it->second.last_ack_tick);
  });
  if (quorum_tick.value() <= lease_floor_tick_) return false;  // VoidLease
  return ticks_ - quorum_tick.value() < static_cast<uint64_t>(election_timeout_) / 2;
}

Index Raft::QuorumKnownCommit() const {
  if (state_ != StateRole::kLeader) return Index(0);
  return trk_.config.voters.CommittedIndex([this](NodeId id) -> std::optional<Index> {
    if (id == id_) return durable_commit_;
    auto it = trk_.progress.find(id);
    if (it == trk_.progress.end()) return std::nullopt;
    return it->second.acked_commit;
  });
}

void Raft::ReleasePendingReadIndexMessages() {
  if (pending_read_index_messages_.empty()) return;
  if (!CommittedEntryInCurrentTerm()) return;
  std::vector<raftpb::Message> msgs;
  msgs.swap(pending_read_index_messages_);
  for (const auto& m : msgs) HandleReadIndexAsLeader(m);
}

Status Raft::StepLeader(raftpb::Message& m) {
  switch (m.type()) {
    case raftpb::MSG_BEAT:
      BcastHeartbeat();
      return Status::OK();
    case raftpb::MSG_CHECK_QUORUM: {
      // Raft §6.2 / thesis 6.2: a leader that has not heard from a quorum within an election
      // timeout steps down, so clients can find the real leader.
      if (!trk_.QuorumActive()) {
        Log(LogLevel::kWarning, "stepped down to follower since quorum is not active");
        BecomeFollower(term_, kNoNode);
      }
      for (auto& [id, pr] : trk_.progress) {
        if (id != id_) pr.recent_active = false;
      }
      return Status::OK();
    }
    case raftpb::MSG_READ_INDEX:
      HandleReadIndexAsLeader(m);
      return Status::OK();
    default:
      break;
  }
  auto it = trk_.progress.find(NodeId(m.from()));
  if (it == trk_.progress.end()) return Status::OK();
  StepLeaderResponse(m, it->second);
  return Status::OK();
}

void Raft::StepLeaderResponse(raftpb::Message& m, Progress& pr) {
  NodeId from(m.from());
  if (m.type() == raftpb::MSG_APP_RESP || m.type() == raftpb::MSG_HEARTBEAT_RESP) {
    pr.acked_commit = std::max(pr.acked_commit, Index(m.commit()));
  }
  switch (m.type()) {
    case raftpb::MSG_APP_RESP: {
      pr.recent_active = true;
      pr.last_ack_tick = ticks_;
      if (m.reject()) {
        // Fast backtracking: jump over the follower's conflicting tail using its hint.
        Index next_probe(m.reject_hint());
        if (m.log_term() > 0) {
          next_probe = raft_log_.FindConflictByTerm(Index(m.reject_hint()), Term(m.log_term())).first;
        }
        if (pr.MaybeDecrTo(Index(m.index()), next_probe)) {
          if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
          SendAppend(from);
        }
        return;
      }
      Index idx(m.index());
      if (pr.MaybeUpdate(idx) || (pr.match == idx && pr.state == ProgressState::kProbe)) {
        if (pr.state == ProgressState::kProbe) {
          pr.BecomeReplicate();
        } else if (pr.state == ProgressState::kSnapshot && pr.match + 1 >= raft_log_.FirstIndex()) {
          // The follower caught up past the compaction point (by our snapshot or otherwise).
          pr.BecomeProbe();
          pr.BecomeReplicate();
        } else if (pr.state == ProgressState::kReplicate) {
          pr.inflights.FreeLE(idx);
        }
        if (MaybeCommit()) {
          // The commit index advanced in this term: postponed reads can be served.
          ReleasePendingReadIndexMessages();
          BcastAppend();
        } else if (from != id_ && pr.CanBumpCommit(raft_log_.committed())) {
          // The follower may not know the latest commit index yet (its window was full when
          // it advanced): tell it now rather than at the next heartbeat.
          SendAppend(from);
        }
        if (from != id_) {
          // Flow control may allow several messages now.
          while (MaybeSendAppend(from, false)) {
          }
        }
        if (from == lead_transferee_ && TransfereeReady(pr)) {
          Log(LogLevel::kInfo, "sent timeout-now to " + Str(from.value()) + " after catching it up");
          SendTimeoutNow(from);
        }
      }
      return;
    }
    case raftpb::MSG_HEARTBEAT_RESP: {
      pr.recent_active = true;
      pr.last_ack_tick = ticks_;
      pr.msg_app_flow_paused = false;
      if (pr.match < raft_log_.LastIndex() || pr.state == ProgressState::kProbe) SendAppend(from);
      if (m.context().empty()) return;
      const std::map<NodeId, bool>* acks = read_only_.RecvAck(from, m.context());
      if (acks == nullptr || trk_.config.voters.Vote(*acks) != VoteResult::kWon) return;
      for (ReadIndexStatus& rs : read_only_.Advance(m.context())) {
        RespondToReadIndex(rs.req, rs.index);
      }
      return;
    }
    case raftpb::MSG_SNAP_STATUS: {
      if (pr.state != ProgressState::kSnapshot) return;
      if (m.reject()) pr.pending_snapshot = Index(0);
      pr.BecomeProbe();
      // Wait for the follower's append response (success) or a heartbeat (failure) before
      // sending more.
      pr.msg_app_flow_paused = true;
      return;
    }
    case raftpb::MSG_UNREACHABLE:
      // Optimistic pipelining probably lost messages: fall back to probing.
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      return;
    case raftpb::MSG_TRANSFER_LEADER: {
      if (pr.is_learner) return;
      NodeId transferee = from;
      if (lead_transferee_ != kNoNode) {
        if (lead_transferee_ == transferee) return;
        AbortLeaderTransfer();
      }
      if (transferee == id_) return;
      // The transfer must finish within an election timeout (thesis 3.10).
      election_elapsed_ = 0;
      lead_transferee_ = transferee;
      Log(LogLevel::kInfo, "starting leadership transfer to " + Str(transferee.value()));
      if (TransfereeReady(pr)) {
        SendTimeoutNow(transferee);
      } else if (pr.match < raft_log_.LastIndex()) {
        SendAppend(transferee);
      }  // else: TimeoutNow once this leader applied its pending conf change (AppliedTo)
      return;
    }
    default:
      return;
  }
}

}  // namespace ringkv::raft
