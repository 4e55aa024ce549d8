#include "storage/raft_log_store.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "common/coding.h"
#include "common/failpoint.h"
#include "common/status_macros.h"
#include "proto/storage.pb.h"
#include "storage/keys.h"
#include "storage/proto_io.h"

namespace ringkv::storage {
namespace {

std::string GroupName(GroupId group) { return "group " + std::to_string(group.value()); }

}  // namespace

Status RaftLogStore::RaiseCommitToApplied(Index applied) {
  if (applied.value() <= hard_state_.commit()) return Status::OK();
  // The injected bug's commit below the truncated index must stay visible (see Load).
  if (failpoint::Injected(kBugInstallWithoutHardState)) return Status::OK();
  if (applied > last_index_) {
    return Status::FailedPrecondition(
        GroupName(group_) + ": applied index " + std::to_string(applied.value()) +
        " is beyond the log's last index " + std::to_string(last_index_.value()) +
        ": the log lost entries that were applied");
  }
  VLOG(1) << GroupName(group_) << ": raising the stored commit " << hard_state_.commit()
          << " to the applied index " << applied.value();
  hard_state_.set_commit(applied.value());
  return Status::OK();
}

RaftLogStore::RaftLogStore(Engine* engine, GroupId group) : engine_(engine), group_(group) {}

Status RaftLogStore::Load() {
  storagepb::SnapshotInstallMarker marker;
  ASSIGN_OR_RETURN(bool installing,
                   ReadProto(*engine_, Cf::kMeta, SnapshotInstallKey(group_), &marker));
  if (installing) {
    return Status::FailedPrecondition("unfinished snapshot install for " + GroupName(group_));
  }
  ASSIGN_OR_RETURN(bool unused, ReadProto(*engine_, Cf::kRaft, HardStateKey(group_), &hard_state_));
  ASSIGN_OR_RETURN(unused, ReadProto(*engine_, Cf::kData, ConfStateKey(group_), &conf_state_));
  storagepb::TruncatedState ts;
  ASSIGN_OR_RETURN(unused, ReadProto(*engine_, Cf::kRaft, TruncatedStateKey(group_), &ts));
  (void)unused;
  truncated_index_ = Index(ts.index());
  truncated_term_ = Term(ts.term());
  if (hard_state_.commit() < ts.index() && !failpoint::Injected(kBugInstallWithoutHardState)) {
    LOG(WARNING) << GroupName(group_) << ": stored hard state commit " << hard_state_.commit()
                 << " is below the truncated index " << ts.index()
                 << " (left by an interrupted snapshot install of an older version); "
                    "raising it: everything up to the truncated index is committed";
    hard_state_.set_commit(ts.index());
  }
  cum_bytes_.clear();
  bytes_base_ = 0;

  std::unique_ptr<Iterator> it = engine_->NewIterator(Cf::kRaft, RaftLogRange(group_));
  it->SeekToLast();
  RETURN_IF_ERROR(it->status());
  if (!it->Valid()) {
    last_index_ = truncated_index_;
    return Status::OK();
  }
  std::optional<RaftLogKeyParts> last = DecodeRaftLogKey(it->key());
  it->SeekToFirst();
  RETURN_IF_ERROR(it->status());
  std::optional<RaftLogKeyParts> first = it->Valid() ? DecodeRaftLogKey(it->key()) : std::nullopt;
  if (!last || !first) {
    return Status::Corruption("malformed raft log key of " + GroupName(group_));
  }
  if (first->index != truncated_index_ + 1 || last->index < first->index) {
    return Status::Corruption("raft log of " + GroupName(group_) + " starts at index " +
                              std::to_string(first->index.value()) + " but truncated index is " +
                              std::to_string(truncated_index_.value()));
  }
  last_index_ = last->index;
  // Every entry's size, for the log budgets: one pass over the log (bounded by them).
  Index want = first->index;
  for (; it->Valid(); it->Next(), ++want) {
    std::optional<RaftLogKeyParts> k = DecodeRaftLogKey(it->key());
    if (!k || k->index != want) {
      return Status::Corruption("raft log of " + GroupName(group_) + " has a hole at index " +
                                std::to_string(want.value()));
    }
    cum_bytes_.push_back((cum_bytes_.empty() ? 0 : cum_bytes_.back()) + it->value().size());
  }
  RETURN_IF_ERROR(it->status());
  if (want != last_index_ + 1) {
    return Status::Corruption("raft log of " + GroupName(group_) + " ends early at index " +
                              std::to_string(want.value()));
  }
  return Status::OK();
}

uint64_t RaftLogStore::LogBytes() const {
  return cum_bytes_.empty() ? 0 : cum_bytes_.back() - bytes_base_;
}

uint64_t RaftLogStore::BytesThrough(Index index) const {
  if (index <= truncated_index_) return 0;
  if (index >= last_index_) return LogBytes();
  return cum_bytes_[index.value() - FirstIndex().value()] - bytes_base_;
}

Index RaftLogStore::CompactionPointKeeping(Index upto, uint64_t max_bytes) const {
  const uint64_t through_upto = BytesThrough(upto);
  // Smallest `to` with BytesThrough(upto) - BytesThrough(to) <= max_bytes; BytesThrough is
  // nondecreasing in `to`, so binary search over (truncated, upto].
  uint64_t lo = truncated_index_.value(), hi = upto.value();
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (through_upto - BytesThrough(Index(mid)) <= max_bytes) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return Index(lo);
}

Status RaftLogStore::Append(WriteBatch* batch, const std::vector<raftpb::Entry>& entries) {
  if (entries.empty()) return Status::OK();
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index() != entries[i - 1].index() + 1) {
      return Status::InvalidArgument("entries to append are not consecutive at index " +
                                     std::to_string(entries[i].index()));
    }
  }
  const Index first_new(entries.front().index());
  if (first_new > last_index_ + 1) {
    return Status::InvalidArgument("append at index " + std::to_string(first_new.value()) +
                                   " leaves a gap after last index " +
                                   std::to_string(last_index_.value()));
  }
  const Index new_last(entries.back().index());
  if (new_last <= truncated_index_) return Status::OK();  // all compacted already
  // Sizes: drop those of the entries this append overwrites (a conflicting suffix), then add
  // the new ones.
  const Index first_written = std::max(first_new, truncated_index_ + 1);
  while (!cum_bytes_.empty() && Index(truncated_index_.value() + cum_bytes_.size()) >= first_written) {
    cum_bytes_.pop_back();
  }
  for (const raftpb::Entry& e : entries) {
    if (Index(e.index()) <= truncated_index_) continue;
    PutProto(batch, Cf::kRaft, RaftLogKey(group_, Index(e.index())), e);
    cum_bytes_.push_back((cum_bytes_.empty() ? bytes_base_ : cum_bytes_.back()) + e.ByteSizeLong());
  }
  if (new_last < last_index_) {
    batch->DeleteRange(Cf::kRaft,
                       {RaftLogKey(group_, new_last + 1), RaftLogKey(group_, last_index_ + 1)});
  }
  last_index_ = new_last;
  return Status::OK();
}

Result<std::vector<raftpb::Entry>> RaftLogStore::Entries(Index lo, Index hi,
                                                         uint64_t max_bytes) const {
  if (lo > hi) return Status::InvalidArgument("Entries: lo > hi");
  if (lo < FirstIndex()) {
    return Status::NotFound("log compacted: index " + std::to_string(lo.value()) +
                            " < first index " + std::to_string(FirstIndex().value()));
  }
  if (hi > last_index_ + 1) {
    return Status::Unavailable("log unavailable: hi " + std::to_string(hi.value()) +
                               " > last index + 1 = " + std::to_string(last_index_.value() + 1));
  }
  std::vector<raftpb::Entry> out;
  if (lo == hi) return out;
  std::unique_ptr<Iterator> it =
      engine_->NewIterator(Cf::kRaft, {RaftLogKey(group_, lo), RaftLogKey(group_, hi)});
  uint64_t total = 0;
  Index want = lo;
  for (it->SeekToFirst(); it->Valid() && want < hi; it->Next(), ++want) {
    std::optional<RaftLogKeyParts> k = DecodeRaftLogKey(it->key());
    if (!k || k->index != want) break;
    raftpb::Entry e;
    RETURN_IF_ERROR(ParseRecordProto(it->key(), it->value(), &e));
    if (e.index() != want.value()) {
      return Status::Corruption("entry at key " + EscapeKey(it->key()) + " has index " +
                                std::to_string(e.index()));
    }
    total += e.ByteSizeLong();
    if (!out.empty() && total > max_bytes) return out;
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(it->status());
  if (want != hi) {
    return Status::Corruption("raft log of " + GroupName(group_) + " has a hole at index " +
                              std::to_string(want.value()));
  }
  return out;
}

Result<raftpb::Entry> RaftLogStore::ReadEntry(Index index) const {
  const std::string key = RaftLogKey(group_, index);
  raftpb::Entry e;
  ASSIGN_OR_RETURN(bool found, ReadProto(*engine_, Cf::kRaft, key, &e));
  if (!found) {
    return Status::Corruption("raft log of " + GroupName(group_) + " has a hole at index " +
                              std::to_string(index.value()));
  }
  if (e.index() != index.value()) {
    return Status::Corruption("entry at key " + EscapeKey(key) + " has index " +
                              std::to_string(e.index()));
  }
  return e;
}

Result<Term> RaftLogStore::TermAt(Index index) const {
  if (index == truncated_index_) return truncated_term_;
  if (index < truncated_index_) {
    return Status::NotFound("log compacted: index " + std::to_string(index.value()) +
                            " < truncated index " + std::to_string(truncated_index_.value()));
  }
  if (index > last_index_) {
    return Status::Unavailable("log unavailable: index " + std::to_string(index.value()) +
                               " > last index " + std::to_string(last_index_.value()));
  }
  ASSIGN_OR_RETURN(raftpb::Entry e, ReadEntry(index));
  return Term(e.term());
}

void RaftLogStore::SetHardState(WriteBatch* batch, const raftpb::HardState& hs) {
  PutProto(batch, Cf::kRaft, HardStateKey(group_), hs);
  hard_state_ = hs;
}

void RaftLogStore::SetConfState(WriteBatch* batch, const raftpb::ConfState& cs) {
  PutProto(batch, Cf::kData, ConfStateKey(group_), cs);
  conf_state_ = cs;
}

Status RaftLogStore::Compact(WriteBatch* batch, Index index, Term term) {
  if (index <= truncated_index_) {
    return Status::NotFound("log compacted: index " + std::to_string(index.value()) +
                            " <= truncated index " + std::to_string(truncated_index_.value()));
  }
  ASSIGN_OR_RETURN(Term stored, TermAt(index));
  if (stored != term) {
    return Status::InvalidArgument("compact at index " + std::to_string(index.value()) + ": term " +
                                   std::to_string(term.value()) + " but entry has term " +
                                   std::to_string(stored.value()));
  }
  batch->DeleteRange(Cf::kRaft, {RaftLogKey(group_, FirstIndex()), RaftLogKey(group_, index + 1)});
  storagepb::TruncatedState ts;
  ts.set_index(index.value());
  ts.set_term(term.value());
  PutProto(batch, Cf::kRaft, TruncatedStateKey(group_), ts);
  const uint64_t removed = index.value() - truncated_index_.value();
  bytes_base_ = cum_bytes_[removed - 1];
  cum_bytes_.erase(cum_bytes_.begin(), cum_bytes_.begin() + static_cast<std::ptrdiff_t>(removed));
  truncated_index_ = index;
  truncated_term_ = term;
  return Status::OK();
}

raftpb::HardState RaftLogStore::HardStateAtSnapshot(const raftpb::HardState& hs,
                                                    const raftpb::SnapshotMetadata& meta) {
  raftpb::HardState out = hs;
  out.set_commit(meta.index());
  if (out.term() < meta.term()) {
    out.set_term(meta.term());
    out.set_vote(0);
  }
  return out;
}

void RaftLogStore::WriteSnapshotMeta(WriteBatch* batch, GroupId group,
                                     const raftpb::SnapshotMetadata& meta,
                                     const raftpb::HardState& hs) {
  batch->DeleteRange(Cf::kRaft, RaftLogRange(group));
  storagepb::TruncatedState ts;
  ts.set_index(meta.index());
  ts.set_term(meta.term());
  PutProto(batch, Cf::kRaft, TruncatedStateKey(group), ts);
  PutProto(batch, Cf::kData, ConfStateKey(group), meta.conf_state());
  PutProto(batch, Cf::kRaft, HardStateKey(group), HardStateAtSnapshot(hs, meta));
}

void RaftLogStore::ApplySnapshotMeta(WriteBatch* batch, const raftpb::SnapshotMetadata& meta,
                                     const raftpb::HardState& hs) {
  WriteSnapshotMeta(batch, group_, meta, hs);
  truncated_index_ = Index(meta.index());
  truncated_term_ = Term(meta.term());
  last_index_ = truncated_index_;
  conf_state_ = meta.conf_state();
  hard_state_ = HardStateAtSnapshot(hs, meta);
  cum_bytes_.clear();
  bytes_base_ = 0;
}

Result<std::optional<NodeId>> GetReplicaId(const Engine& engine, GroupId group) {
  storagepb::ReplicaIdRecord rec;
  ASSIGN_OR_RETURN(bool found, ReadProto(engine, Cf::kRaft, ReplicaIdKey(group), &rec));
  if (!found) return std::optional<NodeId>();
  if (rec.raft_id() == 0) {
    return Status::Corruption("group " + std::to_string(group.value()) + ": replica id 0");
  }
  return std::optional<NodeId>(NodeId(rec.raft_id()));
}

void PutReplicaId(WriteBatch* batch, GroupId group, NodeId raft_id) {
  storagepb::ReplicaIdRecord rec;
  rec.set_raft_id(raft_id.value());
  PutProto(batch, Cf::kRaft, ReplicaIdKey(group), rec);
}

Result<std::vector<GroupId>> ListGroups(const Engine& engine) {
  std::vector<GroupId> groups;
  // Group ids are 8-byte big-endian prefixes, so 9 bytes of 0xff bound every key.
  std::unique_ptr<Iterator> it = engine.NewIterator(Cf::kRaft, KeyRange{"", std::string(9, '\xff')});
  it->SeekToFirst();
  while (it->Valid()) {
    std::string_view key = it->key();
    if (key.size() < 8) return Status::Corruption("raft CF key shorter than a group id");
    GroupId g(DecodeFixed64BE(key.data()));
    Result<std::optional<std::string>> cs = engine.Get(Cf::kData, ConfStateKey(g));
    if (!cs.ok()) return cs.status();
    if (cs->has_value()) groups.push_back(g);
    if (g.value() == UINT64_MAX) break;
    it->Seek(GroupPrefix(GroupId(g.value() + 1)));
  }
  RETURN_IF_ERROR(it->status());
  return groups;
}

}  // namespace ringkv::storage
