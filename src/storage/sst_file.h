// SstFileBuilder: writes a sorted run of (key, stored value) pairs into an SST file that
// Engine::IngestFile can add to a column family. Used by the snapshot receiver; together with
// engine.cc the only RocksDB user in storage/.
//
// Thread-safety: not thread-safe.
#ifndef RINGKV_STORAGE_SST_FILE_H_
#define RINGKV_STORAGE_SST_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "storage/engine.h"

namespace rocksdb {
class SstFileWriter;
}  // namespace rocksdb

namespace ringkv::storage {

class SstFileBuilder {
 public:
  // Creates (truncating) the file at `path` for later ingestion into `cf` of `engine`.
  static Result<std::unique_ptr<SstFileBuilder>> Create(const Engine& engine, Cf cf,
                                                        const std::string& path);
  ~SstFileBuilder();

  // Adds a pair; `stored_value` is written verbatim (it already carries its crc envelope).
  // REQUIRES: keys strictly increasing. InvalidArgument otherwise.
  Status Add(std::string_view key, std::string_view stored_value);
  // Completes and syncs the file. REQUIRES: at least one Add.
  Status Finish();
  uint64_t count() const { return count_; }

 private:
  explicit SstFileBuilder(std::unique_ptr<rocksdb::SstFileWriter> writer);
  std::unique_ptr<rocksdb::SstFileWriter> writer_;
  uint64_t count_ = 0;
};

// Removes the file at `path` (OK if absent), and lists the files in `dir`, via the engine's Env
// so fault-injecting file systems see these operations too.
Status RemoveFile(const Engine& engine, const std::string& path);
Result<bool> FileExists(const Engine& engine, const std::string& path);
Result<std::vector<std::string>> ListDir(const Engine& engine, const std::string& dir);
// Fsyncs directory `dir`, making file creations in it durable.
Status SyncDir(const Engine& engine, const std::string& dir);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_SST_FILE_H_
