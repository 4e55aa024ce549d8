#include "client/channel.h"

#include <glog/logging.h>

#include <utility>

#include <boost/asio/post.hpp>

namespace ringkv::client {
namespace asio = boost::asio;

Channel::Channel(asio::io_context& io, std::string address, ChannelOptions options)
    : io_(io), address_(std::move(address)), options_(options) {}

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
  p.payload = req.SerializeAsString();
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
    return;
  }
  for (auto& p : probes) p(Status::OK());
}

void Channel::SendPending(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second.sent) return;
  Status st = conn_->Send(it->second.payload);
  if (!st.ok()) {
    // Not queued on the socket: the server cannot have seen it.
    RpcOutcome o;
    o.kind = RpcOutcome::Kind::kNotSent;
    o.transport = Status(st.code(), "send to " + address_ + ": " + std::string(st.message()));
    Complete(id, std::move(o));
    return;
  }
  it->second.sent = true;
  it->second.payload.clear();
  ++sent_count_;
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
  auto it = calls_.find(id);
  if (it == calls_.end() || !it->second.sent) return;  // timed out already
  RpcOutcome o;
  o.kind = RpcOutcome::Kind::kResponse;
  o.sent = true;
  o.response = std::move(resp);
  Complete(id, std::move(o));
}

void Channel::OnDisconnect(uint64_t generation, const Status& why) {
  if (generation != generation_ || state_ != State::kReady) return;
  DropConnection();
  state_ = State::kIdle;
  const Status lost =
      Status::Unavailable("connection to " + address_ + " lost: " + why.ToString());
  std::vector<uint64_t> ids;
  for (const auto& [id, p] : calls_) ids.push_back(id);
  for (uint64_t id : ids) {
    RpcOutcome o;
    o.kind = RpcOutcome::Kind::kLost;
    o.sent = true;
    o.transport = lost;
    Complete(id, std::move(o));
  }
}

void Channel::OnTimer(uint64_t request_id) {
  auto it = calls_.find(request_id);
  if (it == calls_.end()) return;
  RpcOutcome o;
  o.kind = RpcOutcome::Kind::kTimedOut;
  o.sent = it->second.sent;
  o.transport = Status::DeadlineExceeded(o.sent ? "no response from " + address_ + " in time"
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
  if (!conn_) return;
  ++generation_;
  // Close and destroy later: we may be inside one of this FrameClient's callbacks.
  auto c = std::move(conn_);
  c->Close();
  asio::post(io_, [c] {});
}

}  // namespace ringkv::client
