// MemberList: this node's view of the cluster (every member it knows, itself included) and the
// SWIM merge rule that decides whether an update about a member is newer than the view.
// Also the bounds check and conversions for the wire form gossippb::MemberInfo.
//
// Pure: no I/O, no clock (times are given by the caller).
// Thread-safety: not thread-safe; owned by one Swim.
#ifndef RINGKV_GOSSIP_MEMBER_LIST_H_
#define RINGKV_GOSSIP_MEMBER_LIST_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "gossip/member.h"
#include "proto/gossip.pb.h"

namespace ringkv::gossip {

// Bounds on everything that comes from outside (design: "every size from outside is bounded").
inline constexpr size_t kMaxNameBytes = 128;
inline constexpr size_t kMaxAddrBytes = 256;
inline constexpr size_t kMaxMetaBytes = 512;
inline constexpr size_t kMaxClusterIdBytes = 64;

// OK when `info` is within the bounds above and names a real node (id != 0).
// Returns kInvalidArgument naming the offending field otherwise.
Status ValidateMemberInfo(const gossippb::MemberInfo& info);

// Conversions. MemberFromInfo leaves state_change_ms at 0. REQUIRES (MemberFromInfo): the info
// passed ValidateMemberInfo.
Member MemberFromInfo(const gossippb::MemberInfo& info);
gossippb::MemberInfo InfoFromMember(const Member& m);

// True when a and b announce the same name, addresses, decommissioning flag and meta (state and
// incarnation are not compared).
bool SameAnnouncement(const Member& a, const Member& b);

class MemberList {
 public:
  // `max_members` bounds the view: updates about unknown members are ignored once it is full.
  explicit MemberList(size_t max_members) : max_members_(max_members) {}

  // The member with `id`, or null.
  const Member* Find(NodeId id) const;
  const std::map<NodeId, Member>& members() const { return members_; }
  size_t size() const { return members_.size(); }
  // Members in state alive or suspect (itself included when present).
  size_t NumLive() const;

  // Inserts or overwrites `m` unconditionally. Used for this node's own record, which only this
  // node changes.
  void Put(const Member& m) { members_[m.id] = m; }

  struct MergeOutcome {
    bool applied = false;              // the view changed: the caller re-gossips `update`
    std::optional<MemberEvent> event;  // set when the change is one the server cares about
  };

  // The SWIM merge rule (SWIM §4.2, memberlist state.go aliveNode/suspectNode/deadNode):
  // an update about a known member applies when its incarnation is higher, or equal with a
  // state of higher precedence (alive < suspect < dead < left). Only alive updates carry
  // addresses, meta and decommissioning; suspect/dead/left updates change state and
  // incarnation only. An update about an unknown member applies only when it is alive or
  // suspect and the view is not full. `now_ms` stamps state_change_ms.
  // REQUIRES: update.id is not this node's own id (Swim handles those by refuting).
  MergeOutcome Merge(const Member& update, int64_t now_ms);

  // Removes members that have been dead or left for at least `retention_ms` and returns them.
  std::vector<Member> Reap(int64_t now_ms, int64_t retention_ms);

 private:
  size_t max_members_;
  // Keyed by id; ordered so that iteration (and thus the simulation) is deterministic.
  std::map<NodeId, Member> members_;
};

}  // namespace ringkv::gossip

#endif  // RINGKV_GOSSIP_MEMBER_LIST_H_
