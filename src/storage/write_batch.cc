#include "storage/write_batch.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage/record.h"

namespace ringkv::storage {

char* WriteBatch::Reserve(size_t n) {
  if (n > free_bytes_) {
    // A value larger than the next block gets a block of its own size; the rest of the last
    // block is left unused.
    const size_t size = std::max(n, next_block_);
    blocks_.push_back(std::unique_ptr<char[]>(new char[size]));
    free_ = blocks_.back().get();
    free_bytes_ = size;
    next_block_ = std::min(next_block_ * 2, kMaxBlock);
  }
  char* at = free_;
  free_ += n;
  free_bytes_ -= n;
  return at;
}

std::string_view WriteBatch::Copy(std::string_view bytes) {
  if (bytes.empty()) return {};
  char* at = Reserve(bytes.size());
  std::memcpy(at, bytes.data(), bytes.size());
  return {at, bytes.size()};
}

void WriteBatch::Add(OpType type, Cf cf, std::string_view key, std::string_view value) {
  byte_size_ += key.size() + value.size() + 2;
  ops_.push_back(Op{type, cf, Copy(key), Copy(value)});
}

char* WriteBatch::AddPut(Cf cf, std::string_view key, size_t payload_size) {
  const std::string_view k = Copy(key);
  char* record = Reserve(kRecordHeaderSize + payload_size);
  byte_size_ += key.size() + kRecordHeaderSize + payload_size + 2;
  const std::string_view value(record, kRecordHeaderSize + payload_size);
  ops_.push_back(Op{OpType::kPut, cf, k, value});
  return record + kRecordHeaderSize;
}

void WriteBatch::SealPayload(char* payload, size_t payload_size) {
  EncodeFixed32BE(payload - kRecordHeaderSize,
                  crc32c::Value(std::string_view(payload, payload_size)));
}

void WriteBatch::Put(Cf cf, std::string_view key, std::string_view payload) {
  PutBuilt(cf, key, payload.size(), [&payload](char* dst) {
    if (!payload.empty()) std::memcpy(dst, payload.data(), payload.size());
  });
}

void WriteBatch::Delete(Cf cf, std::string_view key) { Add(OpType::kDelete, cf, key, {}); }

void WriteBatch::DeleteRange(Cf cf, const KeyRange& range) {
  Add(OpType::kDeleteRange, cf, range.begin, range.end);
}

void WriteBatch::PutStored(Cf cf, std::string_view key, std::string_view stored) {
  Add(OpType::kPut, cf, key, stored);
}

void WriteBatch::AppendOp(const Op& op) { Add(op.type, op.cf, op.key, op.value); }

void WriteBatch::Append(const WriteBatch& other) {
  ops_.reserve(ops_.size() + other.ops_.size());
  for (const Op& op : other.ops_) AppendOp(op);
}

WriteBatch& WriteBatch::operator=(WriteBatch&& other) noexcept {
  if (this == &other) return *this;
  blocks_ = std::move(other.blocks_);
  ops_ = std::move(other.ops_);
  free_ = std::exchange(other.free_, nullptr);
  free_bytes_ = std::exchange(other.free_bytes_, 0);
  next_block_ = std::exchange(other.next_block_, kFirstBlock);
  byte_size_ = std::exchange(other.byte_size_, 0);
  other.Clear();  // moved-from vectors are valid but unspecified: make them empty
  return *this;
}

void WriteBatch::Clear() {
  ops_.clear();
  blocks_.clear();
  free_ = nullptr;
  free_bytes_ = 0;
  next_block_ = kFirstBlock;
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
