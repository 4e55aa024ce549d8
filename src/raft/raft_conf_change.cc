// Raft: applying a committed configuration change (thesis 4.3: simple and joint changes) and
// what the leader does when the new configuration no longer counts it.
#include "raft/confchange.h"
#include "raft/panic.h"
#include "raft/raft.h"

namespace ringkv::raft {

raftpb::ConfState Raft::ApplyConfChange(const raftpb::ConfChange& cc) {
  Changer changer(trk_, raft_log_.LastIndex());
  Result<ConfAndProgress> r = Status::Unavailable("unset");
  bool auto_leave = false;
  if (IsLeaveJoint(cc)) {
    r = changer.LeaveJoint();
  } else if (EnterJointRequested(cc, &auto_leave)) {
    std::vector<raftpb::ConfChangeSingle> ccs(cc.changes().begin(), cc.changes().end());
    r = changer.EnterJoint(auto_leave, ccs);
  } else {
    std::vector<raftpb::ConfChangeSingle> ccs(cc.changes().begin(), cc.changes().end());
    r = changer.Simple(ccs);
  }
  // A committed change that cannot be applied means the replicas disagree: fail-stop.
  if (!r.ok()) Panic(logger_, "cannot apply committed conf change: " + r.status().ToString());
  return SwitchToConfig(std::move(r->first), std::move(r->second));
}

raftpb::ConfState Raft::SwitchToConfig(TrackerConfig cfg, ProgressMap prs) {
  trk_.config = std::move(cfg);
  trk_.progress = std::move(prs);
  raftpb::ConfState cs = trk_.ConfState();
  auto self = trk_.progress.find(id_);
  bool member = self != trk_.progress.end();
  is_learner_ = member && self->second.is_learner;
  if (state_ != StateRole::kLeader || cs.voters_size() == 0) return cs;
  if (!member || is_learner_) {
    // The leader was removed or demoted. Stepping down at once can strand the group: the
    // remaining voters may not know that the new configuration committed (and so still need
    // our vote in a joint config), while our log may hold an entry they lack. Instead keep
    // leading without counting ourselves, refuse proposals, and hand leadership to the most
    // up-to-date voter (thesis 4.2.2), which then commits in the new configuration.
    Log(LogLevel::kInfo, "removed from the configuration; transferring leadership");
    MaybeTransferAfterRemoval();
  }
  // The new config may commit entries (e.g. a quorum shrank) or need appends to new members.
  if (MaybeCommit()) {
    BcastAppend();
  } else {
    for (auto& [id, pr] : trk_.progress) {
      if (id == id_) continue;
      MaybeSendAppend(id, false);
    }
  }
  if (lead_transferee_ != kNoNode && trk_.config.voters.Ids().count(lead_transferee_) == 0) {
    AbortLeaderTransfer();
  }
  return cs;
}

void Raft::MaybeTransferAfterRemoval() {
  if (state_ != StateRole::kLeader || lead_transferee_ != kNoNode) return;
  auto self = trk_.progress.find(id_);
  if (self != trk_.progress.end() && !self->second.is_learner) return;  // still a voter
  // The voter to hand over to: one that acknowledged us within the last election timeout
  // (last_ack_tick; not recent_active, which CheckQuorum has just cleared when this runs after
  // an abandoned transfer) and that the failure detector thinks up, then the longest log. A
  // transfer to a dead voter times out; picking by log alone, ties broken the same way each
  // time, retried it forever (node-sim seed 3048: the transferee's node was wiped, and the
  // removed leader kept the group from electing a member and from replacing the dead one).
  NodeId best;
  Index best_match;
  bool best_alive = false;
  for (NodeId v : trk_.config.voters.Ids()) {
    auto it = trk_.progress.find(v);
    if (it == trk_.progress.end() || v == id_) continue;
    const bool alive = PeerLive(v) && it->second.last_ack_tick > 0 &&
                       ticks_ - it->second.last_ack_tick < static_cast<uint64_t>(election_timeout_);
    if (best == kNoNode || (alive && !best_alive) ||
        (alive == best_alive && it->second.match > best_match)) {
      best = v;
      best_match = it->second.match;
      best_alive = alive;
    }
  }
  if (best == kNoNode) return;
  raftpb::Message m;
  m.set_type(raftpb::MSG_TRANSFER_LEADER);
  m.set_from(best.value());
  StepLeaderResponse(m, trk_.progress.at(best));
}

}  // namespace ringkv::raft
