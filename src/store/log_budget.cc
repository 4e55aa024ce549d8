#include "store/log_budget.h"

#include <glog/logging.h>

#include <algorithm>

#include "store/store_metrics.h"

namespace ringkv::store {

LogBudgetPlan PlanLogBudget(std::vector<GroupLogUsage> usage, uint64_t node_max_bytes) {
  LogBudgetPlan plan;
  if (node_max_bytes == 0 || usage.empty()) return plan;
  uint64_t total = 0;
  for (const GroupLogUsage& u : usage) total += u.log_bytes;
  if (total <= node_max_bytes) return plan;
  plan.keep_bytes = node_max_bytes / 4 / usage.size();
  std::stable_sort(usage.begin(), usage.end(), [](const GroupLogUsage& a, const GroupLogUsage& b) {
    return a.log_bytes > b.log_bytes;
  });
  const uint64_t target = node_max_bytes / 2;
  for (const GroupLogUsage& u : usage) {
    if (total <= target) break;
    if (u.applied_bytes <= plan.keep_bytes) continue;
    plan.compact.push_back(u.group);
    total -= u.applied_bytes - plan.keep_bytes;
  }
  return plan;
}

Result<bool> LogBudget::MaybeCompact(
    const std::map<GroupId, std::unique_ptr<replica::Replica>>& replicas,
    storage::WriteBatch* batch, const std::function<void(GroupId)>& compacted_group) {
  over_ = false;
  wants_flush_ = false;
  if (node_max_bytes_ == 0) return false;
  std::vector<GroupLogUsage> usage;
  usage.reserve(replicas.size());
  uint64_t total = 0;
  for (const auto& [g, r] : replicas) {
    usage.push_back(GroupLogUsage{g, r->log_bytes(), r->applied_log_bytes()});
    total += usage.back().log_bytes;
  }
  if (total <= node_max_bytes_) return false;
  uint64_t undurable = 0;
  for (const auto& [g, r] : replicas) undurable += r->undurable_log_bytes();
  LogBudgetPlan plan = PlanLogBudget(std::move(usage), node_max_bytes_);
  size_t compacted = 0;
  for (GroupId g : plan.compact) {
    Result<bool> done = replicas.at(g)->CompactLogKeeping(batch, plan.keep_bytes);
    if (!done.ok()) return done.status();
    if (*done) {
      ++compacted;
      compacted_group(g);
    }
  }
  const bool any = compacted > 0;
  uint64_t after = total;
  if (any) {
    after = 0;
    for (const auto& [g, r] : replicas) after += r->log_bytes();
  }
  over_ = after > node_max_bytes_;
  wants_flush_ = over_ && undurable >= node_max_bytes_ / 8;
  if (any) {
    CountLogBudgetCompactions(compacted);
    VLOG(1) << "Raft log budget: " << total << " bytes over --raft_log_node_max_bytes="
            << node_max_bytes_ << "; compacted " << compacted << " groups to "
            << after << " bytes";
  }
  return any;
}

}  // namespace ringkv::store
