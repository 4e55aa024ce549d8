// Replica: client requests — validation, proposing writes, and serving reads (see replica.h).
// Split from replica.cc by concern.
#include <algorithm>

#include "common/failpoint.h"
#include "common/status_macros.h"
#include "replica/applier.h"
#include "replica/replica.h"
#include "replica/replica_metrics.h"
#include "replica/txn.h"
#include "storage/data_pages.h"

namespace ringkv::replica {

namespace {

bool IsWrite(const kvpb::Request& req) {
  return req.has_put() || req.has_delete_() || req.has_cas() || req.has_append() ||
         req.has_txn() || req.has_lease_grant() || req.has_lease_revoke();
}

// Reads served once a ReadIndex confirmed leadership (lease keep-alive and time-to-live must
// know they ask the current leader, whatever consistency the request names).
bool IsLeaseRead(const kvpb::Request& req) {
  return req.has_lease_keep_alive() || req.has_lease_ttl();
}

}  // namespace

kvpb::Response Replica::NotLeaderResponse() const {
  NodeId lead = raw_->lead();
  if (lead != kNoNode && lead != options_.self) {
    kvpb::Response r = ErrorResponse(kvpb::NOT_LEADER, true,
                                     "node " + std::to_string(NodeOfReplica(options_.self).value()) +
                                         " is not the leader of group " +
                                         std::to_string(options_.group.value()));
    r.mutable_error()->set_leader_hint(NodeOfReplica(lead).value());
    return r;
  }
  return ErrorResponse(kvpb::NO_LEADER, true,
                       "group " + std::to_string(options_.group.value()) +
                           " has no leader (election in progress)",
                       /*retry_after_ms=*/50);
}

std::optional<kvpb::Response> Replica::ValidateWrite(const kvpb::Request& req) const {
  if (req.has_txn()) {
    TxnLimits limits{options_.max_key_bytes, options_.max_value_bytes, options_.max_txn_ops};
    if (auto err = ValidateTxn(req.txn(), limits)) {
      return ErrorResponse(kvpb::INVALID_ARGUMENT, true, *err);
    }
    for (const auto* branch : {&req.txn().success(), &req.txn().failure()}) {
      for (const kvpb::TxnOp& op : *branch) {
        if (op.has_put()) {
          if (auto err = ValidateLeaseShard(op.put().lease())) return err;
        }
      }
    }
    return std::nullopt;
  }
  if (req.has_lease_grant()) {
    const uint64_t ttl = req.lease_grant().ttl_ms();
    if (ttl < static_cast<uint64_t>(options_.min_lease_ttl.count()) ||
        ttl > static_cast<uint64_t>(options_.max_lease_ttl.count())) {
      return ErrorResponse(kvpb::INVALID_ARGUMENT, true,
                           "lease TTL of " + std::to_string(ttl) + " ms is outside [" +
                               std::to_string(options_.min_lease_ttl.count()) + ", " +
                               std::to_string(options_.max_lease_ttl.count()) + "] ms");
    }
    return std::nullopt;
  }
  if (req.has_lease_revoke()) return ValidateLeaseShard(req.lease_revoke().lease_id());
  const std::string* key = nullptr;
  size_t value_bytes = 0;
  if (req.has_put()) {
    key = &req.put().key();
    value_bytes = req.put().value().size();
    if (auto err = ValidateLeaseShard(req.put().lease())) return err;
  } else if (req.has_delete_()) {
    key = &req.delete_().key();
  } else if (req.has_cas()) {
    key = &req.cas().key();
    value_bytes = std::max(req.cas().new_value().size(), req.cas().expected_value().size());
    if (auto err = ValidateLeaseShard(req.cas().lease())) return err;
  } else if (req.has_append()) {
    key = &req.append().key();
    value_bytes = req.append().suffix().size();
  }
  if (key->empty()) return ErrorResponse(kvpb::INVALID_ARGUMENT, true, "empty key");
  if (key->size() > options_.max_key_bytes) {
    return ErrorResponse(kvpb::INVALID_ARGUMENT, true,
                         "key of " + std::to_string(key->size()) + " bytes exceeds --max_key_bytes=" +
                             std::to_string(options_.max_key_bytes));
  }
  if (value_bytes > options_.max_value_bytes) {
    return ErrorResponse(kvpb::INVALID_ARGUMENT, true,
                         "value of " + std::to_string(value_bytes) +
                             " bytes exceeds --max_value_bytes=" +
                             std::to_string(options_.max_value_bytes));
  }
  return std::nullopt;
}

std::optional<kvpb::Response> Replica::ValidateLeaseShard(uint64_t lease) const {
  if (lease == 0 || LeaseGroup(lease) == options_.group) return std::nullopt;
  return ErrorResponse(kvpb::INVALID_ARGUMENT, true,
                       "lease " + LeaseIdString(lease) + " lives on shard " +
                           std::to_string(LeaseGroup(lease).value()) + ", this key on shard " +
                           std::to_string(options_.group.value()) +
                           ": attach a lease only to keys of its shard (grant it with one of "
                           "them as its shard key, or give the keys a common hash tag {...})");
}

void Replica::HandleRequest(kvpb::Request req, Reply reply, Clock::time_point deadline) {
  if (IsWrite(req)) {
    HandleWrite(std::move(req), std::move(reply), deadline);
    return;
  }
  if (!req.has_get() && !req.has_scan() && !IsLeaseRead(req) && !req.has_backup_read()) {
    reply(ErrorResponse(kvpb::INVALID_ARGUMENT, true, "unknown request type"));
    return;
  }
  PendingRead r{std::move(req), std::move(reply), deadline};
  // A backup read is only a linearizable barrier here (store/backup_cursors.h reads the data).
  if (!IsLeaseRead(r.req) &&
      ((r.req.consistency() == kvpb::SERIALIZABLE && !r.req.has_backup_read()) ||
       failpoint::Injected(kBugStaleReads) ||
       (raw_->role() != raft::StateRole::kLeader && failpoint::Injected(kBugFollowerReads)))) {
    ServeRead(r);
    return;
  }
  if (raw_->role() != raft::StateRole::kLeader) {
    r.reply(NotLeaderResponse());
    return;
  }
  reads_.Queue(std::move(r));
}

void Replica::HandleWrite(kvpb::Request req, Reply reply, Clock::time_point deadline) {
  if (auto err = ValidateWrite(req)) {
    reply(*err);
    return;
  }
  if (proposals_.size() >= options_.max_pending_proposals) {
    reply(ErrorResponse(kvpb::BUSY, true,
                        "too many requests: " + std::to_string(proposals_.size()) +
                            " writes pending in group " + std::to_string(options_.group.value()),
                        /*retry_after_ms=*/20));
    return;
  }
  kvpb::Command cmd;
  cmd.set_client_id(req.client_id());
  cmd.set_sequence(req.sequence());
  cmd.set_first_incomplete(req.first_incomplete());
  cmd.set_session_started_ms(req.session_started_ms());
  // The operation moves from the request into the command (Swap): a put's value is not copied
  // here.
  if (req.has_put()) cmd.mutable_put()->Swap(req.mutable_put());
  if (req.has_delete_()) cmd.mutable_delete_()->Swap(req.mutable_delete_());
  if (req.has_cas()) cmd.mutable_cas()->Swap(req.mutable_cas());
  if (req.has_append()) cmd.mutable_append()->Swap(req.mutable_append());
  if (req.has_txn()) cmd.mutable_txn()->Swap(req.mutable_txn());
  if (req.has_lease_grant()) cmd.mutable_lease_grant()->Swap(req.mutable_lease_grant());
  if (req.has_lease_revoke()) {
    cmd.mutable_lease_revoke()->Swap(req.mutable_lease_revoke());
    cmd.mutable_lease_revoke()->set_expired(false);
  }
  Result<raft::EntryId> id = raw_->Propose(cmd.SerializeAsString());
  if (!id.ok()) {
    const Status& s = id.status();
    if (raw_->role() == raft::StateRole::kLeader) CountProposalFailed(ProposalFailure::kDropped);
    if (s.IsNotLeader() || s.IsUnavailable()) {
      reply(NotLeaderResponse());
    } else if (s.code() == StatusCode::kResourceExhausted) {
      reply(ErrorResponse(kvpb::BUSY, true,
                          "too many requests: group " + std::to_string(options_.group.value()) +
                              ": " + std::string(s.message()),
                          20));
    } else {
      reply(ErrorResponse(kvpb::UNAVAILABLE, true, s.ToString(), 50));
    }
    return;
  }
  if (failpoint::Injected(kBugAckBeforeCommit)) {
    // Injected bug: claim success before the write is committed.
    reply(AssumedSuccessForTesting(cmd, id->index));
    return;
  }
  proposals_.Add(*id, std::move(reply), deadline);
}

void Replica::ServeRead(const PendingRead& r) {
  kvpb::Response resp;
  if (IsLeaseRead(r.req)) {
    r.reply(ServeLeaseRead(r.req));
    return;
  }
  if (r.req.has_backup_read()) {
    // The barrier passed: the state applied now includes every write acknowledged before the
    // read began. The caller reads it (BackupCursors).
    r.reply(std::move(resp));
    return;
  }
  if (r.req.has_get()) {
    Result<std::optional<storage::VersionedValue>> v = kv_.Get(r.req.get().key());
    if (!v.ok()) {
      r.reply(ErrorResponse(kvpb::INTERNAL, true, v.status().ToString()));
      return;
    }
    kvpb::GetResponse* g = resp.mutable_get();
    g->set_found(v->has_value());
    if (v->has_value()) {
      g->mutable_kv()->set_key(r.req.get().key());
      g->mutable_kv()->set_value((*v)->value);
      g->mutable_kv()->set_version((*v)->version.value());
      g->mutable_kv()->set_lease((*v)->lease);
    }
  } else {
    const kvpb::ScanRequest& s = r.req.scan();
    size_t limit = s.limit() == 0 ? options_.max_scan_limit
                                  : std::min<size_t>(s.limit(), options_.max_scan_limit);
    // The pairs and the revision they are at come from one snapshot: a serializable scan may
    // run while this group's apply write is out (the in-memory applied index is then ahead
    // of the data), and a watch started from the revision must miss and repeat nothing.
    std::unique_ptr<storage::ReadSnapshot> snap = engine_->GetSnapshot();
    Result<std::vector<storage::KvPair>> kvs = kv_.Scan(s.start(), s.end(), limit, snap.get());
    Result<storage::ApplyState> at = storage::ReadApplyStateAt(*engine_, options_.group, *snap);
    if (!kvs.ok() || !at.ok()) {
      r.reply(ErrorResponse(kvpb::INTERNAL, true,
                            (kvs.ok() ? at.status() : kvs.status()).ToString()));
      return;
    }
    kvpb::ScanResponse* out = resp.mutable_scan();
    out->set_revision(at->applied_index.value());
    for (const storage::KvPair& p : *kvs) {
      kvpb::KeyValue* kv = out->add_kvs();
      kv->set_key(p.key);
      if (!s.keys_only()) kv->set_value(p.value.value);
      kv->set_version(p.value.version.value());
      kv->set_lease(p.value.lease);
    }
    out->set_more(kvs->size() == limit);
  }
  r.reply(std::move(resp));
}

void Replica::IssueReadIndex() {
  if (!reads_.has_queued()) return;
  std::vector<PendingRead> reads = reads_.TakeQueued();
  if (raw_->role() != raft::StateRole::kLeader) {
    for (auto& r : reads) r.reply(NotLeaderResponse());
    return;
  }
  // Before the lease may answer: a tick that is late (this turn may run before the tick that
  // a pause delayed) has not counted the time the lease needs to have counted.
  VoidLeaseIfTicksLag(env_->Now());
  std::string ctx = reads_.NextContext();
  Status s = raw_->ReadIndex(ctx);
  if (!s.ok()) {
    for (auto& r : reads) r.reply(NotLeaderResponse());
    return;
  }
  reads_.AddBatch(ctx, std::move(reads));
}

void Replica::ServeReadyReads() {
  reads_.ServeReady(raw_->applied(), [this](const PendingRead& r) { ServeRead(r); });
}

void Replica::FailReadsNotLeader() {
  reads_.FailAll(NotLeaderResponse());
}

}  // namespace ringkv::replica
