// Free TCP ports for tests whose servers bind them later, often in another process (kvd).
//
// Ports come from below the kernel's ephemeral range. A port the OS hands out for "bind port
// 0" is an ephemeral one, and the kernel gives the same range to every outgoing connection as
// its local port: between the pick and the server's bind, a connection of any process (the
// test cluster's own nodes dialling each other) could take it. That happened:
// integ_multiraft_decommission_test's fifth node, started last, died with "listen on ...:
// Address already in use" on its peer port, and the test waited for a node that never ran.
// Ports below the range are never given to a connection implicitly.
//
// Concurrent test processes (ctest -j) pick from the same ports: each port handed out is held
// for the life of the process that picked it by binding an abstract Unix socket named after
// it (released by the kernel when the process exits; no file is left behind). A port is also
// never returned twice in one process, and is checked free for TCP and UDP (a node's gossip
// binds UDP on its peer port). A process that does not use this helper can still take a port
// in between; tests that hit that fail loudly, not silently.
#ifndef RINGKV_TESTS_TESTUTIL_PORTS_H_
#define RINGKV_TESTS_TESTUTIL_PORTS_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>

namespace ringkv::testing {

// Whether `port` on 127.0.0.1 can be bound right now with a socket of `type`.
inline bool CanBindLoopback(int type, uint16_t port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// The lowest port of the kernel's ephemeral range (32768 when it cannot be read).
inline uint16_t EphemeralRangeLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  if (in >> low && low > 0 && low < 65536) return static_cast<uint16_t>(low);
  return 32768;
}

// Holds `port` for this process's lifetime against other processes using this helper: an
// abstract Unix socket can be bound by one process at a time. False when another holds it.
inline bool ReservePortForProcess(uint16_t port) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "ringkv-test-port-" + std::to_string(port);
  // Abstract namespace: a leading NUL byte, then the name (not NUL-terminated).
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // fd stays open on purpose: the reservation ends with the process
}

inline uint16_t PickFreePort() {
  static std::mutex mu;
  static std::set<uint16_t> handed_out;
  static std::mt19937 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  const uint16_t high = EphemeralRangeLow();  // exclusive
  constexpr uint16_t kLow = 10000;            // clear of well-known and registered services
  if (high <= kLow + 1000) throw std::runtime_error("ephemeral port range starts too low");
  std::uniform_int_distribution<int> pick(kLow, high - 1);
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const auto port = static_cast<uint16_t>(pick(rng));
    if (handed_out.count(port) > 0) continue;
    if (!CanBindLoopback(SOCK_STREAM, port) || !CanBindLoopback(SOCK_DGRAM, port)) continue;
    if (!ReservePortForProcess(port)) continue;
    handed_out.insert(port);
    return port;
  }
  throw std::runtime_error("no free port below the ephemeral range after 2000 tries");
}

}  // namespace ringkv::testing

#endif  // RINGKV_TESTS_TESTUTIL_PORTS_H_
