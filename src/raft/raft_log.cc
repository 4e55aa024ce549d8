#include "raft/raft_log.h"

#include <algorithm>

#include "common/failpoint.h"
#include "raft/panic.h"

namespace ringkv::raft {
RaftLog::RaftLog(LogStorage* storage, Logger* logger, uint64_t max_applying_bytes)
    : storage_(storage), logger_(logger), unstable_(logger), max_applying_bytes_(max_applying_bytes) {
  Result<Index> first = storage_->FirstIndex();
  Result<Index> last = storage_->LastIndex();
  if (!first.ok() || !last.ok()) Panic(logger_, "raft log: cannot read storage bounds");
  unstable_.set_offset(*last + 1);
  // Everything up to the last compaction was committed and applied.
  committed_ = *first - 1;
  applied_ = *first - 1;
}

std::optional<Index> RaftLog::MaybeAppend(Index index, Term log_term, Index committed,
                                          const std::vector<raftpb::Entry>& ents) {
  if (!MatchTerm(index, log_term)) return std::nullopt;
  Index lastnewi = index + ents.size();
  Index ci = FindConflict(ents);
  if (ci.value() != 0) {
    if (ci <= committed_) {
      Panic(logger_, "raft log: entry " + Str(ci.value()) + " conflicts with committed entry " +
                         Str(committed_.value()));
    }
    size_t offset = ci - (index + 1);
    std::vector<raftpb::Entry> rest(ents.begin() + static_cast<long>(offset), ents.end());
    Append(rest);
  }
  CommitTo(std::min(committed, lastnewi));
  return lastnewi;
}

Index RaftLog::Append(const std::vector<raftpb::Entry>& ents) {
  if (ents.empty()) return LastIndex();
  Index after(ents[0].index() - 1);
  if (after < committed_) {
    Panic(logger_, "raft log: append after " + Str(after.value()) + " is below committed " +
                       Str(committed_.value()));
  }
  unstable_.TruncateAndAppend(ents);
  return LastIndex();
}

Index RaftLog::FindConflict(const std::vector<raftpb::Entry>& ents) const {
  for (const raftpb::Entry& e : ents) {
    if (!MatchTerm(Index(e.index()), Term(e.term()))) return Index(e.index());
  }
  return Index(0);
}

std::pair<Index, Term> RaftLog::FindConflictByTerm(Index index, Term term) const {
  for (;;) {
    Result<Term> t = TermOf(index);
    if (!t.ok()) return {index, Term(0)};  // compacted or missing: stop here
    if (*t <= term) return {index, *t};
    if (index.value() == 0) return {index, *t};
    --index;
  }
}

std::vector<raftpb::Entry> RaftLog::NextCommittedEntries() const {
  if (HasPendingSnapshot()) return {};
  Index off = std::max(applied_ + 1, FirstIndex());
  if (committed_ + 1 <= off) return {};
  Result<std::vector<raftpb::Entry>> ents = Slice(off, committed_ + 1, max_applying_bytes_);
  if (!ents.ok()) Panic(logger_, "raft log: cannot read committed entries: " + ents.status().ToString());
  return std::move(ents).value();
}

bool RaftLog::HasNextCommittedEntries() const {
  if (HasPendingSnapshot()) return false;
  Index off = std::max(applied_ + 1, FirstIndex());
  return committed_ + 1 > off;
}

Result<raftpb::Snapshot> RaftLog::Snapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  return storage_->GetSnapshot();
}

Index RaftLog::FirstIndex() const {
  if (auto i = unstable_.MaybeFirstIndex()) return *i;
  Result<Index> i = storage_->FirstIndex();
  if (!i.ok()) Panic(logger_, "raft log: FirstIndex: " + i.status().ToString());
  return *i;
}

Index RaftLog::LastIndex() const {
  if (auto i = unstable_.MaybeLastIndex()) return *i;
  Result<Index> i = storage_->LastIndex();
  if (!i.ok()) Panic(logger_, "raft log: LastIndex: " + i.status().ToString());
  return *i;
}

Term RaftLog::LastTerm() const {
  Result<Term> t = TermOf(LastIndex());
  if (!t.ok()) Panic(logger_, "raft log: last term unavailable: " + t.status().ToString());
  return *t;
}

void RaftLog::CommitTo(Index to) {
  if (committed_ < to) {
    if (LastIndex() < to) {
      Panic(logger_, "raft log: commit " + Str(to.value()) + " beyond last index " +
                         Str(LastIndex().value()) + "; was the log corrupted, truncated or lost?");
    }
    committed_ = to;
  }
}

void RaftLog::AppliedTo(Index i) {
  if (i.value() == 0) return;
  if (committed_ < i || i < applied_) {
    Panic(logger_, "raft log: applied " + Str(i.value()) + " out of range [" +
                       Str(applied_.value()) + ", " + Str(committed_.value()) + "]");
  }
  applied_ = i;
}

Result<Term> RaftLog::TermOf(Index i) const {
  // The valid range is [first index - 1, last index]; first - 1 is the compaction point.
  Index dummy = FirstIndex() - 1;
  if (i < dummy || i > LastIndex()) {
    if (i < dummy) return CompactedError();
    return UnavailableError();
  }
  if (auto t = unstable_.MaybeTerm(i)) return *t;
  Result<Term> t = storage_->TermOf(i);
  if (t.ok()) return t;
  if (t.status().code() == StatusCode::kNotFound || t.status().code() == StatusCode::kUnavailable) {
    return t;
  }
  Panic(logger_, "raft log: storage TermOf failed: " + t.status().ToString());
}

Term RaftLog::ZeroTermOf(Index i) const {
  Result<Term> t = TermOf(i);
  return t.ok() ? *t : Term(0);
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  Result<Term> term = TermOf(i);
  return term.ok() && *term == t;
}

bool RaftLog::IsUpToDate(Index lasti, Term term) const {
  Term last_term = LastTerm();
  return term > last_term || (term == last_term && lasti >= LastIndex());
}

bool RaftLog::MaybeCommit(Index max_index, Term term) {
  // Raft §5.4.2: only entries of the leader's current term are committed by counting replicas
  // (unless the injected bug counts replicas whatever the term).
  if (max_index > committed_ &&
      (ZeroTermOf(max_index) == term || failpoint::Injected(kBugCommitPrevTerm))) {
    CommitTo(max_index);
    return true;
  }
  return false;
}

void RaftLog::Restore(const raftpb::Snapshot& snap) {
  committed_ = Index(snap.metadata().index());
  unstable_.Restore(snap);
}

Result<std::vector<raftpb::Entry>> RaftLog::Entries(Index i, uint64_t max_bytes) const {
  if (i > LastIndex()) return std::vector<raftpb::Entry>{};
  return Slice(i, LastIndex() + 1, max_bytes);
}

Status RaftLog::MustCheckOutOfBounds(Index lo, Index hi) const {
  if (lo > hi) Panic(logger_, "raft log: invalid slice " + Str(lo.value()) + " > " + Str(hi.value()));
  Index fi = FirstIndex();
  if (lo < fi) return CompactedError();
  Index length = LastIndex() + 1;
  if (hi > length) {
    Panic(logger_, "raft log: slice [" + Str(lo.value()) + "," + Str(hi.value()) +
                       ") out of bound [" + Str(fi.value()) + "," + Str(LastIndex().value()) + "]");
  }
  return Status::OK();
}

Result<std::vector<raftpb::Entry>> RaftLog::Slice(Index lo, Index hi, uint64_t max_bytes) const {
  Status s = MustCheckOutOfBounds(lo, hi);
  if (!s.ok()) return s;
  if (lo == hi) return std::vector<raftpb::Entry>{};
  std::vector<raftpb::Entry> ents;
  Index uoff = unstable_.offset();
  if (lo < uoff) {
    Result<std::vector<raftpb::Entry>> stored = storage_->Entries(lo, std::min(hi, uoff), max_bytes);
    if (!stored.ok()) {
      if (stored.status().code() == StatusCode::kNotFound) return stored.status();
      Panic(logger_, "raft log: storage Entries failed: " + stored.status().ToString());
    }
    ents = std::move(stored).value();
    // Storage stopped early because of the size limit: return what fits.
    if (ents.size() < std::min(hi, uoff) - lo) return ents;
  }
  if (hi > uoff) {
    std::vector<raftpb::Entry> unstable = unstable_.Slice(std::max(lo, uoff), hi);
    ents.insert(ents.end(), std::make_move_iterator(unstable.begin()),
                std::make_move_iterator(unstable.end()));
  }
  // Apply the size limit across both parts (at least one entry).
  uint64_t size = 0;
  size_t keep = 0;
  for (; keep < ents.size(); ++keep) {
    size += ents[keep].ByteSizeLong();
    if (keep > 0 && size > max_bytes) break;
  }
  ents.resize(keep);
  return ents;
}

std::string RaftLog::DebugString() const {
  return "committed=" + Str(committed_.value()) + " applied=" + Str(applied_.value()) +
         " unstable.offset=" + Str(unstable_.offset().value()) +
         " len(unstable)=" + Str(unstable_.entries().size());
}

}  // namespace ringkv::raft
