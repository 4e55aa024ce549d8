#include "storage/rocks_engine.h"

#include <glog/logging.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <vector>

#include "common/status_macros.h"
#include "storage/keys.h"
#include "storage/open_space.h"
#include "storage/record.h"
#include "storage/rocks_crc32c.h"

namespace ringkv::storage {

#ifndef RINGKV_ROCKSDB_FAST_CRC32C
bool RocksCrc32cIsOurs() { return false; }  // rocks_crc32c.cc is not built (see its header)
#endif

namespace {

constexpr const char* kCfNames[kNumCfs] = {"raft", "data", "meta"};

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  const std::string msg = s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  // A full disk is its own case: the store waits for space instead of stopping (Resume()).
  if (s.IsNoSpace()) return Status::ResourceExhausted(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidArgument(msg);
  if (s.IsBusy() || s.IsTryAgain() || s.IsIncomplete() || s.IsShutdownInProgress()) {
    return Status::Unavailable(msg);
  }
  return Status::IOError(msg);
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  Status st = FromRocks(s);
  return Status(st.code(), what + ": " + std::string(st.message()));
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Tuning for a write-heavy Raft workload on a small machine:
// - WAL on except for unlogged writes (the apply writes: the Raft log replays them); sync per
//   batch is the caller's choice.
// - kPointInTimeRecovery: after a crash, recover the longest consistent prefix of the WAL
//   (a torn tail from unsynced writes is dropped, never a synced batch).
// - Two background jobs (the target machines have two cores).
// - max_total_wal_size bounds the WAL: the meta CF is written rarely and would otherwise pin old
//   WAL files forever.
// - raft CF: moderate memtables, no compression (entries are short-lived; most die in memtables
//   or L0 after log compaction). data CF: LZ4 and bloom filters for point reads.
// - SST block checksums are XXH3, not RocksDB's default CRC32c: Debian's librocksdb is a
//   portable build whose CRC32c is the table-driven software one (Slow_CRC32), 13% of the
//   servers' CPU with 64 KiB values (docs/benchmarks.md 10b). The checksum type is recorded
//   per file, so files written with CRC32c stay readable. (The WAL's record checksum is always
//   CRC32c; no option changes it.)
rocksdb::DBOptions MakeDbOptions(const EngineOptions& o, rocksdb::Env* env) {
  rocksdb::DBOptions db;
  db.create_if_missing = o.create_if_missing;
  db.create_missing_column_families = o.create_if_missing;
  db.env = env;
  db.max_background_jobs = 2;
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db.manual_wal_flush = o.test_buffer_unsynced_writes;
  db.max_total_wal_size = 256ull << 20;
  db.bytes_per_sync = 1 << 20;
  db.keep_log_file_num = 5;
  return db;
}

// Records the largest sequence number of each completed flush of the data CF: every write
// with a sequence number up to it is in a table file. Flushes of one column family complete
// in memtable order here: RocksDB installs a CF's flush results oldest memtable first, and
// two background jobs give one flush thread (max_background_jobs / 4, at least 1).
class DataFlushListener final : public rocksdb::EventListener {
 public:
  explicit DataFlushListener(std::shared_ptr<std::atomic<uint64_t>> durable)
      : durable_(std::move(durable)) {}
  void OnFlushCompleted(rocksdb::DB* /*db*/, const rocksdb::FlushJobInfo& info) override {
    if (info.cf_name != kCfNames[static_cast<int>(Cf::kData)]) return;
    RaiseTo(*durable_, info.largest_seqno);
  }
  static void RaiseTo(std::atomic<uint64_t>& a, uint64_t v) {
    uint64_t cur = a.load();
    while (cur < v && !a.compare_exchange_weak(cur, v)) {
    }
  }

 private:
  std::shared_ptr<std::atomic<uint64_t>> durable_;
};

// The domain of the data CF's memtable filter: user-data keys only (keys.h's DataKey), each
// key its own "prefix". Every put and delete reads the key's old value first (the change
// history's prev_version, the lease index); a key absent from a memtable then skips its
// skip-list search (docs/benchmarks.md §10b, §10h). History events and session records, two
// of every write's three records and never read by key on the write path, are left out, so
// they pay no filter add. A prefix extractor makes iterators prefix-bound unless they ask for
// total order: RocksCursor, the only iterator, sets total_order_seek.
class UserDataKeys final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "ringkv.UserDataKeys"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override { return key; }
  bool InDomain(const rocksdb::Slice& key) const override {
    return DecodeDataKey(std::string_view(key.data(), key.size())).has_value();
  }
};

// Where the data CF's inserts find their place in the memtable's skip list: every write puts a
// history event and a session record beside the group's previous ones (keys.h,
// OrderedInsertPrefixSize), so RocksDB keeps the last insert position per prefix and starts
// there instead of searching the whole skip list from its top. The user-data record has no
// such neighbour and is searched for as before. (The skip-list search was 13% of the servers'
// CPU per write at 32 shards, docs/benchmarks.md §10n.)
class OrderedInsertPrefixes final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "ringkv.OrderedInsertPrefixes"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), *OrderedInsertPrefixSize(key.ToStringView()));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return OrderedInsertPrefixSize(key.ToStringView()).has_value();
  }
};

rocksdb::ColumnFamilyOptions MakeCfOptions(Cf cf, const EngineOptions& o,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions c;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.checksum = rocksdb::kXXH3;
  switch (cf) {
    case Cf::kRaft:
      c.write_buffer_size = o.raft_write_buffer_size;
      c.max_write_buffer_number = 4;
      c.compression = rocksdb::kNoCompression;
      break;
    case Cf::kData:
      c.write_buffer_size = o.data_write_buffer_size;
      c.max_write_buffer_number = 4;
      c.compression = rocksdb::kLZ4Compression;
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      c.prefix_extractor = std::make_shared<UserDataKeys>();
      c.memtable_prefix_bloom_size_ratio = 0.02;
      c.memtable_insert_with_hint_prefix_extractor = std::make_shared<OrderedInsertPrefixes>();
      if (o.data_blob_min_bytes > 0) {
        // Large values (and their change-history copies) leave the LSM at flush: with 64 KiB
        // values, 1.30-1.33x the writes at 0.83-0.87x the CPU (docs/benchmarks.md §10h).
        // Blob files are rewritten by compactions of the files referencing their oldest
        // quarter (the default age cutoff), which drops their garbage. Not compressed (as
        // measured): the SSTs' LZ4 was paid at every flush and compaction; compressible large
        // values now take more disk.
        c.enable_blob_files = true;
        c.min_blob_size = o.data_blob_min_bytes;
        c.blob_file_size = 256 << 20;
        c.enable_blob_garbage_collection = true;
        c.blob_compression_type = rocksdb::kNoCompression;
      }
      break;
    case Cf::kMeta:
      c.write_buffer_size = 4 << 20;
      break;
  }
  c.level_compaction_dynamic_level_bytes = true;
  c.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return c;
}

class RocksSnapshot final : public ReadSnapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snap) : db_(db), snap_(snap) {}
  ~RocksSnapshot() override { db_->ReleaseSnapshot(snap_); }
  const rocksdb::Snapshot* rep() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

const rocksdb::Snapshot* RepOf(const ReadSnapshot* snapshot) {
  return snapshot == nullptr ? nullptr : static_cast<const RocksSnapshot*>(snapshot)->rep();
}

class RocksCursor final : public RawCursor {
 public:
  // Owns the range's bytes, which the iterator's bound slices point at.
  RocksCursor(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, KeyRange range,
              const rocksdb::Snapshot* snap)
      : range_(std::move(range)), lower_(ToSlice(range_.begin)), upper_(ToSlice(range_.end)) {
    rocksdb::ReadOptions ro;
    ro.verify_checksums = true;
    ro.total_order_seek = true;  // the data CF has a prefix extractor (UserDataKeys)
    ro.iterate_lower_bound = &lower_;
    ro.iterate_upper_bound = &upper_;
    ro.snapshot = snap;
    it_.reset(db->NewIterator(ro, cf));
  }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view key) override { it_->Seek(ToSlice(key)); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return FromRocks(it_->status()); }

 private:
  KeyRange range_;
  rocksdb::Slice lower_;
  rocksdb::Slice upper_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksStagedFile final : public StagedFile {
 public:
  explicit RocksStagedFile(std::unique_ptr<rocksdb::SstFileWriter> writer)
      : writer_(std::move(writer)) {}
  Status Add(std::string_view key, std::string_view stored_value) override {
    return FromRocks(writer_->Put(ToSlice(key), ToSlice(stored_value)), "sst add");
  }
  Status Finish() override { return FromRocks(writer_->Finish(), "sst finish"); }

 private:
  std::unique_ptr<rocksdb::SstFileWriter> writer_;
};

}  // namespace

// ---- RocksEngine ----

Result<std::unique_ptr<RocksEngine>> RocksEngine::Open(const EngineOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("EngineOptions.path is empty");
  // On a full disk RocksDB aborts inside Open (an assertion), so refuse first, with the reason.
  RETURN_IF_ERROR(CheckSpaceToOpen(options));
  static const bool crc32c_replaced = [] {
    const bool ours = RocksCrc32cIsOurs();
    if (!ours) {
      LOG(WARNING) << "RocksDB computes CRC-32C in software here: its crc32c::Extend was not "
                      "replaced by ringkv's (storage/rocks_crc32c.h); large values cost more CPU";
    }
    return ours;
  }();
  (void)crc32c_replaced;
  std::unique_ptr<RocksEngine> engine(new RocksEngine());
  engine->env_ = options.env != nullptr ? options.env : rocksdb::Env::Default();
  const std::string db_dir = options.path + "/db";
  engine->staging_dir_ = options.path + "/snapshots";
  engine->buffer_unsynced_writes_ = options.test_buffer_unsynced_writes;
  if (options.create_if_missing) {
    RETURN_IF_ERROR(FromRocks(engine->env_->CreateDirIfMissing(options.path)));
  }

  auto cache = rocksdb::NewLRUCache(options.block_cache_size);
  rocksdb::DBOptions db_options = MakeDbOptions(options, engine->env_);
  db_options.listeners.push_back(std::make_shared<DataFlushListener>(engine->durable_seq_));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kNumCfs; ++i) {
    rocksdb::ColumnFamilyOptions cf = MakeCfOptions(static_cast<Cf>(i), options, cache);
    engine->cf_options_[i] = std::make_unique<rocksdb::Options>(db_options, cf);
    descriptors.emplace_back(kCfNames[i], cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, db_dir, descriptors, &handles, &db)));
  engine->db_.reset(db);
  // handles[0] is the unused default CF.
  RETURN_IF_ERROR(FromRocks(db->DestroyColumnFamilyHandle(handles[0])));
  for (int i = 0; i < kNumCfs; ++i) engine->handles_[i] = handles[i + 1];
  RETURN_IF_ERROR(FromRocks(engine->env_->CreateDirIfMissing(engine->staging_dir_)));
  // Everything recovered is durable: the tables, and the WAL that replayed the rest.
  DataFlushListener::RaiseTo(*engine->durable_seq_, db->GetLatestSequenceNumber());
  LOG(INFO) << "storage engine opened at " << options.path;
  return engine;
}

RocksEngine::~RocksEngine() {
  if (!db_) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    if (h != nullptr) {
      // Destroying a handle only fails for the default CF, which is never held here.
      FromRocks(db_->DestroyColumnFamilyHandle(h)).IgnoreError();
    }
  }
  Status s = FromRocks(db_->Close());
  if (!s.ok()) LOG(WARNING) << "closing storage engine: " << s;
}

Status RocksEngine::Write(const WriteBatch& batch, bool sync) {
  return WriteAll({&batch}, sync);
}

Status RocksEngine::WriteAll(const std::vector<const WriteBatch*>& batches, bool sync) {
  rocksdb::WriteOptions wo;
  if (buffer_unsynced_writes_) {
    // The WAL buffer stays in the process until a synced write flushes and fsyncs it.
    RETURN_IF_ERROR(WriteBatches(batches, wo));
    return sync ? FromRocks(db_->FlushWAL(/*sync=*/true)) : Status::OK();
  }
  wo.sync = sync;
  return WriteBatches(batches, wo);
}

Result<uint64_t> RocksEngine::WriteUnlogged(const std::vector<const WriteBatch*>& batches) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> ticket, WriteUnloggedWith(batches, /*no_wait=*/false));
  return *ticket;
}

Result<std::optional<uint64_t>> RocksEngine::TryWriteUnlogged(
    const std::vector<const WriteBatch*>& batches) {
  return WriteUnloggedWith(batches, /*no_wait=*/true);
}

Result<std::optional<uint64_t>> RocksEngine::WriteUnloggedWith(
    const std::vector<const WriteBatch*>& batches, bool no_wait) {
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (op.cf != Cf::kData) return Status::InvalidArgument("an unlogged write outside the data CF");
    }
  }
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  // A write that would be delayed or stopped fails at once with Incomplete, before any of it
  // is inserted (RocksDB's WriteOptions::no_slowdown).
  wo.no_slowdown = no_wait;
  rocksdb::Status rs;
  Status s = WriteBatches(batches, wo, &rs);
  if (no_wait && rs.IsIncomplete()) return std::optional<uint64_t>();
  RETURN_IF_ERROR(s);
  // An upper bound of the write's last sequence number (a concurrent write may have followed
  // it): the ticket is then durable a little later than it could be, never earlier.
  return std::optional<uint64_t>(db_->GetLatestSequenceNumber());
}

uint64_t RocksEngine::DurableTicket() const { return durable_seq_->load(); }

Status RocksEngine::FlushUnlogged(bool wait) {
  rocksdb::ColumnFamilyHandle* data = cf_handle(Cf::kData);
  const uint64_t before = db_->GetLatestSequenceNumber();
  if (!wait) {
    if (requested_seq_.load() > durable_seq_->load()) return Status::OK();  // one is running
    uint64_t active = 0;
    uint64_t immutable = 0;
    if (db_->GetIntProperty(data, rocksdb::DB::Properties::kNumEntriesActiveMemTable, &active) &&
        db_->GetIntProperty(data, rocksdb::DB::Properties::kNumImmutableMemTable, &immutable) &&
        active == 0 && immutable == 0) {
      // Nothing to flush: every write up to `before` is in table files already.
      DataFlushListener::RaiseTo(*durable_seq_, before);
      return Status::OK();
    }
    requested_seq_.store(before);
  }
  rocksdb::FlushOptions fo;
  fo.wait = wait;
  fo.allow_write_stall = true;
  RETURN_IF_ERROR(FromRocks(db_->Flush(fo, data), "flushing the data column family"));
  // Flush with wait returns once every write before the call is in table files (the listener
  // may run a moment later).
  if (wait) DataFlushListener::RaiseTo(*durable_seq_, before);
  return Status::OK();
}

Status RocksEngine::WriteBatches(const std::vector<const WriteBatch*>& batches,
                                 const rocksdb::WriteOptions& wo, rocksdb::Status* rocks_status) {
  size_t bytes = 64;
  for (const WriteBatch* b : batches) bytes += b->ByteSize();
  rocksdb::WriteBatch wb(bytes);
  const std::vector<bool> overwritten = OverwrittenOps(batches);  // never inserted: saves time
  size_t i = 0;
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (overwritten[i++]) continue;
      rocksdb::ColumnFamilyHandle* h = cf_handle(op.cf);
      rocksdb::Status s;
      switch (op.type) {
        case WriteBatch::OpType::kPut:
          s = wb.Put(h, op.key, op.value);
          break;
        case WriteBatch::OpType::kDelete:
          s = wb.Delete(h, op.key);
          break;
        case WriteBatch::OpType::kDeleteRange:
          s = wb.DeleteRange(h, op.key, op.value);
          break;
      }
      RETURN_IF_ERROR(FromRocks(s));
    }
  }
  rocksdb::Status written = db_->Write(wo, &wb);
  if (rocks_status != nullptr) *rocks_status = written;
  return FromRocks(written);
}

uint64_t RocksEngine::ApproximateBytes(Cf cf, const KeyRange& range) const {
  rocksdb::SizeApproximationOptions o;
  o.include_memtables = true;
  o.include_files = true;
  rocksdb::Range r(ToSlice(range.begin), ToSlice(range.end));
  uint64_t size = 0;
  if (!db_->GetApproximateSizes(o, cf_handle(cf), &r, 1, &size).ok()) return 0;
  return size;
}

Status RocksEngine::Resume() { return FromRocks(db_->Resume()); }

Result<std::optional<std::string>> RocksEngine::Get(Cf cf, std::string_view key,
                                                    const ReadSnapshot* snapshot) const {
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.snapshot = RepOf(snapshot);
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->Get(ro, cf_handle(cf), ToSlice(key), &stored);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s));
  ASSIGN_OR_RETURN(std::string_view payload,
                   DecodeRecord(key, std::string_view(stored.data(), stored.size())));
  return std::optional<std::string>(std::string(payload));
}

std::unique_ptr<Iterator> RocksEngine::NewIterator(Cf cf, KeyRange range,
                                                   const ReadSnapshot* snapshot) const {
  return std::make_unique<Iterator>(
      std::make_unique<RocksCursor>(db_.get(), cf_handle(cf), std::move(range), RepOf(snapshot)));
}

std::unique_ptr<ReadSnapshot> RocksEngine::GetSnapshot() const {
  return std::make_unique<RocksSnapshot>(db_.get(), db_->GetSnapshot());
}

// ---- Staging area: SST files under staging_dir_, through env_ so fault-injecting file
// systems see these operations too ----

Result<std::unique_ptr<StagedFile>> RocksEngine::CreateStagedFile(Cf cf, const std::string& name) {
  const rocksdb::Options& options = *cf_options_[static_cast<int>(cf)];
  auto writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(options), options,
                                                         cf_handle(cf));
  const std::string path = StagedPath(name);
  RETURN_IF_ERROR(FromRocks(writer->Open(path), "open sst " + path));
  return std::unique_ptr<StagedFile>(std::make_unique<RocksStagedFile>(std::move(writer)));
}

Result<bool> RocksEngine::StagedFileExists(const std::string& name) const {
  const std::string path = StagedPath(name);
  rocksdb::Status s = env_->FileExists(path);
  if (s.ok()) return true;
  if (s.IsNotFound()) return false;
  return FromRocks(s, "stat " + path);
}

Status RocksEngine::IngestStagedFile(Cf cf, const std::string& name) {
  rocksdb::IngestExternalFileOptions io;
  io.move_files = false;  // copy: the staged file survives until the install is recorded
  io.snapshot_consistency = true;
  io.allow_global_seqno = true;
  io.allow_blocking_flush = true;
  return FromRocks(db_->IngestExternalFile(cf_handle(cf), {StagedPath(name)}, io));
}

Status RocksEngine::RemoveStagedFile(const std::string& name) {
  const std::string path = StagedPath(name);
  rocksdb::Status s = env_->DeleteFile(path);
  // The default Env reports a missing file as an IOError with subcode PathNotFound.
  if (s.IsNotFound() || s.IsPathNotFound()) return Status::OK();
  return FromRocks(s, "remove " + path);
}

Result<std::vector<std::string>> RocksEngine::ListStagedFiles() const {
  std::vector<std::string> names;
  RETURN_IF_ERROR(FromRocks(env_->GetChildren(staging_dir_, &names), "list " + staging_dir_));
  std::vector<std::string> files;
  for (std::string& n : names) {
    if (n != "." && n != "..") files.push_back(std::move(n));
  }
  return files;
}

Status RocksEngine::SyncStagingArea() {
  const std::shared_ptr<rocksdb::FileSystem>& fs = env_->GetFileSystem();
  std::unique_ptr<rocksdb::FSDirectory> d;
  rocksdb::IOStatus s = fs->NewDirectory(staging_dir_, rocksdb::IOOptions(), &d, nullptr);
  if (!s.ok()) return FromRocks(s, "open dir " + staging_dir_);
  // The directory is closed by its destructor (Close is optional for FSDirectory).
  return FromRocks(d->Fsync(rocksdb::IOOptions(), nullptr), "fsync dir " + staging_dir_);
}

rocksdb::ColumnFamilyHandle* RocksEngine::cf_handle(Cf cf) const {
  return handles_[static_cast<int>(cf)];
}

uint64_t RocksEngine::SstBytes() const {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &v)) total += v;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kTotalBlobFileSize, &v)) total += v;
  }
  return total;
}

Status RocksEngine::CompactAll(std::atomic<bool>* canceled) {
  rocksdb::CompactRangeOptions o;
  o.canceled = canceled;
  // Not exclusive: background compactions and flushes go on (writes never stall on this).
  o.exclusive_manual_compaction = false;
  // Rewrite the bottommost level too, or tombstones that reached it would stay; "optimized"
  // skips bottommost files written by this very compaction.
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  // And rewrite every blob file (not only the oldest quarter), dropping overwritten and
  // deleted values stored there.
  o.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
  o.blob_garbage_collection_age_cutoff = 1.0;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(o, h, nullptr, nullptr)));
  }
  return Status::OK();
}

Status RocksEngine::FlushForTesting() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    RETURN_IF_ERROR(FromRocks(db_->Flush(fo, h)));
  }
  return Status::OK();
}

}  // namespace ringkv::storage
