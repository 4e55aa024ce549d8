// WriteBatch: an ordered set of puts and deletes across the engine's column families, applied
// atomically by Engine::Write. Upper layers build batches without seeing RocksDB types; group
// commit (store/) puts the changes of many groups into one batch.
//
// Thread-safety: not thread-safe; a batch is built by one thread and then handed over.
#ifndef RINGKV_STORAGE_WRITE_BATCH_H_
#define RINGKV_STORAGE_WRITE_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/keys.h"

namespace ringkv::storage {

// The engine's column families (see keys.h for what each holds).
enum class Cf : uint8_t { kRaft = 0, kData = 1, kMeta = 2 };
constexpr int kNumCfs = 3;

class WriteBatch {
 public:
  enum class OpType : uint8_t { kPut, kDelete, kDeleteRange };
  // One op. Its key and value are views into the batch's own memory, which never moves while
  // the batch lives (moving the batch keeps it): valid until the batch is cleared or destroyed.
  struct Op {
    OpType type;
    Cf cf;
    std::string_view key;    // kDeleteRange: begin
    std::string_view value;  // kPut: the stored form (crc envelope); kDeleteRange: end
  };

  WriteBatch() = default;
  // A moved-from batch is empty and owns nothing, as a new one: it may be filled again (a
  // replica's apply batch is taken, then refilled), and must not keep a pointer into the
  // blocks it gave away.
  WriteBatch(WriteBatch&& other) noexcept { *this = std::move(other); }
  WriteBatch& operator=(WriteBatch&& other) noexcept;

  // Sets `key` to `payload`, wrapped in the crc envelope (record.h). Later ops on the same key
  // in this batch win.
  void Put(Cf cf, std::string_view key, std::string_view payload);
  // Like Put, for a payload of `payload_size` bytes that `fill(char* dst)` writes straight into
  // the batch (a serialized proto, a versioned value): the payload is copied once, not built
  // first and copied again. `fill` must write exactly `payload_size` bytes.
  template <typename Fill>
  void PutBuilt(Cf cf, std::string_view key, size_t payload_size, Fill&& fill) {
    char* payload = AddPut(cf, key, payload_size);
    fill(payload);
    SealPayload(payload, payload_size);
  }
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
  void AppendOp(const Op& op);
  void Clear();

  size_t Count() const { return ops_.size(); }
  bool Empty() const { return ops_.empty(); }
  // Approximate bytes of keys and values held.
  size_t ByteSize() const { return byte_size_; }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  // Room for `n` bytes that stays where it is for the batch's life.
  char* Reserve(size_t n);
  std::string_view Copy(std::string_view bytes);
  void Add(OpType type, Cf cf, std::string_view key, std::string_view value);
  // Adds a put of `key` with room for its record; returns where the payload goes.
  char* AddPut(Cf cf, std::string_view key, size_t payload_size);
  // Writes the crc envelope's header in front of `payload`.
  static void SealPayload(char* payload, size_t payload_size);

  // Keys and values live in blocks that grow as the batch does (so a turn's batch of hundreds
  // of ops makes a few allocations, not two per op) and never move.
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* free_ = nullptr;  // the unused rest of the last block
  size_t free_bytes_ = 0;
  size_t next_block_ = kFirstBlock;
  std::vector<Op> ops_;
  size_t byte_size_ = 0;

  static constexpr size_t kFirstBlock = 1024;
  static constexpr size_t kMaxBlock = size_t{256} << 10;
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
