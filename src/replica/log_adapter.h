// LogAdapter: gives the pure Raft core its LogStorage over the group's persistent log
// (storage::RaftLogStore) and apply state (storage::KvState). The snapshot it reports is the
// state machine itself at the applied index: RocksDB holds the applied data, so a snapshot is
// "metadata now, data streamed from an engine snapshot when sent" (replica/snapshot_sender).
//
// Error mapping (log_storage.h contract): an index below the compaction point -> kNotFound; past
// the last index -> kUnavailable; anything else is a storage failure the core treats as fatal.
//
// Thread-safety: not thread-safe; used on the store loop thread with its Replica.
#ifndef RINGKV_REPLICA_LOG_ADAPTER_H_
#define RINGKV_REPLICA_LOG_ADAPTER_H_

#include <deque>
#include <vector>

#include "raft/log_storage.h"
#include "storage/kv_state.h"
#include "storage/raft_log_store.h"

namespace ringkv::replica {

class LogAdapter final : public raft::LogStorage {
 public:
  // Neither is owned; both must outlive the adapter. `max_cache_bytes` bounds the entry cache.
  LogAdapter(storage::RaftLogStore* log, storage::KvState* kv, size_t max_cache_bytes)
      : log_(log), kv_(kv), max_cache_bytes_(max_cache_bytes) {}

  Result<raft::InitialState> GetInitialState() const override;
  Result<std::vector<raftpb::Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const override;
  Result<Term> TermOf(Index i) const override;
  Result<Index> LastIndex() const override;
  Result<Index> FirstIndex() const override;
  // Metadata at the applied index with the current membership; data is empty (streamed
  // separately). kUnavailable before anything was applied.
  Result<raftpb::Snapshot> GetSnapshot() const override;

  // The entry cache: the newest entries appended, so the leader's appends to followers and the
  // core's frequent term lookups do not read (and parse) RocksDB. It mirrors what the replica
  // writes: call CacheAppend with every batch of entries given to RaftLogStore::Append, and
  // CacheReset after a compaction or snapshot install. Bounded by count and bytes: every
  // replica of a node has one, so the node's total is what the store divides (see
  // ReplicaOptions::entry_cache_bytes; with 64 KiB values and a fixed 32 MiB per replica,
  // 32 replicas held 1 GiB — issue #10).
  void CacheAppend(const std::vector<raftpb::Entry>& entries);
  void CacheCompact(Index compacted_to);
  void CacheReset() { cache_.clear(); cache_bytes_ = 0; }

 private:
  // The cached entry at i, or null.
  const raftpb::Entry* Cached(Index i) const;

  storage::RaftLogStore* log_;
  storage::KvState* kv_;
  // Contiguous entries, cache_[k].index() == cache_.front().index() + k.
  std::deque<raftpb::Entry> cache_;
  size_t cache_bytes_ = 0;
  static constexpr size_t kMaxCacheEntries = 16384;
  const size_t max_cache_bytes_;
};

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_LOG_ADAPTER_H_
