#include "store/placement.h"

#include <algorithm>
#include <set>

#include "common/failpoint.h"

namespace ringkv::store {
namespace {

// A member that has acknowledged entries (a learner just added has match 0, which a short log
// would otherwise count as "within lag") and is within `lag` of the leader's last index.
bool CaughtUp(const GroupView& v, NodeId n, uint64_t lag) {
  auto it = v.match.find(n);
  const bool acked = it != v.match.end() &&
                     (it->second.value() > 0 || failpoint::Injected(kBugReaddOldAcks));
  return acked && it->second + lag >= v.last_index;
}

}  // namespace

std::string PlacementStep::ToString() const {
  const char* names[] = {"none", "add-learner", "promote", "remove", "transfer-leader"};
  return std::string(names[static_cast<int>(kind)]) + " " + std::to_string(node.value());
}

PlacementStep NextPlacementStep(const GroupView& v, std::span<const NodeId> target,
                                size_t replication_factor, uint64_t catch_up_lag,
                                bool balance_leaders) {
  if (v.conf.voters_outgoing_size() > 0 || target.empty()) return {};  // joint: wait
  std::set<NodeId> voters, learners, wanted(target.begin(), target.end());
  for (uint64_t id : v.conf.voters()) voters.insert(NodeId(id));
  for (uint64_t id : v.conf.learners()) learners.insert(NodeId(id));

  for (NodeId n : target) {
    if (voters.count(n) == 0 && learners.count(n) == 0) return {PlacementStep::Kind::kAddLearner, n};
  }
  for (NodeId n : target) {
    if (learners.count(n) > 0 && CaughtUp(v, n, catch_up_lag)) {
      return {PlacementStep::Kind::kPromote, n};
    }
  }
  size_t target_voters = 0;
  for (NodeId n : target) target_voters += voters.count(n);
  if (target_voters >= replication_factor) {
    for (NodeId n : voters) {
      if (wanted.count(n) > 0) continue;
      if (n != v.self) return {PlacementStep::Kind::kRemove, n};
      // The leader itself must go: hand leadership to a caught-up target voter first.
      for (NodeId t : target) {
        if (voters.count(t) > 0 && CaughtUp(v, t, 0)) return {PlacementStep::Kind::kTransferLeader, t};
      }
      return {};
    }
  }
  for (NodeId n : learners) {
    if (wanted.count(n) == 0) return {PlacementStep::Kind::kRemove, n};
  }
  if (balance_leaders) {
    NodeId preferred = target.front();
    if (preferred != v.self && voters.count(preferred) > 0 && CaughtUp(v, preferred, 0)) {
      return {PlacementStep::Kind::kTransferLeader, preferred};
    }
  }
  return {};
}

}  // namespace ringkv::store
