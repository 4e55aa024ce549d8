// RocksEngine: the Engine (engine.h) over the node's one RocksDB, with a column family per Cf
// and snapshot installs staged as SST files under <path>/snapshots and ingested
// (IngestExternalFile). Engine::Open returns one.
//
// Thread-safety: thread-safe (RocksDB is).
#ifndef RINGKV_STORAGE_ROCKS_ENGINE_H_
#define RINGKV_STORAGE_ROCKS_ENGINE_H_

#include <array>
#include <memory>
#include <string>

#include "storage/engine.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
struct Options;
class Status;
struct WriteOptions;
}  // namespace rocksdb

namespace ringkv::storage {

class RocksEngine final : public Engine {
 public:
  // See Engine::Open.
  static Result<std::unique_ptr<RocksEngine>> Open(const EngineOptions& options);
  ~RocksEngine() override;

  Status Write(const WriteBatch& batch, bool sync) override;
  Status WriteAll(const std::vector<const WriteBatch*>& batches, bool sync) override;
  // Tickets are RocksDB sequence numbers: the latest after the write, and the largest a
  // completed flush of the data CF held (an EventListener).
  Result<uint64_t> WriteUnlogged(const std::vector<const WriteBatch*>& batches) override;
  // RocksDB's no_slowdown: a write that would stall returns nullopt (Incomplete) unwritten.
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
  // RocksDB's "total-sst-files-size" over every column family.
  uint64_t SstBytes() const override;
  Status CompactAll(std::atomic<bool>* canceled = nullptr) override;
  Status FlushForTesting() override;

  // Directory of the staged snapshot files; exists after Open.
  const std::string& staging_dir() const { return staging_dir_; }

 private:
  RocksEngine() = default;
  rocksdb::ColumnFamilyHandle* cf_handle(Cf cf) const;
  std::string StagedPath(const std::string& name) const { return staging_dir_ + "/" + name; }

  rocksdb::Env* env_ = nullptr;
  std::string staging_dir_;
  bool buffer_unsynced_writes_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  // Indexed by Cf; owned (destroyed before db_ closes).
  std::array<rocksdb::ColumnFamilyHandle*, kNumCfs> handles_{};
  std::array<std::unique_ptr<rocksdb::Options>, kNumCfs> cf_options_;
  // The newest sequence number a completed flush of the data CF made durable (set by the
  // flush listener, on RocksDB's flush thread), and the one the last flush request waits for.
  std::shared_ptr<std::atomic<uint64_t>> durable_seq_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::atomic<uint64_t> requested_seq_{0};
  // Converts `batches` into one RocksDB write and writes it with `wo`.
  // `rocks_status`, when given, receives RocksDB's own status of the write.
  Status WriteBatches(const std::vector<const WriteBatch*>& batches, const rocksdb::WriteOptions& wo,
                      rocksdb::Status* rocks_status = nullptr);
  Result<std::optional<uint64_t>> WriteUnloggedWith(const std::vector<const WriteBatch*>& batches,
                                                    bool no_wait);
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_ROCKS_ENGINE_H_
