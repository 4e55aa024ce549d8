// Applier: executes committed commands against a group's KvState, producing the client's
// Response. All effects of one batch of committed entries go into one WriteBatch together with
// the apply state and session updates (so a restart never applies an entry twice or skips one);
// an in-memory overlay makes later commands in the batch see earlier ones' writes.
//
// Exactly-once (Raft thesis 6.3): a command with a session (client_id != 0) goes through the
// group's SessionTable (storage/session_table.h): a sequence whose response is kept gets that
// response without executing again; a sequence the table cannot vouch for (below the session's
// first incomplete, response evicted, session evicted) is refused with SESSION_EXPIRED, an
// INDEFINITE error (it may have applied before; it never applies from now on); any other
// sequence never applied and is executed.
//
// Changes: every put and delete (including those of transactions and lease revokes) is
// recorded with the key's previous version, for the change history that watches are served
// from (storage/change_history.h); TakeChanges hands them over by index.
//
// Thread-safety: not thread-safe; used on the store loop thread.
#ifndef RINGKV_REPLICA_APPLIER_H_
#define RINGKV_REPLICA_APPLIER_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "proto/kv.pb.h"
#include "replica/lease_table.h"
#include "storage/change_history.h"
#include "storage/kv_state.h"
#include "storage/write_batch.h"

namespace ringkv::replica {

// Bug points (common/failpoint.h) of the session rules, re-injected only by tests and kvd_buggy.
// The session rule before issue 10 (one answer per session): a retry of a sequence below the
// session's highest applied one gets a definite "stale session sequence" although it applied.
inline constexpr std::string_view kBugOneAnswerSessions = "bug.replica.one_answer_sessions";
// The bug fixed by 56a6284 (found by the Jepsen harness): a retry applied in the same apply
// batch as its original executes again, because the applier did not see what the batch had
// already recorded; a replica that applies the two in separate batches answers the retry from
// the session table, so the replicas diverge (and the retry's client sees a second effect).
inline constexpr std::string_view kBugRetryInBatchAppliesTwice =
    "bug.replica.retry_in_batch_applies_twice";

class Applier {
 public:
  // `leases` (may be null: lease commands then fail, puts with a lease find none) and the
  // others are not owned and must outlive the Applier. `now` stamps leases granted while
  // leading (their expiry by the leader's clock).
  Applier(storage::KvState* kv, storage::WriteBatch* batch, LeaseTable* leases = nullptr,
          LeaseTable::Clock::time_point now = {})
      : kv_(kv), batch_(batch), leases_(leases), now_(now) {}

  // Applies the command of the entry at `index`, returning the response to give its proposer.
  // A corrupt stored record is returned as an error status (the replica stops).
  Result<kvpb::Response> Apply(const kvpb::Command& cmd, Index index);

  // Reads through the overlay (what this batch already wrote).
  Result<std::optional<storage::VersionedValue>> Get(const std::string& key) const;

  // Writes through the overlay, keeping the lease index and recording the change (for
  // transactions and lease revokes). Errors are storage read failures.
  Status Put(const std::string& key, const std::string& value, Index version, uint64_t lease);
  // Deletes `key` if present; returns whether it was.
  Result<bool> Delete(const std::string& key, Index version);
  bool LeaseExists(uint64_t lease) const { return leases_ != nullptr && leases_->Exists(lease); }

  // The changes made by the commands applied so far, one element per index that changed
  // something, in index order; the Applier forgets them.
  std::vector<storage::IndexedChanges> TakeChanges() { return std::move(changes_); }

 private:
  Result<kvpb::Response> Execute(const kvpb::Command& cmd, Index index,
                                 const std::optional<storage::VersionedValue>& current);
  Result<kvpb::Response> ExecuteLease(const kvpb::Command& cmd, Index index);
  void Record(kvpb::WatchEvent event);
  // Executes `cmd` (no session bookkeeping).
  Result<kvpb::Response> ExecuteCommand(const kvpb::Command& cmd, Index index);
  // The kept response of a write the session table answered kCached.
  Result<kvpb::Response> CachedResponse(const kvpb::Command& cmd) const;
  // The answer of the injected bug kBugOneAnswerSessions: the old rule's definite error.
  static kvpb::Response StaleSequenceForTesting(uint64_t sequence);

  storage::KvState* kv_;
  storage::WriteBatch* batch_;
  LeaseTable* leases_;
  const LeaseTable::Clock::time_point now_;
  std::vector<storage::IndexedChanges> changes_;
  // Keys written earlier in this batch: nullopt = deleted.
  std::map<std::string, std::optional<storage::VersionedValue>> overlay_;
  // Responses recorded earlier in this batch, by (client_id, sequence): the session table
  // already counts them, the engine does not have them yet. A replica that applies a write and
  // its retry in one batch (catching up) must answer the retry from here, exactly as replicas
  // that applied them in separate batches answer from the engine (the divergence the Jepsen
  // harness once found).
  std::map<std::pair<uint64_t, uint64_t>, std::string> batch_responses_;
};

// The key a single-key command touches (empty for transactions and lease commands).
const std::string& CommandKey(const kvpb::Command& cmd);

// The answer a write would get if it took effect at `index` (a CAS succeeded, a delete
// deleted), without executing it: what the injected bugs kBugAckBeforeCommit and
// kBugAckBeforeApply (replica.h) answer.
kvpb::Response AssumedSuccessForTesting(const kvpb::Command& cmd, Index index);

// The definite NOT_FOUND answer for an unknown lease.
kvpb::Response LeaseNotFound(uint64_t lease);
// A lease id as kvctl prints it: 16 hex digits.
std::string LeaseIdString(uint64_t lease);

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_APPLIER_H_
