#include "storage/log_kv_deleter.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "storage/log_kv_format.h"

namespace ringkv::storage {

SegmentDeleter::SegmentDeleter(std::string dir)
    : dir_(std::move(dir)), thread_([this] { Run(); }) {}

SegmentDeleter::~SegmentDeleter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SegmentDeleter::Delete(std::string path) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(path));
  }
  cv_.notify_all();
}

Status SegmentDeleter::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void SegmentDeleter::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return (queue_.empty() && !busy_) || !status_.ok(); });
}

void SegmentDeleter::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || (!queue_.empty() && status_.ok()); });
    // The destructor waits for the queue: a graceful close leaves no dead segment behind.
    if (queue_.empty() || !status_.ok()) {
      if (stop_) return;
      continue;
    }
    const std::string path = queue_.front();
    busy_ = true;
    lock.unlock();
    Status s = DeleteOne(path);
    if (!s.ok()) LOG(ERROR) << "raft log: " << s << "; no more old segments are deleted";
    VLOG_IF(1, s.ok()) << "raft log: deleted " << path;
    lock.lock();
    busy_ = false;
    if (s.ok()) {
      queue_.pop_front();
    } else {
      status_ = Status::IOError(s.message());
    }
    cv_.notify_all();
  }
}

Status SegmentDeleter::DeleteOne(const std::string& path) {
  using log_kv_format::ErrnoStatus;
  const std::string dead = path + ".dead";
  if (::rename(path.c_str(), dead.c_str()) != 0) {
    return errno == ENOENT ? Status::OK() : ErrnoStatus("rename", path, errno);
  }
  Status s = log_kv_format::SyncDir(dir_);
  if (!s.ok()) return s;
  // From here on a failure is harmless (the next Open deletes the .dead file), but still
  // reported: a LogKv whose disk fails that way should stop.
  const int fd = ::open(dead.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", dead, errno);
  struct stat st;
  off_t size = ::fstat(fd, &st) == 0 ? st.st_size : 0;
  constexpr off_t kChunk = 8 << 20;
  while (size > kChunk) {
    size -= kChunk;
    if (::ftruncate(fd, size) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // rate limit, not synchronization
  }
  ::close(fd);
  if (::unlink(dead.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink", dead, errno);
  return Status::OK();
}

}  // namespace ringkv::storage
