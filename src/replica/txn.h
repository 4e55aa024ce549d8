// Transactions within one shard (etcd's Txn): compares on the keys' current state, then one of
// two operation lists, all applied at one Raft index. Two halves:
//   - ValidateTxn: static checks before the transaction is proposed (sizes, counts, duplicate
//     writes, every key on one shard is the store's job). Pure.
//   - ApplyTxn: deterministic execution at apply time through the Applier (its overlay makes
//     later operations see earlier ones, and its Put/Delete record the change history).
// Every replica applies the same entry to the same state, so they all take the same branch.
//
// Thread-safety: pure functions / the Applier's thread.
#ifndef RINGKV_REPLICA_TXN_H_
#define RINGKV_REPLICA_TXN_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "proto/kv.pb.h"
#include "storage/kv_state.h"

namespace ringkv::replica {

class Applier;

struct TxnLimits {
  size_t max_key_bytes = 4096;
  size_t max_value_bytes = 1 << 20;
  // Most compares, and most operations per branch. Default: 128 (etcd's --max-txn-ops).
  size_t max_ops = 128;
};

// A message saying what is wrong with `txn`, or nullopt when it may be proposed: no key at
// all, a key empty or over the limit, a value over the limit, more compares or operations than
// allowed, or one key written twice in one branch (its change would be ambiguous to watchers).
std::optional<std::string> ValidateTxn(const kvpb::TxnRequest& txn, const TxnLimits& limits);


// Whether `cmp` holds for the key's current state `cur` (nullopt = absent).
bool CompareHolds(const kvpb::Compare& cmp, const std::optional<storage::VersionedValue>& cur);

// Applies `txn` at `index` through `applier`. The response has TxnResponse set, or an error (a
// lease named by a put does not exist: NOT_FOUND, nothing applied). Errors of the Result are
// storage failures (the replica stops).
Result<kvpb::Response> ApplyTxn(const kvpb::TxnRequest& txn, Index index, Applier* applier);

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_TXN_H_
