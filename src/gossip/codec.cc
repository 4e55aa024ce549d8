#include "gossip/codec.h"

#include "common/coding.h"
#include "common/crc32c.h"

namespace ringkv::gossip {

Result<std::string> EncodeDatagram(const gossippb::Envelope& env) {
  std::string payload;
  if (!env.SerializeToString(&payload)) {
    return Status::InvalidArgument("gossip envelope does not serialize");
  }
  if (payload.size() + kFrameHeaderBytes > kMaxDatagramBytes) {
    return Status::InvalidArgument("gossip envelope exceeds the datagram size");
  }
  std::string out;
  out.reserve(payload.size() + kFrameHeaderBytes);
  PutFixed32BE(&out, crc32c::Value(payload));
  out.append(payload);
  return out;
}

Result<gossippb::Envelope> DecodeDatagram(std::string_view datagram) {
  if (datagram.size() > kMaxDatagramBytes) {
    return Status::InvalidArgument("gossip datagram too large");
  }
  uint32_t crc = 0;
  if (!GetFixed32BE(&datagram, &crc)) return Status::Corruption("gossip datagram too short");
  if (crc32c::Value(datagram) != crc) return Status::Corruption("gossip datagram checksum");
  gossippb::Envelope env;
  if (!env.ParseFromArray(datagram.data(), static_cast<int>(datagram.size()))) {
    return Status::Corruption("gossip datagram does not parse");
  }
  return env;
}

}  // namespace ringkv::gossip
