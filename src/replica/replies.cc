#include "replica/replies.h"

namespace ringkv::replica {

kvpb::Response ErrorResponse(kvpb::ErrorCode code, bool definite, const std::string& msg,
                             uint32_t retry_after_ms) {
  kvpb::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_definite(definite);
  r.mutable_error()->set_message(msg);
  r.mutable_error()->set_retry_after_ms(retry_after_ms);
  return r;
}

}  // namespace ringkv::replica
