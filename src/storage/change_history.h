// ChangeHistory: the bounded record of a group's changes that watches are served from. Every
// change an applied entry makes (a put or delete of one key; a transaction or a lease revoke may
// make several) is stored in the data CF under [group][0x05][index][seq], written in the same
// batch as the change itself, so the history and the data never disagree after a crash.
//
// Bounds: at most `max_entries` indexes and `max_bytes` of events; the oldest indexes go first.
// The rule depends only on the history's contents, which are the same on every replica (a
// snapshot carries the history with the data), so replicas compact identically. HistoryState
// records the first index still held: a watch from an older version gets COMPACTED.
//
// In-memory bookkeeping (what is held, per index) changes at call time, like KvState: write each
// batch before reading back what it contains; Load() again after a snapshot install.
//
// Thread-safety: not thread-safe; owned by the group's replica (store loop thread).
#ifndef RINGKV_STORAGE_CHANGE_HISTORY_H_
#define RINGKV_STORAGE_CHANGE_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/status.h"
#include "proto/kv.pb.h"
#include "storage/engine.h"
#include "storage/write_batch.h"

namespace ringkv::storage {

struct ChangeHistoryOptions {
  // Most indexes (entries that changed something) kept. Default: 10,000.
  size_t max_entries = 10000;
  // Most bytes of stored events kept. Default: 64 MiB.
  size_t max_bytes = size_t{64} << 20;
};

// The changes one entry made, in the order it made them.
struct IndexedChanges {
  Index index;
  std::vector<kvpb::WatchEvent> events;
};

class ChangeHistory {
 public:
  // `engine` is not owned and must outlive this.
  ChangeHistory(Engine* engine, GroupId group, ChangeHistoryOptions options = {});

  // Reads the history's state and sizes. `applied` is the group's applied index: a group with
  // no history state yet (created before histories existed) starts its history after it.
  // Corruption on bad records.
  Status Load(Index applied);

  // The oldest index whose changes are all held; every change at or after it, up to the
  // applied index, is in the history.
  Index first_index() const { return first_index_; }
  // Whether the history state is stored (false for a group whose history starts at this Load:
  // PersistState then records where, so every later Load agrees).
  bool state_persisted() const { return state_persisted_; }
  void PersistState(WriteBatch* batch);
  // A brand-new group: its history is complete from index 1 (written with its bootstrap state).
  void StartEmpty(WriteBatch* batch);

  // Records `changes` (REQUIRES: index above every recorded one, events non-empty), then drops
  // the oldest indexes while a bound is exceeded.
  void Append(WriteBatch* batch, const IndexedChanges& changes);

  // Changes with from <= index <= to, in order, whole indexes only, stopping once at least
  // `max_events` events were collected. Reads at `snapshot` when given.
  Result<std::vector<IndexedChanges>> Read(Index from, Index to, size_t max_events,
                                           const ReadSnapshot* snapshot = nullptr) const;

  size_t entries() const { return held_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Held {
    Index index;
    uint32_t events;
    size_t bytes;
  };
  void DropOldest(WriteBatch* batch);

  Engine* const engine_;
  const GroupId group_;
  const ChangeHistoryOptions options_;
  Index first_index_{0};
  bool state_persisted_ = false;
  std::deque<Held> held_;  // every index held, oldest first
  size_t bytes_ = 0;       // sum of held_[*].bytes
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_CHANGE_HISTORY_H_
