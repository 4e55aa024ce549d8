// RaftLog: the node's whole log as the core sees it: the durable part (LogStorage) followed by
// the unstable tail, plus the commit and applied indexes (etcd raft's raftLog).
//
// Invariant: applied <= committed <= last index; first index - 1 is the last compacted entry.
//
// Thread-safety: not thread-safe; owned by Raft.
#ifndef RINGKV_RAFT_RAFT_LOG_H_
#define RINGKV_RAFT_RAFT_LOG_H_

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "proto/raft.pb.h"
#include "raft/log_storage.h"
#include "raft/logger.h"
#include "raft/unstable_log.h"

namespace ringkv::raft {

// Bug point (common/failpoint.h; see raft.h): the leader commits by counting replicas
// whatever the entry's term, the mistake of the Raft paper's figure 8.
inline constexpr std::string_view kBugCommitPrevTerm = "bug.raft.commit_prev_term";

class RaftLog {
 public:
  RaftLog(LogStorage* storage, Logger* logger, uint64_t max_applying_bytes);

  // Follower side of AppendEntries: if the entry at `index` has `log_term`, appends `ents`
  // (truncating conflicts) and commits up to min(committed, index of the last new entry).
  // Returns the last new index, or nullopt if the log does not match (Raft §5.3).
  std::optional<Index> MaybeAppend(Index index, Term log_term, Index committed,
                                   const std::vector<raftpb::Entry>& ents);
  // Appends at the end (leader side). Returns the new last index.
  Index Append(const std::vector<raftpb::Entry>& ents);
  // The index of the first entry of `ents` whose term conflicts with the log, or the first new
  // entry past the log's end, or 0 when all are already present.
  Index FindConflict(const std::vector<raftpb::Entry>& ents) const;
  // Fast backtracking (etcd #4): the largest index <= `index` whose term is <= `term`, and its
  // term. Used to answer a rejected append with a useful hint.
  std::pair<Index, Term> FindConflictByTerm(Index index, Term term) const;

  std::vector<raftpb::Entry> UnstableEntries() const { return unstable_.entries(); }
  const std::optional<raftpb::Snapshot>& UnstableSnapshot() const { return unstable_.snapshot(); }
  // Committed, not yet applied entries (bounded by max_applying_bytes).
  std::vector<raftpb::Entry> NextCommittedEntries() const;
  bool HasNextCommittedEntries() const;
  bool HasPendingSnapshot() const { return unstable_.snapshot().has_value(); }
  // The latest snapshot: the pending one, else storage's.
  Result<raftpb::Snapshot> Snapshot() const;

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  // Highest index handed to the driver to apply (in a Ready), applied or not.
  Index applying() const { return std::max(applying_, applied_); }

  void CommitTo(Index to);
  void AppliedTo(Index i);
  // Entries up to i were handed to the driver in a Ready (etcd raft's acceptApplying).
  void AcceptApplying(Index i) { applying_ = std::max(applying_, i); }
  void StableTo(Index i, Term t) { unstable_.StableTo(i, t); }
  void StableSnapTo(Index i) { unstable_.StableSnapTo(i); }

  // The term of entry i; kNotFound if compacted, kUnavailable if beyond the log.
  Result<Term> TermOf(Index i) const;
  // TermOf, with 0 for a compacted or missing entry.
  Term ZeroTermOf(Index i) const;
  bool MatchTerm(Index i, Term t) const;
  // Raft §5.4.1: is a log ending at (lasti, term) at least as up to date as ours?
  bool IsUpToDate(Index lasti, Term term) const;
  // Commits up to max_index if that entry has `term` (the leader's current term, Raft §5.4.2).
  bool MaybeCommit(Index max_index, Term term);
  // Resets the log to a snapshot (follower receiving InstallSnapshot).
  void Restore(const raftpb::Snapshot& snap);

  // Entries from i on, at most max_bytes (at least one).
  Result<std::vector<raftpb::Entry>> Entries(Index i, uint64_t max_bytes) const;
  // Entries in [lo, hi), at most max_bytes (at least one). kNotFound if lo is compacted.
  Result<std::vector<raftpb::Entry>> Slice(Index lo, Index hi, uint64_t max_bytes) const;

  std::string DebugString() const;

 private:
  Status MustCheckOutOfBounds(Index lo, Index hi) const;

  LogStorage* storage_;
  Logger* logger_;
  UnstableLog unstable_;
  // Highest index known committed on a quorum. Changed by CommitTo (monotone).
  Index committed_;
  // Highest index the driver reported applied. Changed by AppliedTo (monotone).
  Index applied_;
  // Highest index handed to the driver in a Ready; >= applied_ while a Ready is outstanding.
  // Changed by AcceptApplying (monotone).
  Index applying_;
  uint64_t max_applying_bytes_;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_RAFT_LOG_H_
