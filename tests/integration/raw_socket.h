// RawSocket: a blocking TCP client socket for sending hand-made (often malformed) bytes to a
// kvd port and observing whether the server closes the connection.
//
// Thread-safety: not thread-safe; one owner.
#ifndef RINGKV_TESTS_INTEGRATION_RAW_SOCKET_H_
#define RINGKV_TESTS_INTEGRATION_RAW_SOCKET_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::integration {

class RawSocket {
 public:
  // Connects to 127.0.0.1:port; valid() is false on failure.
  static RawSocket Connect(uint16_t port);
  RawSocket() = default;
  RawSocket(RawSocket&& o) noexcept;
  RawSocket& operator=(RawSocket&& o) noexcept;
  ~RawSocket();

  bool valid() const { return fd_ >= 0; }
  // "127.0.0.1:<our port>", as the server logs the remote address.
  std::string local_address() const;

  // Writes all bytes; false on error (e.g. the server already closed).
  bool WriteAll(std::string_view bytes);
  // Writes one frame (u32 BE length, u32 BE CRC-32C, payload).
  bool WriteFrame(std::string_view payload);
  // Reads one frame within `timeout`; nullopt on close, error or timeout.
  std::optional<std::string> ReadFrame(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Half-closes our sending side.
  void ShutdownWrite();
  // Reads and discards until the server closes the connection (EOF or reset) or `timeout`
  // passes. True when it closed.
  bool WaitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  explicit RawSocket(int fd) : fd_(fd) {}
  // Reads exactly n bytes before `deadline`.
  bool ReadExact(size_t n, std::string* out, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
};

}  // namespace ringkv::integration

#endif  // RINGKV_TESTS_INTEGRATION_RAW_SOCKET_H_
