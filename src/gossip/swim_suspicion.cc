// Swim: suspicion (SWIM §4.2) with Lifeguard's confirmation-scaled timeout (Dadgar, Phillips,
// Currey, "Lifeguard: Local Health Awareness for More Accurate Failure Detection", 2018, §IV-B;
// memberlist suspicion.go). A suspicion's deadline starts at max = suspicion_max_timeout_mult
// * min and falls toward min as k independent accusers confirm it:
//   timeout = max(min, max - (max - min) * log(c + 1) / log(k + 1)),  c = confirmations.
#include <algorithm>
#include <cmath>
#include <utility>

#include "gossip/swim.h"

namespace ringkv::gossip {

void Swim::SuspectMember(const Member& m, NodeId accuser) {
  if (m.state == MemberState::kSuspect) {
    // Our own failed probe of a member others already suspect: a confirmation.
    if (ConfirmSuspicion(m.id, accuser)) Announce(m, accuser);
    return;
  }
  if (m.state != MemberState::kAlive) return;
  Member suspect = m;
  suspect.state = MemberState::kSuspect;
  ++stats_.suspicions_raised;
  MemberList::MergeOutcome out = members_.Merge(suspect, now_ms_);
  if (!out.applied) return;
  Announce(*members_.Find(suspect.id), accuser);
  SyncSuspicion(suspect.id, accuser);
  if (out.event) {
    OnMembershipChange(*out.event);
    Emit(std::move(*out.event));
  }
}

void Swim::SyncSuspicion(NodeId id, NodeId accuser) {
  const Member* m = members_.Find(id);
  if (m == nullptr || m->state != MemberState::kSuspect) {
    suspicions_.erase(id);
    return;
  }
  auto it = suspicions_.find(id);
  if (it != suspicions_.end() && it->second.incarnation == m->incarnation) {
    ConfirmSuspicion(id, accuser);
    return;
  }
  Suspicion s;
  s.incarnation = m->incarnation;
  s.start_ms = now_ms_;
  s.min_ms = SuspicionTimeoutMs();
  s.max_ms = std::max(opt_.suspicion_max_timeout_mult, 1) * s.min_ms;
  s.k = std::max(opt_.suspicion_mult - 2, 0);
  // Too few other members to ever confirm: do not wait for confirmations (memberlist).
  if (static_cast<int>(members_.NumLive()) - 2 < s.k) s.k = 0;
  if (accuser != kNoNode) s.accusers.push_back(accuser);
  s.deadline_ms = s.start_ms + (s.k < 1 ? s.min_ms : s.max_ms);
  suspicions_[id] = std::move(s);
}

bool Swim::ConfirmSuspicion(NodeId id, NodeId accuser) {
  auto it = suspicions_.find(id);
  if (it == suspicions_.end() || accuser == kNoNode) return false;
  Suspicion& s = it->second;
  const int confirmations = std::max(static_cast<int>(s.accusers.size()) - 1, 0);
  if (confirmations >= s.k) return false;  // already at the minimum
  if (std::find(s.accusers.begin(), s.accusers.end(), accuser) != s.accusers.end()) return false;
  s.accusers.push_back(accuser);
  const int c = std::max(static_cast<int>(s.accusers.size()) - 1, 0);
  const double frac = std::log(c + 1.0) / std::log(s.k + 1.0);
  const auto span = static_cast<double>(s.max_ms - s.min_ms);
  const int64_t timeout = std::max(s.min_ms, s.max_ms - static_cast<int64_t>(span * frac));
  s.deadline_ms = s.start_ms + timeout;
  return true;
}

void Swim::TickSuspicions() {
  for (auto it = suspicions_.begin(); it != suspicions_.end();) {
    const Member* m = members_.Find(it->first);
    if (m == nullptr || m->state != MemberState::kSuspect ||
        m->incarnation != it->second.incarnation) {
      it = suspicions_.erase(it);
      continue;
    }
    if (now_ms_ < it->second.deadline_ms) {
      ++it;
      continue;
    }
    Member dead = *m;
    dead.state = MemberState::kDead;
    it = suspicions_.erase(it);
    MemberList::MergeOutcome out = members_.Merge(dead, now_ms_);
    if (out.applied) Announce(*members_.Find(dead.id));
    if (out.event) Emit(std::move(*out.event));
  }
}

}  // namespace ringkv::gossip
