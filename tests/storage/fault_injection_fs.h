// FaultInjectionFs: a rocksdb::FileSystemWrapper that simulates a machine crash by losing every
// write that was not synced (leveldb db/fault_injection_test.cc, rocksdb FaultInjectionTestFS).
//
// Usage: open the engine on rocksdb::NewCompositeEnv(fs); write; then SetActive(false) (the
// "crash": from now on writes, syncs, renames and deletes are silently dropped), destroy the
// engine, DropUnsyncedData() (truncate every written file to its last synced size, delete files
// created after the crash), SetActive(true) and reopen.
//
// Model limits: directory entries are treated as durable once created (no dir-fsync tracking);
// RangeSync is not counted as durability.
//
// Thread-safety: thread-safe (RocksDB calls it from background threads).
#ifndef RINGKV_TESTS_STORAGE_FAULT_INJECTION_FS_H_
#define RINGKV_TESTS_STORAGE_FAULT_INJECTION_FS_H_

#include <rocksdb/file_system.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

namespace ringkv::storage::testing {

class FaultInjectionFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectionFs(const std::shared_ptr<rocksdb::FileSystem>& base)
      : FileSystemWrapper(base) {}
  const char* Name() const override { return "FaultInjectionFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& target,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;

  // False = crashed: mutations are acknowledged but dropped.
  void SetActive(bool active);
  bool active() const;
  // Truncates every tracked file to its synced size and deletes files created while inactive;
  // forgets all tracking. Call with no open engine.
  Status DropUnsyncedData();

  // Called by the file wrappers.
  void OnAppend(const std::string& fname, uint64_t bytes);
  void OnSync(const std::string& fname);

 private:
  struct FileState {
    uint64_t pos = 0;     // bytes appended
    uint64_t synced = 0;  // bytes known durable
    bool created_while_inactive = false;
  };
  rocksdb::IOStatus Wrap(const std::string& fname, rocksdb::IOStatus s, uint64_t initial_size,
                         std::unique_ptr<rocksdb::FSWritableFile>* result);

  mutable std::mutex mu_;
  // State below is protected by mu_.
  bool active_ = true;
  std::map<std::string, FileState> files_;
};

}  // namespace ringkv::storage::testing

#endif  // RINGKV_TESTS_STORAGE_FAULT_INJECTION_FS_H_
