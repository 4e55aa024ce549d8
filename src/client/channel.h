// Channel: one multiplexed connection from the client to one endpoint. Many requests share it:
// each gets a request id, and responses (which may arrive in any order) are matched by id. The
// channel dials lazily on the first call, queues calls while dialing, and after a connection loss
// goes back to idle so the next call redials (a new net::FrameClient).
//
// Every Call completes exactly once with an RpcOutcome that says whether the request may have
// reached the server — what the retry logic needs to keep writes at-most-once and to tell a
// definite failure from an unknown outcome:
//   kResponse  the server answered (response set);
//   kNotSent   the request never left this process (dial failed, queue full, closed) — definite;
//   kLost      the connection dropped after the request was handed to it — unknown outcome;
//   kTimedOut  no answer before the attempt deadline — unknown outcome if it was sent.
//
// Thread-safety: not thread-safe. Everything (constructor aside) runs on the client's I/O thread,
// which is the only thread running `io`; FrameClient callbacks run there too.
#ifndef RINGKV_CLIENT_CHANNEL_H_
#define RINGKV_CLIENT_CHANNEL_H_

#include <chrono>
#include <cstdint>
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
    std::string payload;  // serialized request; cleared once sent
    bool sent = false;
    Done done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  void Dial();
  void OnDialed(uint64_t generation, const Status& st);
  void OnFrame(uint64_t generation, const std::string& payload);
  void OnDisconnect(uint64_t generation, const Status& why);
  void OnTimer(uint64_t request_id);
  // Hands pending call `id` to the connection. REQUIRES: kReady.
  void SendPending(uint64_t id);
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
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_CHANNEL_H_
