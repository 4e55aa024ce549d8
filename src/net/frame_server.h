// FrameServer: the generic listener behind the client port. It accepts TCP connections, runs the
// handshake (a client sends cluster id 0 for "any cluster"; a non-zero id must match ours; the
// protocol version must match), then hands every frame payload to one handler. The layer above
// (RPC) parses payloads, adds request ids, and answers later — from any thread — with
// connection->Send(payload).
//
// Limits: a maximum frame size and a bounded outgoing queue per connection (a client that does
// not read gets ResourceExhausted on Send, then is cut by the write timeout), a handshake
// deadline, and a maximum number of connections (extra ones are closed at accept, logged).
//
// Thread-safety: Start/Stop from the owner thread; port() and connection_count() from any
// thread. Handlers run on the server's own io thread (FrameServerOptions::io's when shared)
// and must not block.
#ifndef RINGKV_NET_FRAME_SERVER_H_
#define RINGKV_NET_FRAME_SERVER_H_

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/ids.h"
#include "common/status.h"
#include "net/connection.h"
#include "net/io_thread.h"
#include "net/tls.h"

namespace ringkv::net {

struct FrameServerOptions {
  // "host:port" to listen on (literal IP); port 0 lets the OS choose. Default: 127.0.0.1:0.
  std::string listen_address = "127.0.0.1:0";
  // Our cluster id and node id, checked against / sent in the handshake.
  uint64_t cluster_id = 0;
  NodeId node_id;
  // Per-connection limits. Defaults: 4 MiB + 64 KiB frames, 16 MiB / 1024 frames of outgoing
  // queue, 30 s write timeout.
  ConnectionOptions connection = [] {
    ConnectionOptions o;
    o.max_frame_size = kDefaultClientMaxFrameSize;
    o.max_queued_bytes = size_t{16} << 20;
    o.max_queued_frames = 1024;
    o.write_timeout = std::chrono::seconds(30);
    return o;
  }();
  // Connections beyond this are closed right after accept. Default: 4096.
  size_t max_connections = 4096;
  // A connection without a valid handshake (TLS and protocol, each) after this long is closed.
  // Default: 5 s.
  std::chrono::milliseconds handshake_timeout{5000};
  // TLS: null = plain TCP. Server-role credentials; their client_auth decides whether clients
  // must present certificates (Connection::peer_identity() then names them). A refused TLS
  // handshake is logged at WARNING with the reason and the remote address.
  std::shared_ptr<TlsCredentials> tls;
  // Run on this io_context instead of a thread of the server's own (net/io_thread.h). kvd: its
  // store loop's, so a request reaches the store, and its answer the socket, without a hand-off
  // between threads.
  SharedIo io;
};

class FrameServer {
 public:
  // A frame from a handshaken connection. conn->peer_node_id() is what the client announced.
  using FrameHandler = std::function<void(std::shared_ptr<Connection> conn, std::string payload)>;
  // A handshaken connection closed (so the layer above can drop its state for it).
  using CloseHandler = std::function<void(const std::shared_ptr<Connection>& conn, const Status&)>;

  // A frame from a handshaken connection that is larger than the maximum frame size: its
  // announced length and the first bytes of its payload (Connection::OversizedHandler). The
  // connection stays open, so the layer above can refuse that request by its id.
  using OversizedHandler =
      std::function<void(std::shared_ptr<Connection> conn, uint64_t length, std::string prefix)>;

  FrameServer(FrameServerOptions options, FrameHandler on_frame, CloseHandler on_close = nullptr);
  ~FrameServer();  // Stop()s
  FrameServer(const FrameServer&) = delete;
  FrameServer& operator=(const FrameServer&) = delete;

  // Frames over the maximum on a handshaken connection go to `h` (before the handshake, and
  // without a handler, an oversized frame closes its connection). REQUIRES: before Start().
  void set_oversized_handler(OversizedHandler h) { on_oversized_ = std::move(h); }

  // Binds, listens and starts the io thread. InvalidArgument for a bad address, Unavailable when
  // the bind fails. REQUIRES: called once.
  Status Start();
  // Closes the listener and every connection, joins the thread. No handler runs after it
  // returns. Idempotent.
  void Stop();

  // The bound port. REQUIRES: Start() returned OK.
  uint16_t port() const { return port_; }
  // Open connections (handshaken or not).
  size_t connection_count() const { return connection_count_.load(); }
  // Connections refused in the TLS handshake (plain TCP, bad or missing certificate, timeout).
  uint64_t tls_refused() const { return tls_refused_.load(); }

 private:
  struct Session;

  // Server thread only.
  void DoAccept();
  void OnAccepted(boost::asio::ip::tcp::socket socket);
  void OnStream(Stream stream);
  void OnFrame(Session& s, const std::shared_ptr<Connection>& conn, std::string payload);
  void OnHandshake(Session& s, const std::shared_ptr<Connection>& conn, const std::string& payload);

  const FrameServerOptions options_;
  const FrameHandler on_frame_;
  const CloseHandler on_close_;
  OversizedHandler on_oversized_;  // set before Start, then read-only
  uint16_t port_ = 0;
  bool started_ = false;  // owner thread

  IoThread io_thread_;                                      // outlives the sockets below
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;  // server thread
  std::unordered_map<uint64_t, std::shared_ptr<Session>>
      sessions_;           // by connection id; server thread
  bool stopping_ = false;  // server thread
  size_t tls_handshakes_ = 0;  // TLS handshakes in progress; server thread
  std::atomic<size_t> connection_count_{0};
  std::atomic<uint64_t> tls_refused_{0};
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_FRAME_SERVER_H_
