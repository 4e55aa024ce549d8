// How a RingKV error becomes an HTTP answer, for every HTTP handler (the admin port's and the
// HTTP/JSON API's): one table, so overload is always 429 with Retry-After, a full disk 507,
// "try elsewhere / later" 503, an unknown outcome 504.
//
// Thread-safety: pure function.
#ifndef RINGKV_SERVER_HTTP_ERRORS_H_
#define RINGKV_SERVER_HTTP_ERRORS_H_

#include <cstdint>

#include "common/status.h"
#include "http/router.h"
#include "proto/kv.pb.h"

namespace ringkv::server {

// Status code, a JSON body {"code","message","definite","retry_after_ms"[,"leader"]} and, for
// retryable errors, Retry-After (whole seconds, rounded up, at least 1).
//   NOT_FOUND 404, INVALID_ARGUMENT 400, CAS_FAILED 409, BUSY 429, NO_SPACE 507,
//   NOT_LEADER / NO_LEADER / UNAVAILABLE / WRONG_SHARD 503, TIMEOUT / UNKNOWN_OUTCOME 504,
//   INTERNAL and anything newer 500.
http::HttpResponse HttpErrorResponse(const kvpb::Error& error);
int HttpStatusFor(kvpb::ErrorCode code);

// The wire error a failed client-library call (ringkv/client.h) stands for, so that the table
// above maps it too: by the Status code (kResourceExhausted is BUSY, or NO_SPACE when the
// cluster said so; kDeadlineExceeded is UNKNOWN_OUTCOME for a write whose outcome is unknown,
// else TIMEOUT, both indefinite), with the message, and the leader the message names last
// ("(leader n2 at 127.0.0.1:7002)", as the client describes NOT_LEADER answers) as the hint.
// `retry_after_ms` is the hint for retryable errors.
kvpb::Error ErrorFromStatus(const Status& st, uint32_t retry_after_ms);
// HttpErrorResponse(ErrorFromStatus(st, retry_after_ms)), except that a request refused for
// its size (INVALID_ARGUMENT "... exceeds --max_value_bytes=...", or over the client's request
// maximum) is 413.
http::HttpResponse HttpErrorResponse(const Status& st, uint32_t retry_after_ms);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_HTTP_ERRORS_H_
