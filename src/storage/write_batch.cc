#include "storage/write_batch.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

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
  for (const Op& op : other.ops_) AppendOp(op);
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

std::vector<bool> OverwrittenOps(const std::vector<const WriteBatch*>& batches) {
  // Called for every apply write of the node (a turn's ops, ~100 at 32 shards): a sort of
  // (hash, position) pairs allocates once, where a hash set would allocate per op and cost as
  // much as the memtable inserts it saves.
  std::vector<const WriteBatch::Op*> ops;
  std::vector<std::pair<uint64_t, uint32_t>> points;  // (hash of cf and key, position in ops)
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (op.type != WriteBatch::OpType::kDeleteRange) {
        const uint64_t h = std::hash<std::string_view>()(op.key) ^
                           (static_cast<uint64_t>(op.cf) * 0x9E3779B97F4A7C15ull);
        points.emplace_back(h, static_cast<uint32_t>(ops.size()));
      }
      ops.push_back(&op);
    }
  }
  std::vector<bool> overwritten(ops.size(), false);
  if (points.size() < 2) return overwritten;
  std::sort(points.begin(), points.end());
  for (size_t run = 0; run < points.size();) {
    size_t end = run + 1;
    while (end < points.size() && points[end].first == points[run].first) ++end;
    // Within a run of equal hashes (almost always one key), every op but the last of each
    // (cf, key) is overwritten; positions ascend within the run.
    for (size_t i = run; i + 1 < end; ++i) {
      const WriteBatch::Op& op = *ops[points[i].second];
      for (size_t j = i + 1; j < end; ++j) {
        const WriteBatch::Op& later = *ops[points[j].second];
        if (later.cf == op.cf && later.key == op.key) {
          overwritten[points[i].second] = true;
          break;
        }
      }
    }
    run = end;
  }
  return overwritten;
}

}  // namespace ringkv::storage
