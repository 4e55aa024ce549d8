// Raft: quiescence (CockroachDB's quiesced ranges, TiKV's hibernate regions). An idle group
// stops ticking: its leader sends no heartbeats and checks no quorum, its followers run no
// election timers, so an idle node with many groups costs nothing per tick. See
// docs/architecture.md (Quiescence) for the rules and what the simulations prove.
//
// Failure detection of a quiesced group comes from outside: the driver's failure detector
// (gossip in kvd) says which peers are live (SetPeerLiveness); a quiesced follower whose
// leader is not live wakes (LivenessChanged) and, its election timer running again, elects.
#include <algorithm>
#include <map>

#include "common/failpoint.h"
#include "raft/panic.h"
#include "raft/raft.h"

namespace ringkv::raft {

bool Raft::LiveQuorum() const {
  std::map<NodeId, bool> live;
  for (NodeId v : trk_.VoterNodes()) live[v] = v == id_ || PeerLive(v);
  return trk_.config.voters.Vote(live) == VoteResult::kWon;
}

bool Raft::QuiesceConditionsHold() const {
  if (state_ != StateRole::kLeader) return false;
  // A leader that cannot reach a quorum must stay awake: CheckQuorum steps it down. Asleep it
  // would lead on (node sim seed 891: a stale leader cut off by a partition slept through it,
  // and its node could not replace the replica, which still believed it led).
  if (!LiveQuorum()) return false;
  // Nothing in flight: no transfer, read, unsent proposal or snapshot.
  if (lead_transferee_ != kNoNode || read_only_.pending() != 0 ||
      !pending_read_index_messages_.empty() || proposals_unsent_ ||
      raft_log_.HasPendingSnapshot()) {
    return false;
  }
  // Everything committed and applied (so no conf change is pending either), and our own log
  // durable: our match (raised only by the durable self-ack) is the last index.
  const Index last = raft_log_.LastIndex();
  if (raft_log_.committed() != last || raft_log_.applied() != last ||
      pending_conf_index_ > raft_log_.applied()) {
    return false;
  }
  for (const auto& [id, pr] : trk_.progress) {
    if (id == id_) {
      if (pr.match != last) return false;
      continue;
    }
    // A follower the failure detector calls down does not hold the group awake (TiKV #19070:
    // leaders that could not hibernate after a node loss). When it comes back, LivenessChanged
    // wakes us if it is behind.
    if (!PeerLive(id)) continue;
    if (pr.match != last || pr.state != ProgressState::kReplicate) return false;
  }
  return true;
}

void Raft::MaybeQuiesce(bool may_quiesce) {
  if (!quiesce_enabled_ || !may_quiesce || !QuiesceConditionsHold()) {
    idle_ticks_ = 0;
    return;
  }
  if (++idle_ticks_ < quiesce_after_ticks_) return;
  // Heartbeats not yet taken by the driver (this tick's, from TickHeartbeat) say nothing the
  // quiesce heartbeat does not, and leaving beside it they could overtake it on a network that
  // reorders, and wake the follower it just put to sleep (the node simulation's network does:
  // store_quiesce_test saw the woken follower campaign against its sleeping leader). No read
  // waits on them: QuiesceConditionsHold found none pending.
  std::erase_if(msgs_, [](const raftpb::Message& m) {
    return m.type() == raftpb::MSG_HEARTBEAT && !m.quiesce();
  });
  const Index last = raft_log_.LastIndex();
  const Term last_term = raft_log_.LastTerm();
  for (auto& [id, pr] : trk_.progress) {
    if (id == id_) continue;
    // Also to followers called down: one that is up after all finds the heartbeat does not
    // match its log, answers, and so wakes us to catch it up. The commit is capped at its
    // match as in any heartbeat.
    const Index commit = std::min(pr.match, raft_log_.committed());
    pr.SentCommit(commit);
    raftpb::Message m;
    m.set_to(id.value());
    m.set_type(raftpb::MSG_HEARTBEAT);
    m.set_commit(commit.value());
    m.set_index(last.value());
    m.set_log_term(last_term.value());
    m.set_quiesce(true);
    Send(std::move(m));
  }
  quiesced_ = true;
  idle_ticks_ = 0;
  Log(LogLevel::kDebug, "quiesced at index " + Str(last.value()));
}

bool Raft::FollowerMayQuiesce(const raftpb::Message& m) const {
  // The same term is given (Step); the same leader, its whole log, its commit index, and a
  // leader this node's failure detector calls live (else it would sleep through the death it
  // already knows of).
  return quiesce_enabled_ && state_ == StateRole::kFollower && lead_ == NodeId(m.from()) &&
         raft_log_.LastIndex() == Index(m.index()) &&
         raft_log_.LastTerm() == Term(m.log_term()) &&
         raft_log_.committed() == Index(m.index()) && !raft_log_.HasPendingSnapshot() &&
         PeerLive(lead_);
}

bool Raft::IsNoNewsForQuiescedLeader(const raftpb::Message& m) const {
  if (state_ != StateRole::kLeader || Term(m.term()) != term_) return false;
  // A follower that this leader's earlier message woke after it fell asleep (Message.woke).
  if (m.woke()) return false;
  // A follower that refuses to quiesce answers with `reject` set: that is news.
  const bool heartbeat_ack =
      m.type() == raftpb::MSG_HEARTBEAT_RESP && m.context().empty() && !m.reject();
  const bool append_ack = m.type() == raftpb::MSG_APP_RESP && !m.reject() &&
                          Index(m.index()) <= raft_log_.LastIndex();
  if (!heartbeat_ack && !append_ack) return false;
  auto it = trk_.progress.find(NodeId(m.from()));
  return it != trk_.progress.end() && it->first != id_ &&
         it->second.match == raft_log_.LastIndex() &&
         it->second.state == ProgressState::kReplicate;
}

void Raft::Unquiesce() {
  if (!quiesced_) return;
  quiesced_ = false;
  idle_ticks_ = 0;
  if (state_ != StateRole::kLeader) {
    // A follower keeps its election_elapsed_: it honours the leader's lease (Step's in_lease
    // check) for an election timeout of ticks it is awake for, counted from the leader's last
    // message, which is never shorter than the lease the leader counted.
    return;
  }
  // Unticked time passed: the followers' acknowledgements from before quiescing prove nothing
  // now. Aging them past an election timeout voids the lease (LeaseValid) until fresh ones
  // arrive; CheckQuorum starts a fresh round, and heartbeats go out at the next tick (with
  // driver_heartbeats at the driver's next heartbeat moment), waking the followers.
  ticks_ += static_cast<uint64_t>(election_timeout_);
  election_elapsed_ = 0;
  heartbeat_elapsed_ = heartbeat_timeout_ - 1;
  for (auto& [id, pr] : trk_.progress) {
    if (id != id_) pr.recent_active = false;
  }
  Log(LogLevel::kDebug, "woke");
}

void Raft::LivenessChanged() {
  if (!quiesced_) return;
  if (state_ != StateRole::kLeader) {
    if (failpoint::Injected(kBugQuiesceIgnoresDeadLeader)) return;  // the injected bug
    if (lead_ == kNoNode || !PeerLive(lead_)) Unquiesce();
    return;
  }
  // A leader whose failure detector no longer sees a quorum wakes, so that CheckQuorum steps it
  // down unless the quorum answers (asleep, a cut-off leader would lead on, and a woken one
  // would then refuse votes in its own lease: node sim seeds 891 and 1793).
  if (!LiveQuorum()) {
    Unquiesce();
    return;
  }
  // A follower that came back behind must be caught up: the quiescent leader sends nothing.
  const Index last = raft_log_.LastIndex();
  for (const auto& [id, pr] : trk_.progress) {
    if (id != id_ && PeerLive(id) && pr.match != last) {
      Unquiesce();
      return;
    }
  }
}

}  // namespace ringkv::raft
