// Group snapshots: SnapshotSender streams one group's data CF range (apply state, sessions, user
// data) as read from one consistent engine snapshot, in bounded checksummed chunks;
// SnapshotReceiver checks the chunks, stages them as a file in the engine's staging area and
// installs it atomically and crash-safely, replacing the group's data range and resetting its
// raft log to the snapshot point.
//
// Install protocol (each step idempotent; RecoverSnapshotInstalls redoes 2-5 after a crash):
//   1. write + sync marker SnapshotInstallKey(group) -> {staged file, metadata, hard state}
//      (meta CF)
//   2. delete the group's data CF range
//   3. ingest the staged SST (copied, the staged file stays)
//   4. one synced batch: raft log deleted, truncated state = (index, term), conf state, hard
//      state with commit = index (RaftLogStore::HardStateAtSnapshot), marker deleted
//   5. remove the staged file
// While a marker exists, RaftLogStore::Load refuses the group (FailedPrecondition), so a
// half-installed group is never served. At every crash point a restart finds either the old
// state and log (no marker: the staged file is an orphan and is removed) or, after recovery,
// the complete new snapshot with a hard state whose commit is its index: the hard state is
// never written apart from the log it describes (issue 10: a commit left below the new
// truncated index made the node unable to start).
//
// Failpoints (common/failpoint.h), in the order an install reaches them; kSnapshotFailpoints
// lists them for tests that walk every crash point.
// The snapshot's (index, term) are the group's apply state inside the engine snapshot, and its
// conf state is the raft CF conf state in the same engine snapshot. REQUIRES of the writer
// (replica): the conf state is written in the same batch as the apply state of the entry that
// changed it.
//
// Thread-safety: sender and receiver are single-threaded objects; several may exist for
// different groups. At most one receiver per group at a time.
#ifndef RINGKV_STORAGE_SNAPSHOT_H_
#define RINGKV_STORAGE_SNAPSHOT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/result.h"
#include "common/status.h"
#include "proto/raft.pb.h"
#include "proto/storage.pb.h"
#include "storage/engine.h"

namespace ringkv::storage {

// Before a chunk is staged (hit once per chunk: arm with a skip to crash mid-stream).
inline constexpr std::string_view kFpReceiveChunk = "snapshot.receive.chunk";
// Every chunk staged and the staged file synced; nothing of the group's state touched yet.
inline constexpr std::string_view kFpReceiveComplete = "snapshot.receive.complete";
// Install: before step 1, and after each of steps 1-5.
inline constexpr std::string_view kFpInstallBeforeMarker = "snapshot.install.before_marker";
inline constexpr std::string_view kFpInstallAfterMarker = "snapshot.install.after_marker";
inline constexpr std::string_view kFpInstallAfterDataDelete = "snapshot.install.after_data_delete";
inline constexpr std::string_view kFpInstallAfterIngest = "snapshot.install.after_ingest";
inline constexpr std::string_view kFpInstallAfterRaftState = "snapshot.install.after_raft_state";
inline constexpr std::string_view kFpInstallAfterCleanup = "snapshot.install.after_cleanup";
inline constexpr std::array<std::string_view, 8> kSnapshotFailpoints = {
    kFpReceiveChunk,        kFpReceiveComplete,        kFpInstallBeforeMarker,
    kFpInstallAfterMarker,  kFpInstallAfterDataDelete, kFpInstallAfterIngest,
    kFpInstallAfterRaftState, kFpInstallAfterCleanup};

struct SnapshotOptions {
  // Target payload size of a chunk in bytes; a chunk holds at least one record, so a record
  // larger than this makes a larger chunk. Default: 1 MiB.
  size_t chunk_bytes = 1 << 20;
};

class SnapshotSender {
 public:
  // Pins an engine snapshot of `group`. FailedPrecondition if the group has applied nothing.
  static Result<std::unique_ptr<SnapshotSender>> Create(Engine* engine, GroupId group,
                                                        SnapshotOptions options = {});
  ~SnapshotSender();

  const raftpb::SnapshotMetadata& metadata() const { return metadata_; }
  bool done() const { return done_; }
  // The next chunk (seq 0, 1, ...; the final one has last = true). FailedPrecondition once
  // done(); Corruption/IOError from reading the engine.
  Result<storagepb::SnapshotChunk> NextChunk();

 private:
  SnapshotSender(GroupId group, SnapshotOptions options, std::unique_ptr<ReadSnapshot> snap);

  const GroupId group_;
  const SnapshotOptions options_;
  raftpb::SnapshotMetadata metadata_;
  std::unique_ptr<ReadSnapshot> snap_;  // outlives it_ (declared before it)
  std::unique_ptr<Iterator> it_;
  uint64_t next_seq_ = 0;
  bool done_ = false;
};

class SnapshotReceiver {
 public:
  // Starts receiving snapshot `meta` of `group`. FailedPrecondition if the group's applied
  // index is already >= meta.index (a stale snapshot) or an install of it is unfinished.
  static Result<std::unique_ptr<SnapshotReceiver>> Create(Engine* engine, GroupId group,
                                                          const raftpb::SnapshotMetadata& meta);
  // Removes the staged file unless an install has begun (then recovery owns it).
  ~SnapshotReceiver();

  const raftpb::SnapshotMetadata& metadata() const { return metadata_; }

  // Adds the next chunk. A rejected chunk leaves the receiver unchanged. Errors:
  //   InvalidArgument     chunk for another group, out of order (seq != expected), or after
  //                       the last chunk
  //   FailedPrecondition  chunk of another (stale) snapshot: (index, term) differ
  //   Corruption          payload checksum, record framing, key order or value checksum bad,
  //                       or the last chunk completes a snapshot whose apply state does not
  //                       match the metadata
  Status AddChunk(const storagepb::SnapshotChunk& chunk);
  bool complete() const { return complete_; }

  // Installs the complete snapshot (protocol above) with hard state
  // RaftLogStore::HardStateAtSnapshot(hs, metadata()); `hs` is the hard state Raft holds after
  // restoring the snapshot (the Ready's). REQUIRES: complete(). On OK the caller must reload
  // the group's RaftLogStore and KvState. An error after step 1 leaves the marker:
  // RecoverSnapshotInstalls finishes the install (an error here is a storage failure: the
  // caller stops the node).
  Status Install(const raftpb::HardState& hs);

 private:
  SnapshotReceiver(Engine* engine, GroupId group, raftpb::SnapshotMetadata meta,
                   std::string staged_name);

  Engine* const engine_;
  const GroupId group_;
  const raftpb::SnapshotMetadata metadata_;
  const std::string staged_name_;  // name in the engine's staging area
  std::unique_ptr<StagedFile> builder_;
  uint64_t next_seq_ = 0;
  std::string last_key_;  // last group-relative key added; keys strictly increase
  bool saw_apply_state_ = false;
  bool complete_ = false;
  bool install_begun_ = false;  // marker written: the staged file belongs to recovery
};

// Finishes every install whose marker is present (steps 2-5) and removes staged files no marker
// names (receives cut short by a crash). Call after Engine::Open, before loading any group and
// before any SnapshotReceiver exists.
// Corruption if a marker names a staged file that is gone.
Status RecoverSnapshotInstalls(Engine* engine);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_SNAPSHOT_H_
