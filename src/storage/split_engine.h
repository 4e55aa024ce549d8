// SplitEngine: the node's Engine (Engine::Open returns one). The raft column family (hard
// states, truncated states, log entries, replica ids) is a LogKv (log_kv.h): an ordered map in
// memory made durable by append-only files in <data_dir>/raftlog, as etcd keeps its log (WAL +
// MemoryStorage) and TiKV its raft-engine. The data and meta column families stay in RocksDB
// (RocksEngine). A replicated write then costs the Raft log one append and one fdatasync, and no
// memtable insert, range tombstone, flush or compaction (docs/benchmarks.md 10e-10f measured
// those as the largest part of a write's CPU).
//
// Two files, two durability domains: the raft CF ("the log") and the rest ("RocksDB"). The
// persistence contract of engine.h holds per domain, with these rules between them, which
// MemEngine models for the node simulation:
//  - A synced write is durable on return with every earlier write of its domain. A synced
//    write to RocksDB also makes every earlier log write durable (the log is synced first).
//  - A write that deletes log records (a log compaction) first makes every earlier logged
//    RocksDB write durable. Unlogged writes (the apply writes) become durable only with a
//    flush of the data CF; the replica compacts only entries whose apply write is durable by
//    its ticket (engine.h), so a compaction never outlives the applied state that allowed it.
//  - A write that touches both domains is atomic and synced, whatever `sync` says. It is
//    written as: RocksDB part + an intent record holding the log part (synced), then the log
//    part (synced), then the intent's deletion (synced). Open finishes an intent a crash left.
//    Such writes are rare (a log compaction with its apply state, a snapshot install's last
//    step, a replica's creation or deletion); the turn's log write and its apply write each
//    touch one domain.
//  - An unsynced write may be lost at a crash with every later unsynced write of its domain.
//  - Reads of the raft CF ignore a ReadSnapshot: they see the latest state. (Nothing reads the
//    log at a snapshot; the conf state, which snapshot metadata reads with the apply state, is
//    in the data CF.)
//
// Upgrade: a data dir written before the log left RocksDB has its raft CF in RocksDB and no
// raftlog/ directory. Open copies that raft CF into a new log (conf states to the data CF),
// renames the new log into place, then clears the raft CF; a crash anywhere in between redoes
// or finishes it at the next open. There is no way back to an older kvd.
//
// Thread-safety: thread-safe. Writes are serialized by one mutex (the storage worker makes
// nearly all of them); reads run concurrently.
#ifndef RINGKV_STORAGE_SPLIT_ENGINE_H_
#define RINGKV_STORAGE_SPLIT_ENGINE_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/engine.h"
#include "storage/log_kv.h"

namespace ringkv::storage {

// Crash points of a two-domain write (tests): after RocksDB's part and the intent are durable,
// and after the log's part too (the intent not yet deleted).
inline constexpr std::string_view kFpSplitAfterRocksPart = "storage.split.after_rocks_part";
inline constexpr std::string_view kFpSplitAfterLogPart = "storage.split.after_log_part";

class SplitEngine final : public Engine {
 public:
  // Opens RocksDB under options.path/db and the log under options.path/raftlog, migrating an
  // older data dir's raft CF and finishing an interrupted two-domain write. Errors as
  // Engine::Open, and Corruption for a damaged log or intent record.
  static Result<std::unique_ptr<SplitEngine>> Open(const EngineOptions& options);
  ~SplitEngine() override;

  Status Write(const WriteBatch& batch, bool sync) override;
  Status WriteAll(const std::vector<const WriteBatch*>& batches, bool sync) override;
  // RocksDB's (the data CF): the log is not involved.
  Result<uint64_t> WriteUnlogged(const std::vector<const WriteBatch*>& batches) override;
  // nullopt also while another write holds the write lock.
  Result<std::optional<uint64_t>> TryWriteUnlogged(
      const std::vector<const WriteBatch*>& batches) override;
  uint64_t DurableTicket() const override;
  Status FlushUnlogged(bool wait) override;
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key,
                                         const ReadSnapshot* snapshot = nullptr) const override;
  std::unique_ptr<Iterator> NewIterator(Cf cf, KeyRange range,
                                        const ReadSnapshot* snapshot = nullptr) const override;
  std::unique_ptr<ReadSnapshot> GetSnapshot() const override;

  Result<std::unique_ptr<StagedFile>> CreateStagedFile(Cf cf, const std::string& name) override;
  Result<bool> StagedFileExists(const std::string& name) const override;
  Status IngestStagedFile(Cf cf, const std::string& name) override;
  Status RemoveStagedFile(const std::string& name) override;
  Result<std::vector<std::string>> ListStagedFiles() const override;
  Status SyncStagingArea() override;

  uint64_t ApproximateBytes(Cf cf, const KeyRange& range) const override;
  Status Resume() override;
  // RocksDB's table files plus the log's files.
  uint64_t SstBytes() const override;
  Status CompactAll(std::atomic<bool>* canceled = nullptr) override;
  Status FlushForTesting() override;

 private:
  SplitEngine(std::unique_ptr<Engine> rocks, std::unique_ptr<LogKv> log);
  // REQUIRES: write_mu_ held. The write of `batches` (sorted into the two domains).
  Status WriteLocked(const std::vector<const WriteBatch*>& batches, bool sync);
  // REQUIRES: write_mu_ held. Makes every earlier RocksDB write durable.
  Status SyncRocks();
  // Finishes a two-domain write a crash interrupted (its intent record is still stored).
  Status RecoverIntent();

  std::unique_ptr<Engine> rocks_;  // data and meta CFs (its raft CF stays empty)
  std::unique_ptr<LogKv> log_;     // the raft CF
  std::mutex write_mu_;
  bool rocks_unsynced_ = false;    // guarded by write_mu_: an unsynced RocksDB write since a sync
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_SPLIT_ENGINE_H_
