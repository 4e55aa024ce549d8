#include "net/frame.h"

#include <algorithm>
#include <string>

#include "common/coding.h"
#include "common/crc32c.h"

namespace ringkv::net {

void AppendFrame(std::string* dst, std::string_view payload) {
  dst->reserve(dst->size() + kFrameHeaderSize + payload.size());
  PutFixed32BE(dst, static_cast<uint32_t>(payload.size()));
  PutFixed32BE(dst, crc32c::Value(payload));
  dst->append(payload);
}

std::string EncodeFrame(std::string_view payload) {
  std::string out;
  AppendFrame(&out, payload);
  return out;
}

FrameDecoder::FrameDecoder(size_t max_frame_size) : max_frame_size_(max_frame_size) {}

void FrameDecoder::Feed(std::string_view bytes) {
  if (!status_.ok()) return;  // the stream is already dead; do not buffer more
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

void FrameDecoder::Consume(size_t n) {
  pos_ += n;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
}

Result<std::optional<std::string>> FrameDecoder::Next() {
  if (!status_.ok()) return status_;
  last_oversized_length_ = 0;
  if (skip_left_ > 0) {  // the rest of an oversized payload
    const size_t n = static_cast<size_t>(std::min<uint64_t>(skip_left_, buf_.size() - pos_));
    Consume(n);
    skip_left_ -= n;
    if (skip_left_ > 0) return std::optional<std::string>();
  }
  const size_t avail = buf_.size() - pos_;
  if (avail < kFrameHeaderSize) return std::optional<std::string>();
  const char* p = buf_.data() + pos_;
  const uint32_t length = DecodeFixed32BE(p);
  const uint32_t expected_crc = DecodeFixed32BE(p + 4);
  if (length > max_frame_size_) {
    // A huge "length" that is really text: someone speaks HTTP (curl, a browser, a
    // Prometheus scrape) or TLS to a RingKV port. Say so instead of quoting 1,195,725,856 bytes.
    const std::string_view head(p, 4);
    for (const char* method : {"GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN"}) {
      if (head == method) {
        status_ = Status::InvalidArgument(
            "not a RingKV frame: the peer speaks HTTP (\"" + std::string(head) +
            "...\"); the HTTP endpoints are on kvd's --listen_admin port");
        return status_;
      }
    }
    if (p[0] == 0x16 && p[1] == 0x03) {
      status_ = Status::InvalidArgument("not a RingKV frame: the peer speaks TLS");
      return status_;
    }
    if (skip_oversized_) {
      const size_t prefix = std::min<size_t>(length, kOversizedPrefixBytes);
      if (avail - kFrameHeaderSize < prefix) return std::optional<std::string>();
      std::string first_bytes(p + kFrameHeaderSize, prefix);
      Consume(kFrameHeaderSize + prefix);
      skip_left_ = length - prefix;
      last_oversized_length_ = length;
      return std::optional<std::string>(std::move(first_bytes));
    }
    status_ = Status::ResourceExhausted("frame of " + std::to_string(length) +
                                        " bytes exceeds the maximum of " +
                                        std::to_string(max_frame_size_));
    return status_;
  }
  if (avail - kFrameHeaderSize < length) return std::optional<std::string>();
  std::string payload(p + kFrameHeaderSize, length);
  const uint32_t actual_crc = crc32c::Value(payload);
  if (actual_crc != expected_crc) {
    status_ = Status::Corruption("frame checksum mismatch (header " + std::to_string(expected_crc) +
                                 ", payload " + std::to_string(actual_crc) + ")");
    return status_;
  }
  Consume(kFrameHeaderSize + length);
  return std::optional<std::string>(std::move(payload));
}

}  // namespace ringkv::net
