// Engine: the node's one RocksDB, with three column families ("raft", "data", "meta"; keys.h
// documents their layout). Every write is one atomic WriteBatch; every stored value carries the
// crc envelope of record.h and every read verifies it. This file pair is the only place besides
// the snapshot ingest code (sst_file.cc) that includes RocksDB headers; rocksdb::Status becomes
// ringkv::Status here.
//
// Directory layout under EngineOptions::path:  db/ (RocksDB)  snapshots/ (staged snapshot SSTs).
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

#include "common/result.h"
#include "common/status.h"
#include "storage/keys.h"
#include "storage/write_batch.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class Iterator;
class Snapshot;
struct Options;
}  // namespace rocksdb

namespace ringkv::storage {

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
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

  // Storage-internal.
  const rocksdb::Snapshot* rep() const { return snap_; }

 private:
  friend class Engine;
  ReadSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snap) : db_(db), snap_(snap) {}
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

// Ordered iteration over one key range of one CF. After every positioning call, either Valid()
// and key()/value() are usable, or the iteration ended: status() is then OK at the end of the
// range, or the error (Corruption naming the key when a record fails its checksum).
class Iterator {
 public:
  ~Iterator();
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
  std::string_view key() const;
  // The verified payload.
  std::string_view value() const { return payload_; }
  // The stored bytes, crc envelope included (snapshot streaming ships these unchanged).
  std::string_view raw_value() const;
  Status status() const { return status_; }

 private:
  friend class Engine;
  Iterator(std::unique_ptr<rocksdb::Iterator> it, KeyRange range);
  // Sets valid_/payload_/status_ from the underlying iterator's position.
  void Settle();

  KeyRange range_;  // owns the bytes the RocksDB bound slices point at
  struct Bounds;
  std::unique_ptr<Bounds> bounds_;
  std::unique_ptr<rocksdb::Iterator> it_;
  bool valid_ = false;
  std::string_view payload_;
  Status status_;
};

class Engine {
 public:
  // Opens (creating when allowed) the engine at options.path. Errors: InvalidArgument for a
  // missing database with !create_if_missing or bad options, IOError, Corruption,
  // ResourceExhausted when the file system lacks the free space opening needs (open_space.h).
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Applies `batch` atomically. With sync, returns only after the batch is durable (WAL fsync);
  // without it a crash may lose this and later unsynced batches, but never part of a batch and
  // never a batch followed by one that was synced (RocksDB point-in-time recovery).
  Status Write(const WriteBatch& batch, bool sync);

  // The payload stored at `key`, nullopt if absent. Corruption naming the key on a bad record.
  // Reads at `snapshot` when given.
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key,
                                         const ReadSnapshot* snapshot = nullptr) const;

  // An iterator over [range.begin, range.end) of `cf`, unpositioned (call a Seek*). Reads at
  // `snapshot` when given; `snapshot` must outlive the iterator.
  std::unique_ptr<Iterator> NewIterator(Cf cf, KeyRange range,
                                        const ReadSnapshot* snapshot = nullptr) const;

  std::unique_ptr<ReadSnapshot> GetSnapshot() const;

  // Storage-internal (snapshot install). Atomically adds the SST at `path` to `cf`; its keys
  // shadow older versions. The file is copied, so `path` stays valid and must be removed by
  // the caller.
  Status IngestFile(Cf cf, const std::string& path);
  // Directory for staged snapshot files; exists after Open.
  const std::string& staging_dir() const { return staging_dir_; }
  rocksdb::Env* env() const { return env_; }
  // RocksDB options the SST writer must use for `cf`.
  const rocksdb::Options& cf_options(Cf cf) const;
  rocksdb::ColumnFamilyHandle* cf_handle(Cf cf) const;

  // RocksDB's estimate of the bytes `range` of `cf` takes, in files and memtables (for
  // status and metrics; 0 when it cannot tell).
  uint64_t ApproximateBytes(Cf cf, const KeyRange& range) const;

  // After a write failed for lack of space (ResourceExhausted), RocksDB refuses further writes
  // until this clears its background error. Returns the same kind of error while still full.
  Status Resume();

  // Bytes of the SST files of every column family (RocksDB's "total-sst-files-size"): what
  // the engine holds on disk, WAL and memtables aside. 0 when RocksDB cannot tell.
  uint64_t SstBytes() const;

  // Compacts every column family over its whole key range, down to the bottommost level
  // (RocksDB CompactRange): drops the deleted Raft log entries, overwritten values and range
  // tombstones that background compaction has not reached yet, so their disk space is freed.
  // Blocks until done (seconds to minutes on a large engine); background compactions and
  // writes go on meanwhile. Thread-safe; call it off the store loop. Setting `*canceled`
  // (when given) stops it soon, with an Aborted-like IOError ("manual compaction paused").
  // Errors: IOError, ResourceExhausted (the disk is too full for the rewritten files).
  Status CompactAll(std::atomic<bool>* canceled = nullptr);

  // Flushes every memtable to SST files, so tests exercise the on-disk read path.
  Status FlushForTesting();

 private:
  Engine() = default;

  rocksdb::Env* env_ = nullptr;
  std::string staging_dir_;
  bool buffer_unsynced_writes_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  // Indexed by Cf; owned (destroyed before db_ closes).
  std::array<rocksdb::ColumnFamilyHandle*, kNumCfs> handles_{};
  std::array<std::unique_ptr<rocksdb::Options>, kNumCfs> cf_options_;
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_ENGINE_H_
