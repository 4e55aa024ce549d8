// Dialing: resolve "host:port", optionally bind the local end to a given host (so a node's
// outgoing traffic leaves from its advertised address and tests can partition nodes by address),
// and connect within a deadline.
//
// Thread-safety: AsyncConnect may be called from any thread; `done` runs on `executor`.
#ifndef RINGKV_NET_CONNECTOR_H_
#define RINGKV_NET_CONNECTOR_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "common/status.h"

namespace ringkv::net {

using ConnectCallback = std::function<void(Status, boost::asio::ip::tcp::socket)>;

// Connects to `address` ("host:port"). The new socket uses `executor` (pass a strand when the
// io_context has several threads). `local_host`: literal IP to bind the local end to before
// connecting; empty, a hostname or an unspecified address (0.0.0.0, ::) means no bind.
// `done` gets OK and the connected socket, or InvalidArgument (bad address), DeadlineExceeded
// (timeout) or Unavailable (resolve/bind/connect failed) and a closed socket.
// A connected socket that a TCP "self-connect" joined to itself fails with Unavailable: dialing
// a local port nobody listens on can succeed when the kernel picks that very port as the source
// (most likely in the ephemeral range), and the socket would then hold the port its real owner
// needs.
void AsyncConnect(const boost::asio::any_io_executor& executor, const std::string& address,
                  const std::string& local_host, std::chrono::milliseconds timeout,
                  ConnectCallback done);

// Whether `socket` is connected to itself (its local and remote endpoints are equal).
bool IsSelfConnected(const boost::asio::ip::tcp::socket& socket);

}  // namespace ringkv::net

#endif  // RINGKV_NET_CONNECTOR_H_
