// HttpGet: one blocking HTTP/1.1 request to 127.0.0.1, for tests of the admin port.
//
// Thread-safety: pure function (own socket per call).
#ifndef RINGKV_TESTS_INTEGRATION_HTTP_GET_H_
#define RINGKV_TESTS_INTEGRATION_HTTP_GET_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"

namespace ringkv::integration {

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// GET (or `method`) http://127.0.0.1:<port><target>. Unavailable when the connection fails,
// DeadlineExceeded after `timeout`.
Result<HttpAnswer> HttpGet(uint16_t port, const std::string& target,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5),
                           const std::string& method = "GET", const std::string& body = "");

}  // namespace ringkv::integration

#endif  // RINGKV_TESTS_INTEGRATION_HTTP_GET_H_
