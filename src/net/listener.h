// OpenListener: binds and listens on "ip:port" — the one piece of acceptor setup shared by the
// peer transport and the client-port frame server.
//
// Thread-safety: call before the io_context runs (as both owners do in Start()).
#ifndef RINGKV_NET_LISTENER_H_
#define RINGKV_NET_LISTENER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "net/address.h"

namespace ringkv::net {

// Opens `*acceptor` listening on `address` (literal IP; port 0 = any) and returns the parsed
// address with the bound port. InvalidArgument for a malformed address or a host that is not
// a literal IP; Unavailable when bind/listen fail (`*acceptor` is left empty).
Result<HostPort> OpenListener(boost::asio::io_context& io, const std::string& address,
                              std::optional<boost::asio::ip::tcp::acceptor>* acceptor);

}  // namespace ringkv::net

#endif  // RINGKV_NET_LISTENER_H_
