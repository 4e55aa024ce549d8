#include "server/http_errors.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
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

kvpb::Error ErrorFromStatus(const Status& st, uint32_t retry_after_ms) {
  kvpb::Error e;
  const std::string msg(st.message());
  e.set_message(msg);
  e.set_definite(true);
  switch (st.code()) {
    case StatusCode::kOk: e.set_code(kvpb::OK); break;
    case StatusCode::kNotFound: e.set_code(kvpb::NOT_FOUND); break;
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists: e.set_code(kvpb::INVALID_ARGUMENT); break;
    case StatusCode::kFailedPrecondition: e.set_code(kvpb::CAS_FAILED); break;
    case StatusCode::kPermissionDenied: e.set_code(kvpb::PERMISSION_DENIED); break;
    case StatusCode::kResourceExhausted:
      e.set_code(msg.rfind("NO_SPACE", 0) == 0 ? kvpb::NO_SPACE : kvpb::BUSY);
      break;
    case StatusCode::kUnavailable: e.set_code(kvpb::UNAVAILABLE); break;
    case StatusCode::kNotLeader: e.set_code(kvpb::NOT_LEADER); break;
    case StatusCode::kDeadlineExceeded:
      e.set_code(msg.find("outcome unknown") != std::string::npos ? kvpb::UNKNOWN_OUTCOME
                                                                  : kvpb::TIMEOUT);
      e.set_definite(false);
      break;
    default:
      e.set_code(kvpb::INTERNAL);
      e.set_definite(false);
      break;
  }
  const kvpb::ErrorCode code = e.code();
  if (code == kvpb::BUSY || code == kvpb::NO_SPACE || code == kvpb::UNAVAILABLE ||
      code == kvpb::NOT_LEADER) {
    e.set_retry_after_ms(retry_after_ms);
  }
  // client/error_policy.cc DescribeError: "(leader n<id> at <address>)"; the last one is the
  // newest.
  static const std::regex kLeader(R"(\(leader n(\d+)(?: at ([^) ]+))?\))");
  for (auto it = std::sregex_iterator(msg.begin(), msg.end(), kLeader);
       it != std::sregex_iterator(); ++it) {
    e.set_leader_hint(std::stoull((*it)[1].str()));
    e.set_leader_address((*it)[2].matched ? (*it)[2].str() : "");
  }
  return e;
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
