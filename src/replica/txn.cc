#include "replica/txn.h"

#include <set>

#include "common/status_macros.h"
#include "replica/applier.h"

namespace ringkv::replica {
namespace {

template <typename T>
bool Ordered(kvpb::Compare::Op op, const T& have, const T& want) {
  switch (op) {
    case kvpb::Compare::EQUAL: return have == want;
    case kvpb::Compare::NOT_EQUAL: return have != want;
    case kvpb::Compare::GREATER: return have > want;
    case kvpb::Compare::LESS: return have < want;
    default: return false;
  }
}

const std::string* OpKey(const kvpb::TxnOp& op) {
  switch (op.op_case()) {
    case kvpb::TxnOp::kGet: return &op.get().key();
    case kvpb::TxnOp::kPut: return &op.put().key();
    case kvpb::TxnOp::kDelete: return &op.delete_().key();
    default: return nullptr;
  }
}

std::optional<std::string> CheckKey(const std::string& key, const TxnLimits& limits) {
  if (key.empty()) return "empty key in transaction";
  if (key.size() > limits.max_key_bytes) {
    return "key of " + std::to_string(key.size()) + " bytes exceeds --max_key_bytes=" +
           std::to_string(limits.max_key_bytes);
  }
  return std::nullopt;
}

std::optional<std::string> CheckBranch(const google::protobuf::RepeatedPtrField<kvpb::TxnOp>& ops,
                                       const char* name, const TxnLimits& limits) {
  if (ops.size() > static_cast<int>(limits.max_ops)) {
    return std::string(name) + " branch has " + std::to_string(ops.size()) +
           " operations, more than --max_txn_ops=" + std::to_string(limits.max_ops);
  }
  std::set<std::string> written;
  for (const kvpb::TxnOp& op : ops) {
    const std::string* key = OpKey(op);
    if (key == nullptr) return std::string("empty operation in the ") + name + " branch";
    if (auto err = CheckKey(*key, limits)) return err;
    if (op.has_put() && op.put().value().size() > limits.max_value_bytes) {
      return "value of " + std::to_string(op.put().value().size()) +
             " bytes exceeds --max_value_bytes=" + std::to_string(limits.max_value_bytes);
    }
    if ((op.has_put() || op.has_delete_()) && !written.insert(*key).second) {
      return "key written twice in the " + std::string(name) +
             " branch of a transaction (each key at most once)";
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ValidateTxn(const kvpb::TxnRequest& txn, const TxnLimits& limits) {
  if (txn.compare_size() == 0 && txn.success_size() == 0 && txn.failure_size() == 0) {
    return "empty transaction";
  }
  if (txn.compare_size() > static_cast<int>(limits.max_ops)) {
    return "transaction has " + std::to_string(txn.compare_size()) +
           " compares, more than --max_txn_ops=" + std::to_string(limits.max_ops);
  }
  for (const kvpb::Compare& c : txn.compare()) {
    if (auto err = CheckKey(c.key(), limits)) return err;
    if (c.value().size() > limits.max_value_bytes) {
      return "compared value exceeds --max_value_bytes=" + std::to_string(limits.max_value_bytes);
    }
  }
  if (auto err = CheckBranch(txn.success(), "success", limits)) return err;
  return CheckBranch(txn.failure(), "failure", limits);
}

bool CompareHolds(const kvpb::Compare& cmp, const std::optional<storage::VersionedValue>& cur) {
  switch (cmp.target()) {
    case kvpb::Compare::VALUE:
      // As etcd: a value comparison with an absent key fails whatever the operator.
      return cur.has_value() && Ordered<std::string>(cmp.op(), cur->value, cmp.value());
    case kvpb::Compare::VERSION:
      return Ordered<uint64_t>(cmp.op(), cur ? cur->version.value() : 0, cmp.version());
    case kvpb::Compare::LEASE:
      return Ordered<uint64_t>(cmp.op(), cur ? cur->lease : 0, cmp.lease());
    default:
      return false;
  }
}

Result<kvpb::Response> ApplyTxn(const kvpb::TxnRequest& txn, Index index, Applier* applier) {
  bool holds = true;
  for (const kvpb::Compare& c : txn.compare()) {
    ASSIGN_OR_RETURN(std::optional<storage::VersionedValue> cur, applier->Get(c.key()));
    if (!CompareHolds(c, cur)) {
      holds = false;
      break;
    }
  }
  const auto& ops = holds ? txn.success() : txn.failure();
  // All or nothing: a put naming an unknown lease fails the transaction before any effect.
  for (const kvpb::TxnOp& op : ops) {
    if (op.has_put() && op.put().lease() != 0 && !applier->LeaseExists(op.put().lease())) {
      return LeaseNotFound(op.put().lease());
    }
  }
  kvpb::Response resp;
  kvpb::TxnResponse* out = resp.mutable_txn();
  out->set_succeeded(holds);
  out->set_version(index.value());
  for (const kvpb::TxnOp& op : ops) {
    kvpb::TxnOpResult* r = out->add_results();
    if (op.has_get()) {
      ASSIGN_OR_RETURN(std::optional<storage::VersionedValue> cur, applier->Get(op.get().key()));
      kvpb::GetResponse* g = r->mutable_get();
      g->set_found(cur.has_value());
      if (cur) {
        g->mutable_kv()->set_key(op.get().key());
        g->mutable_kv()->set_value(cur->value);
        g->mutable_kv()->set_version(cur->version.value());
        g->mutable_kv()->set_lease(cur->lease);
      }
    } else if (op.has_put()) {
      RETURN_IF_ERROR(applier->Put(op.put().key(), op.put().value(), index, op.put().lease()));
      r->mutable_put()->set_version(index.value());
    } else if (op.has_delete_()) {
      ASSIGN_OR_RETURN(bool deleted, applier->Delete(op.delete_().key(), index));
      r->mutable_delete_()->set_deleted(deleted);
      r->mutable_delete_()->set_version(index.value());
    }
  }
  return resp;
}

}  // namespace ringkv::replica
