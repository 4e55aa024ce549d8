#include "replica/applier.h"

#include "common/status_macros.h"

namespace ringkv::replica {
namespace {

void FillKv(kvpb::KeyValue* kv, const std::string& key, const storage::VersionedValue& v) {
  kv->set_key(key);
  kv->set_value(v.value);
  kv->set_version(v.version.value());
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

const std::string& CommandKey(const kvpb::Command& cmd) {
  static const std::string kEmpty;
  switch (cmd.op_case()) {
    case kvpb::Command::kPut: return cmd.put().key();
    case kvpb::Command::kDelete: return cmd.delete_().key();
    case kvpb::Command::kCas: return cmd.cas().key();
    case kvpb::Command::kAppend: return cmd.append().key();
    case kvpb::Command::OP_NOT_SET: return kEmpty;
  }
  return kEmpty;
}

Result<std::optional<storage::VersionedValue>> Applier::Get(const std::string& key) const {
  auto it = overlay_.find(key);
  if (it != overlay_.end()) return it->second;
  return kv_->Get(key);
}

void Applier::Put(const std::string& key, const std::string& value, Index version) {
  kv_->Put(batch_, key, value, version);
  overlay_[key] = storage::VersionedValue{value, version};
}

void Applier::Delete(const std::string& key) {
  kv_->Delete(batch_, key);
  overlay_[key] = std::nullopt;
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
      if (one_answer_sessions_ && sessions.Find(w.client_id)->sequences.back() > w.sequence) {
        return StaleSequenceForTesting(w.sequence);
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
  if (cmd.op_case() != kvpb::Command::kPut) {  // a put's answer does not depend on the old value
    ASSIGN_OR_RETURN(current, Get(key));
  }
  return Execute(cmd, index, current);
}

kvpb::Response Applier::Execute(const kvpb::Command& cmd, Index index,
                                const std::optional<storage::VersionedValue>& current) {
  kvpb::Response resp;
  switch (cmd.op_case()) {
    case kvpb::Command::kPut:
      Put(cmd.put().key(), cmd.put().value(), index);
      resp.mutable_put()->set_version(index.value());
      break;
    case kvpb::Command::kDelete:
      resp.mutable_delete_()->set_deleted(current.has_value());
      resp.mutable_delete_()->set_version(index.value());
      if (current) Delete(cmd.delete_().key());
      break;
    case kvpb::Command::kCas: {
      const kvpb::CasRequest& cas = cmd.cas();
      kvpb::CasResponse* out = resp.mutable_cas();
      if (CasMatches(cas, current)) {
        Put(cas.key(), cas.new_value(), index);
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
      Put(cmd.append().key(), value, index);
      resp.mutable_append()->set_version(index.value());
      resp.mutable_append()->set_value(std::move(value));
      break;
    }
    case kvpb::Command::OP_NOT_SET:
      resp.mutable_error()->set_code(kvpb::INVALID_ARGUMENT);
      resp.mutable_error()->set_definite(true);
      resp.mutable_error()->set_message("empty command");
      break;
  }
  return resp;
}

}  // namespace ringkv::replica
