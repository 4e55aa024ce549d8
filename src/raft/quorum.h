// Quorum arithmetic for majority and joint configurations (etcd raft's quorum package):
// which index a quorum has acknowledged, and whether an election is won.
//
// Thread-safety: pure functions over values.
#ifndef RINGKV_RAFT_QUORUM_H_
#define RINGKV_RAFT_QUORUM_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/ids.h"

namespace ringkv::raft {

enum class VoteResult { kPending, kLost, kWon };

// Looks up the acknowledged index of a voter; nullopt when it has acked nothing.
using AckedIndexer = std::function<std::optional<Index>(NodeId)>;

// A set of voters; a decision needs more than half of them. The empty config is a special case
// that wins every vote and commits everything, so that a joint config with an empty half
// behaves like its other half.
class MajorityConfig {
 public:
  MajorityConfig() = default;
  explicit MajorityConfig(std::set<NodeId> ids) : ids_(std::move(ids)) {}

  // The largest index acknowledged by a majority (Index max for the empty config).
  Index CommittedIndex(const AckedIndexer& acked) const;
  // Missing entries in `votes` are pending.
  VoteResult Vote(const std::map<NodeId, bool>& votes) const;

  const std::set<NodeId>& ids() const { return ids_; }
  std::set<NodeId>& mutable_ids() { return ids_; }
  bool contains(NodeId id) const { return ids_.count(id) > 0; }
  bool empty() const { return ids_.empty(); }
  size_t size() const { return ids_.size(); }
  std::string DebugString() const;

 private:
  std::set<NodeId> ids_;
};

// Two majority configs: during a joint change (Raft thesis 4.3) decisions need a majority of
// each. Outside a change the outgoing half is empty.
struct JointConfig {
  MajorityConfig incoming;
  MajorityConfig outgoing;

  Index CommittedIndex(const AckedIndexer& acked) const;
  VoteResult Vote(const std::map<NodeId, bool>& votes) const;
  // Union of both halves.
  std::set<NodeId> Ids() const;
  bool joint() const { return !outgoing.empty(); }
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_QUORUM_H_
