#include "storage/change_history.h"

#include <algorithm>

#include "common/status_macros.h"
#include "proto/storage.pb.h"
#include "storage/keys.h"
#include "storage/proto_io.h"

namespace ringkv::storage {

ChangeHistory::ChangeHistory(Engine* engine, GroupId group, ChangeHistoryOptions options)
    : engine_(engine), group_(group), options_(options) {}

Status ChangeHistory::Load(Index applied) {
  held_.clear();
  bytes_ = 0;
  storagepb::HistoryState st;
  ASSIGN_OR_RETURN(bool found, ReadProto(*engine_, Cf::kData, HistoryStateKey(group_), &st));
  first_index_ = found ? Index(st.first_index()) : applied + 1;
  state_persisted_ = found;
  std::unique_ptr<Iterator> it = engine_->NewIterator(Cf::kData, HistoryRange(group_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<HistoryKeyParts> parts = DecodeHistoryKey(group_, it->key());
    if (!parts) return Status::Corruption("malformed history key " + EscapeKey(it->key()));
    size_t bytes = it->key().size() + it->value().size();
    if (held_.empty() || held_.back().index != parts->index) {
      held_.push_back(Held{parts->index, 0, 0});
    }
    held_.back().events++;
    held_.back().bytes += bytes;
    bytes_ += bytes;
  }
  RETURN_IF_ERROR(it->status());
  if (!found && !held_.empty()) first_index_ = std::min(first_index_, held_.front().index);
  return Status::OK();
}

void ChangeHistory::StartEmpty(WriteBatch* batch) {
  first_index_ = Index(1);
  PersistState(batch);
}

void ChangeHistory::PersistState(WriteBatch* batch) {
  storagepb::HistoryState st;
  st.set_first_index(first_index_.value());
  PutProto(batch, Cf::kData, HistoryStateKey(group_), st);
  state_persisted_ = true;
}

void ChangeHistory::Append(WriteBatch* batch, const IndexedChanges& changes) {
  Held h{changes.index, 0, 0};
  for (const kvpb::WatchEvent& e : changes.events) {
    std::string key = HistoryKey(group_, changes.index, h.events++);
    std::string value = e.SerializeAsString();
    h.bytes += key.size() + value.size();
    batch->Put(Cf::kData, key, value);
  }
  bytes_ += h.bytes;
  held_.push_back(h);
  if (held_.size() == 1 && first_index_ > changes.index) {
    // Cannot happen while indexes grow; keeps first_index_ <= every held index regardless.
    first_index_ = changes.index;
  }
  bool dropped = false;
  while (held_.size() > 1 && (held_.size() > options_.max_entries || bytes_ > options_.max_bytes)) {
    DropOldest(batch);
    dropped = true;
  }
  if (dropped) PersistState(batch);
}

void ChangeHistory::DropOldest(WriteBatch* batch) {
  const Held& h = held_.front();
  for (uint32_t seq = 0; seq < h.events; ++seq) {
    batch->Delete(Cf::kData, HistoryKey(group_, h.index, seq));
  }
  bytes_ -= h.bytes;
  // Every index up to the dropped one is now gone (indexes without changes hold nothing).
  first_index_ = h.index + 1;
  held_.pop_front();
}

Result<std::vector<IndexedChanges>> ChangeHistory::Read(Index from, Index to, size_t max_events,
                                                        const ReadSnapshot* snapshot) const {
  std::vector<IndexedChanges> out;
  if (from > to) return out;
  KeyRange range{HistoryKey(group_, from, 0), HistoryRange(group_).end};
  std::unique_ptr<Iterator> it = engine_->NewIterator(Cf::kData, std::move(range), snapshot);
  size_t events = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<HistoryKeyParts> parts = DecodeHistoryKey(group_, it->key());
    if (!parts) return Status::Corruption("malformed history key " + EscapeKey(it->key()));
    if (parts->index > to) break;
    if (out.empty() || out.back().index != parts->index) {
      if (events >= max_events) break;  // whole indexes only
      out.push_back(IndexedChanges{parts->index, {}});
    }
    kvpb::WatchEvent e;
    RETURN_IF_ERROR(ParseRecordProto(it->key(), it->value(), &e));
    out.back().events.push_back(std::move(e));
    ++events;
  }
  RETURN_IF_ERROR(it->status());
  return out;
}

}  // namespace ringkv::storage
