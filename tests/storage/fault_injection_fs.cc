#include "storage/fault_injection_fs.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringkv::storage::testing {
namespace {

class TestWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TestWritableFile(std::unique_ptr<rocksdb::FSWritableFile> f, FaultInjectionFs* fs,
                   std::string fname)
      : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), fname_(std::move(fname)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (!fs_->active()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = target()->Append(data, o, dbg);
    if (s.ok()) fs_->OnAppend(fname_, data.size());
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (!fs_->active()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = target()->Append(data, o, info, dbg);
    if (s.ok()) fs_->OnAppend(fname_, data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    if (!fs_->active()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = target()->PositionedAppend(data, offset, o, dbg);
    if (s.ok()) fs_->OnAppend(fname_, data.size());
    return s;
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (!fs_->active()) return rocksdb::IOStatus::OK();
    return target()->Flush(o, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (!fs_->active()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = target()->Sync(o, dbg);
    if (s.ok()) fs_->OnSync(fname_);
    return s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (!fs_->active()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = target()->Fsync(o, dbg);
    if (s.ok()) fs_->OnSync(fname_);
    return s;
  }

 private:
  FaultInjectionFs* fs_;
  std::string fname_;
};

}  // namespace

rocksdb::IOStatus FaultInjectionFs::Wrap(const std::string& fname, rocksdb::IOStatus s,
                                         uint64_t initial_size,
                                         std::unique_ptr<rocksdb::FSWritableFile>* result) {
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    FileState& st = files_[fname];
    st = FileState{initial_size, initial_size, !active_};
  }
  *result = std::make_unique<TestWritableFile>(std::move(*result), this, fname);
  return s;
}

rocksdb::IOStatus FaultInjectionFs::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  return Wrap(fname, target()->NewWritableFile(fname, opts, result, dbg), 0, result);
}

rocksdb::IOStatus FaultInjectionFs::ReopenWritableFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  uint64_t size = 0;
  if (!target()->GetFileSize(fname, rocksdb::IOOptions(), &size, dbg).ok()) size = 0;
  return Wrap(fname, target()->ReopenWritableFile(fname, opts, result, dbg), size, result);
}

rocksdb::IOStatus FaultInjectionFs::ReuseWritableFile(
    const std::string& fname, const std::string& old_fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  return Wrap(fname, target()->ReuseWritableFile(fname, old_fname, opts, result, dbg), 0, result);
}

rocksdb::IOStatus FaultInjectionFs::DeleteFile(const std::string& fname,
                                               const rocksdb::IOOptions& options,
                                               rocksdb::IODebugContext* dbg) {
  if (!active()) return rocksdb::IOStatus::OK();
  rocksdb::IOStatus s = target()->DeleteFile(fname, options, dbg);
  std::lock_guard<std::mutex> l(mu_);
  files_.erase(fname);
  return s;
}

rocksdb::IOStatus FaultInjectionFs::RenameFile(const std::string& src, const std::string& dst,
                                               const rocksdb::IOOptions& options,
                                               rocksdb::IODebugContext* dbg) {
  if (!active()) return rocksdb::IOStatus::OK();
  rocksdb::IOStatus s = target()->RenameFile(src, dst, options, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(src);
    if (it != files_.end()) {
      files_[dst] = it->second;
      files_.erase(src);
    } else {
      files_.erase(dst);
    }
  }
  return s;
}

rocksdb::IOStatus FaultInjectionFs::LinkFile(const std::string& src, const std::string& dst,
                                             const rocksdb::IOOptions& options,
                                             rocksdb::IODebugContext* dbg) {
  if (!active()) return rocksdb::IOStatus::OK();
  return target()->LinkFile(src, dst, options, dbg);
}

void FaultInjectionFs::SetActive(bool active) {
  std::lock_guard<std::mutex> l(mu_);
  active_ = active;
}

bool FaultInjectionFs::active() const {
  std::lock_guard<std::mutex> l(mu_);
  return active_;
}

void FaultInjectionFs::OnAppend(const std::string& fname, uint64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  files_[fname].pos += bytes;
}

void FaultInjectionFs::OnSync(const std::string& fname) {
  std::lock_guard<std::mutex> l(mu_);
  FileState& st = files_[fname];
  st.synced = st.pos;
}

Status FaultInjectionFs::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [name, st] : files_) {
    if (st.created_while_inactive) {
      if (unlink(name.c_str()) != 0 && errno != ENOENT) {
        return Status::IOError("unlink " + name + ": " + std::strerror(errno));
      }
    } else if (st.synced < st.pos) {
      if (truncate(name.c_str(), static_cast<off_t>(st.synced)) != 0 && errno != ENOENT) {
        return Status::IOError("truncate " + name + ": " + std::strerror(errno));
      }
    }
  }
  files_.clear();
  return Status::OK();
}

}  // namespace ringkv::storage::testing
