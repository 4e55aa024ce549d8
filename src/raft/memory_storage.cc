#include "raft/memory_storage.h"

#include <utility>

namespace ringkv::raft {

MemoryStorage::MemoryStorage() { ents_.emplace_back(); }

Result<InitialState> MemoryStorage::GetInitialState() const {
  return InitialState{hard_state_, snapshot_.metadata().conf_state()};
}

Result<std::vector<raftpb::Entry>> MemoryStorage::Entries(Index lo, Index hi,
                                                          uint64_t max_bytes) const {
  Index offset(ents_[0].index());
  if (lo <= offset) return CompactedError();
  if (hi > LastIndexInternal() + 1) return UnavailableError();
  std::vector<raftpb::Entry> out;
  uint64_t size = 0;
  for (Index i = lo; i < hi; ++i) {
    const raftpb::Entry& e = ents_[i - offset];
    size += e.ByteSizeLong();
    if (!out.empty() && size > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<Term> MemoryStorage::TermOf(Index i) const {
  Index offset(ents_[0].index());
  if (i < offset) return CompactedError();
  if (i - offset >= ents_.size()) return UnavailableError();
  return Term(ents_[i - offset].term());
}

Result<Index> MemoryStorage::LastIndex() const { return LastIndexInternal(); }
Result<Index> MemoryStorage::FirstIndex() const { return FirstIndexInternal(); }
Result<raftpb::Snapshot> MemoryStorage::GetSnapshot() const { return snapshot_; }

Status MemoryStorage::ApplySnapshot(const raftpb::Snapshot& snap) {
  if (snapshot_.metadata().index() >= snap.metadata().index() && snapshot_.metadata().index() != 0) {
    return Status::FailedPrecondition("snapshot out of date");
  }
  snapshot_ = snap;
  ents_.clear();
  raftpb::Entry dummy;
  dummy.set_index(snap.metadata().index());
  dummy.set_term(snap.metadata().term());
  ents_.push_back(std::move(dummy));
  return Status::OK();
}

Result<raftpb::Snapshot> MemoryStorage::CreateSnapshot(Index i, const raftpb::ConfState* cs,
                                                       std::string data) {
  if (i.value() <= snapshot_.metadata().index()) {
    return Status::FailedPrecondition("snapshot out of date");
  }
  Index offset(ents_[0].index());
  if (i > LastIndexInternal()) return Status::InvalidArgument("snapshot index beyond last index");
  snapshot_.mutable_metadata()->set_index(i.value());
  snapshot_.mutable_metadata()->set_term(ents_[i - offset].term());
  if (cs != nullptr) snapshot_.mutable_metadata()->mutable_conf_state()->CopyFrom(*cs);
  snapshot_.set_data(std::move(data));
  return snapshot_;
}

Status MemoryStorage::Compact(Index compact_index) {
  Index offset(ents_[0].index());
  if (compact_index <= offset) return CompactedError();
  if (compact_index > LastIndexInternal()) {
    return Status::InvalidArgument("compact index beyond last index");
  }
  size_t n = compact_index - offset;
  std::vector<raftpb::Entry> kept;
  kept.reserve(ents_.size() - n);
  raftpb::Entry dummy;
  dummy.set_index(ents_[n].index());
  dummy.set_term(ents_[n].term());
  kept.push_back(std::move(dummy));
  for (size_t k = n + 1; k < ents_.size(); ++k) kept.push_back(std::move(ents_[k]));
  ents_ = std::move(kept);
  return Status::OK();
}

Status MemoryStorage::Append(const std::vector<raftpb::Entry>& entries) {
  if (entries.empty()) return Status::OK();
  Index first = FirstIndexInternal();
  Index last(entries.back().index());
  if (last < first) return Status::OK();  // all compacted
  size_t skip = 0;
  if (first.value() > entries[0].index()) skip = first.value() - entries[0].index();
  Index start(entries[skip].index());
  Index offset(ents_[0].index());
  if (start - offset > ents_.size()) {
    return Status::InvalidArgument("missing log entries before appended ones");
  }
  ents_.resize(start - offset);
  for (size_t k = skip; k < entries.size(); ++k) ents_.push_back(entries[k]);
  return Status::OK();
}

}  // namespace ringkv::raft
