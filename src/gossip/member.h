// The gossip view of one cluster member, and the events the SWIM core emits when a member's view
// changes. Plain values; conversion to and from the wire form (gossippb::MemberInfo) lives in
// member_list.h.
//
// Thread-safety: plain values.
#ifndef RINGKV_GOSSIP_MEMBER_H_
#define RINGKV_GOSSIP_MEMBER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/ids.h"

namespace ringkv::gossip {

// Ordered by precedence at equal incarnation: a later state overrides an earlier one.
enum class MemberState : uint8_t {
  kAlive = 0,
  kSuspect = 1,
  kDead = 2,
  kLeft = 3,
};

std::string_view MemberStateName(MemberState s);

struct Member {
  NodeId id;                 // never kNoNode for a real member
  std::string name;          // human-readable
  std::string gossip_addr;   // "host:port" of the gossip socket
  std::string peer_addr;     // "host:port" for Raft traffic
  std::string client_addr;   // "host:port" for clients
  MemberState state = MemberState::kAlive;
  bool decommissioning = false;
  uint64_t incarnation = 0;  // raised only by the member itself
  std::string meta;          // small opaque hints
  // Local bookkeeping, not gossiped: the local time (ms, as given to Swim::Tick) at which this
  // node last saw the state change.
  int64_t state_change_ms = 0;

  bool IsLive() const { return state == MemberState::kAlive || state == MemberState::kSuspect; }
};

struct MemberEvent {
  enum class Type : uint8_t {
    kJoined,     // first seen (or seen again after dead/left)
    kSuspect,    // alive -> suspect
    kAlive,      // suspect -> alive (refuted)
    kDead,       // -> dead (suspicion timed out, or learned from others)
    kLeft,       // -> left (graceful)
    kUpdated,    // alive and still alive, but addresses/meta/decommissioning changed
    kReaped,     // dead or left long enough: forgotten by this node
  };
  Type type;
  Member member;  // the view after the change (before, for kReaped)
  MemberState previous_state = MemberState::kAlive;
};

std::string_view MemberEventTypeName(MemberEvent::Type t);

}  // namespace ringkv::gossip

#endif  // RINGKV_GOSSIP_MEMBER_H_
