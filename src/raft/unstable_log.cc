#include "raft/unstable_log.h"

#include <string>

#include "raft/panic.h"

namespace ringkv::raft {

std::optional<Index> UnstableLog::MaybeFirstIndex() const {
  if (snapshot_) return Index(snapshot_->metadata().index() + 1);
  return std::nullopt;
}

std::optional<Index> UnstableLog::MaybeLastIndex() const {
  if (!entries_.empty()) return offset_ + (entries_.size() - 1);
  if (snapshot_) return Index(snapshot_->metadata().index());
  return std::nullopt;
}

std::optional<Term> UnstableLog::MaybeTerm(Index i) const {
  if (i < offset_) {
    if (snapshot_ && snapshot_->metadata().index() == i.value()) {
      return Term(snapshot_->metadata().term());
    }
    return std::nullopt;
  }
  std::optional<Index> last = MaybeLastIndex();
  if (!last || i > *last) return std::nullopt;
  return Term(entries_[i - offset_].term());
}

void UnstableLog::StableTo(Index i, Term t) {
  std::optional<Term> gt = MaybeTerm(i);
  if (!gt) return;
  // Only entries still carrying the durable term are dropped: if they were replaced while the
  // write was in flight, the replacement is still pending and must be written too.
  if (*gt == t && i >= offset_) {
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(i - offset_ + 1));
    offset_ = i + 1;
  }
}

void UnstableLog::StableSnapTo(Index i) {
  if (snapshot_ && snapshot_->metadata().index() == i.value()) snapshot_.reset();
}

void UnstableLog::Restore(const raftpb::Snapshot& snap) {
  offset_ = Index(snap.metadata().index() + 1);
  entries_.clear();
  snapshot_ = snap;
}

void UnstableLog::TruncateAndAppend(const std::vector<raftpb::Entry>& ents) {
  if (ents.empty()) return;
  Index after(ents[0].index());
  if (after == offset_ + entries_.size()) {
    // Directly after the current tail.
  } else if (after <= offset_) {
    // Replaces the whole unstable part; the storage truncates its own suffix on append.
    offset_ = after;
    entries_.clear();
  } else {
    if (after > offset_ + entries_.size()) {
      Panic(logger_, "unstable: gap appending at " + std::to_string(after.value()));
    }
    entries_.resize(after - offset_);
  }
  entries_.insert(entries_.end(), ents.begin(), ents.end());
}

std::vector<raftpb::Entry> UnstableLog::Slice(Index lo, Index hi) const {
  if (lo > hi || lo < offset_ || hi > offset_ + entries_.size()) {
    Panic(logger_, "unstable: slice [" + std::to_string(lo.value()) + "," +
                       std::to_string(hi.value()) + ") out of bounds");
  }
  return std::vector<raftpb::Entry>(entries_.begin() + static_cast<long>(lo - offset_),
                                    entries_.begin() + static_cast<long>(hi - offset_));
}

}  // namespace ringkv::raft
