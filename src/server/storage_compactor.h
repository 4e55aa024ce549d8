// StorageCompactor: `kvctl compact`'s storage half (kvpb.AdminRequest.compact_storage) — a
// RocksDB CompactRange of every column family (storage::Engine::CompactAll), run on its own
// thread so neither the store loop nor the client port waits for it. Requests that arrive while
// one runs wait for that one (a second compaction right after would find nothing to do).
//
// Thread-safety: Compact is safe from any thread; callbacks run on the compactor's thread.
#ifndef RINGKV_SERVER_STORAGE_COMPACTOR_H_
#define RINGKV_SERVER_STORAGE_COMPACTOR_H_

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "proto/kv.pb.h"
#include "storage/engine.h"

namespace ringkv::server {

class StorageCompactor {
 public:
  // An answer: the admin response (message, SST bytes before and after, duration) or why it
  // failed.
  using Done = std::function<void(Status, kvpb::AdminResponse)>;

  // `engine` is not owned and must outlive this. `node` names the node in messages.
  StorageCompactor(storage::Engine* engine, uint64_t node);
  // Cancels a running compaction (RocksDB stops it soon) and joins; waiting callers get an
  // error. No callback runs after it returns.
  ~StorageCompactor();

  // Starts a compaction, or joins the one running; `done` runs once when it ends.
  void Compact(Done done);

 private:
  void Run();

  storage::Engine* const engine_;
  const uint64_t node_;
  std::atomic<bool> canceled_{false};
  std::mutex mu_;
  // State below is protected by mu_.
  std::vector<Done> waiters_;  // callers of the running compaction
  bool running_ = false;
  std::thread thread_;  // the last compaction's thread (joined before the next starts)
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_STORAGE_COMPACTOR_H_
