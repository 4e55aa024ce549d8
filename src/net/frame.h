// Wire framing for every RingKV TCP stream (peer transport and client port).
//
// A frame is [u32 payload length, big-endian][u32 CRC-32C of the payload, big-endian][payload].
// EncodeFrame builds one; FrameDecoder reassembles frames from arbitrary byte chunks as they
// arrive from a socket. The payload is opaque bytes (a serialized protobuf above this layer).
//
// PURE: no Asio, no threads, no clocks, no logging.
// Thread-safety: EncodeFrame is a pure function; a FrameDecoder is a single-owner value.
#ifndef RINGKV_NET_FRAME_H_
#define RINGKV_NET_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

namespace ringkv::net {

// Bytes of the frame header (length + crc).
inline constexpr size_t kFrameHeaderSize = 8;
// Default maximum payload size between peers (Raft batches, snapshot chunks). Default: 16 MiB.
inline constexpr size_t kDefaultPeerMaxFrameSize = size_t{16} << 20;
// Default maximum payload size on the client port: a 4 MiB value plus key and request envelope.
// Default: 4 MiB + 64 KiB.
inline constexpr size_t kDefaultClientMaxFrameSize = (size_t{4} << 20) + (size_t{64} << 10);

// Returns the frame carrying `payload`.
// REQUIRES: payload.size() <= UINT32_MAX (callers enforce their own, smaller maximum).
std::string EncodeFrame(std::string_view payload);

// Appends the frame carrying `payload` to *dst. Same contract as EncodeFrame.
void AppendFrame(std::string* dst, std::string_view payload);

// Incremental decoder: Feed() bytes in any split, then call Next() until it yields no frame.
// Errors are sticky: once Next() returned an error, the stream is unusable and every later call
// returns the same error (the caller closes the connection).
class FrameDecoder {
 public:
  // `max_frame_size`: the largest payload accepted, in bytes.
  explicit FrameDecoder(size_t max_frame_size = kDefaultPeerMaxFrameSize);

  // Appends received bytes. Memory stays bounded: at most one partial frame (<= max + header)
  // plus the bytes of one Feed() are buffered, because Next() rejects an oversized length as soon
  // as its header is complete.
  void Feed(std::string_view bytes);

  // Returns the next complete payload, std::nullopt when more bytes are needed, or an error:
  //   ResourceExhausted — the header announces a payload larger than max_frame_size;
  //   Corruption        — the payload's CRC-32C does not match the header.
  Result<std::optional<std::string>> Next();

  // Bytes fed but not yet returned as frames. Non-zero at end of stream = a truncated frame.
  size_t buffered_bytes() const { return buf_.size() - pos_; }
  size_t max_frame_size() const { return max_frame_size_; }

 private:
  const size_t max_frame_size_;
  // Received bytes; [pos_, size) is not yet consumed. Compacted when pos_ passes half the buffer.
  std::string buf_;
  size_t pos_ = 0;
  // OK until the first decode error, then that error forever.
  Status status_;
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_FRAME_H_
