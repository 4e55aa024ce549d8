// The store's event metrics (Prometheus instruments in metrics::Registry::Default()): Raft log
// sync and apply durations, group-commit batch sizes, leader changes. The store calls these
// narrow hooks at the points where the events happen; scrape-time gauges (terms, indexes,
// leaderless shards) are collected from status by the server (server/node_metrics.h).
//
// Thread-safety: every hook is safe from any thread (relaxed atomics).
#ifndef RINGKV_STORE_STORE_METRICS_H_
#define RINGKV_STORE_STORE_METRICS_H_

#include <cstddef>

namespace ringkv::store {

// One group-commit write of the Raft logs and hard states (`seconds` from start to finish).
void ObserveLogWrite(double seconds, size_t groups, size_t bytes, bool synced);
// Applying the committed entries of `groups` groups after one group-commit write.
void ObserveApply(double seconds);
// A local replica saw its shard's leader change (including to "unknown").
void CountLeaderChange();
// The node's Raft log budget compacted `groups` groups' logs.
void CountLogBudgetCompactions(size_t groups);

}  // namespace ringkv::store

#endif  // RINGKV_STORE_STORE_METRICS_H_
