// KvState: the state machine of one group as stored in the data CF — user data (each value with
// the Raft index that last wrote it), the apply state, and the client-session table for
// exactly-once application (session_table.h) — plus a digest of all of it for convergence checks.
//
// Atomicity: apply writes its data changes, session updates and SetApplyState into ONE
// WriteBatch, so after a crash the applied index says exactly which entries' effects are stored
// (never applied twice, never skipped).
//
// Like RaftLogStore, in-memory bookkeeping (apply state, session table) changes at call time:
// write each batch before reading back what it contains; reload with Load() after a snapshot
// install or a failed write.
//
// Thread-safety: not thread-safe; owned by the group's replica. Reads taking a ReadSnapshot may
// run on another thread only if the caller serializes them with the owner.
#ifndef RINGKV_STORAGE_KV_STATE_H_
#define RINGKV_STORAGE_KV_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/status.h"
#include "storage/engine.h"
#include "storage/session_table.h"
#include "storage/write_batch.h"

namespace ringkv::storage {

struct KvStateOptions {
  // Bounds of the client-session table; must be equal on every replica of a group.
  SessionLimits sessions;
};

struct VersionedValue {
  std::string value;
  Index version;       // Raft index of the entry that last wrote the key
  uint64_t lease = 0;  // the lease the key is attached to, 0 = none
  bool operator==(const VersionedValue&) const = default;
};

struct KvPair {
  std::string key;  // user key
  VersionedValue value;
  bool operator==(const KvPair&) const = default;
};

struct ApplyState {
  Index applied_index{0};
  Term applied_term{0};
  bool operator==(const ApplyState&) const = default;
};

struct StateDigest {
  ApplyState applied;  // the apply state the digest was taken at
  uint64_t hash = 0;   // XXH3-64 over user data and sessions, in key order
  bool operator==(const StateDigest&) const = default;
};

class KvState {
 public:
  // `engine` is not owned and must outlive this.
  KvState(Engine* engine, GroupId group, KvStateOptions options = {});

  // Reads the apply state and the session table. Corruption on bad records.
  Status Load();

  GroupId group() const { return group_; }
  const ApplyState& applied() const { return applied_; }
  // Writes the apply state into `batch` (the same batch as the changes it covers).
  void SetApplyState(WriteBatch* batch, ApplyState state);

  // The value of `key`, nullopt if absent. Reads at `snapshot` when given.
  // Corruption naming the key on a bad record.
  Result<std::optional<VersionedValue>> Get(std::string_view key,
                                            const ReadSnapshot* snapshot = nullptr) const;
  // Up to `limit` pairs with start <= key < end in key order; an empty `end` means no upper
  // bound; limit 0 means no limit.
  Result<std::vector<KvPair>> Scan(std::string_view start, std::string_view end, size_t limit,
                                   const ReadSnapshot* snapshot = nullptr) const;
  void Put(WriteBatch* batch, std::string_view key, std::string_view value, Index version,
           uint64_t lease = 0);
  void Delete(WriteBatch* batch, std::string_view key);

  // The group's client sessions (written in the same batches as the data).
  SessionTable& sessions() { return sessions_; }
  const SessionTable& sessions() const { return sessions_; }

  // Digest of user data, sessions, leases and change history at a consistent snapshot (apply state excluded from the
  // hash, reported alongside). Replicas at the same applied index must have equal digests.
  Result<StateDigest> Digest() const;

 private:
  Engine* const engine_;
  const GroupId group_;
  ApplyState applied_;  // as last loaded or set; changed by Load and SetApplyState
  SessionTable sessions_;
};

// Stored form of a user value (inside the crc envelope): [u64 BE version][value bytes], or for a
// key attached to a lease [u64 BE version | 1<<63][u64 BE lease][value bytes]. Versions are Raft
// indexes, far below 2^63, so the flag bit never collides, and records written before leases
// existed decode unchanged.
std::string EncodeVersionedValue(std::string_view value, Index version, uint64_t lease = 0);
// Corruption naming `key` if `payload` is shorter than the version.
Result<VersionedValue> DecodeVersionedValue(std::string_view key, std::string_view payload);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_KV_STATE_H_
