#include "client/call.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "client/error_policy.h"
#include "net/frame.h"

namespace ringkv::client {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

static_assert(kMaxRequestBytes == net::kDefaultClientMaxFrameSize,
              "ringkv/client.h promises the client port's frame maximum");

// Immediate hint-following allowed before a backoff (stale hints may ping-pong).
constexpr int kMaxRedirectsInRow = 3;

std::string TooLargeDetail() {
  return "bytes exceeds the client frame maximum of " + std::to_string(kMaxRequestBytes) +
         " bytes (4 MiB + 64 KiB: ringkv::client::kMaxRequestBytes = "
         "net::kDefaultClientMaxFrameSize, the largest request a kvd client port reads); nothing "
         "was sent. Values are further limited by kvd --max_value_bytes";
}

std::string Seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs",
                std::chrono::duration_cast<milliseconds>(d).count() / 1000.0);
  return buf;
}

}  // namespace

ClientCore::ClientCore(asio::io_context& io_context, ClientOptions opts, uint64_t seed,
                       std::shared_ptr<net::TlsContext> tls_context)
    : io(io_context),
      options(std::move(opts)),
      tls(std::move(tls_context)),
      router(options.endpoints),
      rng(seed) {}

std::shared_ptr<Channel> ClientCore::ChannelFor(const std::string& address) {
  auto it = channels.find(address);
  if (it != channels.end()) return it->second;
  ChannelOptions co;
  co.cluster_id = options.cluster_id;
  co.dial_timeout = options.dial_timeout;
  co.tls = tls;
  auto ch = std::make_shared<Channel>(io, address, co);
  channels.emplace(address, ch);
  return ch;
}

void Call::Start(ClientCore* core, kvpb::Request req, CallKind kind, std::string what,
                 Clock::time_point deadline, Done done, std::string pinned_endpoint,
                 std::string via_endpoint) {
  if (core->shutting_down) {
    done(Status::Unavailable(what + ": client is shutting down"));
    return;
  }
  // Bytes the attempt adds later (request id, timeout, session fields): well under this.
  constexpr size_t kEnvelopeSlack = 128;
  const size_t bytes = req.ByteSizeLong() + kEnvelopeSlack;
  if (bytes > kMaxRequestBytes) {
    // Definite and final: no node would read it. Before this check the send failed locally
    // and was retried as if no endpoint were reachable ("cluster unavailable").
    done(Status::InvalidArgument(what + ": request of about " + std::to_string(bytes) + " " +
                                 TooLargeDetail()));
    return;
  }
  const uint64_t id = core->next_call_id++;
  std::shared_ptr<Call> call(new Call(core, id, std::move(req), kind, std::move(what), deadline,
                                      std::move(done), std::move(pinned_endpoint),
                                      std::move(via_endpoint)));
  core->active.emplace(id, call);
  call->Attempt();
}

Call::Call(ClientCore* core, uint64_t id, kvpb::Request req, CallKind kind, std::string what,
           Clock::time_point deadline, Done done, std::string pinned_endpoint,
           std::string via_endpoint)
    : core_(core),
      id_(id),
      req_(std::move(req)),
      kind_(kind),
      what_(std::move(what)),
      start_(Clock::now()),
      deadline_(deadline),
      done_(std::move(done)),
      pinned_(std::move(pinned_endpoint)),
      group_(req_.group_id()),
      backoff_(core->options.initial_backoff, core->options.max_backoff, core->rng.Next()),
      timer_(core->io) {
  if (kind_ == CallKind::kWrite) AcquireSession();
  endpoint_ = pinned_.empty() ? std::move(via_endpoint) : pinned_;
}

void Call::AcquireSession() {
  session_ = core_->sessions.Acquire();
  req_.set_client_id(session_->client_id);
  req_.set_sequence(session_->sequence);
  req_.set_session_started_ms(core_->sessions.StartedMs(session_->client_id));
}

void Call::Attempt() {
  if (finished_) return;
  if (session_) {
    // Raft thesis 6.3: tell the server which answers of this session it may forget.
    req_.set_first_incomplete(core_->sessions.FirstIncomplete(session_->client_id));
  }
  const auto now = Clock::now();
  if (now >= deadline_) return Finish(GiveUpStatus());
  if (endpoint_.empty()) {
    endpoint_ = core_->router.LeaderFor(group_);
    if (endpoint_.empty()) endpoint_ = core_->router.NextEndpoint(last_endpoint_);
  }
  const std::string endpoint = endpoint_;
  last_endpoint_ = endpoint;
  tried_.insert(endpoint);
  ++attempts_;
  // Ask the server to give up a little before we do, so a slow proposal comes back as an
  // explicit TIMEOUT rather than a silent one.
  const auto attempt_deadline = std::min(deadline_, now + core_->options.attempt_timeout);
  const auto remaining = std::chrono::duration_cast<milliseconds>(attempt_deadline - now);
  const auto margin = std::min(remaining / 10, milliseconds(100));
  req_.set_timeout_ms(static_cast<uint32_t>(std::max<int64_t>(1, (remaining - margin).count())));
  auto self = shared_from_this();
  core_->ChannelFor(endpoint)->Call(req_, attempt_deadline, [self, endpoint](RpcOutcome o) {
    self->OnOutcome(endpoint, std::move(o));
  });
}

void Call::OnOutcome(const std::string& endpoint, RpcOutcome outcome) {
  if (finished_) return;
  last_busy_ = false;
  switch (outcome.kind) {
    case RpcOutcome::Kind::kResponse:
      return OnResponse(endpoint, std::move(outcome.response));
    case RpcOutcome::Kind::kNotSent:
      last_indefinite_ = false;
      last_error_ = std::string(outcome.transport.message());
      if (outcome.transport.code() == StatusCode::kInvalidArgument) {
        // The connection refused the request itself (over its frame maximum): no endpoint
        // would take it.
        return Finish(Status::InvalidArgument(what_ + " rejected before sending: " + last_error_));
      }
      ++not_sent_in_row_;
      if (core_->shutting_down || !pinned_.empty()) return Finish(GiveUpStatus());
      MoveOn(endpoint);
      // Another endpoint may be up: try it at once, back off once all have failed in a row.
      if (not_sent_in_row_ < static_cast<int>(core_->router.endpoint_count())) {
        return RetryAfter(milliseconds(0));
      }
      not_sent_in_row_ = 0;
      return RetryAfter(backoff_.Next());
    case RpcOutcome::Kind::kLost:
    case RpcOutcome::Kind::kTimedOut:
      not_sent_in_row_ = 0;
      if (outcome.waited_for_room) {
        // Our own queue to this endpoint was full the whole time: nothing left this process,
        // and the endpoint is fine. Back off and stay (it ends as "overloaded" at the deadline).
        last_indefinite_ = false;
        last_busy_ = true;
        last_error_ = std::string(outcome.transport.message());
        if (core_->shutting_down || !pinned_.empty()) return Finish(GiveUpStatus());
        endpoint_ = endpoint;
        return RetryAfter(backoff_.Next());
      }
      last_indefinite_ = outcome.sent;
      if (outcome.sent && kind_ == CallKind::kWrite) uncertain_ = true;
      last_error_ = std::string(outcome.transport.message());
      if (core_->shutting_down || !pinned_.empty()) return Finish(GiveUpStatus());
      MoveOn(endpoint);
      return RetryAfter(backoff_.Next());
  }
}

void Call::OnResponse(const std::string& endpoint, kvpb::Response response) {
  not_sent_in_row_ = 0;
  const Action action = Classify(response);
  if (action == Action::kDone) {
    // Leader-only requests prove `endpoint` leads the group; a serializable read does not.
    const bool from_leader = pinned_.empty() &&
                             !(kind_ == CallKind::kRead &&
                               req_.consistency() == kvpb::SERIALIZABLE);
    if (from_leader) {
      core_->router.SetLeader(group_, endpoint);
      if (response.group_id() != 0) core_->router.SetLeader(GroupId(response.group_id()), endpoint);
    }
    return Finish(std::move(response));
  }
  const kvpb::Error& err = response.error();
  last_error_ = DescribeError(err) + " from " + endpoint;
  last_indefinite_ = action == Action::kRetryUnknown;
  last_busy_ = action == Action::kBackoffSame;
  if (action == Action::kFail) return Finish(FinalStatus(err));
  if (action == Action::kSessionExpired) return OnSessionExpired(err);
  if (last_indefinite_ && kind_ == CallKind::kWrite) uncertain_ = true;
  if (!pinned_.empty()) return Finish(GiveUpStatus());
  const milliseconds retry_after(err.retry_after_ms());
  switch (action) {
    case Action::kRedirect:
      core_->router.ForgetLeader(group_, endpoint);
      core_->router.SetLeader(group_, err.leader_address());
      endpoint_ = err.leader_address();
      if (++redirects_in_row_ <= kMaxRedirectsInRow && retry_after.count() == 0) {
        return RetryAfter(milliseconds(0));
      }
      redirects_in_row_ = 0;
      return RetryAfter(backoff_.Next(retry_after));
    case Action::kBackoffSame:
      endpoint_ = endpoint;
      return RetryAfter(backoff_.Next(retry_after));
    case Action::kBackoffRotate:
    case Action::kRetryUnknown:
      MoveOn(endpoint);
      return RetryAfter(backoff_.Next(retry_after));
    case Action::kDone:
    case Action::kFail:
    case Action::kSessionExpired:
      break;
  }
}

void Call::OnSessionExpired(const kvpb::Error& err) {
  if (!session_ || uncertain_) {
    // An earlier attempt may have applied, and the server no longer knows: say so now, retrying
    // would only get the same answer.
    return Finish(Status::DeadlineExceeded(what_ + ": outcome unknown, the write may or may not "
                                           "have been applied (" + Where() + "; " +
                                           DescribeError(err) + ")"));
  }
  // Every earlier attempt failed definitely and this sequence will never apply: the write has
  // not happened, so it is retried as a new write of a live session.
  if (err.expired_through_ms() != 0) {
    core_->sessions.Expire(session_->client_id, err.expired_through_ms());
  }
  core_->sessions.Complete(*session_);
  AcquireSession();
  return RetryAfter(milliseconds(0));
}

void Call::MoveOn(const std::string& endpoint) {
  core_->router.ForgetLeader(group_, endpoint);
  endpoint_.clear();
  last_endpoint_ = endpoint;
}

void Call::RetryAfter(milliseconds delay) {
  if (Clock::now() + delay >= deadline_) return Finish(GiveUpStatus());
  if (delay.count() == 0) {
    auto self = shared_from_this();
    asio::post(core_->io, [self] { self->Attempt(); });
    return;
  }
  timer_.expires_after(delay);
  auto self = shared_from_this();
  timer_.async_wait([self](const boost::system::error_code& ec) {
    if (!ec) self->Attempt();
  });
}

void Call::Abort(const Status& why) {
  if (finished_) return;
  timer_.cancel();
  if (kind_ == CallKind::kWrite && uncertain_) {
    return Finish(Status::DeadlineExceeded(what_ + ": outcome unknown, the write may or may not "
                                           "have been applied (" + std::string(why.message()) +
                                           ")"));
  }
  Finish(why);
}

void Call::Finish(Result<kvpb::Response> result) {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  if (session_) core_->sessions.Complete(*session_);
  auto self = shared_from_this();  // keep alive past the erase
  core_->active.erase(id_);
  Done done = std::move(done_);
  done(std::move(result));
}

std::string Call::Where() const {
  std::string eps;
  for (const auto& e : tried_) {
    if (!eps.empty()) eps += ",";
    eps += e;
  }
  return std::to_string(attempts_) + (attempts_ == 1 ? " attempt" : " attempts") + " over " +
         Seconds(Clock::now() - start_) + " via " + (eps.empty() ? "no endpoint" : eps);
}

Status Call::GiveUpStatus() const {
  const std::string last = last_error_.empty() ? "" : "; last error: " + last_error_;
  if (kind_ == CallKind::kWrite && uncertain_) {
    return Status::DeadlineExceeded(what_ + ": outcome unknown, the write may or may not have "
                                    "been applied (" + Where() + last + ")");
  }
  if (core_->shutting_down) return Status::Unavailable(what_ + ": client is shutting down");
  if (!pinned_.empty() && !last_indefinite_) {
    return Status::Unavailable(what_ + " failed: " + last_error_);
  }
  if (last_indefinite_) {
    return Status::DeadlineExceeded(what_ + " timed out (" + Where() + last + ")");
  }
  if (last_busy_) {
    return Status::ResourceExhausted(what_ + " rejected: cluster overloaded (" + Where() + last +
                                     ")");
  }
  return Status::Unavailable(what_ + " failed: cluster unavailable (" + Where() + last + ")");
}

}  // namespace ringkv::client
