#include "net/address.h"

#include <charconv>

namespace ringkv::net {

Result<HostPort> ParseHostPort(std::string_view address) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("bad address '" + std::string(address) + "': " + why);
  };
  HostPort hp;
  std::string_view port_part;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    hp.host = std::string(address.substr(1, close - 1));
    if (close + 1 >= address.size() || address[close + 1] != ':') return bad("missing port");
    port_part = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    hp.host = std::string(address.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) return bad("IPv6 literal needs brackets");
    port_part = address.substr(colon + 1);
  }
  if (hp.host.empty()) return bad("empty host");
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_part.data(), port_part.data() + port_part.size(), port);
  if (port_part.empty() || ec != std::errc() || ptr != port_part.data() + port_part.size() ||
      port > 65535) {
    return bad("port is not a number in [0, 65535]");
  }
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

std::string FormatHostPort(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out = "[" + std::string(host) + "]";
  } else {
    out = std::string(host);
  }
  return out + ":" + std::to_string(port);
}

}  // namespace ringkv::net
