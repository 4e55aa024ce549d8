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
// Thread-safety: not thread-safe; used on the store loop thread.
#ifndef RINGKV_REPLICA_APPLIER_H_
#define RINGKV_REPLICA_APPLIER_H_

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "proto/kv.pb.h"
#include "storage/kv_state.h"
#include "storage/write_batch.h"

namespace ringkv::replica {

class Applier {
 public:
  // `one_answer_sessions_for_testing`: kvd_buggy's injected bug kOneAnswerSessions (replica.h).
  Applier(storage::KvState* kv, storage::WriteBatch* batch,
          bool one_answer_sessions_for_testing = false)
      : kv_(kv), batch_(batch), one_answer_sessions_(one_answer_sessions_for_testing) {}

  // Applies the command of the entry at `index`, returning the response to give its proposer.
  // A corrupt stored record is returned as an error status (the replica stops).
  Result<kvpb::Response> Apply(const kvpb::Command& cmd, Index index);

  // Reads through the overlay (what this batch already wrote).
  Result<std::optional<storage::VersionedValue>> Get(const std::string& key) const;

 private:
  void Put(const std::string& key, const std::string& value, Index version);
  void Delete(const std::string& key);
  kvpb::Response Execute(const kvpb::Command& cmd, Index index,
                         const std::optional<storage::VersionedValue>& current);
  // Executes `cmd` (no session bookkeeping).
  Result<kvpb::Response> ExecuteCommand(const kvpb::Command& cmd, Index index);
  // The kept response of a write the session table answered kCached.
  Result<kvpb::Response> CachedResponse(const kvpb::Command& cmd) const;
  // The answer of the injected bug kOneAnswerSessions: the old rule's definite error.
  static kvpb::Response StaleSequenceForTesting(uint64_t sequence);

  storage::KvState* kv_;
  storage::WriteBatch* batch_;
  const bool one_answer_sessions_;
  // Keys written earlier in this batch: nullopt = deleted.
  std::map<std::string, std::optional<storage::VersionedValue>> overlay_;
  // Responses recorded earlier in this batch, by (client_id, sequence): the session table
  // already counts them, the engine does not have them yet. A replica that applies a write and
  // its retry in one batch (catching up) must answer the retry from here, exactly as replicas
  // that applied them in separate batches answer from the engine (the divergence the Jepsen
  // harness once found).
  std::map<std::pair<uint64_t, uint64_t>, std::string> batch_responses_;
};

// The key a command touches.
const std::string& CommandKey(const kvpb::Command& cmd);

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_APPLIER_H_
