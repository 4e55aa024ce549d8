// Free TCP ports for tests: ask the OS for an ephemeral port by binding port 0, then release it.
// The OS hands a released port out again readily, so a test that picks several ports before
// binding any could get the same one twice (node_test once gave nodes 1 and 3 one client port):
// a port is never returned twice in one process. (A small race with other processes remains
// between release and reuse; tests that hit it fail loudly, not silently.)
#ifndef RINGKV_TESTS_TESTUTIL_PORTS_H_
#define RINGKV_TESTS_TESTUTIL_PORTS_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>

namespace ringkv::testing {

// Whether `port` on 127.0.0.1 can be bound right now with a socket of `type`.
inline bool CanBindLoopback(int type, uint16_t port) {
  int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// An ephemeral TCP port from the OS that is also free for UDP (a node's gossip binds UDP on
// its peer port).
inline uint16_t PickEphemeralPort() {
  for (int attempt = 0; attempt < 100; ++attempt) {
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
    const uint16_t port = ntohs(addr.sin_port);
    if (CanBindLoopback(SOCK_DGRAM, port)) return port;
  }
  throw std::runtime_error("no port free for both TCP and UDP after 100 tries");
}

inline uint16_t PickFreePort() {
  static std::mutex mu;
  static std::set<uint16_t> handed_out;
  std::lock_guard<std::mutex> lock(mu);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint16_t port = PickEphemeralPort();
    if (handed_out.insert(port).second) return port;
  }
  throw std::runtime_error("no unused ephemeral port after 1000 tries");
}

}  // namespace ringkv::testing

#endif  // RINGKV_TESTS_TESTUTIL_PORTS_H_
