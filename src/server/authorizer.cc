#include "server/authorizer.h"

#include "common/printable.h"
#include "common/status_macros.h"
#include "proto/kv_request_key.h"

namespace ringkv::server {
namespace {

std::string Printable(std::string_view key) { return PrintableKey(key); }

}  // namespace

void Authorizer::SetRules(std::shared_ptr<const AuthRules> rules, uint64_t version,
                          Clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  rules_ = std::move(rules);
  version_ = version;
  refreshed_ = now;
}

uint64_t Authorizer::version() const {
  std::lock_guard<std::mutex> l(mu_);
  return version_;
}

std::shared_ptr<const AuthRules> Authorizer::Current(Clock::time_point now,
                                                     Status* unavailable) const {
  std::lock_guard<std::mutex> l(mu_);
  if (rules_ == nullptr) {
    *unavailable = Status::Unavailable(
        "this node has not read the permission rules from the cluster yet; retry");
    return nullptr;
  }
  if (now - refreshed_ > stale_after_) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - refreshed_);
    *unavailable =
        Status::Unavailable("this node's permission rules are stale (last read from the cluster " +
                            std::to_string(age.count()) + " s ago); retry another endpoint");
    return nullptr;
  }
  return rules_;
}

Status Authorizer::CheckKey(const Principal& p, const AuthRules& rules, std::string_view op,
                            std::string_view key, bool read, bool write) const {
  if ((read && !rules.CanRead(p, key)) || (write && !rules.CanWrite(p, key))) {
    return Status::PermissionDenied(
        p.Describe() + " may not " + std::string(op) + " key \"" + Printable(key) + "\" (needs " +
        (write ? "read-write" : "read") +
        " permission on a prefix of it; roles: " + rules.RolesOf(p) + ")");
  }
  return Status::OK();
}

Status Authorizer::CheckTxn(const Principal& p, const AuthRules& rules,
                            const kvpb::TxnRequest& txn) const {
  // Compares read (a failed compare shows which branch ran), gets read, puts and deletes write.
  // Both branches are checked: which one runs is not known before the compares are evaluated.
  for (const kvpb::Compare& c : txn.compare()) {
    RETURN_IF_ERROR(CheckKey(p, rules, "compare", c.key(), true, false));
  }
  for (const auto* branch : {&txn.success(), &txn.failure()}) {
    for (const kvpb::TxnOp& op : *branch) {
      switch (op.op_case()) {
        case kvpb::TxnOp::kGet:
          RETURN_IF_ERROR(CheckKey(p, rules, "read", op.get().key(), true, false));
          break;
        case kvpb::TxnOp::kPut:
          RETURN_IF_ERROR(CheckKey(p, rules, "write", op.put().key(), true, true));
          break;
        case kvpb::TxnOp::kDelete:
          RETURN_IF_ERROR(CheckKey(p, rules, "delete", op.delete_().key(), true, true));
          break;
        case kvpb::TxnOp::OP_NOT_SET:
          break;  // the replica refuses it (INVALID_ARGUMENT)
      }
    }
  }
  return Status::OK();
}

Status Authorizer::ScopeLeaseRevoke(const Principal& p, kvpb::LeaseRevokeRequest* revoke,
                                    Clock::time_point now) const {
  // A node (its certificate) forwards users' revokes with the scope it gave them (the HTTP
  // API): kept as sent. Anyone else's scope is replaced.
  if (p.kind == Principal::Kind::kNode) return Status::OK();
  revoke->set_scoped(false);
  revoke->clear_writable_prefixes();
  revoke->clear_scoped_for();
  if (p.superuser()) return Status::OK();
  Status unavailable;
  std::shared_ptr<const AuthRules> rules = Current(now, &unavailable);
  if (rules == nullptr) return unavailable;
  std::optional<std::vector<std::string>> prefixes = rules->WritablePrefixes(p);
  if (!prefixes.has_value()) return Status::OK();
  revoke->set_scoped(true);
  for (std::string& prefix : *prefixes) revoke->add_writable_prefixes(std::move(prefix));
  revoke->set_scoped_for(p.Describe());
  return Status::OK();
}

Status Authorizer::Check(const Principal& p, const kvpb::Request& req,
                         Clock::time_point now) const {
  const std::string* key = kvpb::RequestKey(req);
  if (key != nullptr && IsReservedKey(*key)) {
    // The rules themselves: read and compare-and-swap by administrators only (kvctl user|role).
    if (req.op_case() != kvpb::Request::kGet && req.op_case() != kvpb::Request::kCas) {
      return Status::InvalidArgument("keys starting with \\xff\\xff\\xffringkv/ are reserved");
    }
  }
  if (req.has_txn()) {
    // Not through a transaction either: a put there would skip the rules' validation.
    for (const std::string* k : kvpb::TxnRequestKeys(req.txn())) {
      if (IsReservedKey(*k)) {
        return Status::InvalidArgument(
            "keys starting with \\xff\\xff\\xffringkv/ are reserved (not allowed in a "
            "transaction)");
      }
    }
  }
  if (p.superuser()) return Status::OK();
  Status unavailable;
  std::shared_ptr<const AuthRules> rules = Current(now, &unavailable);
  if (rules == nullptr) return unavailable;
  if (key != nullptr && IsReservedKey(*key) && !rules->IsAdmin(p)) {
    return Status::PermissionDenied(p.Describe() +
                                    " may not read or change the permission rules (needs role "
                                    "admin; roles: " +
                                    rules->RolesOf(p) + ")");
  }
  // No default: every request type must state what it needs (see the header).
  switch (req.op_case()) {
    case kvpb::Request::kGet:
      return CheckKey(p, *rules, "read", req.get().key(), true, false);
    case kvpb::Request::kPut:
      return CheckKey(p, *rules, "write", req.put().key(), false, true);
    case kvpb::Request::kDelete:
      return CheckKey(p, *rules, "delete", req.delete_().key(), false, true);
    case kvpb::Request::kCas:  // answers with the current value when the compare fails
      return CheckKey(p, *rules, "compare-and-swap", req.cas().key(), true, true);
    case kvpb::Request::kAppend:  // answers with the whole new value
      return CheckKey(p, *rules, "append to", req.append().key(), true, true);
    case kvpb::Request::kScan:  // results are filtered by MayRead
      return Status::OK();
    case kvpb::Request::kStatus:  // cluster shape, needed by every client to route
      return Status::OK();
    case kvpb::Request::kTxn:  // see CheckTxn
      return CheckTxn(p, *rules, req.txn());
    case kvpb::Request::kLeaseGrant:
    case kvpb::Request::kLeaseRevoke:
    case kvpb::Request::kLeaseKeepAlive:
    case kvpb::Request::kLeaseTtl:
      // As in etcd, any authenticated user may grant, revoke, keep alive and look up a lease: a
      // lease by itself holds no data. Attaching a key (a put with a lease) needs read-write
      // permission on the key, checked with the put; the keys a time-to-live lists are filtered
      // by MayRead. A revoke deletes the attached keys, which only the replica knows: it is
      // scoped to the user's read-write prefixes (ScopeLeaseRevoke) and checked when applied.
      if (p.kind == Principal::Kind::kUser) return Status::OK();
      return Status::PermissionDenied(p.Describe() +
                                      " may not use leases (needs a client certificate)");
    case kvpb::Request::kWatch: {
      const kvpb::WatchRequest& w = req.watch();
      if (w.range_end().empty()) return CheckKey(p, *rules, "watch", w.key(), true, false);
      if (rules->CanReadRange(p, w.key(), w.range_end())) return Status::OK();
      return Status::PermissionDenied(
          p.Describe() + " may not watch the range from \"" + Printable(w.key()) + "\" to \"" +
          Printable(w.range_end()) +
          "\" (needs read permission on one prefix covering the whole range; roles: " +
          rules->RolesOf(p) + ")");
    }
    case kvpb::Request::kWatchCancel:  // ends a watch of the same connection only
      return Status::OK();
    case kvpb::Request::kBackupRead:  // a whole shard, every key (kvctl backup save)
      if (rules->IsAdmin(p)) return Status::OK();
      return Status::PermissionDenied(
          p.Describe() +
          " may not read a backup (needs role admin; roles: " + rules->RolesOf(p) + ")");
    case kvpb::Request::kAdmin:
      if (rules->IsAdmin(p)) return Status::OK();
      return Status::PermissionDenied(
          p.Describe() +
          " may not run admin commands (needs role admin; roles: " + rules->RolesOf(p) + ")");
    case kvpb::Request::OP_NOT_SET:
      return Status::InvalidArgument("request without an operation");
  }
  return Status::InvalidArgument("unknown request type");
}

bool Authorizer::MayRead(const Principal& p, std::string_view key) const {
  if (IsReservedKey(key)) return false;
  if (p.superuser()) return true;
  Status ignored;  // no rules: nothing readable (Check already refused the scan)
  std::shared_ptr<const AuthRules> rules = Current(Authorizer::Clock::now(), &ignored);
  return rules != nullptr && rules->CanRead(p, key);
}

}  // namespace ringkv::server
