// LogKv: the node's Raft log (the raft CF of keys.h: hard states, truncated states, conf states,
// replica ids, log entries) outside RocksDB. An ordered map in memory (key -> stored value,
// verbatim: values carry their own crc envelope, record.h) made durable by append-only segment
// files, in the spirit of etcd's WAL + MemoryStorage and TiKV's raft-engine ("purge + rewrite").
// No memtable flush, no compaction, no tombstones: a write is one append (and an fdatasync when
// synced) plus a map update, and no write ever does work proportional to the whole map. The
// map (LogKvIndex, log_kv_index.h) keeps each group's log entries in a ring indexed by Raft
// index, so an append, a compaction or a truncation costs O(1) per entry whatever the number
// of groups; it holds any other key too, in order (it is a generic ordered KV).
//
// On disk, under LogKvOptions::dir:
//   <16 lower-case hex digits seq>.log   segments, seq increasing; the newest is appended to
//   <seq>.log.tmp                        a segment being created (deleted at Open)
//   <seq>.log.dead                       a segment being deleted (deleted at Open)
//   LOCK                                 flock()ed while open, so two processes never share it
//
// Record format (all integers big-endian; the same framing for every record):
//   [u32 crc32c of everything after it][u32 payload length][u8 type][payload]
//   type 1, header (first record of every segment):
//       payload = "RKVLOGKV" [u32 version = 2][u64 seq of the file][u8 flags = 0]
//   type 2, batch (one atomic Write, or the live records rewritten out of an old segment):
//       payload = ops, each [u8 op][varint32 key length][key] then, for put and delete-range,
//       [varint32 value length][value]; op 0 = put (value = stored value), 1 = delete,
//       2 = delete range (key = begin, value = end)
// Version 1 (read, never written): flags bit 0 marks a checkpoint segment, which holds the
// whole map as batch records closed by a type 3 record (checkpoint end, empty payload);
// recovery of a directory with one starts at the newest checkpoint and deletes older segments.
//
// Recovery replays every segment in seq order, rebuilding the map and, per key, the seq of the
// segment holding its latest write, hence per segment its live records (keys whose latest write
// it holds). A bad record at the end of the LAST segment is a torn tail of writes not yet
// synced: the file is truncated there (LOG(WARNING)). Zeros from there to the end are the
// active segment's preallocated space (LogKvOptions::preallocate_bytes), truncated the same
// way without a warning; a segment is truncated to its last record before the next one is
// created, so only the last one can end in zeros (and a binary without preallocation reads
// the directory, seeing a torn tail). Any other bad record or header is Corruption naming the
// file and offset: synced data is never dropped.
//
// Segments (log_kv_segments.cc). A Write first does bounded maintenance, under the writer mutex:
//  - Rotation: when the active segment exceeds segment_bytes, it is synced (so only the last
//    segment can ever have a torn tail) and a new segment is created (temp file, header,
//    fdatasync, rename, directory fsync).
//  - Deletion: the OLDEST segment, once it holds no live record, is deleted after an fdatasync
//    of the active segment: renamed to .dead, the directory fsynced, then truncated and
//    unlinked, by a background thread in queue order (log_kv_deleter.h: an unlink of 64 MiB
//    stalls an fdatasync for ~25 ms). Only the oldest is ever
//    deleted, so the segments on disk are always a suffix of all those ever written.
//  - Purge: while the segment files exceed 2 x segment_bytes + 2 x the live bytes, the oldest
//    segment is scanned from where the last step stopped, at most max(1 MiB, 2 x the write)
//    per Write, and the keys whose latest write is in it are appended, with their current
//    values, as one ordinary batch record to the active segment (their seq becomes the active
//    one). When the scan reaches its end nothing live is left in it and it is deleted as above.
// Why replaying the remaining suffix gives the exact map: for a key whose latest write is a put,
// that put (or its rewrite, which carries the same value) is in a segment still on disk, after
// every older write of the key, so replay ends with it. For a key whose latest write is a delete
// or delete range, replay ends without it: a put of it in a deleted segment is not replayed,
// and a put in a remaining segment comes before the delete, which is there too (it is newer
// than any remaining put) or was in a deleted segment, which is only possible if every put
// before it was too. A rewrite is a put of the current value appended after everything, so it
// changes no key's final state and keeps the order of replay. The fdatasync before a deletion
// makes durable the writes that made the segment dead (rewrites and deletes), with every
// earlier write: a crash can never leave a delete effective while the rest of its batch is lost.
//
// Durability contract (engine.h's persistence contract, for the raft CF): a Write is atomic;
// a synced Write is durable on return together with every earlier write. Unsynced writes go to
// the OS at once (kill -9 loses none; a power cut may lose a suffix of them), or, with
// buffer_unsynced_writes, stay in a process buffer until the next synced write, Sync, rotation,
// segment deletion or the destructor.
//
// Thread-safety: thread-safe. Writers (Write, Sync, Resume) are serialized by one mutex and
// do their file I/O without the map lock (a SegmentDeleter thread unlinks dead segments); readers
// (Get, cursors, ApproximateBytes, Empty) take the map lock shared, so they never wait for a disk
// sync. Cursors must be destroyed before the LogKv.
#ifndef RINGKV_STORAGE_LOG_KV_H_
#define RINGKV_STORAGE_LOG_KV_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <utility>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "storage/engine.h"
#include "storage/keys.h"
#include "storage/log_kv_deleter.h"
#include "storage/log_kv_index.h"
#include "storage/write_batch.h"

namespace ringkv::storage {

struct LogKvOptions {
  // Directory of the segment files; created (with parents) if missing. Required.
  std::string dir;
  // A new segment is started when the active one grows beyond this; old segments are purged
  // while all of them exceed 2 x segment_bytes + 2 x the bytes of the map's keys and values.
  // Default: 64 MiB.
  uint64_t segment_bytes = 64ull << 20;
  // Test-only (Jepsen's "kill that loses unsynced writes"): unsynced records stay in a process
  // buffer until the next synced write, Sync, rotation or the destructor, so kill -9 loses
  // them as a power cut would (RocksDB manual_wal_flush). Default: off.
  bool buffer_unsynced_writes = false;
  // The active segment is extended ahead of its records in steps of this many bytes, so most
  // synced appends land inside the file and fdatasync need not write the inode (a growing
  // file's size changes with every append: about 2x the fdatasync time and CPU here). 0 turns
  // it off. Default: 1 MiB.
  uint64_t preallocate_bytes = 1ull << 20;
};

class LogKv {
 public:
  // Opens the log at options.dir, creating it when absent (a new directory gets one empty
  // segment), and replays it into memory; see the header comment for what recovery
  // truncates and what it refuses. Errors: InvalidArgument (empty dir), IOError (file system
  // errors, or the directory is locked by another LogKv), Corruption (file and offset named).
  static Result<std::unique_ptr<LogKv>> Open(const LogKvOptions& options);
  // Writes out a buffered tail (graceful close; not synced) and closes the files.
  ~LogKv();
  LogKv(const LogKv&) = delete;
  LogKv& operator=(const LogKv&) = delete;

  // Applies, in order, the ops of `batches` whose cf is Cf::kRaft (other CFs' ops are ignored)
  // as ONE atomic record. With sync, durable (fdatasync) on return, with every earlier write.
  // An empty op set writes nothing (with sync it still syncs earlier writes). May first do a
  // bounded step of segment maintenance (rotation, purge, deletion; see the header comment),
  // which may sync earlier writes.
  // Errors (the map is unchanged after any of them):
  //  - ResourceExhausted when the disk is full (ENOSPC): the segment is truncated back to where
  //    the record began, and every later Write/Sync fails the same way until Resume().
  //  - IOError for any other file error or a failed fdatasync: the state of the file is
  //    unknown, and every later Write/Sync fails with it (reopen to recover from disk).
  //  - InvalidArgument when the encoded ops exceed 1 GiB (nothing is written; not sticky).
  Status Write(const std::vector<const WriteBatch*>& batches, bool sync);
  // Makes every earlier write durable. Errors as Write.
  Status Sync();
  // Whether a write was made since the last sync.
  bool HasUnsynced() const;

  // The stored bytes at `key` verbatim (crc envelope included, unverified), nullopt if absent.
  // Never fails today (the map is in memory); Result for the engine's read contract.
  Result<std::optional<std::string>> Get(std::string_view key) const;
  // A cursor over [range.begin, range.end), unpositioned. It sees writes made while it lives:
  // every positioning call re-seeks from the current key, and key()/value() are copies that
  // stay valid until the next positioning call. REQUIRES: destroyed before this LogKv.
  std::unique_ptr<RawCursor> NewCursor(KeyRange range) const;
  // Sum of key and value sizes in `range` (exact; walks the range).
  uint64_t ApproximateBytes(const KeyRange& range) const;
  // Whether the map holds no key at all.
  bool Empty() const;
  // Bytes of all segment files on disk (including bytes written but not yet synced; not the
  // process buffer of buffer_unsynced_writes; not dead segments queued for deletion).
  uint64_t FileBytes() const;

  // After a ResourceExhausted Write/Sync: allows writes again (if the disk is still full, the
  // next write fails again). Returns the IOError if the LogKv failed for another reason.
  Status Resume();

  // Test-only: closes without writing out the buffered tail or syncing (a kill -9 / power cut
  // as far as this process's buffer goes), after the queued segment deletions are done. Every
  // later call except reads fails.
  void AbandonForTesting();
  // Test-only: the next write() to a segment file (append, rewrite or new header) fails with
  // `errno_value` (e.g. ENOSPC, EIO) without writing anything.
  void FailNextWriteForTesting(int errno_value);
  // Test-only: the next fdatasync of a segment file fails with `errno_value`.
  void FailNextSyncForTesting(int errno_value);
  // Test-only: the next segment deletion abandons this LogKv (as AbandonForTesting) right
  // before unlinking the file, after the sync that precedes it; the Write fails (IOError).
  void AbandonBeforeNextSegmentDeletionForTesting();
  struct SegmentStats {
    size_t segments = 0;                // segment files, the active one included
    uint64_t last_write_rewritten = 0;  // bytes of rewrite record appended by the last Write
    uint64_t rewritten = 0;             // bytes of rewrite records since Open
    uint64_t deleted = 0;               // segments deleted since Open
  };
  SegmentStats SegmentStatsForTesting() const;

 private:
  class Cursor;

  // A value of the map: the stored value, and the seq of the segment holding its latest write
  // (a put, or the rewrite of one). Readers use only `value`; `seq` is read and written by the
  // writer only (under write_mu_, without map_mu_: a distinct memory location).
  using Slot = LogKvIndex::Slot;
  // Per segment file: the keys whose latest write it holds, and its size.
  struct Segment {
    uint64_t live_records = 0;  // keys of map_ whose Slot::seq is this segment
    uint64_t live_bytes = 0;    // their key + value bytes
    uint64_t file_bytes = 0;    // size of the file (of the active one: see active_size_)
  };

  explicit LogKv(const LogKvOptions& options);

  // ---- Open: creates and locks the directory, replays the segments.
  Status Recover();
  Status LockDir();
  // Seqs of the segment files, ascending; deletes leftover temp files.
  Result<std::vector<uint64_t>> ListSegments();
  // Replays segment `seq` into map_ and segments_ and sets *valid_end to the end of its last
  // good record. `last`: a bad record (after a version-1 checkpoint's end) is a torn tail
  // (truncated) rather than Corruption.
  Status ReplaySegment(uint64_t seq, bool last, uint64_t* valid_end) REQUIRES(write_mu_);
  // Makes segment `seq`, `size` bytes long, the one appended to.
  Status OpenActive(uint64_t seq, uint64_t size) REQUIRES(write_mu_);

  // ---- Writing ----
  Status SyncLocked() REQUIRES(write_mu_);
  // Writes pending_ at the end of the active segment. On failure truncates the file back to
  // where it began and makes the error sticky (Fail); pending_ is left to the caller.
  Status FlushPending() REQUIRES(write_mu_);
  // Best effort: extends the active segment with allocated space up to preallocate_bytes past
  // `end` (a failure, a full disk say, leaves it to grow with the records).
  void Preallocate(uint64_t end) REQUIRES(write_mu_);
  // Cuts the active segment's preallocated space (before it stops being the last segment).
  Status TruncatePreallocated() REQUIRES(write_mu_);
  void ClearPending() REQUIRES(write_mu_);
  // Applies a batch record's payload, appended to segment `seq`, to map_ and the live
  // accounting (takes map_mu_ exclusively). False when the payload is malformed.
  bool Apply(std::string_view payload, uint64_t seq) REQUIRES(write_mu_);
  void Account(size_t key_bytes, const Slot& slot, int64_t sign) REQUIRES(write_mu_);
  Status SyncActive() REQUIRES(write_mu_);
  // pwrite/fdatasync through the test hooks.
  Status WriteAt(int fd, const std::string& path, std::string_view data, uint64_t offset)
      REQUIRES(write_mu_);
  Status DataSync(int fd, const std::string& path) REQUIRES(write_mu_);
  // Makes `s` sticky: ResourceExhausted until Resume, anything else for good. Returns `s`.
  Status Fail(Status s) REQUIRES(write_mu_);
  void AbandonLocked() REQUIRES(write_mu_);
  std::string SegmentPath(uint64_t seq) const;

  // ---- Segments (log_kv_segments.cc) ----
  // Before a Write whose record is at most `write_bytes`: rotation, deletion of dead oldest
  // segments, and one bounded purge step, as the header comment describes.
  Status MaintainSegments(size_t write_bytes) REQUIRES(write_mu_);
  // Syncs the active segment and starts segment last_seq_ + 1 (also the first one, seq 1).
  Status Rotate() REQUIRES(write_mu_);
  // Syncs every write, then queues the oldest segment for deletion. REQUIRES: it is not the
  // active one and holds no live record.
  Status DeleteOldest() REQUIRES(write_mu_);
  // Rewrites the live records found in the next <= `budget` bytes of the oldest segment;
  // deletes it when the scan reaches its end.
  Status PurgeStep(uint64_t budget) REQUIRES(write_mu_);
  // The bytes of the oldest segment from purge_offset_ on, at most `budget` of them (more
  // when the first record is longer).
  Result<std::string> ReadPurgeChunk(uint64_t seq, uint64_t budget) REQUIRES(write_mu_);
  // Appends a batch of puts of `slots`' current values (key, slot of map_), moves them to the
  // active segment.
  Status AppendRewrite(const std::vector<std::pair<std::string_view, Slot*>>& slots,
                       uint64_t from_seq)
      REQUIRES(write_mu_);

  const LogKvOptions options_;

  // Serializes writers (Write, Sync, Resume, segment maintenance, close). Never held by readers.
  mutable std::mutex write_mu_;
  // State below is protected by write_mu_.
  int active_fd_ GUARDED_BY(write_mu_) = -1;  // the segment appended to (last_seq_)
  uint64_t last_seq_ GUARDED_BY(write_mu_) = 0;
  std::string active_path_ GUARDED_BY(write_mu_);  // SegmentPath(last_seq_), for messages
  // Bytes written to the active segment (its records' end; buffered records aside).
  uint64_t active_size_ GUARDED_BY(write_mu_) = 0;
  // The active segment's size on disk: active_size_ plus preallocated space, all zeros.
  uint64_t file_end_ GUARDED_BY(write_mu_) = 0;
  // Bytes of the segments older than the active one.
  uint64_t older_bytes_ GUARDED_BY(write_mu_) = 0;
  // Every segment file by seq, the active one (last) included; the oldest is deleted first.
  std::map<uint64_t, Segment> segments_ GUARDED_BY(write_mu_);
  // The purge scan: segment purge_seq_ (the oldest, once it is started) has been rewritten
  // up to purge_offset_ (a record boundary). Reset when the oldest segment changes.
  uint64_t purge_seq_ GUARDED_BY(write_mu_) = 0;
  uint64_t purge_offset_ GUARDED_BY(write_mu_) = 0;
  SegmentStats stats_ GUARDED_BY(write_mu_);
  bool abandon_before_delete_ GUARDED_BY(write_mu_) = false;
  // Records not yet written to the file: the one being written, and, with
  // buffer_unsynced_writes, the unsynced records before it. Reused (keeps its capacity).
  std::string pending_ GUARDED_BY(write_mu_);
  // Why writes are refused: OK, ResourceExhausted (cleared by Resume) or IOError (for good).
  Status write_error_ GUARDED_BY(write_mu_);
  int fail_next_write_errno_ GUARDED_BY(write_mu_) = 0;
  int fail_next_sync_errno_ GUARDED_BY(write_mu_) = 0;
  int lock_fd_ = -1;  // flock()ed LOCK file; set by Open, closed by the destructor
  // Unlinks dead segments in order; created by Recover, drained before the LOCK is released.
  std::unique_ptr<SegmentDeleter> deleter_;

  // A write (to pending_ or the file) since the last fdatasync. Written under write_mu_.
  std::atomic<bool> unsynced_{false};
  // older_bytes_ + active_size_, for FileBytes without write_mu_.
  std::atomic<uint64_t> file_bytes_{0};

  // Guards map_: shared by readers, exclusive only while a writer (holding write_mu_) applies
  // ops. The writer may read map_ without it (no one else changes it).
  mutable std::shared_mutex map_mu_;
  LogKvIndex map_;           // GUARDED_BY(map_mu_) for readers; changed only under both locks
  uint64_t live_bytes_ = 0;  // sum of key + value sizes in map_; changed under both locks
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_LOG_KV_H_
