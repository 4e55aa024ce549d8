// UnstableLog: the tail of the log (and possibly a snapshot) that the core has accepted but the
// driver has not yet confirmed durable (etcd raft's unstable). entries_[k] has index offset_+k.
//
// Thread-safety: not thread-safe; owned by RaftLog.
#ifndef RINGKV_RAFT_UNSTABLE_LOG_H_
#define RINGKV_RAFT_UNSTABLE_LOG_H_

#include <optional>
#include <vector>

#include "common/ids.h"
#include "proto/raft.pb.h"
#include "raft/logger.h"

namespace ringkv::raft {

class UnstableLog {
 public:
  explicit UnstableLog(Logger* logger) : logger_(logger) {}

  // The first index known only here: snapshot index + 1, if a snapshot is pending.
  std::optional<Index> MaybeFirstIndex() const;
  // The last index known here (last entry, else the pending snapshot's index).
  std::optional<Index> MaybeLastIndex() const;
  // The term of entry i if this log knows it.
  std::optional<Term> MaybeTerm(Index i) const;

  // Entries up to i (if they still have term t) became durable: drop them from here.
  void StableTo(Index i, Term t);
  // The pending snapshot at index i became durable.
  void StableSnapTo(Index i);
  // Replaces everything with a snapshot.
  void Restore(const raftpb::Snapshot& snap);
  // Appends, truncating any existing entries at or after the first new index.
  void TruncateAndAppend(const std::vector<raftpb::Entry>& ents);
  // Entries in [lo, hi). REQUIRES: offset_ <= lo <= hi <= offset_ + entries_.size().
  std::vector<raftpb::Entry> Slice(Index lo, Index hi) const;

  const std::vector<raftpb::Entry>& entries() const { return entries_; }
  const std::optional<raftpb::Snapshot>& snapshot() const { return snapshot_; }
  Index offset() const { return offset_; }
  // Only for RaftLog's construction from storage.
  void set_offset(Index offset) { offset_ = offset; }

 private:
  Logger* logger_;
  // A snapshot received from the leader and not yet durable.
  std::optional<raftpb::Snapshot> snapshot_;
  std::vector<raftpb::Entry> entries_;
  // Index of entries_[0] (or where the next entry goes when empty).
  Index offset_;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_UNSTABLE_LOG_H_
