// FrameClient: the client side of a FrameServer connection. Dials with a deadline (optionally
// binding the local end to a given address), sends a Handshake, waits for the HandshakeReply,
// then sends frames and delivers every received frame to a callback. It does not reconnect: on
// disconnect it reports once and is done; the RPC layer above decides whether and where to dial
// again (a new FrameClient).
//
// It runs on its own io thread, or on a caller-given io_context (then on a strand of it, so that
// context may have several threads).
//
// Thread-safety: all public methods are safe from any thread, except Connect() which blocks and
// must not be called on the io_context's thread. Callbacks run on the io thread / strand and must
// not block. No callback starts after Close() returns (one already running may finish).
#ifndef RINGKV_NET_FRAME_CLIENT_H_
#define RINGKV_NET_FRAME_CLIENT_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/status.h"
#include "net/connection.h"
#include "net/io_thread.h"
#include "net/tls.h"

namespace ringkv::net {

struct FrameClientOptions {
  // Server "host:port".
  std::string address;
  // Cluster we expect; 0 = any. Sent in the handshake; the server refuses a mismatch.
  uint64_t cluster_id = 0;
  // Our node id when a node is the client (e.g. forwarding); 0 for real clients.
  NodeId node_id;
  // Literal IP to bind the local end to; empty = let the OS choose.
  std::string local_host;
  // Deadline for dial + handshake together. Default: 2 s.
  std::chrono::milliseconds connect_timeout{2000};
  // TLS: null = plain TCP. A client-role context: it verifies the server's certificate against
  // its CA and the address's host (unless it skips verification) and presents its own
  // certificate when it has one. Part of the connect deadline.
  std::shared_ptr<TlsContext> tls;
  // Per-connection limits. Defaults: 4 MiB + 64 KiB frames, 16 MiB / 1024 frames queued,
  // 30 s write timeout.
  ConnectionOptions connection = [] {
    ConnectionOptions o;
    o.max_frame_size = kDefaultClientMaxFrameSize;
    o.max_queued_bytes = size_t{16} << 20;
    o.max_queued_frames = 1024;
    o.write_timeout = std::chrono::seconds(30);
    return o;
  }();
};

class FrameClient {
 public:
  // Every frame received after the handshake, in order.
  using FrameHandler = std::function<void(std::string payload)>;
  // The handshaken connection closed; called at most once, with why.
  using DisconnectHandler = std::function<void(const Status& reason)>;
  using ConnectCallback = std::function<void(const Status&)>;

  // Own io thread.
  FrameClient(FrameClientOptions options, FrameHandler on_frame, DisconnectHandler on_disconnect);
  // Runs on a strand of `io`, which must outlive this object and be run by the caller.
  FrameClient(boost::asio::io_context& io, FrameClientOptions options, FrameHandler on_frame,
              DisconnectHandler on_disconnect);
  ~FrameClient();  // Close()s
  FrameClient(const FrameClient&) = delete;
  FrameClient& operator=(const FrameClient&) = delete;

  // Dials and handshakes; `done` gets OK once frames may be sent, or InvalidArgument (bad
  // address), DeadlineExceeded (timeout), Unavailable (dial failed / closed during handshake) or
  // FailedPrecondition (the server refused the handshake: cluster id or version; or the TLS
  // handshake failed: certificate not trusted, name mismatch, ...). REQUIRES:
  // called once.
  void AsyncConnect(ConnectCallback done);
  // Blocking AsyncConnect. REQUIRES: not on the io_context's thread.
  Status Connect();

  // Queues one frame. Unavailable when not connected (yet or any more); otherwise as
  // Connection::Send (InvalidArgument too large, ResourceExhausted queue full).
  Status Send(std::string_view payload);
  // Closes the connection; on_disconnect is not called for a local Close. Idempotent.
  void Close();

  bool connected() const;
  // The server's node id from its HandshakeReply; 0 before that.
  NodeId server_node_id() const;

 private:
  struct Core;
  std::unique_ptr<IoThread> own_thread_;  // set when we run our own io thread
  std::shared_ptr<Core> core_;
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_FRAME_CLIENT_H_
