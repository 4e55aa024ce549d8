// Engine: the node's one ordered store, with three column families ("raft", "data", "meta";
// keys.h documents their layout). Every write is one atomic WriteBatch; every stored value
// carries the crc envelope of record.h and every read verifies it (Iterator here, Get in each
// implementation).
//
// Engine is an interface with three implementations:
//  - SplitEngine (split_engine.h; Engine::Open opens it): the node's engine. The raft CF is a
//    LogKv (log_kv.h: a map in memory over append-only files, <path>/raftlog/); the data and
//    meta CFs are a RocksEngine.
//  - RocksEngine (rocks_engine.h): RocksDB. Directory layout under EngineOptions::path: db/
//    (RocksDB) snapshots/ (staged snapshot SSTs). It and sst_file.cc are the only files that
//    include RocksDB headers; rocksdb::Status becomes ringkv::Status there.
//  - MemEngine (mem_engine.h): ordered maps in memory for deterministic simulation; it keeps
//    what was synced apart from what was not, and Crash() loses every unsynced write.
//
// The persistence contract every engine keeps (the store and the snapshot install protocol rely
// on it). The raft CF and the other two are two durability domains (two files on disk):
//  - A Write is atomic. A synced Write is durable when it returns, and so is every earlier write
//    of its domain; a synced write to the data or meta CF also makes every earlier raft CF write
//    durable. A write that deletes raft CF records first makes every earlier write durable. A
//    write that touches the raft CF and another CF is synced whatever `sync` says.
//  - An unsynced Write may be lost at a crash, together with every later unsynced write of its
//    domain, but never part of a batch and never a batch that a later synced write followed.
//  - An unlogged write (WriteUnlogged: the apply writes, which skip RocksDB's write-ahead log)
//    is durable only once a flush of the data CF completed after it: it returns a ticket, and
//    the write is durable when DurableTicket() >= that ticket. Until then a crash may lose it,
//    with every later unlogged write, never part of one. A synced write does NOT make it
//    durable, nor does a log compaction: whoever compacts the log (replica/) compacts only
//    entries whose apply write is durable by its ticket, and whoever writes logged data-CF
//    state after unlogged writes of the same group replaces that group's state whole (a
//    snapshot install, a replica's creation or deletion) rather than building on it.
//  - A staged file (snapshot install) survives a crash only after Finish() and then
//    SyncStagingArea(). IngestStagedFile is atomic and durable when it returns, with every
//    earlier write.
//  - Reads of the raft CF at a ReadSnapshot may see later writes (SplitEngine keeps no versions
//    of the log); nothing reads the log at a snapshot.
//
// Errors: Write/Get/iteration return IOError for I/O failures, ResourceExhausted when the disk is
// full (ENOSPC; see Resume), Corruption for checksum mismatches
// (RocksDB's own or ours). Per the house rules a failed write on the Raft log path is fatal to the
// caller (LOG(FATAL) in store/, then recover from disk on restart); the engine only reports it.
//
// Thread-safety: Engine is thread-safe (RocksDB is); the store writes from its storage thread
// while replicas read from the loop thread. Iterator and ReadSnapshot are used by one thread at a
// time and must be destroyed before the Engine.
#ifndef RINGKV_STORAGE_ENGINE_H_
#define RINGKV_STORAGE_ENGINE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "storage/keys.h"
#include "storage/write_batch.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace ringkv::storage {

// Options of the RocksDB engine (Engine::Open).
struct EngineOptions {
  // Data directory of the node. Required.
  std::string path;
  // Create the directory and database when absent; when false, opening a missing database fails
  // with InvalidArgument. Default: true.
  bool create_if_missing = true;
  // File system access; not owned, must outlive the Engine. Tests pass an Env over a
  // fault-injecting rocksdb::FileSystem (rocksdb::NewCompositeEnv). Default: rocksdb's default Env.
  rocksdb::Env* env = nullptr;
  // Memtable size of the raft CF in bytes. Raft entries are written once and soon deleted by
  // log compaction, so most of them should die in the memtable. Default: 32 MiB.
  size_t raft_write_buffer_size = 32 << 20;
  // Memtable size of the data CF in bytes. Default: 64 MiB.
  size_t data_write_buffer_size = 64 << 20;
  // Values of the data CF at least this large go to RocksDB blob files when memtables are
  // flushed, and the SSTs keep a reference: compactions then move references, not the values
  // (RocksDB's integrated BlobDB; TiKV's Titan does the same). 0 keeps every value in the
  // SSTs. Changing it affects only files written afterwards. Default: 4 KiB.
  uint64_t data_blob_min_bytes = 4096;
  // Shared block cache in bytes. Default: 64 MiB.
  size_t block_cache_size = 64 << 20;
  // Test-only (Jepsen's "kill that loses unsynced writes"): keep unsynced writes in a buffer
  // inside the process (RocksDB manual_wal_flush), so that kill -9 loses them as a power cut
  // would. Synced writes flush and fsync the buffer. Default: off.
  bool test_buffer_unsynced_writes = false;
};

// A consistent point-in-time view of the whole engine (all CFs). Released on destruction.
class ReadSnapshot {
 public:
  virtual ~ReadSnapshot() = default;
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 protected:
  ReadSnapshot() = default;
};

// An engine's raw ordered cursor over one key range of one CF: stored values, unverified.
// Implemented by each engine; wrapped by Iterator.
class RawCursor {
 public:
  virtual ~RawCursor() = default;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  virtual void Seek(std::string_view key) = 0;
  virtual void Next() = 0;
  virtual void Prev() = 0;
  virtual bool Valid() const = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // OK, or the error that ended the iteration.
  virtual Status status() const = 0;
};

// Ordered iteration over one key range of one CF. After every positioning call, either Valid()
// and key()/value() are usable, or the iteration ended: status() is then OK at the end of the
// range, or the error (Corruption naming the key when a record fails its checksum).
class Iterator {
 public:
  explicit Iterator(std::unique_ptr<RawCursor> cursor) : cursor_(std::move(cursor)) {}
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;

  void SeekToFirst();
  void SeekToLast();
  // Positions at the first key >= `key` within the range.
  void Seek(std::string_view key);
  // REQUIRES: Valid().
  void Next();
  void Prev();

  bool Valid() const { return valid_; }
  // REQUIRES: Valid(). Views stay valid until the next positioning call.
  std::string_view key() const { return cursor_->key(); }
  // The verified payload.
  std::string_view value() const { return payload_; }
  // The stored bytes, crc envelope included (snapshot streaming ships these unchanged).
  std::string_view raw_value() const { return cursor_->value(); }
  Status status() const { return status_; }

 private:
  // Sets valid_/payload_/status_ from the cursor's position.
  void Settle();

  std::unique_ptr<RawCursor> cursor_;
  bool valid_ = false;
  std::string_view payload_;
  Status status_;
};

// A sorted run of (key, stored value) pairs being written into the engine's staging area, to
// be added to a CF by IngestStagedFile (snapshot install).
class StagedFile {
 public:
  virtual ~StagedFile() = default;
  // Adds a pair; `stored_value` is written verbatim (it already carries its crc envelope).
  // REQUIRES: keys strictly increasing. InvalidArgument otherwise.
  virtual Status Add(std::string_view key, std::string_view stored_value) = 0;
  // Completes and syncs the file. REQUIRES: at least one Add.
  virtual Status Finish() = 0;
};

class Engine {
 public:
  // Opens (creating when allowed) the RocksDB engine at options.path (rocks_engine.h). Errors:
  // InvalidArgument for a missing database with !create_if_missing or bad options, IOError,
  // Corruption, ResourceExhausted when the file system lacks the free space opening needs
  // (open_space.h).
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  virtual ~Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Applies `batch` atomically. With sync, returns only after the batch is durable; see the
  // persistence contract above for what a crash may lose without it.
  virtual Status Write(const WriteBatch& batch, bool sync) = 0;
  // Applies `batches`, in order, as ONE atomic write: one WAL record and one trip through the
  // write path for many groups' batches (the turn's apply writes). The default merges them
  // into one WriteBatch; RocksEngine builds its write batch from them directly.
  virtual Status WriteAll(const std::vector<const WriteBatch*>& batches, bool sync);
  // Applies `batches`, in order, as one atomic write without a write-ahead log record (RocksDB's
  // disableWAL): the turn's apply writes, which the Raft log replays after a crash. Returns the
  // write's ticket: it is durable once DurableTicket() >= the ticket (see the persistence
  // contract above). REQUIRES: data CF ops only (InvalidArgument otherwise). Errors as Write.
  virtual Result<uint64_t> WriteUnlogged(const std::vector<const WriteBatch*>& batches) = 0;
  // Like WriteUnlogged, but never waits: nullopt, with nothing written, where WriteUnlogged
  // would wait (for another writer, or for a write stall while RocksDB flushes). The store
  // makes small apply writes on its loop thread with it (store/turn_pipeline.cc). The default
  // is WriteUnlogged, for engines that never wait.
  virtual Result<std::optional<uint64_t>> TryWriteUnlogged(
      const std::vector<const WriteBatch*>& batches) {
    ASSIGN_OR_RETURN(uint64_t ticket, WriteUnlogged(batches));
    return std::optional<uint64_t>(ticket);
  }
  // The newest ticket a completed flush made durable (monotonic). After Open, every write the
  // engine holds is durable, and so is every ticket it had issued.
  virtual uint64_t DurableTicket() const = 0;
  // Flushes the data CF's memtables so that every unlogged write before the call becomes
  // durable. With `wait`, returns once it is (seconds at worst: a memtable of up to 64 MiB is
  // written). Without, starts the flush and returns; a call while an earlier requested flush is
  // still running does nothing. Thread-safe. Errors: IOError, ResourceExhausted.
  virtual Status FlushUnlogged(bool wait) = 0;

  // The payload stored at `key`, nullopt if absent. Corruption naming the key on a bad record.
  // Reads at `snapshot` when given.
  virtual Result<std::optional<std::string>> Get(Cf cf, std::string_view key,
                                                 const ReadSnapshot* snapshot = nullptr) const = 0;

  // An iterator over [range.begin, range.end) of `cf`, unpositioned (call a Seek*). Reads at
  // `snapshot` when given; `snapshot` must outlive the iterator.
  virtual std::unique_ptr<Iterator> NewIterator(Cf cf, KeyRange range,
                                                const ReadSnapshot* snapshot = nullptr) const = 0;

  virtual std::unique_ptr<ReadSnapshot> GetSnapshot() const = 0;

  // ---- The staging area of snapshot installs: files by name (no '/') ----
  // Creates (truncating) the staged file `name` for later ingestion into `cf`.
  virtual Result<std::unique_ptr<StagedFile>> CreateStagedFile(Cf cf, const std::string& name) = 0;
  virtual Result<bool> StagedFileExists(const std::string& name) const = 0;
  // Atomically adds the finished staged file to `cf`; its keys shadow older versions. The file
  // stays staged and must be removed by the caller.
  virtual Status IngestStagedFile(Cf cf, const std::string& name) = 0;
  // OK if absent.
  virtual Status RemoveStagedFile(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> ListStagedFiles() const = 0;
  // Makes the creation of every finished staged file durable (a directory fsync).
  virtual Status SyncStagingArea() = 0;

  // An estimate of the bytes `range` of `cf` takes (for status and metrics; 0 when it cannot
  // tell).
  virtual uint64_t ApproximateBytes(Cf cf, const KeyRange& range) const = 0;

  // After a write failed for lack of space (ResourceExhausted), the engine refuses further
  // writes until this clears the error. Returns the same kind of error while still full.
  virtual Status Resume() = 0;

  // Bytes of the engine's files on disk (SSTs, blob files, the Raft log's segments), WAL and
  // memtables aside. 0 when it cannot tell.
  virtual uint64_t SstBytes() const = 0;

  // Compacts every column family over its whole key range (RocksDB CompactRange to the
  // bottommost level): drops deleted Raft log entries, overwritten values and range tombstones,
  // so their disk space is freed. Blocks until done (seconds to minutes on a large engine);
  // writes go on meanwhile. Thread-safe; call it off the store loop. Setting `*canceled` (when
  // given) stops it soon, with an IOError ("manual compaction paused").
  // Errors: IOError, ResourceExhausted (the disk is too full for the rewritten files).
  virtual Status CompactAll(std::atomic<bool>* canceled = nullptr) = 0;

  // Flushes every memtable to files, so tests exercise the on-disk read path.
  virtual Status FlushForTesting() = 0;

 protected:
  Engine() = default;
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_ENGINE_H_
