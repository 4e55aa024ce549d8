// MemEngine: the Engine (engine.h) in memory, for deterministic simulation of whole nodes. It
// keeps the node engine's (split_engine.h) two durability domains, the raft CF and the rest,
// and the rules between them.
// Ordered maps per column family hold what a reader sees; a second set holds only what is
// durable. Crash() throws away everything that is not durable, exactly as the persistence
// contract of engine.h allows a power cut to: the unsynced writes (all of them: the worst case
// the contract permits), the unlogged writes no flush covered, and the staged files whose
// creation was not synced. RocksDB's part is modelled as RocksDB keeps it: the state of the
// last flush (table files) plus, at a crash, the synced logged writes since it replayed in
// order (its WAL); unlogged writes since the flush are lost even when a synced write followed.
// A flush happens on FlushUnlogged (at once with `wait`, at the next write without), on an
// ingest, and, like a full memtable, when the unlogged bytes since the last flush reach
// SetAutoFlushBytes's limit.
//
// A full disk is simulated with SetDiskFull: writes then fail with ResourceExhausted, and, as
// RocksDB does, every later write fails too until Resume() succeeds (which needs the disk to
// have room again).
//
// Snapshots and iterators share the maps copy-on-write, so they cost nothing until the next
// write. Thread-safety: thread-safe (one mutex), as the interface requires.
#ifndef RINGKV_STORAGE_MEM_ENGINE_H_
#define RINGKV_STORAGE_MEM_ENGINE_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/engine.h"

namespace ringkv::storage {

class MemEngine final : public Engine {
 public:
  MemEngine();
  ~MemEngine() override;

  // Loses every write and staged file that is not durable; with `keep_unsynced_log`, the
  // unsynced raft CF writes survive (the log's file kept its tail while RocksDB lost its own).
  // REQUIRES: no live iterator or snapshot of this engine is used across the call (the node
  // that held them "died").
  void Crash(bool keep_unsynced_log = false);
  // While set, writes and staged-file operations fail with ResourceExhausted.
  void SetDiskFull(bool full);
  // Flush RocksDB's part once this many bytes were written unlogged since the last flush
  // (RocksDB flushes a full memtable). 0 (the default) never flushes on its own.
  void SetAutoFlushBytes(uint64_t bytes);
  // Flushes so far, and unlogged writes that crashes lost (for tests and simulation stats).
  uint64_t flushes() const;
  uint64_t lost_unlogged_writes() const;
  // Writes made, and those among them that were synced (for tests and simulation stats).
  uint64_t writes() const;
  uint64_t synced_writes() const;

  Status Write(const WriteBatch& batch, bool sync) override;
  Result<uint64_t> WriteUnlogged(const std::vector<const WriteBatch*>& batches) override;
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

  // Bytes of the keys and values in `range` of `cf`.
  uint64_t ApproximateBytes(Cf cf, const KeyRange& range) const override;
  Status Resume() override;
  // Bytes of every durable key and value.
  uint64_t SstBytes() const override;
  // Nothing to compact in memory.
  Status CompactAll(std::atomic<bool>* canceled = nullptr) override;
  Status FlushForTesting() override;

  // One column family: key -> stored value (crc envelope included).
  using Table = std::map<std::string, std::string, std::less<>>;
  using Tables = std::array<Table, kNumCfs>;

 private:
  class Staged;
  class StagedWriter;

  // The version a read sees: `snapshot`'s, or the live one (pinned, so it stays valid).
  std::shared_ptr<const Tables> Pinned(const ReadSnapshot* snapshot) const;
  // REQUIRES: mu_ held. Makes live_ private to the engine before a change (copy-on-write).
  Tables& MutableLive();
  // REQUIRES: mu_ held. OK, or why a write must fail now.
  Status CheckWritable() const;
  // The two durability domains of split_engine.h: the raft CF (the log) and the rest.
  enum class Domain { kLog = 0, kRest = 1 };
  // REQUIRES: mu_ held. Makes every unsynced write of `domain` durable: the log's are applied
  // to durable_; RocksDB's logged writes since the last flush are marked synced (a crash
  // replays them), its unlogged ones stay as they are.
  void SyncUnsynced();
  void SyncUnsynced(Domain domain);
  // REQUIRES: mu_ held. RocksDB's flush: every write of its domain since the last flush,
  // logged or not, in order, into durable_.
  void FlushRest();
  // REQUIRES: mu_ held. A flush FlushUnlogged(false) asked for, and the automatic one.
  void MaybeFlushRest();

  mutable std::mutex mu_;
  std::shared_ptr<Tables> live_;           // what readers see
  Tables durable_;                         // what survives Crash()
  // The log's writes in live_, not yet in durable_, in order.
  std::vector<WriteBatch> unsynced_log_;
  // RocksDB's writes since its last flush (in live_, not in durable_), in order.
  struct RestWrite {
    WriteBatch batch;
    bool logged = true;   // false: WriteUnlogged
    bool synced = false;  // logged, and a synced write of the domain came since
  };
  std::vector<RestWrite> rest_since_flush_;
  uint64_t unlogged_bytes_ = 0;    // written unlogged since the last flush
  uint64_t auto_flush_bytes_ = 0;  // SetAutoFlushBytes
  bool flush_requested_ = false;   // FlushUnlogged(false) since the last flush
  uint64_t tickets_ = 0;           // the last ticket WriteUnlogged issued
  uint64_t durable_ticket_ = 0;    // the last one a flush covered
  uint64_t flushes_ = 0;
  uint64_t lost_unlogged_ = 0;
  std::map<std::string, std::shared_ptr<Staged>> staged_;
  bool disk_full_ = false;
  bool write_failed_ = false;              // a write failed for space; cleared by Resume()
  uint64_t writes_ = 0;
  uint64_t synced_writes_ = 0;
};

// Applies `batch` to `tables` (what MemEngine::Write does; exposed for the simulation's model).
void ApplyBatch(const WriteBatch& batch, MemEngine::Tables* tables);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_MEM_ENGINE_H_
