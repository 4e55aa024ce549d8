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
#include "server/wire_errors.h"

namespace ringkv::server {

// Status code, a JSON body {"code","message","definite","retry_after_ms"[,"leader"]} and, for
// retryable errors, Retry-After (whole seconds, rounded up, at least 1).
//   NOT_FOUND 404, INVALID_ARGUMENT 400, CAS_FAILED 409, BUSY 429, NO_SPACE 507,
//   NOT_LEADER / NO_LEADER / UNAVAILABLE / WRONG_SHARD 503, TIMEOUT / UNKNOWN_OUTCOME 504,
//   INTERNAL and anything newer 500.
http::HttpResponse HttpErrorResponse(const kvpb::Error& error);
int HttpStatusFor(kvpb::ErrorCode code);

// HttpErrorResponse(ErrorFromStatus(st, retry_after_ms)), except that a request refused for
// its size (INVALID_ARGUMENT "... exceeds --max_value_bytes=...", or over the client's request
// maximum) is 413.
http::HttpResponse HttpErrorResponse(const Status& st, uint32_t retry_after_ms);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_HTTP_ERRORS_H_
