// BackupCursors: the open read cursors of `kvctl backup save` on this node
// (kvpb.BackupReadRequest). A cursor is one shard's state at one applied index: it is opened on
// the shard's leader after a linearizable read barrier (the replica's ReadIndex round: the
// leader confirmed its leadership with a quorum and has applied at least the read index) by
// pinning a RocksDB snapshot of the node's storage. Pages are read from that snapshot, so the
// keys of every page belong to the same applied index, whatever is written meanwhile and
// whatever becomes of the replica (leadership lost, replica moved away).
//
// Bounds: at most Options::max_cursors open (more get BUSY); a cursor unused for
// Options::idle_timeout is released (a swept RocksDB snapshot no longer pins old versions).
//
// Thread-safety: store loop thread only (constructed and destroyed by the store).
#ifndef RINGKV_STORE_BACKUP_CURSORS_H_
#define RINGKV_STORE_BACKUP_CURSORS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "replica/replica.h"
#include "storage/engine.h"
#include "storage/kv_state.h"
#include "store/node_env.h"

namespace ringkv::store {

class BackupCursors {
 public:
  struct Options {
    // Open cursors per node; a backup reads one shard at a time. Default: 16.
    size_t max_cursors = 16;
    // A cursor no request used this long is released. Default: 60 s.
    std::chrono::milliseconds idle_timeout{60000};
    // Page size when the request names none, and the most a request may ask for (a client
    // frame holds 4 MiB). Defaults: 1 MiB, 2 MiB.
    size_t default_page_bytes = size_t{1} << 20;
    size_t max_page_bytes = size_t{2} << 20;
  };
  using Reply = std::function<void(kvpb::Response)>;

  // `engine` and `env` are not owned and must outlive this; `env` is the store's (its clock,
  // and the sweep timer on its loop).
  BackupCursors(storage::Engine* engine, NodeEnv& env, Options options);
  BackupCursors(storage::Engine* engine, NodeEnv& env) : BackupCursors(engine, env, Options{}) {}
  ~BackupCursors();

  // Serves `req` (req.backup_read(), req.group_id() set). `r` is this node's replica of the
  // group, null when it has none: a new cursor needs it (and gets WRONG_SHARD without it),
  // pages of an open cursor do not. `reply` runs exactly once, on the loop thread.
  void Handle(const kvpb::Request& req, replica::Replica* r, replica::Clock::time_point deadline,
              Reply reply);

  size_t open_cursors() const { return cursors_.size(); }

 private:
  struct Cursor {
    GroupId group;
    std::unique_ptr<storage::ReadSnapshot> snapshot;
    storage::ApplyState applied;
    replica::Clock::time_point last_used;
  };

  // After the read barrier passed: pins the snapshot and serves the first page.
  void OpenAndServe(GroupId group, const kvpb::BackupReadRequest& req, Reply reply);
  void ServePage(uint64_t id, const kvpb::BackupReadRequest& req, Reply reply);
  void ScheduleSweep();
  void Sweep();

  storage::Engine* const engine_;
  const Options options_;
  const Clock& clock_;
  std::unique_ptr<LoopTimer> sweep_timer_;
  bool sweep_scheduled_ = false;
  std::map<uint64_t, Cursor> cursors_;
  // Cursor ids start at a random value, so an id from before a restart names nothing.
  uint64_t next_id_;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_BACKUP_CURSORS_H_
