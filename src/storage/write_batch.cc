#include "storage/write_batch.h"

#include "storage/record.h"

namespace ringkv::storage {

void WriteBatch::Add(OpType type, Cf cf, std::string key, std::string value) {
  byte_size_ += key.size() + value.size() + 2;
  ops_.push_back(Op{type, cf, std::move(key), std::move(value)});
}

void WriteBatch::Put(Cf cf, std::string_view key, std::string_view payload) {
  Add(OpType::kPut, cf, std::string(key), EncodeRecord(payload));
}

void WriteBatch::PutRecord(Cf cf, std::string_view key, std::string record) {
  SealRecord(&record);
  Add(OpType::kPut, cf, std::string(key), std::move(record));
}

void WriteBatch::Delete(Cf cf, std::string_view key) {
  Add(OpType::kDelete, cf, std::string(key), {});
}

void WriteBatch::DeleteRange(Cf cf, const KeyRange& range) {
  Add(OpType::kDeleteRange, cf, range.begin, range.end);
}

void WriteBatch::PutStored(Cf cf, std::string_view key, std::string_view stored) {
  Add(OpType::kPut, cf, std::string(key), std::string(stored));
}

void WriteBatch::Append(const WriteBatch& other) {
  for (const Op& op : other.ops_) Add(op.type, op.cf, op.key, op.value);
}

void WriteBatch::Clear() {
  ops_.clear();
  byte_size_ = 0;
}

WriteDomains DomainsOf(const std::vector<const WriteBatch*>& batches) {
  WriteDomains d;
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (op.cf == Cf::kRaft) {
        d.log = true;
        d.log_deletes |= op.type != WriteBatch::OpType::kPut;
      } else {
        d.rest = true;
      }
    }
  }
  return d;
}

}  // namespace ringkv::storage
