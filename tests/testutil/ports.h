// Free TCP ports for tests: ask the OS for an ephemeral port by binding port 0, then release it.
// (A small race remains between release and reuse; tests that hit it fail loudly, not silently.)
#ifndef RINGKV_TESTS_TESTUTIL_PORTS_H_
#define RINGKV_TESTS_TESTUTIL_PORTS_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace ringkv::testing {

inline uint16_t PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace ringkv::testing

#endif  // RINGKV_TESTS_TESTUTIL_PORTS_H_
