// Fuzz target: the frame decoder (net/frame.h), fed the input in chunks whose sizes come from
// the input itself. Properties: no crash, memory bounded by the frame maximum, errors are
// sticky, and every decoded payload re-encodes to the bytes it was decoded from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: the frame maximum (small values make the size checks reachable); second: the
  // chunk size pattern.
  const size_t max_frame = size_t{1} << (data[0] % 17);
  const size_t chunk = 1 + data[1] % 64;
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  ringkv::net::FrameDecoder decoder(max_frame);
  std::string reencoded;
  size_t consumed = 0;
  bool failed = false;
  while (consumed < rest.size() && !failed) {
    const size_t n = std::min(chunk, rest.size() - consumed);
    decoder.Feed(rest.substr(consumed, n));
    consumed += n;
    for (;;) {
      auto next = decoder.Next();
      if (!next.ok()) {
        failed = true;
        // Sticky: the same error again.
        if (decoder.Next().status() != next.status()) std::abort();
        break;
      }
      if (!next->has_value()) break;
      if ((*next)->size() > max_frame) std::abort();
      ringkv::net::AppendFrame(&reencoded, **next);
    }
    // Bounded: one partial frame plus one chunk.
    if (decoder.buffered_bytes() > max_frame + ringkv::net::kFrameHeaderSize + chunk) std::abort();
  }
  // Frames come out exactly as they went in: the decoded prefix of the stream re-encodes to
  // itself.
  if (rest.substr(0, reencoded.size()) != reencoded) std::abort();
  return 0;
}
