// LogBudget: the node-wide Raft log budget (--raft_log_node_max_bytes), on top of each group's
// own (ReplicaOptions::compact_log_bytes, TiKV's raft-log-gc-size-limit). Many groups each
// under their own budget can still fill a node's disk with log; when the entries of all
// replicas on the node together exceed the budget, the groups holding the most bytes are
// compacted first, each down to a small tail of applied entries, until the total is at half
// the budget (so that the next writes do not compact again at once). Only applied entries are
// removed; a follower that needed them gets a snapshot.
//
// The compactions go into the store's next group-commit batch, so they share its write (and
// its wait for disk space when the disk is full).
//
// Thread-safety: store loop thread only.
#ifndef RINGKV_STORE_LOG_BUDGET_H_
#define RINGKV_STORE_LOG_BUDGET_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "replica/replica.h"
#include "storage/write_batch.h"

namespace ringkv::store {

// One replica's log as the budget sees it.
struct GroupLogUsage {
  GroupId group;
  uint64_t log_bytes = 0;      // every entry in its log
  uint64_t applied_bytes = 0;  // the applied ones, which compaction may remove (<= log_bytes)
};

struct LogBudgetPlan {
  std::vector<GroupId> compact;  // in order: most log bytes first
  uint64_t keep_bytes = 0;       // the applied tail each of them keeps
};

// Pure: the groups to compact when the total exceeds `node_max_bytes` (0 = no budget): most
// log bytes first, until the total is at most half the budget or nothing applied is left. Each
// keeps an applied tail of node_max_bytes / 4 / (number of groups), so the groups compacted
// together keep at most a quarter of the budget.
LogBudgetPlan PlanLogBudget(std::vector<GroupLogUsage> usage, uint64_t node_max_bytes);

class LogBudget {
 public:
  explicit LogBudget(uint64_t node_max_bytes) : node_max_bytes_(node_max_bytes) {}

  // Adds the compactions the plan asks for to `batch`, calling `compacted(group)` for each
  // group it compacted. Returns whether it added any (the caller must then write the batch).
  // Errors: reading a group's log. A walk of every replica: the store calls it only in a turn
  // that collected a Ready (logs grow by nothing else) or while over().
  Result<bool> MaybeCompact(const std::map<GroupId, std::unique_ptr<replica::Replica>>& replicas,
                            storage::WriteBatch* batch,
                            const std::function<void(GroupId)>& compacted);

  uint64_t node_max_bytes() const { return node_max_bytes_; }
  // The last MaybeCompact left the node over its budget (nothing applied was left to
  // compact): applies since may have made room, so it must look again.
  bool over() const { return over_; }
  // The last MaybeCompact left the node over its budget with at least an eighth of the budget
  // in entries applied but not durable (their apply writes wait in the data CF's memtable for
  // a flush, replica.h): a flush would let them go.
  bool wants_flush() const { return wants_flush_; }

 private:
  const uint64_t node_max_bytes_;
  bool over_ = false;
  bool wants_flush_ = false;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_LOG_BUDGET_H_
