#include "replica/applier.h"

#include <cstdio>

#include "common/failpoint.h"
#include "common/printable.h"
#include "common/status_macros.h"
#include "replica/txn.h"

namespace ringkv::replica {
namespace {

void FillKv(kvpb::KeyValue* kv, const std::string& key, const storage::VersionedValue& v) {
  kv->set_key(key);
  kv->set_value(v.value);
  kv->set_version(v.version.value());
  kv->set_lease(v.lease);
}

bool CasMatches(const kvpb::CasRequest& cas, const std::optional<storage::VersionedValue>& cur) {
  switch (cas.expect_case()) {
    case kvpb::CasRequest::kExpectedValue:
      return cur.has_value() && cur->value == cas.expected_value();
    case kvpb::CasRequest::kExpectedVersion:
      return cas.expected_version() == 0 ? !cur.has_value()
                                         : cur.has_value() && cur->version.value() == cas.expected_version();
    case kvpb::CasRequest::kExpectAbsent:
      return !cur.has_value();
    case kvpb::CasRequest::EXPECT_NOT_SET:
      return false;
  }
  return false;
}

}  // namespace

kvpb::Response LeaseNotFound(uint64_t lease) {
  kvpb::Response resp;
  resp.mutable_error()->set_code(kvpb::NOT_FOUND);
  resp.mutable_error()->set_definite(true);
  resp.mutable_error()->set_message("lease " + LeaseIdString(lease) +
                                    " not found (expired, revoked or never granted)");
  return resp;
}

std::string LeaseIdString(uint64_t lease) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(lease));
  return buf;
}

const std::string& CommandKey(const kvpb::Command& cmd) {
  static const std::string kEmpty;
  switch (cmd.op_case()) {
    case kvpb::Command::kPut: return cmd.put().key();
    case kvpb::Command::kDelete: return cmd.delete_().key();
    case kvpb::Command::kCas: return cmd.cas().key();
    case kvpb::Command::kAppend: return cmd.append().key();
    default: return kEmpty;  // transactions and lease commands name no single key
  }
  return kEmpty;
}

kvpb::Response AssumedSuccessForTesting(const kvpb::Command& cmd, Index index) {
  kvpb::Response ok;
  switch (cmd.op_case()) {
    case kvpb::Command::kPut: ok.mutable_put()->set_version(index.value()); break;
    case kvpb::Command::kDelete: ok.mutable_delete_()->set_deleted(true); break;
    case kvpb::Command::kCas:
      ok.mutable_cas()->set_succeeded(true);
      ok.mutable_cas()->set_version(index.value());
      break;
    case kvpb::Command::kAppend: ok.mutable_append()->set_version(index.value()); break;
    default: break;
  }
  return ok;
}

Result<std::optional<storage::VersionedValue>> Applier::Get(const std::string& key) const {
  auto it = overlay_.find(key);
  if (it != overlay_.end()) return it->second;
  return kv_->Get(key);
}

Status Applier::Put(const std::string& key, const std::string& value, Index version,
                    uint64_t lease) {
  Result<std::optional<storage::VersionedValue>> cur = Get(key);
  if (!cur.ok()) return cur.status();
  uint64_t old_lease = cur->has_value() ? (*cur)->lease : 0;
  if (leases_ != nullptr && old_lease != 0 && old_lease != lease) {
    leases_->Detach(batch_, old_lease, key);
  }
  if (leases_ != nullptr && lease != 0) leases_->Attach(batch_, lease, key);
  kv_->Put(batch_, key, value, version, lease);
  overlay_[key] = storage::VersionedValue{value, version, lease};
  kvpb::WatchEvent e;
  e.set_type(kvpb::WatchEvent::PUT);
  e.set_key(key);
  e.set_value(value);
  e.set_version(version.value());
  e.set_prev_version(cur->has_value() ? (*cur)->version.value() : 0);
  e.set_lease(lease);
  Record(std::move(e));
  return Status::OK();
}

Result<bool> Applier::Delete(const std::string& key, Index version) {
  Result<std::optional<storage::VersionedValue>> cur = Get(key);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return false;
  if (leases_ != nullptr && (*cur)->lease != 0) leases_->Detach(batch_, (*cur)->lease, key);
  kv_->Delete(batch_, key);
  overlay_[key] = std::nullopt;
  kvpb::WatchEvent e;
  e.set_type(kvpb::WatchEvent::DELETE);
  e.set_key(key);
  e.set_version(version.value());
  e.set_prev_version((*cur)->version.value());
  Record(std::move(e));
  return true;
}

void Applier::Record(kvpb::WatchEvent event) {
  Index index(event.version());
  if (changes_.empty() || changes_.back().index != index) {
    changes_.push_back(storage::IndexedChanges{index, {}});
  }
  changes_.back().events.push_back(std::move(event));
}

Result<kvpb::Response> Applier::Apply(const kvpb::Command& cmd, Index index) {
  if (cmd.client_id() == 0) return ExecuteCommand(cmd, index);
  const storage::SessionWrite w{cmd.client_id(), cmd.sequence(), cmd.first_incomplete(),
                                cmd.session_started_ms()};
  storage::SessionTable& sessions = kv_->sessions();
  const storage::SessionVerdict verdict = sessions.Admit(batch_, w, index);
  switch (verdict) {
    case storage::SessionVerdict::kExecute: {
      ASSIGN_OR_RETURN(kvpb::Response resp, ExecuteCommand(cmd, index));
      std::string bytes = resp.SerializeAsString();
      sessions.Record(batch_, w, index, bytes);
      batch_responses_[{w.client_id, w.sequence}] = std::move(bytes);
      return resp;
    }
    case storage::SessionVerdict::kCached:
      if (failpoint::Injected(kBugOneAnswerSessions) &&
          sessions.Find(w.client_id)->sequences.back() > w.sequence) {
        return StaleSequenceForTesting(w.sequence);
      }
      if (failpoint::Injected(kBugRetryInBatchAppliesTwice) &&
          batch_responses_.contains({w.client_id, w.sequence})) {
        return ExecuteCommand(cmd, index);  // the injected bug: a second effect
      }
      return CachedResponse(cmd);  // a retry of an applied write: its answer, no second effect
    case storage::SessionVerdict::kBelowFirstIncomplete:
    case storage::SessionVerdict::kResponseEvicted:
    case storage::SessionVerdict::kSessionExpired:
      break;
  }
  // Refused: it never applies from now on, but it may have applied before (its answer is gone),
  // so the answer is indefinite — never a definite failure for a write that took effect.
  const storage::SessionTable::SessionInfo info =
      sessions.Find(w.client_id).value_or(storage::SessionTable::SessionInfo{});
  kvpb::Response resp;
  kvpb::Error* err = resp.mutable_error();
  err->set_code(kvpb::SESSION_EXPIRED);
  err->set_definite(false);
  std::string why;
  switch (verdict) {
    case storage::SessionVerdict::kBelowFirstIncomplete:
      why = "is below the session's first incomplete sequence " +
            std::to_string(info.first_incomplete) + " (its answer was discarded)";
      break;
    case storage::SessionVerdict::kResponseEvicted:
      why = "had its answer evicted (session over its response bound; evicted through " +
            std::to_string(info.evicted_through) + ")";
      break;
    default:
      why = "belongs to a session this shard no longer holds (sessions started at or before " +
            std::to_string(sessions.expired_through_ms()) + " ms were evicted)";
      err->set_expired_through_ms(sessions.expired_through_ms());
      break;
  }
  err->set_message("session " + std::to_string(w.client_id) + " sequence " +
                   std::to_string(w.sequence) + " " + why +
                   ": outcome unknown, it will not apply from now on");
  return resp;
}

kvpb::Response Applier::StaleSequenceForTesting(uint64_t sequence) {
  kvpb::Response resp;
  resp.mutable_error()->set_code(kvpb::INVALID_ARGUMENT);
  resp.mutable_error()->set_definite(true);
  resp.mutable_error()->set_message("stale session sequence " + std::to_string(sequence) +
                                    " (injected bug one_answer_sessions)");
  return resp;
}

Result<kvpb::Response> Applier::CachedResponse(const kvpb::Command& cmd) const {
  kvpb::Response resp;
  auto in_batch = batch_responses_.find({cmd.client_id(), cmd.sequence()});
  if (in_batch != batch_responses_.end()) {
    if (!resp.ParseFromString(in_batch->second)) return Status::Corruption("unparsable response");
    return resp;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   kv_->sessions().ReadResponse(cmd.client_id(), cmd.sequence()));
  if (!bytes || !resp.ParseFromString(*bytes)) {
    return Status::Corruption("session " + std::to_string(cmd.client_id()) + " sequence " +
                              std::to_string(cmd.sequence()) +
                              ": kept response missing or unparsable");
  }
  return resp;
}

Result<kvpb::Response> Applier::ExecuteCommand(const kvpb::Command& cmd, Index index) {
  const std::string& key = CommandKey(cmd);
  std::optional<storage::VersionedValue> current;
  // Only these answer with the old value; puts and deletes read it themselves (Put, Delete:
  // the change history's prev_version and the lease index need it).
  if (cmd.op_case() == kvpb::Command::kCas || cmd.op_case() == kvpb::Command::kAppend) {
    ASSIGN_OR_RETURN(current, Get(key));
  }
  return Execute(cmd, index, current);
}

Result<kvpb::Response> Applier::Execute(const kvpb::Command& cmd, Index index,
                                        const std::optional<storage::VersionedValue>& current) {
  kvpb::Response resp;
  switch (cmd.op_case()) {
    case kvpb::Command::kPut:
      if (cmd.put().lease() != 0 && !LeaseExists(cmd.put().lease())) {
        return LeaseNotFound(cmd.put().lease());
      }
      RETURN_IF_ERROR(Put(cmd.put().key(), cmd.put().value(), index, cmd.put().lease()));
      resp.mutable_put()->set_version(index.value());
      break;
    case kvpb::Command::kDelete: {
      ASSIGN_OR_RETURN(bool deleted, Delete(cmd.delete_().key(), index));
      resp.mutable_delete_()->set_deleted(deleted);
      resp.mutable_delete_()->set_version(index.value());
      break;
    }
    case kvpb::Command::kCas: {
      const kvpb::CasRequest& cas = cmd.cas();
      kvpb::CasResponse* out = resp.mutable_cas();
      if (CasMatches(cas, current)) {
        if (cas.lease() != 0 && !LeaseExists(cas.lease())) return LeaseNotFound(cas.lease());
        RETURN_IF_ERROR(Put(cas.key(), cas.new_value(), index, cas.lease()));
        out->set_succeeded(true);
        out->set_version(index.value());
      } else {
        out->set_succeeded(false);
        out->set_found(current.has_value());
        if (current) FillKv(out->mutable_current(), cas.key(), *current);
        resp.mutable_error()->set_code(kvpb::CAS_FAILED);
        resp.mutable_error()->set_definite(true);
        resp.mutable_error()->set_message("compare failed");
      }
      break;
    }
    case kvpb::Command::kAppend: {
      std::string value = current ? current->value : std::string();
      value += cmd.append().suffix();
      // An append keeps the key's lease.
      RETURN_IF_ERROR(Put(cmd.append().key(), value, index, current ? current->lease : 0));
      resp.mutable_append()->set_version(index.value());
      resp.mutable_append()->set_value(std::move(value));
      break;
    }
    case kvpb::Command::kTxn:
      return ApplyTxn(cmd.txn(), index, this);
    case kvpb::Command::kLeaseGrant:
    case kvpb::Command::kLeaseRevoke:
      return ExecuteLease(cmd, index);
    case kvpb::Command::OP_NOT_SET:
      resp.mutable_error()->set_code(kvpb::INVALID_ARGUMENT);
      resp.mutable_error()->set_definite(true);
      resp.mutable_error()->set_message("empty command");
      break;
  }
  return resp;
}

Result<kvpb::Response> Applier::ExecuteLease(const kvpb::Command& cmd, Index index) {
  kvpb::Response resp;
  if (leases_ == nullptr) {
    resp.mutable_error()->set_code(kvpb::INVALID_ARGUMENT);
    resp.mutable_error()->set_definite(true);
    resp.mutable_error()->set_message("leases are not available here");
    return resp;
  }
  if (cmd.has_lease_grant()) {
    const uint64_t id = MakeLeaseId(kv_->group(), index);
    leases_->Grant(batch_, id, cmd.lease_grant().ttl_ms(), index, now_);
    resp.mutable_lease_grant()->set_lease_id(id);
    resp.mutable_lease_grant()->set_ttl_ms(cmd.lease_grant().ttl_ms());
    return resp;
  }
  const kvpb::LeaseRevokeRequest& revoke = cmd.lease_revoke();
  const uint64_t id = revoke.lease_id();
  if (!leases_->Exists(id)) return LeaseNotFound(id);
  if (revoke.scoped()) {
    // Revoking deletes the attached keys: the user must be allowed to write each of them
    // (decided here, at apply, so a key attached meanwhile is covered too).
    for (const std::string& key : leases_->Keys(id)) {
      bool writable = false;
      for (const std::string& prefix : revoke.writable_prefixes()) {
        writable = writable || key.compare(0, prefix.size(), prefix) == 0;
      }
      if (writable) continue;
      resp.mutable_error()->set_code(kvpb::PERMISSION_DENIED);
      resp.mutable_error()->set_definite(true);
      resp.mutable_error()->set_message(
          revoke.scoped_for() + " may not revoke lease " + LeaseIdString(id) +
          ": revoking deletes its attached key \"" + PrintableKey(key) +
          "\", which needs read-write permission on a prefix of it; nothing was revoked");
      return resp;
    }
  }
  uint32_t deleted = 0;
  for (const std::string& key : leases_->Revoke(batch_, id)) {
    ASSIGN_OR_RETURN(bool existed, Delete(key, index));
    if (existed) ++deleted;
  }
  resp.mutable_lease_revoke()->set_deleted_keys(deleted);
  return resp;
}

}  // namespace ringkv::replica
