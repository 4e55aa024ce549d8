#include "client/channel.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

namespace ringkv::client {
namespace asio = boost::asio;

Channel::Channel(asio::io_context& io, std::string address, ChannelOptions options)
    : io_(io), address_(std::move(address)), options_(options), drain_timer_(io) {}

Channel::~Channel() {
  // The owner calls Shutdown() on the I/O thread first; this only releases the connection.
  if (conn_) conn_->Close();
}

void Channel::Call(kvpb::Request req, Clock::time_point deadline, Done done) {
  if (state_ == State::kShutdown) {
    RpcOutcome o;
    o.kind = RpcOutcome::Kind::kNotSent;
    o.transport = Status::Unavailable("client is shutting down");
    done(std::move(o));
    return;
  }
  const uint64_t id = next_request_id_++;
  req.set_request_id(id);
  Pending p;
  p.created = Clock::now();
  p.timeout_ms = req.timeout_ms();
  p.req = std::move(req);
  p.done = std::move(done);
  p.timer = std::make_unique<asio::steady_timer>(io_);
  p.timer->expires_at(deadline);
  std::weak_ptr<Channel> weak = weak_from_this();
  p.timer->async_wait([weak, id](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the call completed
    if (auto self = weak.lock()) self->OnTimer(id);
  });
  calls_.emplace(id, std::move(p));
  switch (state_) {
    case State::kReady:
      SendPending(id);
      break;
    case State::kIdle:
      Dial();
      break;
    case State::kDialing:
    case State::kShutdown:
      break;
  }
}

uint64_t Channel::OpenStream(kvpb::Request req, StreamMessage on_message, StreamEnd on_end) {
  const uint64_t id = next_request_id_++;
  if (state_ == State::kShutdown) {
    // Never from inside OpenStream: the caller learns the stream's id first.
    asio::post(io_, [on_end = std::move(on_end)] {
      on_end(Status::Unavailable("client is shutting down"));
    });
    return id;
  }
  req.set_request_id(id);
  Stream st;
  st.payload = req.SerializeAsString();
  st.on_message = std::move(on_message);
  st.on_end = std::move(on_end);
  streams_.emplace(id, std::move(st));
  switch (state_) {
    case State::kReady:
      SendStream(id);
      break;
    case State::kIdle:
      Dial();
      break;
    case State::kDialing:
    case State::kShutdown:
      break;
  }
  return id;
}

void Channel::CloseStream(uint64_t id, const kvpb::Request& cancel) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  const bool sent = it->second.sent;
  streams_.erase(it);
  if (sent && state_ == State::kReady && conn_) {
    kvpb::Request c = cancel;
    c.set_request_id(next_request_id_++);
    // Best effort: if it is lost, the server ends the stream when this connection closes.
    conn_->Send(c.SerializeAsString()).IgnoreError();
  }
}

void Channel::SendStream(uint64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.sent) return;
  Status st = conn_->Send(it->second.payload);
  if (!st.ok()) {
    StreamEnd end = std::move(it->second.on_end);
    streams_.erase(it);
    // Posted: this may run inside OpenStream, before the caller knows the stream's id.
    asio::post(io_, [end = std::move(end), why = Status(st.code(), "send to " + address_ + ": " +
                                                                     std::string(st.message()))] {
      end(why);
    });
    return;
  }
  it->second.sent = true;
  it->second.payload.clear();
}

void Channel::EndStreams(const Status& why) {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, st] : streams) st.on_end(why);
}

void Channel::Probe(std::function<void(const Status&)> done) {
  switch (state_) {
    case State::kReady:
      done(Status::OK());
      return;
    case State::kShutdown:
      done(Status::Unavailable("client is shutting down"));
      return;
    case State::kIdle:
      probes_.push_back(std::move(done));
      Dial();
      return;
    case State::kDialing:
      probes_.push_back(std::move(done));
      return;
  }
}

void Channel::Shutdown() {
  state_ = State::kShutdown;
  DropConnection();
  std::vector<uint64_t> ids;
  for (const auto& [id, p] : calls_) ids.push_back(id);
  for (uint64_t id : ids) {
    RpcOutcome o;
    const bool sent = calls_[id].sent;
    o.kind = sent ? RpcOutcome::Kind::kLost : RpcOutcome::Kind::kNotSent;
    o.sent = sent;
    o.transport = Status::Unavailable("client is shutting down");
    Complete(id, std::move(o));
  }
  auto probes = std::move(probes_);
  probes_.clear();
  for (auto& p : probes) p(Status::Unavailable("client is shutting down"));
  EndStreams(Status::Unavailable("client is shutting down"));
}

void Channel::Dial() {
  state_ = State::kDialing;
  const uint64_t gen = ++generation_;
  net::FrameClientOptions fo;
  fo.address = address_;
  fo.cluster_id = options_.cluster_id;
  fo.connect_timeout = options_.dial_timeout;
  fo.tls = options_.tls;
  std::weak_ptr<Channel> weak = weak_from_this();
  // FrameClient callbacks run on a strand of io_, i.e. on the I/O thread; they may still run
  // after this channel moved on to a newer connection, hence the generation check.
  conn_ = std::make_shared<net::FrameClient>(
      io_, fo,
      [weak, gen](std::string payload) {
        if (auto self = weak.lock()) self->OnFrame(gen, payload);
      },
      [weak, gen](const Status& why) {
        if (auto self = weak.lock()) self->OnDisconnect(gen, why);
      });
  conn_->AsyncConnect([weak, gen](const Status& st) {
    if (auto self = weak.lock()) self->OnDialed(gen, st);
  });
}

void Channel::OnDialed(uint64_t generation, const Status& st) {
  if (generation != generation_ || state_ != State::kDialing) return;
  auto probes = std::move(probes_);
  probes_.clear();
  if (st.ok()) {
    state_ = State::kReady;
    std::vector<uint64_t> ids;
    for (const auto& [id, p] : calls_) ids.push_back(id);
    for (uint64_t id : ids) SendPending(id);
    std::vector<uint64_t> stream_ids;
    for (const auto& [id, st] : streams_) stream_ids.push_back(id);
    for (uint64_t id : stream_ids) SendStream(id);
  } else {
    DropConnection();
    state_ = State::kIdle;
    const std::string msg(st.message());
    const Status why(st.code(), msg.find(address_) != std::string::npos
                                    ? msg
                                    : "cannot connect to " + address_ + ": " + msg);
    std::vector<uint64_t> ids;
    for (const auto& [id, p] : calls_) ids.push_back(id);
    for (uint64_t id : ids) {
      RpcOutcome o;
      o.kind = RpcOutcome::Kind::kNotSent;
      o.transport = why;
      Complete(id, std::move(o));
    }
    for (auto& p : probes) p(why);
    EndStreams(why);
    return;
  }
  for (auto& p : probes) p(Status::OK());
}

std::string Channel::Payload(Pending& p) {
  if (p.timeout_ms != 0) {
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - p.created).count();
    p.req.set_timeout_ms(
        static_cast<uint32_t>(std::max<int64_t>(1, int64_t{p.timeout_ms} - waited)));
  }
  return p.req.SerializeAsString();
}

void Channel::SendPending(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second.sent) return;
  it->second.control = it->second.req.has_status() || it->second.req.has_admin();
  it->second.waiting = true;
  if (it->second.control) {
    waiting_.push_front(id);  // operators' requests go first and ignore the window
  } else {
    waiting_.push_back(id);  // keep the order: behind the calls already waiting
  }
  DrainWaiting();
}

Channel::SendResult Channel::TrySend(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second.sent) return SendResult::kGone;
  if (!it->second.control && static_cast<double>(sent_count_) >= window_) {
    return SendResult::kNoRoom;
  }
  if (it->second.timeout_ms != 0 &&
      Clock::now() - it->second.created >= std::chrono::milliseconds(it->second.timeout_ms)) {
    // Its server-side time ran out while it waited here: sent, it would only use the node's
    // time. (Not "will run out within a recent round trip": that estimate is updated by
    // answers only, and once it was high, nothing was sent that could lower it again.)
    ExpireWaiting(id);
    return SendResult::kGone;
  }
  Status st = conn_->Send(Payload(it->second));
  if (st.code() == StatusCode::kResourceExhausted) return SendResult::kNoRoom;
  it->second.waiting = false;
  if (!st.ok()) {
    // Not queued on the socket: the server cannot have seen it.
    RpcOutcome o;
    o.kind = RpcOutcome::Kind::kNotSent;
    o.transport = Status(st.code(), "send to " + address_ + ": " + std::string(st.message()));
    Complete(id, std::move(o));
    return SendResult::kGone;
  }
  it->second.sent = true;
  it->second.sent_at = Clock::now();
  it->second.req.Clear();
  ++sent_count_;
  return SendResult::kSent;
}

bool Channel::Congested() {
  // Ids of calls that completed while waiting (deadline) are skipped here, not at each send.
  while (!waiting_.empty() && !calls_.contains(waiting_.front())) waiting_.pop_front();
  while (!waiting_.empty() && !calls_.contains(waiting_.back())) waiting_.pop_back();
  if (waiting_.empty()) return false;
  const Pending& oldest = calls_.at(waiting_.front());
  // Control calls sit at the front and go first.
  return !oldest.control && Clock::now() - oldest.created > kLifoAfter;
}

void Channel::DrainWaiting() {
  while (!waiting_.empty() && state_ == State::kReady) {
    // Off the line before trying: a call that completes here runs its done, which may queue
    // or complete other calls (and change waiting_) before TrySend returns.
    const bool newest_first = Congested();
    if (waiting_.empty()) break;
    const uint64_t id = newest_first ? waiting_.back() : waiting_.front();
    if (newest_first) {
      waiting_.pop_back();
    } else {
      waiting_.pop_front();
    }
    if (TrySend(id) == SendResult::kNoRoom) {
      if (newest_first) {
        waiting_.push_back(id);
      } else {
        waiting_.push_front(id);
      }
      break;
    }
  }
  // Answers open the window again (OnFrame drains); only a full connection queue needs a poll.
  const bool window_full = static_cast<double>(sent_count_) >= window_;
  if (waiting_.empty() || state_ != State::kReady || drain_armed_ || window_full) return;
  drain_armed_ = true;
  // Polling, not synchronization: the socket drains at network speed.
  drain_timer_.expires_after(std::chrono::milliseconds(2));
  std::weak_ptr<Channel> weak = weak_from_this();
  drain_timer_.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->drain_armed_ = false;
    if (!ec) self->DrainWaiting();
  });
}

void Channel::AdjustWindow(const Pending& p, const kvpb::Response& resp) {
  if (p.control) return;
  const auto now = Clock::now();
  if (resp.has_error() && resp.error().code() == kvpb::BUSY) {
    // Multiplicative decrease, once per round trip: the answers to requests sent before the
    // last decrease say nothing about the smaller window.
    if (p.sent_at >= last_decrease_) {
      window_ = std::max(kMinWindow, window_ / 2);
      last_decrease_ = now;
    }
    return;
  }
  // Grow only when the window is what holds requests back.
  if (waiting_.empty() && static_cast<double>(sent_count_) + 1 < window_) return;
  // A second after the last overload answer, grow by one per answer (doubling per round trip,
  // TCP's slow start); before that by about one per window of answers (congestion avoidance).
  const bool calm = now - last_decrease_ > std::chrono::seconds(1);
  window_ = std::min(kMaxWindow, window_ + (calm ? 1 : 1 / window_));
}

void Channel::OnFrame(uint64_t generation, const std::string& payload) {
  if (generation != generation_) return;
  kvpb::Response resp;
  if (!resp.ParseFromString(payload)) {
    // A server we cannot understand: treat as a lost connection (outcomes unknown).
    LOG(WARNING) << "client: malformed response from " << address_ << "; reconnecting";
    OnDisconnect(generation, Status::Corruption("malformed response from " + address_));
    return;
  }
  const uint64_t id = resp.request_id();
  if (auto st = streams_.find(id); st != streams_.end()) {
    // Copied: the callback may close this stream (or others).
    StreamMessage on_message = st->second.on_message;
    on_message(std::move(resp));
    return;
  }
  auto it = calls_.find(id);
  if (it == calls_.end() || !it->second.sent) return;  // timed out already
  AdjustWindow(it->second, resp);
  RpcOutcome o;
  o.kind = RpcOutcome::Kind::kResponse;
  o.sent = true;
  o.response = std::move(resp);
  Complete(id, std::move(o));
  DrainWaiting();
}

void Channel::OnDisconnect(uint64_t generation, const Status& why) {
  if (generation != generation_ || state_ != State::kReady) return;
  DropConnection();
  state_ = State::kIdle;
  const Status lost =
      Status::Unavailable("connection to " + address_ + " lost: " + why.ToString());
  std::vector<uint64_t> ids;
  for (const auto& [id, p] : calls_) ids.push_back(id);
  waiting_.clear();
  for (uint64_t id : ids) {
    RpcOutcome o;
    const bool sent = calls_[id].sent;  // unsent ones were waiting for room: never left
    o.kind = sent ? RpcOutcome::Kind::kLost : RpcOutcome::Kind::kNotSent;
    o.sent = sent;
    o.transport = lost;
    Complete(id, std::move(o));
  }
  EndStreams(lost);
}

void Channel::OnTimer(uint64_t request_id) {
  ExpireWaiting(request_id);
  DrainWaiting();  // a sent call that timed out leaves room in the window
}

void Channel::ExpireWaiting(uint64_t request_id) {
  auto it = calls_.find(request_id);
  if (it == calls_.end()) return;
  RpcOutcome o;
  o.kind = RpcOutcome::Kind::kTimedOut;
  o.sent = it->second.sent;
  o.waited_for_room = it->second.waiting;
  o.transport = Status::DeadlineExceeded(
      o.sent              ? "no response from " + address_ + " in time"
      : o.waited_for_room ? "not sent to " + address_ + " in time: " +
                                std::to_string(waiting_.size()) + " requests wait behind " +
                                std::to_string(sent_count_) + " in flight there (window " +
                                std::to_string(static_cast<int>(window_)) +
                                " after overload answers)"
                          : "could not reach " + address_ + " in time");
  Complete(request_id, std::move(o));
}

void Channel::Complete(uint64_t id, RpcOutcome outcome) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  Done done = std::move(it->second.done);
  if (it->second.sent) --sent_count_;
  it->second.timer->cancel();
  calls_.erase(it);
  done(std::move(outcome));
}

void Channel::DropConnection() {
  waiting_.clear();
  drain_timer_.cancel();
  if (!conn_) return;
  ++generation_;
  // Close and destroy later: we may be inside one of this FrameClient's callbacks.
  auto c = std::move(conn_);
  c->Close();
  asio::post(io_, [c] {});
}

}  // namespace ringkv::client
