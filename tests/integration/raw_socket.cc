#include "integration/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/coding.h"
#include "net/frame.h"

namespace ringkv::integration {

using Clock = std::chrono::steady_clock;

RawSocket RawSocket::Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return RawSocket();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return RawSocket();
  }
  return RawSocket(fd);
}

RawSocket::RawSocket(RawSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
RawSocket& RawSocket::operator=(RawSocket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}
RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RawSocket::local_address() const {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

bool RawSocket::WriteAll(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawSocket::WriteFrame(std::string_view payload) { return WriteAll(net::EncodeFrame(payload)); }

bool RawSocket::ReadExact(size_t n, std::string* out, Clock::time_point deadline) {
  out->clear();
  char buf[4096];
  while (out->size() < n) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return false;
    const size_t want = std::min(sizeof(buf), n - out->size());
    const ssize_t r = ::recv(fd_, buf, want, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out->append(buf, static_cast<size_t>(r));
  }
  return true;
}

std::optional<std::string> RawSocket::ReadFrame(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string header;
  if (!ReadExact(net::kFrameHeaderSize, &header, deadline)) return std::nullopt;
  const uint32_t len = (uint32_t{static_cast<uint8_t>(header[0])} << 24) |
                       (uint32_t{static_cast<uint8_t>(header[1])} << 16) |
                       (uint32_t{static_cast<uint8_t>(header[2])} << 8) |
                       uint32_t{static_cast<uint8_t>(header[3])};
  if (len > (64u << 20)) return std::nullopt;
  std::string payload;
  if (!ReadExact(len, &payload, deadline)) return std::nullopt;
  return payload;
}

void RawSocket::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

bool RawSocket::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return true;
    if (pr == 0) return false;
    const ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return true;  // EOF or reset: closed by the server
  }
}

}  // namespace ringkv::integration
