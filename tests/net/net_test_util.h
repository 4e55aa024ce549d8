// Helpers for the net tests: waiting on a condition with a deadline, a raw POSIX TCP socket for
// speaking (or mis-speaking) the protocol by hand, and a glog sink that captures warnings.
#ifndef RINGKV_TESTS_NET_NET_TEST_UTIL_H_
#define RINGKV_TESTS_NET_NET_TEST_UTIL_H_

#include <arpa/inet.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/frame.h"

namespace ringkv::net::testing {

inline constexpr std::chrono::seconds kDeadline{10};

// Polls `pred` until it holds or `timeout` passes; returns its last value. Polling (1 ms yields)
// is the waiting mechanism, not a synchronisation assumption: the deadline only bounds failure.
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds timeout = kDeadline) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

// A blocking IPv4 TCP socket with deadline-bounded reads.
class RawSocket {
 public:
  RawSocket() = default;
  explicit RawSocket(int fd) : fd_(fd) {}
  RawSocket(RawSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RawSocket& operator=(RawSocket&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~RawSocket() { Close(); }

  static RawSocket Connect(uint16_t port, const char* ip = "127.0.0.1") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd);
      return RawSocket();
    }
    return RawSocket(fd);
  }

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  uint16_t local_port() const {
    sockaddr_in a{};
    socklen_t n = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    return ntohs(a.sin_port);
  }

  bool WriteAll(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool WriteFrame(const std::string& payload) { return WriteAll(EncodeFrame(payload)); }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Reads until the peer closes (returns true) or the deadline passes (false). Data is dropped.
  bool WaitForClose(std::chrono::milliseconds timeout = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return true;  // EOF or reset
    }
    return false;
  }

  // Reads one frame's payload; nullopt on close, error or deadline.
  std::optional<std::string> ReadFrame(std::chrono::milliseconds timeout = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (true) {
      auto next = decoder_.Next();
      if (!next.ok()) return std::nullopt;
      if (next->has_value()) return std::move(**next);
      if (std::chrono::steady_clock::now() >= end) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return std::nullopt;
      decoder_.Feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }

 private:
  int fd_ = -1;
  FrameDecoder decoder_{kDefaultPeerMaxFrameSize};
};

// A listening IPv4 socket on 127.0.0.1 with an OS-chosen port.
class RawListener {
 public:
  RawListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 16);
    socklen_t n = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
  }
  ~RawListener() { ::close(fd_); }
  uint16_t port() const { return port_; }
  // Accepts one connection within the deadline (invalid socket otherwise).
  RawSocket Accept(std::chrono::milliseconds timeout = kDeadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return RawSocket();
    return RawSocket(::accept(fd_, nullptr, nullptr));
  }
  // Makes the kernel buffers of accepted sockets small, so a non-reading peer stalls quickly.
  void SetSmallReceiveBuffer() {
    int size = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Returns a port on 127.0.0.1 that nothing listens on (bound, then released).
inline uint16_t UnusedPort() {
  RawListener l;
  return l.port();
}

// Captures glog WARNING-and-above lines while alive.
class WarningCapture : public google::LogSink {
 public:
  WarningCapture() { google::AddLogSink(this); }
  ~WarningCapture() override { google::RemoveLogSink(this); }
  void send(google::LogSeverity severity, const char*, const char*, int, const struct ::tm*,
            const char* message, size_t len) override {
    if (severity < google::GLOG_WARNING) return;
    std::lock_guard<std::mutex> l(mu_);
    lines_.emplace_back(message, len);
  }
  // True when some captured line contains every one of `parts`.
  bool Has(const std::vector<std::string>& parts) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const std::string& line : lines_) {
      bool all = true;
      for (const std::string& p : parts) all = all && line.find(p) != std::string::npos;
      if (all) return true;
    }
    return false;
  }
  std::string Dump() const {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (const std::string& line : lines_) out += line + "\n";
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace ringkv::net::testing

#endif  // RINGKV_TESTS_NET_NET_TEST_UTIL_H_
