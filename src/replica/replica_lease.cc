// Replica: leases, watches and the state kept beside the key-value data (see replica.h). Split
// from replica.cc by concern.
#include "common/status_macros.h"
#include "replica/applier.h"
#include "replica/replica.h"

namespace ringkv::replica {

Status Replica::LoadDerivedState() {
  const Index applied = kv_.applied().applied_index;
  RETURN_IF_ERROR(history_.Load(applied));
  if (!history_.state_persisted()) {
    storage::WriteBatch b;
    history_.PersistState(&b);
    RETURN_IF_ERROR(engine_->Write(b, /*sync=*/false));
  }
  RETURN_IF_ERROR(leases_.Load());
  watch_hub_.Reset(applied);
  return Status::OK();
}

void Replica::OnLeadershipChange(bool leader) {
  if (leader) {
    // We do not know when our predecessor last refreshed each lease: every lease restarts at
    // its full TTL plus one election timeout, so none expires early (etcd's lessor Promote).
    leases_.Promote(env_->Now(), LeaseExtension());
    return;
  }
  leases_.Demote();
  EndWatches();
}

void Replica::EndWatches() { watch_hub_.EndAll(NotLeaderResponse()); }

kvpb::Response Replica::ServeLeaseRead(const kvpb::Request& req) {
  const Clock::time_point now = env_->Now();
  if (!leases_.leading()) return NotLeaderResponse();
  kvpb::Response resp;
  if (req.has_lease_keep_alive()) {
    const uint64_t id = req.lease_keep_alive().lease_id();
    std::optional<uint64_t> ttl = leases_.Refresh(id, now);
    if (!ttl) return LeaseNotFound(id);
    resp.mutable_lease_keep_alive()->set_ttl_ms(*ttl);
    return resp;
  }
  const uint64_t id = req.lease_ttl().lease_id();
  std::optional<uint64_t> ttl = leases_.TtlMs(id);
  std::optional<std::chrono::milliseconds> remaining = leases_.Remaining(id, now);
  if (!ttl || !remaining) return LeaseNotFound(id);
  kvpb::LeaseTimeToLiveResponse* out = resp.mutable_lease_ttl();
  out->set_granted_ttl_ms(*ttl);
  out->set_remaining_ttl_ms(remaining->count());
  if (req.lease_ttl().keys()) {
    for (std::string& k : leases_.Keys(id)) out->add_keys(std::move(k));
  }
  return resp;
}

void Replica::ExpireLeases(Clock::time_point now) {
  // A revoke lost with a leadership change or dropped by a busy log is proposed again after
  // an election timeout; a second revoke of the same lease applies as a no-op.
  for (uint64_t id : leases_.TakeExpired(now, LeaseExtension())) {
    kvpb::Command cmd;
    cmd.mutable_lease_revoke()->set_lease_id(id);
    cmd.mutable_lease_revoke()->set_expired(true);
    // A failed proposal (leadership moving) is retried by TakeExpired later.
    raw_->Propose(cmd.SerializeAsString()).status().IgnoreError();
  }
}

void Replica::HandleWatch(const kvpb::Request& req, std::shared_ptr<WatchStream> stream) {
  if (raw_->role() != raft::StateRole::kLeader) {
    stream->SendFinal(NotLeaderResponse());
    return;
  }
  watch_hub_.Add(req.watch(), std::move(stream), env_->Now());
}

}  // namespace ringkv::replica
