#include "replica/log_adapter.h"

namespace ringkv::replica {

Result<raft::InitialState> LogAdapter::GetInitialState() const {
  return raft::InitialState{log_->hard_state(), log_->conf_state()};
}

Result<std::vector<raftpb::Entry>> LogAdapter::Entries(Index lo, Index hi,
                                                       uint64_t max_bytes) const {
  if (lo <= log_->truncated_index()) return raft::CompactedError();
  if (hi > log_->LastIndex() + 1) return raft::UnavailableError();
  if (Cached(lo) != nullptr && Cached(hi - 1) != nullptr) {
    std::vector<raftpb::Entry> out;
    uint64_t size = 0;
    for (Index i = lo; i < hi; ++i) {
      const raftpb::Entry* e = Cached(i);
      size += e->ByteSizeLong();
      if (!out.empty() && size > max_bytes) break;
      out.push_back(*e);
    }
    return out;
  }
  return log_->Entries(lo, hi, max_bytes);
}

Result<Term> LogAdapter::TermOf(Index i) const {
  if (i < log_->truncated_index()) return raft::CompactedError();
  if (i == log_->truncated_index()) return log_->truncated_term();
  if (i > log_->LastIndex()) return raft::UnavailableError();
  if (const raftpb::Entry* e = Cached(i)) return Term(e->term());
  return log_->TermAt(i);
}

const raftpb::Entry* LogAdapter::Cached(Index i) const {
  if (cache_.empty()) return nullptr;
  uint64_t first = cache_.front().index();
  if (i.value() < first || i.value() >= first + cache_.size()) return nullptr;
  return &cache_[i.value() - first];
}

void LogAdapter::CacheAppend(const std::vector<raftpb::Entry>& entries) {
  if (entries.empty()) return;
  uint64_t start = entries.front().index();
  // Drop any cached suffix the new entries replace (conflict truncation), and the whole cache
  // if they do not follow it.
  while (!cache_.empty() && cache_.back().index() >= start) {
    cache_bytes_ -= cache_.back().ByteSizeLong();
    cache_.pop_back();
  }
  if (!cache_.empty() && cache_.back().index() + 1 != start) CacheReset();
  for (const raftpb::Entry& e : entries) {
    cache_bytes_ += e.ByteSizeLong();
    cache_.push_back(e);
  }
  while (!cache_.empty() && (cache_.size() > kMaxCacheEntries || cache_bytes_ > max_cache_bytes_)) {
    cache_bytes_ -= cache_.front().ByteSizeLong();
    cache_.pop_front();
  }
}

void LogAdapter::CacheCompact(Index compacted_to) {
  while (!cache_.empty() && cache_.front().index() <= compacted_to.value()) {
    cache_bytes_ -= cache_.front().ByteSizeLong();
    cache_.pop_front();
  }
}

Result<Index> LogAdapter::LastIndex() const { return log_->LastIndex(); }
Result<Index> LogAdapter::FirstIndex() const { return log_->FirstIndex(); }

Result<raftpb::Snapshot> LogAdapter::GetSnapshot() const {
  raftpb::Snapshot snap;
  const storage::ApplyState& applied = kv_->applied();
  if (applied.applied_index.value() == 0) {
    // Nothing applied yet (a fresh group): the only "snapshot" is the empty initial state.
    snap.mutable_metadata()->set_index(log_->truncated_index().value());
    snap.mutable_metadata()->set_term(log_->truncated_term().value());
  } else {
    snap.mutable_metadata()->set_index(applied.applied_index.value());
    snap.mutable_metadata()->set_term(applied.applied_term.value());
  }
  *snap.mutable_metadata()->mutable_conf_state() = log_->conf_state();
  if (snap.metadata().index() == 0) return Status::Unavailable("no snapshot before first apply");
  return snap;
}

}  // namespace ringkv::replica
