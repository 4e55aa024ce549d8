// Applier: executes committed commands against a group's KvState, producing the client's
// Response. All effects of one batch of committed entries go into one WriteBatch together with
// the apply state and session updates (so a restart never applies an entry twice or skips one);
// an in-memory overlay makes later commands in the batch see earlier ones' writes.
//
// Exactly-once (Raft thesis 6.3): a command with a session (client_id != 0) whose sequence is
// the session's last one returns the cached response without re-executing; an older sequence
// is refused (definite error: the client already moved on).
//
// Thread-safety: not thread-safe; used on the store loop thread.
#ifndef RINGKV_REPLICA_APPLIER_H_
#define RINGKV_REPLICA_APPLIER_H_

#include <map>
#include <optional>
#include <string>

#include "proto/kv.pb.h"
#include "storage/kv_state.h"
#include "storage/write_batch.h"

namespace ringkv::replica {

class Applier {
 public:
  Applier(storage::KvState* kv, storage::WriteBatch* batch) : kv_(kv), batch_(batch) {}

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

  storage::KvState* kv_;
  storage::WriteBatch* batch_;
  // Keys written earlier in this batch: nullopt = deleted.
  std::map<std::string, std::optional<storage::VersionedValue>> overlay_;
  // Sessions written earlier in this batch. Without it a replica that applies a write and its
  // retry in one batch (catching up) would apply both, while replicas that applied them in
  // separate batches deduplicate: replicas would diverge (found by the Jepsen harness).
  std::map<uint64_t, storage::Session> session_overlay_;
};

// The key a command touches.
const std::string& CommandKey(const kvpb::Command& cmd);

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_APPLIER_H_
