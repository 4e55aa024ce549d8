#include "storage/engine.h"

#include <glog/logging.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <vector>

#include "common/status_macros.h"
#include "storage/open_space.h"
#include "storage/record.h"

namespace ringkv::storage {
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

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Tuning for a write-heavy Raft workload on a small machine:
// - WAL always on; sync per batch is the caller's choice (store/ syncs once per loop turn).
// - kPointInTimeRecovery: after a crash, recover the longest consistent prefix of the WAL
//   (a torn tail from unsynced writes is dropped, never a synced batch).
// - Two background jobs (the target machines have two cores).
// - max_total_wal_size bounds the WAL: the meta CF is written rarely and would otherwise pin old
//   WAL files forever.
// - raft CF: moderate memtables, no compression (entries are short-lived; most die in memtables
//   or L0 after log compaction). data CF: LZ4 and bloom filters for point reads.
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

rocksdb::ColumnFamilyOptions MakeCfOptions(Cf cf, const EngineOptions& o,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions c;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
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
      break;
    case Cf::kMeta:
      c.write_buffer_size = 4 << 20;
      break;
  }
  c.level_compaction_dynamic_level_bytes = true;
  c.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return c;
}

}  // namespace

// ---- ReadSnapshot ----

ReadSnapshot::~ReadSnapshot() { db_->ReleaseSnapshot(snap_); }

// ---- Iterator ----

struct Iterator::Bounds {
  rocksdb::Slice lower;
  rocksdb::Slice upper;
};

Iterator::Iterator(std::unique_ptr<rocksdb::Iterator> it, KeyRange range)
    : range_(std::move(range)), it_(std::move(it)) {}

Iterator::~Iterator() = default;

void Iterator::Settle() {
  payload_ = {};
  valid_ = false;
  if (!it_->Valid()) {
    status_ = FromRocks(it_->status());
    return;
  }
  Result<std::string_view> payload = DecodeRecord(key(), raw_value());
  if (!payload.ok()) {
    status_ = payload.status();
    return;
  }
  payload_ = *payload;
  valid_ = true;
}

void Iterator::SeekToFirst() {
  it_->SeekToFirst();
  Settle();
}
void Iterator::SeekToLast() {
  it_->SeekToLast();
  Settle();
}
void Iterator::Seek(std::string_view key) {
  it_->Seek(ToSlice(key));
  Settle();
}
void Iterator::Next() {
  it_->Next();
  Settle();
}
void Iterator::Prev() {
  it_->Prev();
  Settle();
}

std::string_view Iterator::key() const {
  rocksdb::Slice k = it_->key();
  return {k.data(), k.size()};
}

std::string_view Iterator::raw_value() const {
  rocksdb::Slice v = it_->value();
  return {v.data(), v.size()};
}

// ---- Engine ----

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("EngineOptions.path is empty");
  // On a full disk RocksDB aborts inside Open (an assertion), so refuse first, with the reason.
  RETURN_IF_ERROR(CheckSpaceToOpen(options));
  std::unique_ptr<Engine> engine(new Engine());
  engine->env_ = options.env != nullptr ? options.env : rocksdb::Env::Default();
  const std::string db_dir = options.path + "/db";
  engine->staging_dir_ = options.path + "/snapshots";
  engine->buffer_unsynced_writes_ = options.test_buffer_unsynced_writes;
  if (options.create_if_missing) {
    RETURN_IF_ERROR(FromRocks(engine->env_->CreateDirIfMissing(options.path)));
  }

  auto cache = rocksdb::NewLRUCache(options.block_cache_size);
  rocksdb::DBOptions db_options = MakeDbOptions(options, engine->env_);
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
  LOG(INFO) << "storage engine opened at " << options.path;
  return engine;
}

Engine::~Engine() {
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

Status Engine::Write(const WriteBatch& batch, bool sync) {
  rocksdb::WriteBatch wb(batch.ByteSize() + 64);
  for (const WriteBatch::Op& op : batch.ops()) {
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
  rocksdb::WriteOptions wo;
  if (buffer_unsynced_writes_) {
    // The WAL buffer stays in the process until a synced write flushes and fsyncs it.
    RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb)));
    return sync ? FromRocks(db_->FlushWAL(/*sync=*/true)) : Status::OK();
  }
  wo.sync = sync;
  return FromRocks(db_->Write(wo, &wb));
}

uint64_t Engine::ApproximateBytes(Cf cf, const KeyRange& range) const {
  rocksdb::SizeApproximationOptions o;
  o.include_memtables = true;
  o.include_files = true;
  rocksdb::Range r(ToSlice(range.begin), ToSlice(range.end));
  uint64_t size = 0;
  if (!db_->GetApproximateSizes(o, cf_handle(cf), &r, 1, &size).ok()) return 0;
  return size;
}

Status Engine::Resume() { return FromRocks(db_->Resume()); }

Result<std::optional<std::string>> Engine::Get(Cf cf, std::string_view key,
                                               const ReadSnapshot* snapshot) const {
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  if (snapshot != nullptr) ro.snapshot = snapshot->rep();
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->Get(ro, cf_handle(cf), ToSlice(key), &stored);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s));
  ASSIGN_OR_RETURN(std::string_view payload,
                   DecodeRecord(key, std::string_view(stored.data(), stored.size())));
  return std::optional<std::string>(std::string(payload));
}

std::unique_ptr<Iterator> Engine::NewIterator(Cf cf, KeyRange range,
                                              const ReadSnapshot* snapshot) const {
  // Build the Iterator first so the bound slices point at bytes it owns.
  std::unique_ptr<Iterator> it(new Iterator(nullptr, std::move(range)));
  it->bounds_ = std::make_unique<Iterator::Bounds>();
  it->bounds_->lower = ToSlice(it->range_.begin);
  it->bounds_->upper = ToSlice(it->range_.end);
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.iterate_lower_bound = &it->bounds_->lower;
  ro.iterate_upper_bound = &it->bounds_->upper;
  if (snapshot != nullptr) ro.snapshot = snapshot->rep();
  it->it_.reset(db_->NewIterator(ro, cf_handle(cf)));
  return it;
}

std::unique_ptr<ReadSnapshot> Engine::GetSnapshot() const {
  return std::unique_ptr<ReadSnapshot>(new ReadSnapshot(db_.get(), db_->GetSnapshot()));
}

Status Engine::IngestFile(Cf cf, const std::string& path) {
  rocksdb::IngestExternalFileOptions io;
  io.move_files = false;  // copy: the staged file survives until the install is recorded
  io.snapshot_consistency = true;
  io.allow_global_seqno = true;
  io.allow_blocking_flush = true;
  return FromRocks(db_->IngestExternalFile(cf_handle(cf), {path}, io));
}

const rocksdb::Options& Engine::cf_options(Cf cf) const {
  return *cf_options_[static_cast<int>(cf)];
}

rocksdb::ColumnFamilyHandle* Engine::cf_handle(Cf cf) const {
  return handles_[static_cast<int>(cf)];
}

uint64_t Engine::SstBytes() const {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &v)) total += v;
  }
  return total;
}

Status Engine::CompactAll(std::atomic<bool>* canceled) {
  rocksdb::CompactRangeOptions o;
  o.canceled = canceled;
  // Not exclusive: background compactions and flushes go on (writes never stall on this).
  o.exclusive_manual_compaction = false;
  // Rewrite the bottommost level too, or tombstones that reached it would stay; "optimized"
  // skips bottommost files written by this very compaction.
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(o, h, nullptr, nullptr)));
  }
  return Status::OK();
}

Status Engine::FlushForTesting() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    RETURN_IF_ERROR(FromRocks(db_->Flush(fo, h)));
  }
  return Status::OK();
}

}  // namespace ringkv::storage
