#include "server/wire_errors.h"

#include <regex>
#include <string>

namespace ringkv::server {

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
    // The client library reads CAS_FAILED back as kFailedPrecondition: the round trip keeps it.
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
  if (st.leader_hint() != 0) e.set_leader_hint(st.leader_hint());
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

}  // namespace ringkv::server
