// The one table from a Status to the client wire's error (kvpb::Error), at the server edge. The
// client port (request_handler.cc: the authorizer's refusals) and the HTTP/JSON API (http_api.cc:
// a failed client-library call, then http_errors.h for the HTTP status) both answer through it,
// so one Status is one wire code everywhere.
//
// The table is the inverse of the client library's FinalStatus (client/error_policy.cc), so a
// wire error that became a Status in the client comes back as the same code:
//   kOk OK, kNotFound NOT_FOUND, kInvalidArgument / kAlreadyExists INVALID_ARGUMENT,
//   kFailedPrecondition CAS_FAILED, kPermissionDenied PERMISSION_DENIED,
//   kResourceExhausted BUSY (NO_SPACE when the message starts with "NO_SPACE"),
//   kUnavailable UNAVAILABLE, kNotLeader NOT_LEADER, kDeadlineExceeded TIMEOUT
//   (UNKNOWN_OUTCOME when the message says "outcome unknown"), anything else INTERNAL.
// Definite except kDeadlineExceeded and INTERNAL (the operation may have happened).
//
// Thread-safety: pure functions.
#ifndef RINGKV_SERVER_WIRE_ERRORS_H_
#define RINGKV_SERVER_WIRE_ERRORS_H_

#include <cstdint>

#include "common/status.h"
#include "proto/kv.pb.h"

namespace ringkv::server {

// The wire error for `st`, with the message. `retry_after_ms` is set for the retryable codes
// (BUSY, NO_SPACE, UNAVAILABLE, NOT_LEADER). The leader hint is the Status's own (kNotLeader),
// else the leader the message names last ("(leader n2 at 127.0.0.1:7002)", as the client library
// describes NOT_LEADER answers), with its address when named.
kvpb::Error ErrorFromStatus(const Status& st, uint32_t retry_after_ms);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_WIRE_ERRORS_H_
