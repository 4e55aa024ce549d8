// The user key a single-key client request (kvpb::Request) touches. Shared by the client (to
// route a request to its shard) and the store (to check that a request reached the right
// shard), so a new single-key operation is added in one place. Also the layout of lease ids,
// which name their shard, for the same two users.
//
// Thread-safety: pure functions.
#ifndef RINGKV_PROTO_KV_REQUEST_KEY_H_
#define RINGKV_PROTO_KV_REQUEST_KEY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/kv.pb.h"

namespace ringkv::kvpb {

// Lease ids are (shard << 44) | index of the granting entry (replica/lease_table.h).
inline constexpr int kLeaseShardShift = 44;
inline uint64_t LeaseShardOf(uint64_t lease_id) { return lease_id >> kLeaseShardShift; }

// The key of a get, put, delete, CAS, append, single-key watch, or the shard key of a lease
// grant; nullptr for requests that name no single key (scans, range watches, transactions,
// other lease operations, status and admin). The pointer lives as long as `req`.
inline const std::string* RequestKey(const Request& req) {
  switch (req.op_case()) {
    case Request::kGet: return &req.get().key();
    case Request::kPut: return &req.put().key();
    case Request::kDelete: return &req.delete_().key();
    case Request::kCas: return &req.cas().key();
    case Request::kAppend: return &req.append().key();
    case Request::kLeaseGrant: return &req.lease_grant().shard_key();
    case Request::kWatch:
      return req.watch().range_end().empty() ? &req.watch().key() : nullptr;
    default: return nullptr;
  }
}

// Every key a transaction names (compares and both branches), in order.
inline std::vector<const std::string*> TxnRequestKeys(const TxnRequest& txn) {
  std::vector<const std::string*> keys;
  for (const Compare& c : txn.compare()) keys.push_back(&c.key());
  for (const auto* branch : {&txn.success(), &txn.failure()}) {
    for (const TxnOp& op : *branch) {
      if (op.has_get()) keys.push_back(&op.get().key());
      if (op.has_put()) keys.push_back(&op.put().key());
      if (op.has_delete_()) keys.push_back(&op.delete_().key());
    }
  }
  return keys;
}

// The lease a lease revoke, keep-alive or time-to-live names; 0 for other requests.
inline uint64_t RequestLease(const Request& req) {
  switch (req.op_case()) {
    case Request::kLeaseRevoke: return req.lease_revoke().lease_id();
    case Request::kLeaseKeepAlive: return req.lease_keep_alive().lease_id();
    case Request::kLeaseTtl: return req.lease_ttl().lease_id();
    default: return 0;
  }
}

}  // namespace ringkv::kvpb

#endif  // RINGKV_PROTO_KV_REQUEST_KEY_H_
