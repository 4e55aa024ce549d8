// LeaseTable: the leases of one group. Two kinds of state:
//   - replicated (every replica, changed only by applying log entries, persisted in the data CF
//     through the apply batch): which leases exist, their TTL, and the keys attached to each;
//   - the leader's clock: when each lease expires. Keep-alives only touch this, never the log.
//     The leader proposes a revoke once a lease's expiry passes; replicas apply the revoke
//     (deleting the attached keys) at the same index, so expiry is deterministic everywhere.
// A new leader does not know when its predecessor last refreshed a lease, so it restarts every
// lease at its full TTL plus one (maximum) election timeout: a leader change never expires a
// lease early (etcd's lessor Promote does the same).
//
// Lease ids: (group << 44) | index of the granting entry. Unique, the same on every replica, and
// they name their group, so a client routes keep-alives without asking (LeaseGroup).
//
// Thread-safety: not thread-safe; owned by the group's replica (store loop thread).
#ifndef RINGKV_REPLICA_LEASE_TABLE_H_
#define RINGKV_REPLICA_LEASE_TABLE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "proto/kv_request_key.h"
#include "storage/engine.h"
#include "storage/write_batch.h"

namespace ringkv::replica {

// The id of the lease granted by the entry at `index` of `group` (kvpb::LeaseShardOf inverts it).
inline uint64_t MakeLeaseId(GroupId group, Index index) {
  return (group.value() << kvpb::kLeaseShardShift) |
         (index.value() & ((uint64_t{1} << kvpb::kLeaseShardShift) - 1));
}
inline GroupId LeaseGroup(uint64_t lease_id) { return GroupId(kvpb::LeaseShardOf(lease_id)); }

class LeaseTable {
 public:
  using Clock = std::chrono::steady_clock;

  // `engine` is not owned and must outlive this.
  LeaseTable(storage::Engine* engine, GroupId group);

  // (Re)reads leases and attached keys from storage (open, snapshot install). Forgets every
  // expiry: call Promote again if leading. Corruption on bad records.
  Status Load();

  // ---- replicated state (apply time; changes go into `batch` and memory at once) ----
  bool Exists(uint64_t id) const { return leases_.count(id) > 0; }
  std::optional<uint64_t> TtlMs(uint64_t id) const;
  void Grant(storage::WriteBatch* batch, uint64_t id, uint64_t ttl_ms, Index index,
             Clock::time_point now);
  // Removes the lease; returns the keys that were attached (the caller deletes them).
  std::vector<std::string> Revoke(storage::WriteBatch* batch, uint64_t id);
  // REQUIRES: Exists(id).
  void Attach(storage::WriteBatch* batch, uint64_t id, const std::string& key);
  void Detach(storage::WriteBatch* batch, uint64_t id, const std::string& key);
  // Keys attached to `id` in key order (empty when unknown).
  std::vector<std::string> Keys(uint64_t id) const;
  size_t size() const { return leases_.size(); }

  // ---- the leader's clock ----
  // This replica became leader at `now`: every lease expires at now + TTL + `extension`.
  void Promote(Clock::time_point now, std::chrono::milliseconds extension);
  // This replica stopped leading: expiries are forgotten.
  void Demote();
  bool leading() const { return leading_; }
  // Restarts `id`'s TTL at `now` (keep-alive); its TTL, or nullopt when the lease is unknown.
  // REQUIRES: leading().
  std::optional<uint64_t> Refresh(uint64_t id, Clock::time_point now);
  // Remaining time of `id` by this leader's clock (0 once expired); nullopt when unknown or not
  // leading.
  std::optional<std::chrono::milliseconds> Remaining(uint64_t id, Clock::time_point now) const;
  // Leases whose expiry passed and whose revoke was not proposed in the last `retry` (a revoke
  // lost with a leadership change or dropped is proposed again). Marks them proposed at `now`.
  std::vector<uint64_t> TakeExpired(Clock::time_point now, std::chrono::milliseconds retry);

 private:
  struct Lease {
    uint64_t ttl_ms = 0;
    std::set<std::string> keys;  // attached keys
    // Leader only: when the TTL runs out, and when a revoke was last proposed.
    Clock::time_point expiry{};
    std::optional<Clock::time_point> revoke_proposed_at;
  };

  storage::Engine* const engine_;
  const GroupId group_;
  // Every lease of the group as of the entries applied so far (including the current batch).
  std::map<uint64_t, Lease> leases_;
  bool leading_ = false;  // expiries are meaningful only while true
};

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_LEASE_TABLE_H_
