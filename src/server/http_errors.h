// How a RingKV error becomes an HTTP answer, for every HTTP handler (the admin port's and the
// HTTP/JSON API's): one table, so overload is always 429 with Retry-After, a full disk 507,
// "try elsewhere / later" 503, an unknown outcome 504.
//
// Thread-safety: pure function.
#ifndef RINGKV_SERVER_HTTP_ERRORS_H_
#define RINGKV_SERVER_HTTP_ERRORS_H_

#include "http/router.h"
#include "proto/kv.pb.h"

namespace ringkv::server {

// Status code, a JSON body {"code","message","definite","retry_after_ms"[,"leader"]} and, for
// retryable errors, Retry-After (whole seconds, rounded up, at least 1).
//   NOT_FOUND 404, INVALID_ARGUMENT 400, CAS_FAILED 412, BUSY 429, NO_SPACE 507,
//   NOT_LEADER / NO_LEADER / UNAVAILABLE / WRONG_SHARD 503, TIMEOUT / UNKNOWN_OUTCOME 504,
//   INTERNAL and anything newer 500.
http::HttpResponse HttpErrorResponse(const kvpb::Error& error);
int HttpStatusFor(kvpb::ErrorCode code);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_HTTP_ERRORS_H_
