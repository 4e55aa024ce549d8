// SegmentDeleter: LogKv's deletion of dead segment files off the write path. Unlinking a
// 64 MiB file costs ~25 ms on ext4 (freeing its extents), and an fdatasync of the active segment
// waits for it (same journal): so, in the order queued, on one thread, each file is renamed to
// <name>.dead (recovery deletes such files: the segment is gone for it) and the directory
// fsynced, then truncated 8 MiB at a time with 5 ms pauses (RocksDB's DeleteScheduler
// bytes_max_delete_chunk) and unlinked. The segment files left on disk stay a suffix of the
// segments (log_kv.h), whenever a crash comes. After a failure nothing more is deleted and
// status() reports it.
//
// Thread-safety: thread-safe.
#ifndef RINGKV_STORAGE_LOG_KV_DELETER_H_
#define RINGKV_STORAGE_LOG_KV_DELETER_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "common/thread_annotations.h"

namespace ringkv::storage {

class SegmentDeleter {
 public:
  // `dir`: the directory fsynced after each unlink.
  explicit SegmentDeleter(std::string dir);
  // Finishes the queued deletions, then joins the thread.
  ~SegmentDeleter();
  SegmentDeleter(const SegmentDeleter&) = delete;
  SegmentDeleter& operator=(const SegmentDeleter&) = delete;

  // Queues `path` for deletion (a missing file is fine). REQUIRES: everything that makes its
  // records dead is durable.
  void Delete(std::string path);
  // OK, or the first failure (IOError); once failed, queued and later paths stay on disk.
  Status status() const;
  // Waits until every queued path is deleted (or the deleter has failed).
  void Drain();

 private:
  void Run();
  // Renames, fsyncs the directory, truncates by chunks and unlinks `path`.
  Status DeleteOne(const std::string& path);

  const std::string dir_;
  mutable std::mutex mu_;
  // State below is protected by mu_.
  std::condition_variable cv_;  // signalled when queue_ grows, stop_ is set, or queue_ drains
  std::deque<std::string> queue_ GUARDED_BY(mu_);  // paths to unlink, in order
  bool busy_ GUARDED_BY(mu_) = false;              // Run is deleting the front of queue_
  bool stop_ GUARDED_BY(mu_) = false;              // set by the destructor
  Status status_ GUARDED_BY(mu_);
  std::thread thread_;  // runs Run; started by the constructor
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_LOG_KV_DELETER_H_
