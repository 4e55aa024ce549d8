#include "replica/applier.h"

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
  std::optional<storage::Session> session;
  if (cmd.client_id() != 0) {
    auto in_batch = session_overlay_.find(cmd.client_id());
    if (in_batch != session_overlay_.end()) {
      session = in_batch->second;
    } else {
      Result<std::optional<storage::Session>> s = kv_->GetSession(cmd.client_id());
      if (!s.ok()) return s.status();
      session = *s;
    }
    if (session && cmd.sequence() <= session->last_sequence) {
      kvpb::Response resp;
      if (cmd.sequence() == session->last_sequence && resp.ParseFromString(session->response)) {
        return resp;  // a retry of the last write: same answer, no second effect
      }
      resp.mutable_error()->set_code(kvpb::INVALID_ARGUMENT);
      resp.mutable_error()->set_definite(true);
      resp.mutable_error()->set_message("stale session sequence " + std::to_string(cmd.sequence()) +
                                        " (last applied " + std::to_string(session->last_sequence) + ")");
      return resp;
    }
  }
  const std::string& key = CommandKey(cmd);
  std::optional<storage::VersionedValue> current;
  if (cmd.op_case() != kvpb::Command::kPut) {  // a put's answer does not depend on the old value
    Result<std::optional<storage::VersionedValue>> cur = Get(key);
    if (!cur.ok()) return cur.status();
    current = std::move(cur).value();
  }
  kvpb::Response resp = Execute(cmd, index, current);
  if (cmd.client_id() != 0) {
    storage::Session s;
    s.last_sequence = cmd.sequence();
    s.response = resp.SerializeAsString();
    s.written_at = index;
    kv_->PutSession(batch_, cmd.client_id(), s);
    session_overlay_[cmd.client_id()] = std::move(s);
  }
  return resp;
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
