// The engine-independent part of engine.h: Iterator verifies every record the cursor yields,
// and the default WriteAll.
#include "storage/engine.h"

#include "storage/record.h"

namespace ringkv::storage {

Status Engine::WriteAll(const std::vector<const WriteBatch*>& batches, bool sync) {
  if (batches.size() == 1) return Write(*batches.front(), sync);
  WriteBatch merged;
  for (const WriteBatch* b : batches) merged.Append(*b);
  return Write(merged, sync);
}

void Iterator::Settle() {
  payload_ = {};
  valid_ = false;
  if (!cursor_->Valid()) {
    status_ = cursor_->status();
    return;
  }
  Result<std::string_view> payload = DecodeRecord(key(), raw_value());
  if (!payload.ok()) {
    status_ = payload.status();
    return;
  }
  payload_ = *payload;
  valid_ = true;
}

void Iterator::SeekToFirst() {
  cursor_->SeekToFirst();
  Settle();
}
void Iterator::SeekToLast() {
  cursor_->SeekToLast();
  Settle();
}
void Iterator::Seek(std::string_view key) {
  cursor_->Seek(key);
  Settle();
}
void Iterator::Next() {
  cursor_->Next();
  Settle();
}
void Iterator::Prev() {
  cursor_->Prev();
  Settle();
}

}  // namespace ringkv::storage
