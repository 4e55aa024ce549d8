// What the client's retry loop does with each kind of answer: the retry policy in one pure table,
// so it can be tested without a network. Mirrors the server's contract in proto/kv.proto:
//   NOT_LEADER with an address  -> retry at once at the hinted leader;
//   NOT_LEADER without address, NO_LEADER, WRONG_SHARD, definite UNAVAILABLE
//                               -> forget the cached leader, back off, try another endpoint;
//   BUSY                        -> back off (at least retry_after_ms), same endpoint;
//   TIMEOUT, UNKNOWN_OUTCOME, INTERNAL, indefinite UNAVAILABLE
//                               -> the attempt's outcome is unknown; retry (a write only with
//                                  its same session, which the caller guarantees);
//   INVALID_ARGUMENT, PERMISSION_DENIED -> final, definite;
//   SESSION_EXPIRED             -> indefinite, the write will never apply: the call decides
//                                  (final "outcome unknown", or a retry as a new write when no
//                                  attempt can have applied; see call.h);
//   OK, NOT_FOUND, CAS_FAILED   -> final answers the operation maps to a result.
//
// Thread-safety: pure functions.
#ifndef RINGKV_CLIENT_ERROR_POLICY_H_
#define RINGKV_CLIENT_ERROR_POLICY_H_

#include <string>

#include "common/status.h"
#include "proto/kv.pb.h"

namespace ringkv::client {

enum class Action {
  kDone,           // final answer (success, not found, CAS compare failed)
  kFail,           // final definite error
  kRedirect,       // retry now at the hinted leader address
  kBackoffRotate,  // definite; forget the leader, back off, next endpoint
  kBackoffSame,    // definite; back off, same endpoint (server overloaded)
  kRetryUnknown,   // indefinite; back off, retry (same session for writes)
  kSessionExpired, // indefinite, never applies from now on; the call decides (call.h)
};

// Classifies a response's error (absent or OK code = success).
Action Classify(const kvpb::Response& response);

// The Status a final kFail answer maps to (InvalidArgument for INVALID_ARGUMENT, ...).
Status FinalStatus(const kvpb::Error& error);

// "NO_LEADER: election in progress" — a compact description for messages.
std::string DescribeError(const kvpb::Error& error);

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_ERROR_POLICY_H_
