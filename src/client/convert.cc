#include "client/convert.h"

#include <string>

#include "client/error_policy.h"

namespace ringkv::client {
namespace {

kvpb::Consistency ToProto(Consistency c) {
  return c == Consistency::kSerializable ? kvpb::SERIALIZABLE : kvpb::LINEARIZABLE;
}

bool IsError(const kvpb::Response& r) { return r.has_error() && r.error().code() != kvpb::OK; }

Status Unexpected(const kvpb::Response& r, const char* op) {
  if (IsError(r)) return FinalStatus(r.error());
  return Status::Unavailable(std::string("protocol error: ") + op +
                             " response without a result from node " +
                             std::to_string(r.served_by()));
}

}  // namespace

KeyValue FromProto(const kvpb::KeyValue& kv) { return KeyValue{kv.key(), kv.value(), kv.version()}; }

kvpb::Request MakeGet(std::string_view key, Consistency consistency) {
  kvpb::Request req;
  req.set_consistency(ToProto(consistency));
  req.mutable_get()->set_key(std::string(key));
  return req;
}

kvpb::Request MakePut(std::string_view key, std::string_view value) {
  kvpb::Request req;
  auto* p = req.mutable_put();
  p->set_key(std::string(key));
  p->set_value(std::string(value));
  return req;
}

kvpb::Request MakeDelete(std::string_view key) {
  kvpb::Request req;
  req.mutable_delete_()->set_key(std::string(key));
  return req;
}

kvpb::Request MakeCas(std::string_view key, const Expect& expect, std::string_view new_value) {
  kvpb::Request req;
  auto* c = req.mutable_cas();
  c->set_key(std::string(key));
  c->set_new_value(std::string(new_value));
  switch (expect.kind) {
    case Expect::Kind::kValue:
      c->set_expected_value(expect.value);
      break;
    case Expect::Kind::kVersion:
      c->set_expected_version(expect.version);
      break;
    case Expect::Kind::kAbsent:
      c->set_expect_absent(true);
      break;
  }
  return req;
}

kvpb::Request MakeAppend(std::string_view key, std::string_view suffix) {
  kvpb::Request req;
  auto* a = req.mutable_append();
  a->set_key(std::string(key));
  a->set_suffix(std::string(suffix));
  return req;
}

kvpb::Request MakeScan(std::string_view start, std::string_view end, const ScanOptions& scan,
                       Consistency consistency) {
  kvpb::Request req;
  req.set_consistency(ToProto(consistency));
  auto* s = req.mutable_scan();
  s->set_start(std::string(start));
  s->set_end(std::string(end));
  s->set_limit(scan.limit);
  s->set_keys_only(scan.keys_only);
  return req;
}

Result<std::optional<KeyValue>> ToGet(const kvpb::Response& r) {
  if (IsError(r) && r.error().code() == kvpb::NOT_FOUND) return std::optional<KeyValue>();
  if (IsError(r) || !r.has_get()) return Unexpected(r, "get");
  if (!r.get().found()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(FromProto(r.get().kv()));
}

Result<uint64_t> ToPut(const kvpb::Response& r) {
  if (IsError(r) || !r.has_put()) return Unexpected(r, "put");
  return r.put().version();
}

Result<bool> ToDelete(const kvpb::Response& r) {
  // NOT_FOUND on a delete means the key was absent: a successful no-op.
  if (IsError(r) && r.error().code() == kvpb::NOT_FOUND) return false;
  if (IsError(r) || !r.has_delete_()) return Unexpected(r, "delete");
  return r.delete_().deleted();
}

Result<CasResult> ToCas(const kvpb::Response& r) {
  const bool compare_failed = IsError(r) && r.error().code() == kvpb::CAS_FAILED;
  if ((IsError(r) && !compare_failed) || (!compare_failed && !r.has_cas())) {
    return Unexpected(r, "compare-and-swap");
  }
  CasResult out;
  const kvpb::CasResponse& c = r.cas();  // default instance when absent
  out.succeeded = !compare_failed && c.succeeded();
  if (out.succeeded) {
    out.version = c.version();
  } else if (c.found()) {
    out.current = FromProto(c.current());
  }
  return out;
}

Result<AppendResult> ToAppend(const kvpb::Response& r) {
  if (IsError(r) || !r.has_append()) return Unexpected(r, "append");
  return AppendResult{r.append().version(), r.append().value()};
}

Result<ScanResult> ToScan(const kvpb::Response& r) {
  if (IsError(r) || !r.has_scan()) return Unexpected(r, "scan");
  ScanResult out;
  out.more = r.scan().more();
  out.kvs.reserve(r.scan().kvs_size());
  for (const auto& kv : r.scan().kvs()) out.kvs.push_back(FromProto(kv));
  if (out.more) {
    // A server that filtered keys the user may not read says how far it scanned; the next page
    // starts after that, not after the last key returned.
    out.continue_after = !r.scan().scanned_through().empty() ? r.scan().scanned_through()
                         : out.kvs.empty()                   ? std::string()
                                                             : out.kvs.back().key;
  }
  return out;
}

}  // namespace ringkv::client
