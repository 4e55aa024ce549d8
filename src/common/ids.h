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

}  // namespace ringkv

template <typename Tag>
struct std::hash<ringkv::StrongId<Tag>> {
  size_t operator()(ringkv::StrongId<Tag> id) const noexcept {
    return std::hash<uint64_t>()(id.value());
  }
};

#endif  // RINGKV_COMMON_IDS_H_
