// Call: one client operation from start to its final outcome — the retry loop. It picks an
// endpoint (cached leader of the key's group, else the next endpoint in rotation), sends an
// attempt through that endpoint's Channel, and acts on the outcome per error_policy.h: follow a
// leader hint at once, back off with jitter (honouring retry_after_ms), rotate endpoints, and
// stop at the call's deadline.
//
// Exactly-once writes (client/session_pool.h): a write call holds one (client_id, sequence) of a
// session for its whole life, so every attempt carries the same pair, plus the session's first
// incomplete sequence as of that attempt; the call completes its sequence when it finishes. Once
// any attempt may have reached the server without a definite answer (timeout, lost connection,
// UNKNOWN_OUTCOME), the call is "uncertain": if it then runs out of time it ends with
// kDeadlineExceeded "outcome unknown" — and only then; calls whose every attempt failed
// definitely end with a definite code (kUnavailable, kResourceExhausted, kInvalidArgument).
// SESSION_EXPIRED (the servers no longer hold the session's answer for this sequence, and will
// never apply it): an uncertain call ends at once as "outcome unknown" (an earlier attempt may
// have applied); a call no attempt of which can have applied is retried as a new write, with a
// new sequence (and a new session when the session was evicted whole).
//
// Thread-safety: not thread-safe; a Call lives on the client's I/O thread.
#ifndef RINGKV_CLIENT_CALL_H_
#define RINGKV_CLIENT_CALL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "client/backoff.h"
#include "client/channel.h"
#include "client/router.h"
#include "client/session_pool.h"
#include "common/random.h"
#include "common/result.h"
#include "proto/kv.pb.h"
#include "ringkv/client.h"

namespace ringkv::client {

class Call;
class Watcher;

// The client's shared state on the I/O thread: options, routing, sessions, connections, and the
// calls in flight (so shutdown can complete them). Only the I/O thread touches it, except
// `router` (itself thread-safe) and the immutable `options`.
struct ClientCore {
  ClientCore(boost::asio::io_context& io_context, ClientOptions opts, uint64_t seed,
             std::shared_ptr<net::TlsContext> tls_context);

  // The channel to `address`, created on first use.
  std::shared_ptr<Channel> ChannelFor(const std::string& address);

  boost::asio::io_context& io;
  const ClientOptions options;
  const std::shared_ptr<net::TlsContext> tls;  // null = plain TCP
  Router router;
  SessionPool sessions;  // exactly-once write sessions
  Random rng;            // seeds of per-call backoff jitter
  std::unordered_map<std::string, std::shared_ptr<Channel>> channels;
  std::unordered_map<uint64_t, std::shared_ptr<Call>> active;  // by call id
  uint64_t next_call_id = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Watcher>> watchers;  // by watch id
  uint64_t next_watch_id = 1;
  bool shutting_down = false;
};

enum class CallKind {
  kRead,   // Get, Scan: retried freely
  kWrite,  // Put, Delete, Cas, Append: one session; retried with the same session
  kAdmin,  // status / admin ops: pinned to one endpoint, or routed like a read
};

class Call : public std::enable_shared_from_this<Call> {
 public:
  using Clock = std::chrono::steady_clock;
  // The final answer: a response whose error is absent/OK/NOT_FOUND/CAS_FAILED, or a Status.
  using Done = std::function<void(Result<kvpb::Response>)>;

  // Starts a call of `req` (op and consistency set; routing and session fields are filled here).
  // `what` names the operation in error messages ("put", "get"). A non-empty `pinned_endpoint`
  // sends one attempt there and follows no hints (NodeStatus of a given node); a non-empty
  // `via_endpoint` only sends the first attempt there (CallOptions::via_endpoint).
  // REQUIRES: I/O thread.
  static void Start(ClientCore* core, kvpb::Request req, CallKind kind, std::string what,
                    Clock::time_point deadline, Done done, std::string pinned_endpoint = "",
                    std::string via_endpoint = "");

  // Ends the call now with `why` (client shutdown). REQUIRES: I/O thread.
  void Abort(const Status& why);

 private:
  Call(ClientCore* core, uint64_t id, kvpb::Request req, CallKind kind, std::string what,
       Clock::time_point deadline, Done done, std::string pinned_endpoint,
       std::string via_endpoint);

  void Attempt();
  void OnOutcome(const std::string& endpoint, RpcOutcome outcome);
  void OnResponse(const std::string& endpoint, kvpb::Response response);
  // SESSION_EXPIRED: see the file comment.
  void OnSessionExpired(const kvpb::Error& err);
  // Takes a session sequence for this write and puts it in the request.
  void AcquireSession();
  // Retries after `delay`, or gives up when that would pass the deadline.
  void RetryAfter(std::chrono::milliseconds delay);
  // Forgets `endpoint` as leader and moves the rotation past it.
  void MoveOn(const std::string& endpoint);
  void Finish(Result<kvpb::Response> result);
  // The final Status when retries are exhausted (deadline).
  Status GiveUpStatus() const;
  std::string Where() const;

  ClientCore* const core_;
  const uint64_t id_;
  kvpb::Request req_;
  const CallKind kind_;
  const std::string what_;
  const Clock::time_point start_;
  const Clock::time_point deadline_;
  Done done_;
  const std::string pinned_;
  const GroupId group_;        // routing group of the key (0 = server routes)
  std::optional<WriteSession> session_;  // writes only; completed in Finish
  Backoff backoff_;
  boost::asio::steady_timer timer_;  // backoff wait

  std::string endpoint_;       // where the next attempt goes ("" = choose)
  std::string last_endpoint_;  // where the last attempt went (rotation anchor)
  std::set<std::string> tried_;  // endpoints attempted, for messages
  int attempts_ = 0;
  int redirects_in_row_ = 0;   // immediate hint-following since the last backoff
  int not_sent_in_row_ = 0;    // consecutive attempts that never left the client
  bool uncertain_ = false;     // some attempt may have taken effect (writes)
  bool last_indefinite_ = false;  // the last attempt's outcome was unknown
  bool last_busy_ = false;        // the last answer was BUSY
  std::string last_error_;        // description of the last failure
  bool finished_ = false;
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_CALL_H_
