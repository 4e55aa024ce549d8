// The TLS handshake that turns an accepted or dialed TCP socket into a TLS Stream, with a
// deadline, and a refusal Status that names the reason in words an operator can act on:
//   "plain TCP connection (first byte 0x00, not a TLS ClientHello): the client does not use TLS"
//   "certificate verify failed: certificate has expired (subject /CN=node)"
//   "certificate verify failed: unable to get local issuer certificate (subject /CN=intruder)"
//   "client certificate /CN=alice is not a node certificate (no serverAuth usage)"
//   "TLS handshake timed out after 2000 ms"
// The caller logs it with the port and the remote address, and keeps serving.
//
// Thread-safety: `done` runs once, on the socket's executor.
#ifndef RINGKV_NET_TLS_HANDSHAKE_H_
#define RINGKV_NET_TLS_HANDSHAKE_H_

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "net/stream.h"
#include "net/tls.h"

namespace ringkv::net {

// `stream` is set iff `status` is OK.
using StreamCallback = std::function<void(Status status, std::optional<Stream> stream)>;

struct TlsAcceptPolicy {
  // Peer port: the remote must present a node certificate (serverAuth usage); a client
  // certificate is refused. Default: false.
  bool require_node_certificate = false;
  // Deadline of the whole handshake, from accept. Default: 5 s.
  std::chrono::milliseconds timeout{5000};
};

// Server side. With `context` null the socket is handed back as a plain Stream at once.
// Errors: Unavailable (the remote closed or reset), DeadlineExceeded (timeout),
// FailedPrecondition (plain TCP on a TLS port, certificate refused, protocol mismatch).
void AsyncTlsAccept(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> context,
                    const TlsAcceptPolicy& policy, StreamCallback done);

// Client side: verifies the server certificate against the context's CA and `server_host`
// (the dialed host name or IP, also sent as SNI when it is a name) unless the context skips
// verification. With `context` null the socket is handed back as a plain Stream at once.
// `require_node_certificate`: a node dialing a peer also insists on a node certificate.
// Errors as AsyncTlsAccept.
void AsyncTlsConnect(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> context,
                     const std::string& server_host, bool require_node_certificate,
                     std::chrono::milliseconds timeout, StreamCallback done);

}  // namespace ringkv::net

#endif  // RINGKV_NET_TLS_HANDSHAKE_H_
