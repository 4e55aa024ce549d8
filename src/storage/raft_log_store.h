// RaftLogStore: the persistent Raft log and Raft state of one group — entries, hard state,
// truncated state (index/term of the last compacted entry) in the raft CF, and the conf state,
// which is applied state and so lives in the data CF beside the apply state (a snapshot of the
// data CF reads both at one point in time).
// It knows how entries are keyed and checked, not what Raft does with them: the replica's
// log adapter (src/replica/) maps it onto the Raft core's LogStorage interface.
//
// Mutations go into a caller's WriteBatch (group commit); the in-memory bookkeeping
// (first/last index, states) changes at call time. REQUIRES: the caller writes each batch before
// reading back what it contains (Entries/Term read the engine), and treats a failed write of such
// a batch as fatal (house rule: recover from disk by reopening and Load()).
//
// Status mapping for the adapter:
//   NotFound     index is compacted (below FirstIndex; Term: below the truncated index)
//                -> raft ErrCompacted
//   Unavailable  index is beyond LastIndex -> raft ErrUnavailable
//   Corruption   a stored record fails its checksum or the log has a hole
//   FailedPrecondition  a snapshot install of this group is unfinished (run
//                RecoverSnapshotInstalls first)
//
// Thread-safety: not thread-safe; owned by the group's replica (one thread).
#ifndef RINGKV_STORAGE_RAFT_LOG_STORE_H_
#define RINGKV_STORAGE_RAFT_LOG_STORE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/status.h"
#include "proto/raft.pb.h"
#include "storage/engine.h"
#include "storage/write_batch.h"

namespace ringkv::storage {

// Bug point (common/failpoint.h; tests only): issue 10's defect 1, fixed by 4d20186. A snapshot
// install's final batch resets the raft log and truncated state but leaves the stored hard
// state as it was, and Load does not raise a commit below the truncated index: a crash after
// the install, before the Ready's own write (or after the marker, recovery then finishing the
// install), leaves commit below the new truncated index, and the group can never start again.
inline constexpr std::string_view kBugInstallWithoutHardState =
    "bug.storage.snapshot_install_without_hard_state";

class RaftLogStore {
 public:
  // `engine` is not owned and must outlive this.
  RaftLogStore(Engine* engine, GroupId group);

  // Reads the group's state from the engine (an absent group is empty: zero states, no
  // entries). Must be called before anything else and after a snapshot install.
  // A stored hard-state commit below the truncated index (written by versions before issue 10
  // fixed the snapshot install; such a group could never start) is raised to the truncated
  // index with a warning: every entry up to it was applied or came in a snapshot of committed
  // state, so it is committed.
  // Errors: Corruption (bad record, log not contiguous from the truncated index),
  // FailedPrecondition (unfinished snapshot install), IOError.
  Status Load();

  GroupId group() const { return group_; }
  const raftpb::HardState& hard_state() const { return hard_state_; }
  const raftpb::ConfState& conf_state() const { return conf_state_; }
  Index truncated_index() const { return truncated_index_; }
  Term truncated_term() const { return truncated_term_; }
  // truncated_index + 1.
  Index FirstIndex() const { return truncated_index_ + 1; }
  // Index of the last entry; truncated_index when the log is empty.
  Index LastIndex() const { return last_index_; }

  // Serialized bytes of the entries in the log (what the log budgets count), exact: Load sums
  // them (one pass over the group's log at start), the mutating methods keep the sum.
  uint64_t LogBytes() const;
  // Serialized bytes of the entries (truncated index, `index`] (all of them past LastIndex).
  uint64_t BytesThrough(Index index) const;
  // The lowest index `to` in [truncated index, `upto`] such that the entries (to, upto] take at
  // most `max_bytes`: compacting to `to` keeps the newest entries up to `upto` that fit.
  // REQUIRES: truncated index <= upto <= LastIndex().
  Index CompactionPointKeeping(Index upto, uint64_t max_bytes) const;

  // Writes `entries` and deletes every stored entry after the last of them (a conflicting
  // suffix). Entries at or below the truncated index are skipped (already compacted, hence
  // committed). InvalidArgument when indices are not consecutive or the first one is beyond
  // LastIndex() + 1 (a gap). Empty `entries` is a no-op.
  Status Append(WriteBatch* batch, const std::vector<raftpb::Entry>& entries);

  // Entries [lo, hi) in order, stopping before the total serialized size would exceed
  // `max_bytes`, but always at least one entry. NotFound if lo < FirstIndex(), Unavailable if
  // hi > LastIndex() + 1, InvalidArgument if lo > hi; Corruption on a bad or missing record.
  Result<std::vector<raftpb::Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const;

  // Term of the entry at `index`; the truncated term for the truncated index. NotFound below it,
  // Unavailable above LastIndex().
  Result<Term> TermAt(Index index) const;

  void SetHardState(WriteBatch* batch, const raftpb::HardState& hs);
  // Raises the loaded hard state's commit to `applied` when it is below (in memory; the next
  // hard state written carries it). At a restart the apply state may be ahead of the stored
  // commit: an apply write is durable once a flush of the data CF covered it, while a hard
  // state that only moved its commit is written unsynced and may be lost. Everything applied
  // was committed, and its entries were synced before they were applied, so this is sound.
  // REQUIRES: `applied` <= LastIndex(), or a FailedPrecondition is returned.
  Status RaiseCommitToApplied(Index applied);
  void SetConfState(WriteBatch* batch, const raftpb::ConfState& cs);

  // Deletes entries <= index and records (index, term) as the truncated state. NotFound if
  // index <= truncated index (already compacted), Unavailable if index > LastIndex(),
  // InvalidArgument if `term` is not the term of the entry at `index`.
  Status Compact(WriteBatch* batch, Index index, Term term);

  // Resets the log to a snapshot point: all entries deleted, truncated state = (meta.index,
  // meta.term), conf state = meta.conf_state, and the hard state HardStateAtSnapshot(hs, meta),
  // in `batch`: the hard state always lands with the log it describes (a hard state whose
  // commit is below the truncated index makes the group unstartable; see issue 10).
  void ApplySnapshotMeta(WriteBatch* batch, const raftpb::SnapshotMetadata& meta,
                         const raftpb::HardState& hs);

  // The batch operations of ApplySnapshotMeta for a group without a loaded store (snapshot
  // install and its crash recovery).
  static void WriteSnapshotMeta(WriteBatch* batch, GroupId group,
                                const raftpb::SnapshotMetadata& meta, const raftpb::HardState& hs);

  // The hard state that goes with a log reset to snapshot `meta`: `hs` with commit set to the
  // snapshot index (the log's only index; the Ready's own write raises it later with the
  // entries it appends), and, when hs.term is below the snapshot's term, that term with no
  // vote (a node never holds an entry of a term newer than its own).
  static raftpb::HardState HardStateAtSnapshot(const raftpb::HardState& hs,
                                               const raftpb::SnapshotMetadata& meta);

 private:
  Result<raftpb::Entry> ReadEntry(Index index) const;

  Engine* const engine_;
  const GroupId group_;
  // The following mirror the group's raft CF records as of the calls made so far; changed
  // only by Load and the mutating methods.
  raftpb::HardState hard_state_;
  raftpb::ConfState conf_state_;
  Index truncated_index_{0};  // last compacted index; entries (truncated_index_, last_index_]
  Term truncated_term_{0};    // term of truncated_index_
  Index last_index_{0};       // >= truncated_index_
  // Entry sizes as running sums: cum_bytes_[k] - bytes_base_ = bytes of the entries
  // (truncated_index_, FirstIndex() + k]; one element per entry, so cum_bytes_.size() ==
  // LastIndex() - truncated_index_. Kept by Load and the mutating methods.
  std::deque<uint64_t> cum_bytes_;
  uint64_t bytes_base_ = 0;
};

// Every group that has Raft state on this node (a raft CF record, and its conf state stored),
// in id order.
Result<std::vector<GroupId>> ListGroups(const Engine& engine);

// The Raft id of this node's replica of `group` (common/ids.h), nullopt when none is stored: a
// replica of the bootstrap configuration, whose Raft id is the node id. Deleted with the rest
// of the group's raft records when the replica is removed.
Result<std::optional<NodeId>> GetReplicaId(const Engine& engine, GroupId group);
void PutReplicaId(WriteBatch* batch, GroupId group, NodeId raft_id);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_RAFT_LOG_STORE_H_
