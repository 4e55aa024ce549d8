// What a replica answers the client requests waiting on it with: the clock their deadlines
// are on, the callback that answers one, and the error answer they share. Split from
// replica.h so the tables of waiting requests (proposal_table.h, read_queue.h) need not
// include the replica.
//
// Thread-safety: plain types and a pure function.
#ifndef RINGKV_REPLICA_REPLIES_H_
#define RINGKV_REPLICA_REPLIES_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "proto/kv.pb.h"

namespace ringkv::replica {

using Clock = std::chrono::steady_clock;
using Reply = std::function<void(kvpb::Response)>;

// An answer carrying only an error: `code`, whether the outcome is `definite` (the request
// certainly had no effect), `msg` for a person, and when a retry makes sense (0 = no hint).
kvpb::Response ErrorResponse(kvpb::ErrorCode code, bool definite, const std::string& msg,
                             uint32_t retry_after_ms = 0);

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_REPLIES_H_
