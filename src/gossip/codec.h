// Datagram codec for gossip: one Envelope per UDP datagram, framed as
// [u32 crc32c of the payload, big-endian][serialized gossippb::Envelope].
// Decode checks size bounds, the checksum, and that the message parses; field-level bounds
// are checked by the Swim core (ValidateEnvelope).
//
// Pure. Thread-safety: pure functions.
#ifndef RINGKV_GOSSIP_CODEC_H_
#define RINGKV_GOSSIP_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "proto/gossip.pb.h"

namespace ringkv::gossip {

// Largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header).
inline constexpr size_t kMaxDatagramBytes = 65507;
inline constexpr size_t kFrameHeaderBytes = 4;

// Serializes and frames `env`. Returns kInvalidArgument when the datagram would exceed
// kMaxDatagramBytes.
Result<std::string> EncodeDatagram(const gossippb::Envelope& env);

// Parses a framed datagram. Returns kCorruption for a short datagram, a checksum mismatch or
// an unparsable payload, kInvalidArgument for one larger than kMaxDatagramBytes.
Result<gossippb::Envelope> DecodeDatagram(std::string_view datagram);

}  // namespace ringkv::gossip

#endif  // RINGKV_GOSSIP_CODEC_H_
