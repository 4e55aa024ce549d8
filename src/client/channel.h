// Channel: one multiplexed connection from the client to one endpoint. Many requests share it:
// each gets a request id, and responses (which may arrive in any order) are matched by id. The
// channel dials lazily on the first call, queues calls while dialing, and after a connection loss
// goes back to idle so the next call redials (a new net::FrameClient).
//
// Flow control (issue #10). A channel sends at most `window` requests at a time, adjusted like
// TCP's congestion window from the server's answers: halved (at most once per round trip) on
// BUSY — the node shed a request — and grown by about one per window of other answers (one
// per answer once no BUSY came for a second, so it recovers quickly after overload). So a
// client learns what an overloaded node admits instead of sending every request's bytes only
// to have most shed: with 64 KiB values and 2,000 requests in flight, the shed bodies were
// most of the traffic. Calls beyond the window, or beyond the connection's bounded outgoing
// queue (net::FrameClient), wait in the channel until there is room — in arrival order, or
// newest first once the line is congested (Congested()) — or until their attempt deadline
// passes (kTimedOut, waited_for_room: back-pressure, not an endpoint failure), or until their
// server-side timeout has run out while they waited (sent, they would only use the node's
// time). Status and admin requests skip the window and the line.
//
// Every Call completes exactly once with an RpcOutcome that says whether the request may have
// reached the server — what the retry logic needs to keep writes at-most-once and to tell a
// definite failure from an unknown outcome:
//   kResponse  the server answered (response set);
//   kNotSent   the request never left this process (dial failed, closed) — definite;
//   kLost      the connection dropped after the request was handed to it — unknown outcome;
//   kTimedOut  no answer before the attempt deadline — unknown outcome if it was sent.
//
// Streams (watches): OpenStream sends a request whose every response (many, matched by its id)
// goes to a message callback until the stream is closed by the caller or the connection ends.
//
// Thread-safety: not thread-safe. Everything (constructor aside) runs on the client's I/O thread,
// which is the only thread running `io`; FrameClient callbacks run there too.
#ifndef RINGKV_CLIENT_CHANNEL_H_
#define RINGKV_CLIENT_CHANNEL_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/status.h"
#include "net/frame_client.h"
#include "proto/kv.pb.h"

namespace ringkv::client {

struct RpcOutcome {
  enum class Kind { kResponse, kNotSent, kLost, kTimedOut };
  Kind kind = Kind::kNotSent;
  // Why, for kNotSent / kLost / kTimedOut (names the endpoint).
  Status transport;
  kvpb::Response response;  // kResponse only
  // kTimedOut: whether the request had been handed to the connection.
  bool sent = false;
  // kTimedOut: the request was still waiting for room in the connection's outgoing queue (the
  // client itself has more in flight than the connection takes): back-pressure, not a failure
  // of the endpoint.
  bool waited_for_room = false;
};

struct ChannelOptions {
  uint64_t cluster_id = 0;
  std::chrono::milliseconds dial_timeout{2000};
  // TLS client context; null = plain TCP.
  std::shared_ptr<net::TlsContext> tls;
};

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  using Done = std::function<void(RpcOutcome)>;
  using Clock = std::chrono::steady_clock;

  Channel(boost::asio::io_context& io, std::string address, ChannelOptions options);
  ~Channel();

  // Sends `req` (its request_id is overwritten) and runs `done` once with the outcome, at the
  // latest at `deadline`. REQUIRES: I/O thread.
  void Call(kvpb::Request req, Clock::time_point deadline, Done done);
  using StreamMessage = std::function<void(kvpb::Response)>;
  using StreamEnd = std::function<void(const Status&)>;
  // Sends `req` (request_id overwritten) and hands every response with its id to `on_message`;
  // `on_end` runs once if the channel ends the stream (dial failed, connection lost, shutdown),
  // never after CloseStream. Returns the stream's id. REQUIRES: I/O thread.
  uint64_t OpenStream(kvpb::Request req, StreamMessage on_message, StreamEnd on_end);
  // Forgets stream `id` and, when connected, sends `cancel` (a request telling the server to
  // stop it; no answer expected). REQUIRES: I/O thread.
  void CloseStream(uint64_t id, const kvpb::Request& cancel);

  // Dials if idle and runs `done` with the dial result (OK when connected). REQUIRES: I/O thread.
  void Probe(std::function<void(const Status&)> done);
  // Fails every queued call (kNotSent) and in-flight call (kLost) and closes the connection;
  // later calls fail with kNotSent. REQUIRES: I/O thread.
  void Shutdown();

  const std::string& address() const { return address_; }
  // Calls sent and awaiting a response.
  size_t in_flight() const { return sent_count_; }

 private:
  enum class State { kIdle, kDialing, kReady, kShutdown };
  // One call from Call() until its outcome. Its timer enforces the deadline in every state.
  struct Pending {
    kvpb::Request req;  // cleared once sent
    Clock::time_point created;
    uint32_t timeout_ms = 0;  // the request's server-side timeout when the call was made
    bool sent = false;
    bool waiting = false;  // in waiting_
    bool control = false;  // status / admin: not subject to the window
    Clock::time_point sent_at;
    Done done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  struct Stream {
    std::string payload;  // serialized request; cleared once sent
    bool sent = false;
    StreamMessage on_message;
    StreamEnd on_end;
  };
  void SendStream(uint64_t id);
  // Ends every stream with `why` (their on_end callbacks run).
  void EndStreams(const Status& why);

  void Dial();
  void OnDialed(uint64_t generation, const Status& st);
  void OnFrame(uint64_t generation, const std::string& payload);
  void OnDisconnect(uint64_t generation, const Status& why);
  void OnTimer(uint64_t request_id);
  // Completes call `request_id` with kTimedOut (its deadline passed, or its server-side time
  // ran out while it waited to be sent).
  void ExpireWaiting(uint64_t request_id);
  // The call's request, serialized with its server-side timeout shortened by the time it
  // waited here (so the server does not work on an attempt its client has given up on).
  static std::string Payload(Pending& p);
  // Hands pending call `id` to the connection, or queues it in waiting_ behind earlier calls
  // while the connection's queue is full. REQUIRES: kReady.
  void SendPending(uint64_t id);
  // Sends waiting calls in order while the window and the connection's queue have room;
  // polls (timer) while only the connection's queue is full.
  void DrainWaiting();
  // Whether the line is congested: its oldest call has waited longer than kLifoAfter. Then
  // the newest calls are sent first (adaptive LIFO, as in Facebook's "Fail at Scale"): in
  // arrival order, every call of a line longer than the server drains within a timeout would
  // reach the node with its server-side time nearly spent, be admitted, and time out after
  // using the node's work (64 KiB writes at 2,000 in flight: a third of what the nodes did).
  // Newest first, what is sent has most of its time left, and what starves expires here, at
  // no cost to the node, and is retried as a new call. Also drops completed ids at both ends.
  bool Congested();
  enum class SendResult { kSent, kNoRoom, kGone };
  // Sends call `id` if the window (unless it is a control call) and the connection's queue
  // have room; kGone when it completed (deadline) or failed to send (completed kNotSent).
  SendResult TrySend(uint64_t id);
  // The window after an answer to `p` (see the file comment).
  void AdjustWindow(const Pending& p, const kvpb::Response& resp);
  // Removes call `id` and runs its done with `outcome`.
  void Complete(uint64_t id, RpcOutcome outcome);
  // Closes and forgets the connection (after a loss or at shutdown).
  void DropConnection();

  boost::asio::io_context& io_;
  const std::string address_;
  const ChannelOptions options_;

  State state_ = State::kIdle;
  // Bumped per dial; callbacks of an older FrameClient compare it and are ignored.
  uint64_t generation_ = 0;
  std::shared_ptr<net::FrameClient> conn_;  // set while dialing / ready
  std::vector<std::function<void(const Status&)>> probes_;  // kDialing only
  uint64_t next_request_id_ = 1;
  // Calls by request id: unsent ones only while kDialing, sent ones only while kReady.
  std::unordered_map<uint64_t, Pending> calls_;
  size_t sent_count_ = 0;  // calls_ entries with sent == true
  // Unsent calls (kReady) waiting for room in the connection's queue, oldest first. May hold
  // ids of calls that completed meanwhile (deadline); they are skipped.
  std::deque<uint64_t> waiting_;
  // Polls for room while calls wait (the connection has no "drained" callback). Armed at most
  // once at a time.
  boost::asio::steady_timer drain_timer_;
  bool drain_armed_ = false;
  // Requests this channel lets be in flight at once (fractional for additive increase), and
  // when it was last halved. Kept across reconnects: the node is the same.
  static constexpr double kMinWindow = 1;
  static constexpr double kMaxWindow = 4096;
  double window_ = 256;
  // How long the oldest waiting call may wait before the line turns newest-first.
  static constexpr std::chrono::milliseconds kLifoAfter{100};
  Clock::time_point last_decrease_;
  // Open streams by request id (same id space as calls_).
  std::unordered_map<uint64_t, Stream> streams_;
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_CHANNEL_H_
