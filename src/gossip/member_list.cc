#include "gossip/member_list.h"

#include <string>
#include <utility>

namespace ringkv::gossip {

std::string_view MemberStateName(MemberState s) {
  switch (s) {
    case MemberState::kAlive: return "alive";
    case MemberState::kSuspect: return "suspect";
    case MemberState::kDead: return "dead";
    case MemberState::kLeft: return "left";
  }
  return "unknown";
}

std::string_view MemberEventTypeName(MemberEvent::Type t) {
  switch (t) {
    case MemberEvent::Type::kJoined: return "joined";
    case MemberEvent::Type::kSuspect: return "suspect";
    case MemberEvent::Type::kAlive: return "alive";
    case MemberEvent::Type::kDead: return "dead";
    case MemberEvent::Type::kLeft: return "left";
    case MemberEvent::Type::kUpdated: return "updated";
    case MemberEvent::Type::kReaped: return "reaped";
  }
  return "unknown";
}

Status ValidateMemberInfo(const gossippb::MemberInfo& info) {
  if (info.id() == 0) return Status::InvalidArgument("member id 0");
  if (info.name().size() > kMaxNameBytes) return Status::InvalidArgument("member name too long");
  if (info.gossip_addr().size() > kMaxAddrBytes || info.peer_addr().size() > kMaxAddrBytes ||
      info.client_addr().size() > kMaxAddrBytes) {
    return Status::InvalidArgument("member address too long");
  }
  if (info.meta().size() > kMaxMetaBytes) return Status::InvalidArgument("member meta too long");
  if (!gossippb::MemberState_IsValid(info.state())) {
    return Status::InvalidArgument("member state unknown");
  }
  return Status::OK();
}

Member MemberFromInfo(const gossippb::MemberInfo& info) {
  Member m;
  m.id = NodeId(info.id());
  m.name = info.name();
  m.gossip_addr = info.gossip_addr();
  m.peer_addr = info.peer_addr();
  m.client_addr = info.client_addr();
  m.state = static_cast<MemberState>(info.state());
  m.decommissioning = info.decommissioning();
  m.incarnation = info.incarnation();
  m.meta = info.meta();
  return m;
}

gossippb::MemberInfo InfoFromMember(const Member& m) {
  gossippb::MemberInfo info;
  info.set_id(m.id.value());
  info.set_name(m.name);
  info.set_gossip_addr(m.gossip_addr);
  info.set_peer_addr(m.peer_addr);
  info.set_client_addr(m.client_addr);
  info.set_state(static_cast<gossippb::MemberState>(m.state));
  info.set_decommissioning(m.decommissioning);
  info.set_incarnation(m.incarnation);
  info.set_meta(m.meta);
  return info;
}

const Member* MemberList::Find(NodeId id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

size_t MemberList::NumLive() const {
  size_t n = 0;
  for (const auto& [id, m] : members_) n += m.IsLive() ? 1 : 0;
  return n;
}

bool SameAnnouncement(const Member& a, const Member& b) {
  return a.name == b.name && a.gossip_addr == b.gossip_addr && a.peer_addr == b.peer_addr &&
         a.client_addr == b.client_addr && a.decommissioning == b.decommissioning &&
         a.meta == b.meta;
}

namespace {

MemberEvent::Type EventForTransition(MemberState from, MemberState to) {
  switch (to) {
    case MemberState::kAlive:
      if (from == MemberState::kSuspect) return MemberEvent::Type::kAlive;
      if (from == MemberState::kAlive) return MemberEvent::Type::kUpdated;
      return MemberEvent::Type::kJoined;  // back from dead or left
    case MemberState::kSuspect: return MemberEvent::Type::kSuspect;
    case MemberState::kDead: return MemberEvent::Type::kDead;
    case MemberState::kLeft: return MemberEvent::Type::kLeft;
  }
  return MemberEvent::Type::kUpdated;
}

}  // namespace

MemberList::MergeOutcome MemberList::Merge(const Member& update, int64_t now_ms) {
  MergeOutcome out;
  auto it = members_.find(update.id);
  if (it == members_.end()) {
    // Unknown member: only a live announcement introduces it (memberlist ignores dead/left
    // about nodes it never knew, so a stale obituary cannot create a ghost).
    if (!update.IsLive() || members_.size() >= max_members_) return out;
    Member m = update;
    m.state_change_ms = now_ms;
    members_[m.id] = m;
    out.applied = true;
    out.event = MemberEvent{MemberEvent::Type::kJoined, m, update.state};
    return out;
  }

  Member& local = it->second;
  const bool newer =
      update.incarnation > local.incarnation ||
      (update.incarnation == local.incarnation && update.state > local.state);
  if (!newer) return out;

  const MemberState previous = local.state;
  const bool changed_data = update.state == MemberState::kAlive && !SameAnnouncement(local, update);
  local.incarnation = update.incarnation;
  if (update.state == MemberState::kAlive) {
    // Only the member itself announces alive, so its addresses and hints are authoritative.
    local.name = update.name;
    local.gossip_addr = update.gossip_addr;
    local.peer_addr = update.peer_addr;
    local.client_addr = update.client_addr;
    local.decommissioning = update.decommissioning;
    local.meta = update.meta;
  }
  local.state = update.state;
  if (previous != local.state) local.state_change_ms = now_ms;
  out.applied = true;
  if (previous != local.state || changed_data) {
    out.event = MemberEvent{EventForTransition(previous, local.state), local,
                            previous};
  }
  return out;
}

std::vector<Member> MemberList::Reap(int64_t now_ms, int64_t retention_ms) {
  std::vector<Member> reaped;
  for (auto it = members_.begin(); it != members_.end();) {
    if (!it->second.IsLive() && now_ms - it->second.state_change_ms >= retention_ms) {
      reaped.push_back(std::move(it->second));
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  return reaped;
}

}  // namespace ringkv::gossip
