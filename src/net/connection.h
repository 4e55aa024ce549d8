// Connection: one TCP stream (plain or TLS, net/stream.h) carrying frames (net/frame.h) in both
// directions. It reads frames
// and hands each payload to a callback, and writes frames from a bounded outgoing queue: every
// frame queued while a write is in flight goes out in the next single gathered async_write, so
// a busy connection makes one syscall per burst, and a slow remote only fills its own queue
// (Send then fails fast with ResourceExhausted) — it never blocks a caller or another connection.
//
// Protocol errors (bad frame, oversized frame, truncated stream, or an owner's Close with such a
// status) close the connection with one WARNING log line naming the remote address.
//
// Thread-safety: Send, Close, CloseAfterFlush and the accessors are safe from any thread. All
// socket work and all callbacks run on the socket's executor, which must be a strand or an
// io_context run by one thread.
#ifndef RINGKV_NET_CONNECTION_H_
#define RINGKV_NET_CONNECTION_H_

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "net/frame.h"
#include "net/stream.h"

namespace ringkv::net {

struct ConnectionOptions {
  // Largest payload read or written, in bytes. Default: 16 MiB (peer traffic).
  size_t max_frame_size = kDefaultPeerMaxFrameSize;
  // Bound of the outgoing queue (frames queued or being written). Default: 64 MiB / 4096 frames.
  size_t max_queued_bytes = size_t{64} << 20;
  size_t max_queued_frames = 4096;
  // A write that has not completed after this long closes the connection (the remote stopped
  // reading). 0 disables. Default: 0.
  std::chrono::milliseconds write_timeout{0};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Called for every received frame, in order, on the socket's executor.
  using FrameHandler = std::function<void(const std::shared_ptr<Connection>&, std::string)>;
  // Called once when the connection closes, with why (OK for a local Close(OK)).
  using CloseHandler = std::function<void(const std::shared_ptr<Connection>&, const Status&)>;
  // Called, in order with the frames, for a frame larger than max_frame_size: its announced
  // length and the first bytes of its payload (FrameDecoder::kOversizedPrefixBytes); the rest
  // of it is discarded unread and the connection stays open.
  using OversizedHandler = std::function<void(const std::shared_ptr<Connection>&,
                                              uint64_t length, std::string prefix)>;

  // `socket` must be connected. `name` prefixes log lines, e.g. "peer 3".
  static std::shared_ptr<Connection> Create(boost::asio::ip::tcp::socket socket,
                                            const ConnectionOptions& options, std::string name);
  // As above over a stream whose TLS handshake (if any) completed.
  static std::shared_ptr<Connection> Create(Stream stream, const ConnectionOptions& options,
                                            std::string name);
  ~Connection();

  // Starts reading. REQUIRES: called once. The handlers are dropped after the close handler ran,
  // so they may capture the connection's owner. An oversized frame closes the connection
  // (ResourceExhausted) until AcceptOversizedFrames().
  void Start(FrameHandler on_frame, CloseHandler on_close,
             OversizedHandler on_oversized = nullptr);
  // From now on an oversized frame goes to the `on_oversized` given to Start (if any) and the
  // connection stays open (e.g. once a client's handshake was accepted: before it, a stream of
  // garbage is cut at once). REQUIRES: on the socket's executor.
  void AcceptOversizedFrames() { decoder_.set_skip_oversized(on_oversized_ != nullptr); }

  // Queues `payload` as one frame. Thread-safe and never blocks. Returns
  //   InvalidArgument   — payload larger than max_frame_size;
  //   ResourceExhausted — the outgoing queue is full (the remote is slow); nothing was queued;
  //   Unavailable       — the connection is closed or closing.
  Status Send(std::string_view payload);

  // Closes now, discarding queued frames. Idempotent; the first reason wins. A reason with code
  // InvalidArgument, Corruption, ResourceExhausted, FailedPrecondition or DeadlineExceeded is a
  // protocol problem and is logged at WARNING; others at VLOG(1).
  void Close(const Status& reason);
  // Stops reading, lets the queued frames go out, then closes with `reason` (e.g. after sending a
  // refusal). Later Sends fail with Unavailable.
  void CloseAfterFlush(const Status& reason);

  bool closed() const { return closed_.load(std::memory_order_acquire); }
  // "ip:port" of the remote end (captured at creation).
  const std::string& remote_address() const { return remote_address_; }
  const std::string& name() const { return name_; }
  // Process-unique id, handy as a map key for the layer above.
  uint64_t id() const { return id_; }
  // The node id the remote announced in its handshake (0 for clients / before the handshake).
  NodeId peer_node_id() const { return NodeId(peer_node_id_.load(std::memory_order_acquire)); }
  void set_peer_node_id(NodeId id) { peer_node_id_.store(id.value(), std::memory_order_release); }
  // What the TLS handshake proved about the remote (empty for plain TCP). Immutable.
  const PeerIdentity& peer_identity() const { return peer_identity_; }
  bool is_tls() const { return is_tls_; }
  // Frames + bytes currently queued or in flight.
  size_t queued_bytes() const;

 private:
  Connection(Stream stream, const ConnectionOptions& options, std::string name);

  // All below run on the socket's executor.
  void DoRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec, size_t n);
  void CloseOnExecutor(const Status& reason);

  const ConnectionOptions options_;
  const std::string name_;
  const uint64_t id_;
  Stream stream_;
  const PeerIdentity peer_identity_;  // copied from the stream at creation
  const bool is_tls_;
  std::string remote_address_;
  // Fires when a write takes longer than options_.write_timeout. Executor-only.
  boost::asio::steady_timer write_timer_;
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> peer_node_id_{0};

  // Executor-only state.
  FrameHandler on_frame_;
  CloseHandler on_close_;
  OversizedHandler on_oversized_;
  FrameDecoder decoder_;
  std::array<char, 64 * 1024> read_buf_;
  std::vector<std::string> writing_;  // frames of the async_write in flight (joined under TLS)
  size_t writing_frames_ = 0;         // frames in writing_ before any joining
  uint64_t write_gen_ = 0;            // bumped per write start/finish; stale timers compare it
  bool reading_stopped_ = false;      // set by CloseAfterFlush

  // State below is protected by mu_ (touched by Send from any thread).
  mutable std::mutex mu_;
  std::deque<std::string> queue_ GUARDED_BY(mu_);  // encoded frames not yet handed to a write
  size_t queued_frames_ GUARDED_BY(mu_) = 0;       // queue_ + writing_
  size_t queued_bytes_ GUARDED_BY(mu_) = 0;        // bytes of queue_ + writing_
  bool write_active_ GUARDED_BY(mu_) = false;      // a DoWrite is posted or a write in flight
  bool closing_ GUARDED_BY(mu_) = false;           // Close/CloseAfterFlush called
  Status flush_close_reason_ GUARDED_BY(mu_);      // reason for CloseAfterFlush
  bool close_after_flush_ GUARDED_BY(mu_) = false;
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_CONNECTION_H_
