#include "server/http_errors.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

namespace ringkv::server {

int HttpStatusFor(kvpb::ErrorCode code) {
  switch (code) {
    case kvpb::OK: return 200;
    case kvpb::NOT_FOUND: return 404;
    case kvpb::INVALID_ARGUMENT: return 400;
    case kvpb::CAS_FAILED: return 409;
    case kvpb::PERMISSION_DENIED: return 403;
    case kvpb::BUSY: return 429;
    case kvpb::NO_SPACE: return 507;
    case kvpb::NOT_LEADER:
    case kvpb::NO_LEADER:
    case kvpb::UNAVAILABLE:
    case kvpb::WRONG_SHARD: return 503;
    case kvpb::TIMEOUT:
    case kvpb::UNKNOWN_OUTCOME: return 504;
    default: return 500;
  }
}

http::HttpResponse HttpErrorResponse(const kvpb::Error& e) {
  std::string name = kvpb::ErrorCode_Name(e.code());
  if (name.empty()) name = "ERROR_" + std::to_string(static_cast<int>(e.code()));
  nlohmann::json body = {{"code", name},
                         {"message", e.message()},
                         {"definite", e.definite()},
                         {"retry_after_ms", e.retry_after_ms()}};
  if (e.leader_hint() != 0) {
    body["leader"] = e.leader_hint();
    body["leader_address"] = e.leader_address();
  }
  http::HttpResponse r = http::HttpResponse::Json(HttpStatusFor(e.code()), body.dump() + "\n");
  const int status = r.status;
  if (status == 429 || status == 503 || status == 507) {
    const uint32_t seconds = std::max<uint32_t>(1, (e.retry_after_ms() + 999) / 1000);
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
  }
  return r;
}

http::HttpResponse HttpErrorResponse(const Status& st, uint32_t retry_after_ms) {
  http::HttpResponse r = HttpErrorResponse(ErrorFromStatus(st, retry_after_ms));
  const std::string_view msg = st.message();
  if (st.code() == StatusCode::kInvalidArgument &&
      (msg.find("exceeds --max_") != std::string_view::npos ||
       msg.find("exceeds the client port's frame maximum") != std::string_view::npos ||
       msg.find("kMaxRequestBytes") != std::string_view::npos)) {
    r.status = 413;
  }
  return r;
}

}  // namespace ringkv::server
