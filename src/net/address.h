// Parsing of "host:port" strings as used in flags, gossip and the handshake.
//
// Thread-safety: pure functions.
#ifndef RINGKV_NET_ADDRESS_H_
#define RINGKV_NET_ADDRESS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ringkv::net {

struct HostPort {
  std::string host;  // name or literal IP, without brackets
  uint16_t port = 0;
};

// Parses "host:port", "[v6-literal]:port" or "v4-literal:port". Port 0 is allowed (for listen
// addresses: the OS picks one). Returns InvalidArgument on a malformed string.
Result<HostPort> ParseHostPort(std::string_view address);

// Formats host and port back to "host:port", bracketing IPv6 literals.
std::string FormatHostPort(std::string_view host, uint16_t port);

}  // namespace ringkv::net

#endif  // RINGKV_NET_ADDRESS_H_
