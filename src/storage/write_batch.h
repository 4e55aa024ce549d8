// WriteBatch: an ordered set of puts and deletes across the engine's column families, applied
// atomically by Engine::Write. Upper layers build batches without seeing RocksDB types; group
// commit (store/) puts the changes of many groups into one batch.
//
// Thread-safety: not thread-safe; a batch is built by one thread and then handed over.
#ifndef RINGKV_STORAGE_WRITE_BATCH_H_
#define RINGKV_STORAGE_WRITE_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/keys.h"

namespace ringkv::storage {

// The engine's column families (see keys.h for what each holds).
enum class Cf : uint8_t { kRaft = 0, kData = 1, kMeta = 2 };
constexpr int kNumCfs = 3;

class WriteBatch {
 public:
  enum class OpType : uint8_t { kPut, kDelete, kDeleteRange };
  struct Op {
    OpType type;
    Cf cf;
    std::string key;    // kDeleteRange: begin
    std::string value;  // kPut: the stored form (crc envelope); kDeleteRange: end
  };

  WriteBatch() = default;
  WriteBatch(WriteBatch&&) = default;
  WriteBatch& operator=(WriteBatch&&) = default;

  // Sets `key` to `payload`, wrapped in the crc envelope (record.h). Later ops on the same key
  // in this batch win.
  void Put(Cf cf, std::string_view key, std::string_view payload);
  // Like Put, for a payload appended to RecordBuffer() (record.h): seals and keeps `record`
  // without copying the payload again.
  void PutRecord(Cf cf, std::string_view key, std::string record);
  void Delete(Cf cf, std::string_view key);
  // Deletes every key in [range.begin, range.end). REQUIRES: begin <= end.
  void DeleteRange(Cf cf, const KeyRange& range);

  // Stores `stored`, a value already in its crc envelope, verbatim (moving records from one
  // store to another).
  void PutStored(Cf cf, std::string_view key, std::string_view stored);
  // The same, for tests that plant bad records.
  void PutRawForTesting(Cf cf, std::string_view key, std::string_view stored) {
    PutStored(cf, key, stored);
  }

  // Appends all ops of `other`, in order (used to merge per-group batches).
  void Append(const WriteBatch& other);
  // Appends one op of another batch as it is (splitting a batch by column family).
  void AppendOp(const Op& op) { Add(op.type, op.cf, op.key, op.value); }
  void Clear();

  size_t Count() const { return ops_.size(); }
  bool Empty() const { return ops_.empty(); }
  // Approximate bytes of keys and values held.
  size_t ByteSize() const { return byte_size_; }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  void Add(OpType type, Cf cf, std::string key, std::string value);

  std::vector<Op> ops_;
  size_t byte_size_ = 0;
};

// Which of the node engine's two durability domains (split_engine.h) a write touches: the
// raft CF (the log) and the rest; and whether it deletes log records (a compaction).
struct WriteDomains {
  bool log = false;
  bool rest = false;
  bool log_deletes = false;
};
WriteDomains DomainsOf(const std::vector<const WriteBatch*>& batches);

// For every op of `batches` in order (all ops of the first batch, then the second, ...): whether
// a LATER put or delete of the same CF and key in `batches` overwrites it. Written as one atomic
// write, such an op is never visible, so an engine may skip it: a turn's apply write rewrites a
// session's record once per write of that session (36% of session records at 32 shards and 64
// in flight were overwritten in the same write). A delete range overwrites nothing here, and
// nothing overwrites it.
std::vector<bool> OverwrittenOps(const std::vector<const WriteBatch*>& batches);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_WRITE_BATCH_H_
