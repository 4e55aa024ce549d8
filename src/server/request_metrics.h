// Client-port request accounting: ringkv_requests_total{type,code}, the latency histogram
// ringkv_request_duration_seconds{type}, ringkv_requests_in_flight, and the slow-request
// warning (over --slow_request_ms, naming the request id so it can be found in every log line
// about that request; at most one line per second per process, with the count of the others).
//
// Thread-safety: all functions are safe from any thread.
#ifndef RINGKV_SERVER_REQUEST_METRICS_H_
#define RINGKV_SERVER_REQUEST_METRICS_H_

#include <chrono>
#include <string>

#include "proto/kv.pb.h"

namespace ringkv::server {

// "get", "put", "delete", "cas", "append", "scan", "status", "admin" or "unknown".
const char* RequestTypeName(const kvpb::Request& req);
// "ok" or the error code in lower case ("not_leader", "busy", ...).
std::string ResponseCodeName(const kvpb::Response& resp);
// The id a request is logged under: "<client address>#<request id>", plus the write session
// "(client c, seq s)" when it has one, which stays the same across the client's retries.
std::string RequestLogId(const std::string& remote, const kvpb::Request& req);

// Starts timing one request; Finish records it.
class RequestTimer {
 public:
  RequestTimer(const kvpb::Request& req, std::string remote);
  // Records the answer; logs a WARNING when it took longer than `slow` (rate-limited).
  void Finish(const kvpb::Response& resp, std::chrono::milliseconds slow);

 private:
  const char* type_;
  std::string log_id_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_REQUEST_METRICS_H_
