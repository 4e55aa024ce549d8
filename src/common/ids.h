// Strong integer types for Raft and cluster identifiers, so a term can never be passed where an
// index is expected. Each is a 64-bit unsigned value; 0 means "none" for ids.
//
// Thread-safety: plain values.
#ifndef RINGKV_COMMON_IDS_H_
#define RINGKV_COMMON_IDS_H_

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace ringkv {

template <typename Tag>
class StrongId {
 public:
  constexpr StrongId() = default;
  constexpr explicit StrongId(uint64_t v) : v_(v) {}
  constexpr uint64_t value() const { return v_; }

  constexpr auto operator<=>(const StrongId&) const = default;
  constexpr bool operator==(const StrongId&) const = default;

  // Offsets are plain counts; the difference of two ids is a count.
  constexpr StrongId operator+(uint64_t n) const { return StrongId(v_ + n); }
  constexpr StrongId operator-(uint64_t n) const { return StrongId(v_ - n); }
  constexpr uint64_t operator-(StrongId o) const { return v_ - o.v_; }
  constexpr StrongId& operator++() { ++v_; return *this; }
  constexpr StrongId& operator--() { --v_; return *this; }

  friend std::ostream& operator<<(std::ostream& os, StrongId id) { return os << id.v_; }

 private:
  uint64_t v_ = 0;
};

struct TermTag {};
struct IndexTag {};
struct NodeIdTag {};
struct GroupIdTag {};

using Term = StrongId<TermTag>;      // Raft term
using Index = StrongId<IndexTag>;    // Raft log index
using NodeId = StrongId<NodeIdTag>;  // a node of the cluster; 0 = none
using GroupId = StrongId<GroupIdTag>;  // a Raft group (shard); 0 = none

inline constexpr NodeId kNoNode{0};

// Raft ids of replicas. The Raft core calls its peers NodeId; in a multi-Raft node a peer is a
// replica, and its Raft id names both the node it lives on (low 24 bits) and the epoch of the
// conf change that added it there (the bits above). Replicas of the bootstrap configuration
// have epoch 0, so their Raft id is their node id. A replica added later gets a fresh epoch
// (the leader's next log index), so a node removed from a group and added back is a new Raft
// peer: nothing its old replica acknowledged or voted counts for the new one. TiKV's peer ids
// and CockroachDB's replica ids do the same.
inline constexpr int kReplicaEpochShift = 24;
inline constexpr uint64_t kMaxNodeId = (uint64_t{1} << kReplicaEpochShift) - 1;

inline constexpr NodeId NodeOfReplica(NodeId raft_id) {
  return NodeId(raft_id.value() & kMaxNodeId);
}
inline constexpr uint64_t ReplicaEpoch(NodeId raft_id) {
  return raft_id.value() >> kReplicaEpochShift;
}
inline constexpr NodeId MakeReplicaId(NodeId node, uint64_t epoch) {
  return NodeId((epoch << kReplicaEpochShift) | (node.value() & kMaxNodeId));
}
// For logs: "3" for a bootstrap replica on node 3, "3@12" for node 3's replica of epoch 12.
inline std::string ReplicaIdString(NodeId raft_id) {
  const uint64_t epoch = ReplicaEpoch(raft_id);
  std::string s = std::to_string(NodeOfReplica(raft_id).value());
  return epoch == 0 ? s : s + "@" + std::to_string(epoch);
}

}  // namespace ringkv

template <typename Tag>
struct std::hash<ringkv::StrongId<Tag>> {
  size_t operator()(ringkv::StrongId<Tag> id) const noexcept {
    return std::hash<uint64_t>()(id.value());
  }
};

#endif  // RINGKV_COMMON_IDS_H_
