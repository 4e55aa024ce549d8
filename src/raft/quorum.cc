#include "raft/quorum.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace ringkv::raft {

Index MajorityConfig::CommittedIndex(const AckedIndexer& acked) const {
  if (ids_.empty()) return Index(std::numeric_limits<uint64_t>::max());
  std::vector<uint64_t> idx;
  idx.reserve(ids_.size());
  for (NodeId id : ids_) {
    std::optional<Index> i = acked(id);
    idx.push_back(i ? i->value() : 0);
  }
  std::sort(idx.begin(), idx.end());
  // With n voters sorted ascending, position n - (n/2 + 1) is acked by a majority.
  size_t q = idx.size() / 2 + 1;
  return Index(idx[idx.size() - q]);
}

VoteResult MajorityConfig::Vote(const std::map<NodeId, bool>& votes) const {
  if (ids_.empty()) return VoteResult::kWon;
  size_t yes = 0, missing = 0;
  for (NodeId id : ids_) {
    auto it = votes.find(id);
    if (it == votes.end()) {
      ++missing;
    } else if (it->second) {
      ++yes;
    }
  }
  size_t q = ids_.size() / 2 + 1;
  if (yes >= q) return VoteResult::kWon;
  if (yes + missing >= q) return VoteResult::kPending;
  return VoteResult::kLost;
}

std::string MajorityConfig::DebugString() const {
  std::string s = "(";
  bool first = true;
  for (NodeId id : ids_) {
    if (!first) s += " ";
    s += std::to_string(id.value());
    first = false;
  }
  return s + ")";
}

Index JointConfig::CommittedIndex(const AckedIndexer& acked) const {
  return std::min(incoming.CommittedIndex(acked), outgoing.CommittedIndex(acked));
}

VoteResult JointConfig::Vote(const std::map<NodeId, bool>& votes) const {
  VoteResult r1 = incoming.Vote(votes);
  VoteResult r2 = outgoing.Vote(votes);
  if (r1 == r2) return r1;
  if (r1 == VoteResult::kLost || r2 == VoteResult::kLost) return VoteResult::kLost;
  return VoteResult::kPending;
}

std::set<NodeId> JointConfig::Ids() const {
  std::set<NodeId> all = incoming.ids();
  all.insert(outgoing.ids().begin(), outgoing.ids().end());
  return all;
}

}  // namespace ringkv::raft
