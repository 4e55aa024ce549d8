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
  // plus the bytes of one Feed() are buffered, because Next() rejects (or skips) an oversized
  // length as soon as its header is complete.
  void Feed(std::string_view bytes);

  // Returns the next complete payload, std::nullopt when more bytes are needed, or an error:
  //   ResourceExhausted — the header announces a payload larger than max_frame_size (unless
  //                       oversized frames are skipped, below);
  //   Corruption        — the payload's CRC-32C does not match the header.
  Result<std::optional<std::string>> Next();

  // With skipping on, an oversized frame is not an error: Next() returns the first
  // kOversizedPrefixBytes of its payload (all of it if shorter) as soon as they arrived, with
  // last_oversized_length() set to the length the header announced, and then discards the rest
  // of the payload as it arrives, unchecked and never buffered whole. The stream stays usable,
  // so the owner can refuse that one request (the client port answers it by its request id).
  static constexpr size_t kOversizedPrefixBytes = 32;
  void set_skip_oversized(bool on) { skip_oversized_ = on; }
  // The announced payload length if the frame Next() returned last was an oversized one's
  // prefix, else 0.
  uint64_t last_oversized_length() const { return last_oversized_length_; }

  // Bytes fed but not yet returned as frames, plus the bytes of a skipped frame still to come.
  // Non-zero at end of stream = a truncated frame.
  size_t buffered_bytes() const { return buf_.size() - pos_ + skip_left_; }
  size_t max_frame_size() const { return max_frame_size_; }

 private:
  // Consumes [pos_, pos_ + n) and releases the buffer once all of it was consumed.
  void Consume(size_t n);

  const size_t max_frame_size_;
  bool skip_oversized_ = false;
  uint64_t skip_left_ = 0;              // bytes of an oversized payload still to discard
  uint64_t last_oversized_length_ = 0;  // see last_oversized_length()
  // Received bytes; [pos_, size) is not yet consumed. Compacted when pos_ passes half the buffer.
  std::string buf_;
  size_t pos_ = 0;
  // OK until the first decode error, then that error forever.
  Status status_;
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_FRAME_H_
