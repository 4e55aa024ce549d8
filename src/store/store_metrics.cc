#include "store/store_metrics.h"

#include "metrics/metrics.h"

namespace ringkv::store {
namespace {

struct Instruments {
  Instruments() {
    auto& r = metrics::Registry::Default();
    sync_seconds = r.GetHistogram(
        "ringkv_wal_fsync_duration_seconds",
        "Latency of the synced group-commit write of the Raft logs (etcd's wal_fsync).",
        metrics::DiskSyncBuckets());
    apply_seconds = r.GetHistogram(
        "ringkv_apply_duration_seconds",
        "Time to apply the committed entries of one group-commit round.",
        metrics::ApplyBuckets());
    batch_groups = r.GetHistogram("ringkv_group_commit_batch_groups",
                                  "Raft groups whose Ready went into one group-commit write.",
                                  metrics::SizeBuckets());
    batch_bytes = r.GetHistogram("ringkv_group_commit_batch_bytes",
                                 "Bytes of one group-commit write.",
                                 metrics::ExponentialBuckets(256, 4, 12));
    writes = r.GetCounter("ringkv_group_commit_writes_total",
                          "Group-commit writes of the Raft logs, synced or not.");
    leader_changes = r.GetCounter("ringkv_leader_changes_seen_total",
                                  "Leader changes seen by this node's replicas (any shard).");
    budget_compactions = r.GetCounter(
        "ringkv_raft_log_budget_compactions_total",
        "Raft logs compacted because the node's logs together exceeded --raft_log_node_max_bytes.");
  }
  metrics::Histogram* sync_seconds;
  metrics::Histogram* apply_seconds;
  metrics::Histogram* batch_groups;
  metrics::Histogram* batch_bytes;
  metrics::Counter* writes;
  metrics::Counter* leader_changes;
  metrics::Counter* budget_compactions;
};

Instruments& TheInstruments() {
  static Instruments* i = new Instruments();
  return *i;
}

}  // namespace

void ObserveLogWrite(double seconds, size_t groups, size_t bytes, bool synced) {
  Instruments& i = TheInstruments();
  if (synced) i.sync_seconds->Observe(seconds);
  i.batch_groups->Observe(static_cast<double>(groups));
  i.batch_bytes->Observe(static_cast<double>(bytes));
  i.writes->Inc();
}

void ObserveApply(double seconds) { TheInstruments().apply_seconds->Observe(seconds); }

void CountLeaderChange() { TheInstruments().leader_changes->Inc(); }

void CountLogBudgetCompactions(size_t groups) {
  TheInstruments().budget_compactions->Inc(static_cast<double>(groups));
}

}  // namespace ringkv::store
