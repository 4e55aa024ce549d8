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

KeyValue FromProto(const kvpb::KeyValue& kv) {
  return KeyValue{kv.key(), kv.value(), kv.version(), kv.lease()};
}

kvpb::Request MakeGet(std::string_view key, Consistency consistency) {
  kvpb::Request req;
  req.set_consistency(ToProto(consistency));
  req.mutable_get()->set_key(std::string(key));
  return req;
}

kvpb::Request MakePut(std::string_view key, std::string_view value, uint64_t lease) {
  kvpb::Request req;
  auto* p = req.mutable_put();
  p->set_key(std::string(key));
  p->set_value(std::string(value));
  p->set_lease(lease);
  return req;
}

kvpb::Request MakeDelete(std::string_view key) {
  kvpb::Request req;
  req.mutable_delete_()->set_key(std::string(key));
  return req;
}

kvpb::Request MakeCas(std::string_view key, const Expect& expect, std::string_view new_value,
                      uint64_t lease) {
  kvpb::Request req;
  auto* c = req.mutable_cas();
  c->set_key(std::string(key));
  c->set_new_value(std::string(new_value));
  c->set_lease(lease);
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
  if (r.group_id() != 0 && r.scan().revision() != 0) {
    out.revisions[static_cast<uint32_t>(r.group_id())] = r.scan().revision();
  }
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

namespace {

kvpb::Compare ToProto(const Compare& c) {
  kvpb::Compare out;
  out.set_key(c.key);
  switch (c.target) {
    case Compare::Target::kVersion:
      out.set_target(kvpb::Compare::VERSION);
      out.set_version(c.version);
      break;
    case Compare::Target::kValue:
      out.set_target(kvpb::Compare::VALUE);
      out.set_value(c.value);
      break;
    case Compare::Target::kLease:
      out.set_target(kvpb::Compare::LEASE);
      out.set_lease(c.lease);
      break;
  }
  switch (c.op) {
    case Compare::Op::kEqual: out.set_op(kvpb::Compare::EQUAL); break;
    case Compare::Op::kNotEqual: out.set_op(kvpb::Compare::NOT_EQUAL); break;
    case Compare::Op::kGreater: out.set_op(kvpb::Compare::GREATER); break;
    case Compare::Op::kLess: out.set_op(kvpb::Compare::LESS); break;
  }
  return out;
}

kvpb::TxnOp ToProto(const TxnOp& op) {
  kvpb::TxnOp out;
  switch (op.kind) {
    case TxnOp::Kind::kGet:
      out.mutable_get()->set_key(op.key);
      break;
    case TxnOp::Kind::kPut:
      out.mutable_put()->set_key(op.key);
      out.mutable_put()->set_value(op.value);
      out.mutable_put()->set_lease(op.lease);
      break;
    case TxnOp::Kind::kDelete:
      out.mutable_delete_()->set_key(op.key);
      break;
  }
  return out;
}

}  // namespace

kvpb::Request MakeTxn(const Txn& txn) {
  kvpb::Request req;
  kvpb::TxnRequest* t = req.mutable_txn();
  for (const Compare& c : txn.compare) *t->add_compare() = ToProto(c);
  for (const TxnOp& op : txn.success) *t->add_success() = ToProto(op);
  for (const TxnOp& op : txn.failure) *t->add_failure() = ToProto(op);
  return req;
}

Result<TxnResult> ToTxn(const kvpb::Response& r) {
  if (IsError(r) || !r.has_txn()) return Unexpected(r, "txn");
  TxnResult out;
  out.succeeded = r.txn().succeeded();
  out.version = r.txn().version();
  for (const kvpb::TxnOpResult& res : r.txn().results()) {
    TxnOpResult o;
    if (res.has_get()) {
      o.kind = TxnOp::Kind::kGet;
      if (res.get().found()) o.kv = FromProto(res.get().kv());
    } else if (res.has_put()) {
      o.kind = TxnOp::Kind::kPut;
    } else {
      o.kind = TxnOp::Kind::kDelete;
      o.deleted = res.delete_().deleted();
    }
    out.results.push_back(std::move(o));
  }
  return out;
}

kvpb::Request MakeLeaseGrant(std::chrono::milliseconds ttl, std::string_view shard_key) {
  kvpb::Request req;
  req.mutable_lease_grant()->set_ttl_ms(ttl.count() < 0 ? 0 : ttl.count());
  req.mutable_lease_grant()->set_shard_key(std::string(shard_key));
  return req;
}

kvpb::Request MakeLeaseRevoke(uint64_t lease) {
  kvpb::Request req;
  req.mutable_lease_revoke()->set_lease_id(lease);
  return req;
}

kvpb::Request MakeLeaseKeepAlive(uint64_t lease) {
  kvpb::Request req;
  req.mutable_lease_keep_alive()->set_lease_id(lease);
  return req;
}

kvpb::Request MakeLeaseTimeToLive(uint64_t lease, bool keys) {
  kvpb::Request req;
  req.mutable_lease_ttl()->set_lease_id(lease);
  req.mutable_lease_ttl()->set_keys(keys);
  return req;
}

Result<Lease> ToLeaseGrant(const kvpb::Response& r) {
  if (IsError(r) || !r.has_lease_grant()) return Unexpected(r, "lease grant");
  return Lease{r.lease_grant().lease_id(), std::chrono::milliseconds(r.lease_grant().ttl_ms())};
}

Result<uint32_t> ToLeaseRevoke(const kvpb::Response& r) {
  if (IsError(r) || !r.has_lease_revoke()) return Unexpected(r, "lease revoke");
  return r.lease_revoke().deleted_keys();
}

Result<std::chrono::milliseconds> ToLeaseKeepAlive(const kvpb::Response& r) {
  if (IsError(r) || !r.has_lease_keep_alive()) return Unexpected(r, "lease keep-alive");
  return std::chrono::milliseconds(r.lease_keep_alive().ttl_ms());
}

Result<LeaseInfo> ToLeaseTimeToLive(const kvpb::Response& r) {
  if (IsError(r) || !r.has_lease_ttl()) return Unexpected(r, "lease time-to-live");
  LeaseInfo out;
  out.granted_ttl = std::chrono::milliseconds(r.lease_ttl().granted_ttl_ms());
  out.remaining_ttl = std::chrono::milliseconds(r.lease_ttl().remaining_ttl_ms());
  for (const std::string& k : r.lease_ttl().keys()) out.keys.push_back(k);
  return out;
}

WatchEvent FromProto(const kvpb::WatchEvent& e, uint32_t shard) {
  WatchEvent out;
  out.type = e.type() == kvpb::WatchEvent::DELETE ? WatchEvent::Type::kDelete
                                                  : WatchEvent::Type::kPut;
  out.key = e.key();
  out.value = e.value();
  out.version = e.version();
  out.prev_version = e.prev_version();
  out.lease = e.lease();
  out.shard = shard;
  return out;
}

}  // namespace ringkv::client
