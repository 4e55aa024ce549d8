// The user key a single-key client request (kvpb::Request) touches. Shared by the client (to
// route a request to its shard) and the store (to check that a request reached the right
// shard), so a new single-key operation is added in one place.
//
// Thread-safety: a pure function.
#ifndef RINGKV_PROTO_KV_REQUEST_KEY_H_
#define RINGKV_PROTO_KV_REQUEST_KEY_H_

#include <string>

#include "proto/kv.pb.h"

namespace ringkv::kvpb {

// The key of a get, put, delete, CAS or append; nullptr for scans, status and admin requests
// (they name no single key). The pointer lives as long as `req`.
inline const std::string* RequestKey(const Request& req) {
  switch (req.op_case()) {
    case Request::kGet: return &req.get().key();
    case Request::kPut: return &req.put().key();
    case Request::kDelete: return &req.delete_().key();
    case Request::kCas: return &req.cas().key();
    case Request::kAppend: return &req.append().key();
    default: return nullptr;
  }
}

}  // namespace ringkv::kvpb

#endif  // RINGKV_PROTO_KV_REQUEST_KEY_H_
