#include "gossip/gossip_driver.h"

#include <glog/logging.h>

#include <array>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "common/thread_annotations.h"
#include "gossip/codec.h"
#include "gossip/replay_guard.h"

namespace ringkv::gossip {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

// Splits "host:port" / "[v6]:port". False when malformed.
bool SplitHostPort(const std::string& addr, std::string* host, uint16_t* port) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon + 1 >= addr.size()) return false;
  std::string h = addr.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned long p = 0;
  for (size_t i = colon + 1; i < addr.size(); ++i) {
    if (addr[i] < '0' || addr[i] > '9') return false;
    p = p * 10 + static_cast<unsigned long>(addr[i] - '0');
    if (p > 65535) return false;
  }
  *host = std::move(h);
  *port = static_cast<uint16_t>(p);
  return true;
}

std::string EndpointString(const udp::endpoint& ep) {
  const asio::ip::address a = ep.address();
  if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(ep.port());
  return a.to_string() + ":" + std::to_string(ep.port());
}

constexpr size_t kMaxResolved = 4096;

}  // namespace

class GossipDriver::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(GossipDriverOptions opt, asio::io_context* io, std::unique_ptr<asio::io_context> own)
      : own_io_(std::move(own)),
        io_(own_io_ ? *own_io_ : *io),
        opt_(std::move(opt)),
        strand_(asio::make_strand(io_)),
        socket_(strand_),
        timer_(strand_),
        resolver_(strand_),
        start_(std::chrono::steady_clock::now()),
        keyring_(opt_.keyring),
        // Sequences start at the wall clock in microseconds, so a restarted sender continues
        // above the sequences its previous run used (replay_guard.h).
        next_sequence_(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count())) {}

  ~Impl() {
    if (thread_.joinable()) thread_.join();
  }

  // Opens and binds the socket, fills in the advertised address. Called before any handler.
  Result<std::string> Bind() {
    boost::system::error_code ec;
    const asio::ip::address bind_addr = asio::ip::make_address(opt_.bind_host, ec);
    if (ec) return Status::InvalidArgument("bad gossip bind host: " + opt_.bind_host);
    const udp::endpoint ep(bind_addr, opt_.bind_port);
    socket_.open(ep.protocol(), ec);
    if (!ec) socket_.bind(ep, ec);
    if (!ec) socket_.non_blocking(true, ec);
    if (ec) {
      return Status::IOError("gossip bind " + EndpointString(ep) + ": " + ec.message());
    }
    port_ = socket_.local_endpoint(ec).port();
    if (opt_.swim.self.gossip_addr.empty()) {
      std::string host = opt_.advertise_host;
      if (host.empty()) host = bind_addr.is_unspecified() ? "127.0.0.1" : opt_.bind_host;
      opt_.swim.self.gossip_addr =
          (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
          std::to_string(port_);
    }
    core_ = std::make_unique<Swim>(opt_.swim);
    tick_ms_ = opt_.tick_interval_ms > 0
                   ? opt_.tick_interval_ms
                   : std::clamp<int64_t>(opt_.swim.probe_interval_ms / 10, 5, 100);
    Publish();
    return opt_.swim.self.gossip_addr;
  }

  uint16_t port() const { return port_; }

  void Begin(bool own_thread) {
    auto self = shared_from_this();
    asio::post(strand_, [self] {
      self->core_->Tick(self->NowMs());
      if (!self->opt_.join.empty()) self->core_->Join(self->opt_.join);
      self->DrainCore();
      self->ArmReceive();
      self->ArmTimer();
    });
    if (own_thread) {
      work_.emplace(io_.get_executor());
      // The thread holds no reference to Impl: Stop() joins it before Impl can go away.
      thread_ = std::thread([this] { io_.run(); });
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_requested_) return;
      stop_requested_ = true;
    }
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> f = done->get_future();
    auto self = shared_from_this();
    auto close = [self, done] {
      self->stopped_ = true;
      boost::system::error_code ec;
      self->timer_.cancel();
      self->socket_.close(ec);  // pending handlers complete with operation_aborted
      done->set_value();
    };
    if (strand_.running_in_this_thread()) {
      close();
    } else {
      asio::post(strand_, close);
      f.wait();
    }
    if (work_) work_->reset();
    if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
  }

  // Runs `fn(core)` on the strand, then drains and publishes.
  void Run(std::function<void(Swim&)> fn) {
    auto self = shared_from_this();
    asio::post(strand_, [self, fn = std::move(fn)] {
      if (self->stopped_) return;
      fn(*self->core_);
      self->DrainCore();
      self->Publish();
    });
  }

  void SetKeyring(std::shared_ptr<const Keyring> keyring) {
    auto self = shared_from_this();
    asio::post(strand_, [self, keyring = std::move(keyring)] { self->keyring_ = keyring; });
  }

  // ---- Published state (any thread) ----
  std::vector<Member> Members() const {
    std::lock_guard<std::mutex> l(mu_);
    return view_;
  }
  GossipDriverStats Stats() const {
    std::lock_guard<std::mutex> l(mu_);
    return stats_;
  }
  std::vector<MemberEvent> TakeEvents() {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<MemberEvent> out(std::make_move_iterator(events_.begin()),
                                 std::make_move_iterator(events_.end()));
    events_.clear();
    return out;
  }
  bool WaitFor(const std::function<bool(const std::vector<Member>&)>& pred,
               std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return pred(view_); });
  }
  bool WaitForStats(const std::function<bool(const GossipDriverStats&)>& pred,
                    std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return pred(stats_); });
  }
  bool WaitLeaveDone(std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return leave_done_; });
  }

 private:
  int64_t NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - start_)
        .count();
  }

  void ArmTimer() {
    timer_.expires_after(std::chrono::milliseconds(tick_ms_));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopped_) return;
      self->core_->Tick(self->NowMs());
      self->DrainCore();
      self->Publish();
      self->ArmTimer();
    });
  }

  void ArmReceive() {
    socket_.async_receive_from(
        asio::buffer(buf_), sender_,
        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          if (ec == asio::error::operation_aborted || self->stopped_) return;
          if (!ec) self->OnDatagram(n);
          // Other errors (e.g. ICMP-reported unreachable peers) do not stop the loop.
          self->ArmReceive();
        });
  }

  // Opens a sealed datagram and checks it is no replay; nullopt (counted, logged) otherwise.
  std::optional<std::string> Unseal(std::string_view datagram) {
    Result<Keyring::Opened> opened = keyring_->Open(datagram);
    if (!opened.ok()) {
      ++io_stats_.auth_failures;
      LOG_EVERY_N(WARNING, 100) << "gossip: dropped a datagram from " << EndpointString(sender_)
                                << " that fails authentication: " << opened.status().message()
                                << " (" << io_stats_.auth_failures << " so far)";
      return std::nullopt;
    }
    const ReplayGuard::Verdict v = replay_.Check(opened->sender, opened->sequence);
    if (v != ReplayGuard::Verdict::kFresh) {
      ++io_stats_.replays_dropped;
      LOG_EVERY_N(WARNING, 100) << "gossip: dropped a "
                                << (v == ReplayGuard::Verdict::kReplay ? "replayed"
                                                                       : "too old (possibly replayed)")
                                << " datagram from " << EndpointString(sender_) << " (sender node "
                                << opened->sender << ", sequence " << opened->sequence << "; "
                                << io_stats_.replays_dropped << " so far)";
      return std::nullopt;
    }
    return std::move(opened->plaintext);
  }

  void OnDatagram(size_t n) {
    ++io_stats_.datagrams_received;
    if (n >= buf_.size()) {  // may have been truncated
      ++io_stats_.decode_errors;
      return;
    }
    std::string_view datagram(buf_.data(), n);
    std::optional<std::string> plaintext;
    if (keyring_ != nullptr) {
      plaintext = Unseal(datagram);
      if (!plaintext) return;
      datagram = *plaintext;
    }
    Result<gossippb::Envelope> env = DecodeDatagram(datagram);
    if (!env.ok()) {
      ++io_stats_.decode_errors;
      VLOG(1) << "gossip: dropped datagram from " << EndpointString(sender_) << ": "
              << env.status();
      return;
    }
    // Rejections are counted in the core's stats; nothing else to do with them.
    core_->Receive(EndpointString(sender_), *env).IgnoreError();
    DrainCore();
  }

  std::optional<udp::endpoint> Resolve(const std::string& addr) {
    auto it = resolved_.find(addr);
    if (it != resolved_.end()) return it->second;
    std::string host;
    uint16_t port = 0;
    if (!SplitHostPort(addr, &host, &port)) return std::nullopt;
    boost::system::error_code ec;
    asio::ip::address a = asio::ip::make_address(host, ec);
    if (ec) {
      // A name: resolved once, synchronously, on this strand, then cached.
      auto results = resolver_.resolve(udp::v4(), host, std::to_string(port), ec);
      if (ec || results.empty()) return std::nullopt;
      a = results.begin()->endpoint().address();
    }
    if (resolved_.size() >= kMaxResolved) resolved_.clear();
    udp::endpoint ep(a, port);
    resolved_[addr] = ep;
    return ep;
  }

  void DrainCore() {
    for (OutMessage& m : core_->TakeOutbox()) {
      std::optional<udp::endpoint> ep = Resolve(m.to);
      if (!ep) {
        ++io_stats_.unresolved_addrs;
        continue;
      }
      Result<std::string> bytes = EncodeDatagram(m.envelope);
      if (!bytes.ok()) {
        ++io_stats_.send_errors;
        continue;
      }
      if (keyring_ != nullptr) {
        *bytes = keyring_->Seal(*bytes, opt_.swim.self.id.value(), next_sequence_++);
      }
      boost::system::error_code ec;
      // Non-blocking: a full socket buffer loses the datagram, as the network may anyway.
      socket_.send_to(asio::buffer(*bytes), *ep, 0, ec);
      if (ec) {
        ++io_stats_.send_errors;
      } else {
        ++io_stats_.datagrams_sent;
      }
    }
    std::vector<MemberEvent> events = core_->TakeEvents();
    if (events.empty()) return;
    for (const MemberEvent& e : events) {
      if (e.type == MemberEvent::Type::kSuspect) {
        VLOG(1) << "gossip: member " << e.member.id << " (" << e.member.name << ") suspect";
      } else {
        LOG(INFO) << "gossip: member " << e.member.id << " (" << e.member.name << " at "
                  << e.member.gossip_addr << ") " << MemberEventTypeName(e.type)
                  << ", incarnation " << e.member.incarnation;
      }
      if (opt_.on_event) opt_.on_event(e);
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      for (MemberEvent& e : events) {
        if (events_.size() >= opt_.max_buffered_events) {
          events_.pop_front();
          ++io_stats_.events_dropped;
        }
        events_.push_back(std::move(e));
      }
    }
    Publish();
  }

  void Publish() {
    std::vector<Member> view;
    view.reserve(core_->members().size());
    for (const auto& [id, m] : core_->members().members()) view.push_back(m);
    {
      std::lock_guard<std::mutex> l(mu_);
      view_ = std::move(view);
      stats_ = io_stats_;
      stats_.swim = core_->stats();
      leave_done_ = core_->LeaveDisseminated();
    }
    cv_.notify_all();
  }

  // Declared first so that it is destroyed last, after every object bound to it.
  std::unique_ptr<asio::io_context> own_io_;
  asio::io_context& io_;
  GossipDriverOptions opt_;
  asio::strand<asio::io_context::executor_type> strand_;

  // State below is used on the strand only.
  udp::socket socket_;
  asio::steady_timer timer_;
  udp::resolver resolver_;
  const std::chrono::steady_clock::time_point start_;
  std::unique_ptr<Swim> core_;
  int64_t tick_ms_ = 100;
  uint16_t port_ = 0;
  std::array<char, kMaxDatagramBytes + 1> buf_{};
  udp::endpoint sender_;
  std::map<std::string, udp::endpoint> resolved_;
  GossipDriverStats io_stats_;  // the core's stats are copied in at Publish
  bool stopped_ = false;
  std::shared_ptr<const Keyring> keyring_;  // null = plain datagrams
  ReplayGuard replay_;                      // used with a key ring only
  uint64_t next_sequence_;                  // of the next sealed datagram we send

  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;

  // State below is protected by mu_.
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Member> view_ GUARDED_BY(mu_);
  GossipDriverStats stats_ GUARDED_BY(mu_);
  std::deque<MemberEvent> events_ GUARDED_BY(mu_);
  bool leave_done_ GUARDED_BY(mu_) = false;
  bool stop_requested_ GUARDED_BY(mu_) = false;
};

// ---- GossipDriver ------------------------------------------------------------------------

Result<std::unique_ptr<GossipDriver>> GossipDriver::Start(GossipDriverOptions options) {
  auto impl = std::make_shared<Impl>(std::move(options), nullptr,
                                     std::make_unique<asio::io_context>(1));
  Result<std::string> addr = impl->Bind();
  if (!addr.ok()) return addr.status();
  const NodeId id = impl->Members().front().id;  // only self so far
  impl->Begin(/*own_thread=*/true);
  return std::unique_ptr<GossipDriver>(new GossipDriver(impl, impl->port(), *addr, id));
}

Result<std::unique_ptr<GossipDriver>> GossipDriver::Start(GossipDriverOptions options,
                                                          boost::asio::io_context& io) {
  auto impl = std::make_shared<Impl>(std::move(options), &io, nullptr);
  Result<std::string> addr = impl->Bind();
  if (!addr.ok()) return addr.status();
  const NodeId id = impl->Members().front().id;
  impl->Begin(/*own_thread=*/false);
  return std::unique_ptr<GossipDriver>(new GossipDriver(impl, impl->port(), *addr, id));
}

GossipDriver::~GossipDriver() { Stop(); }

void GossipDriver::Stop() { impl_->Stop(); }

void GossipDriver::Join(std::vector<std::string> seeds) {
  impl_->Run([seeds = std::move(seeds)](Swim& s) { s.Join(seeds); });
}

Status GossipDriver::Leave(std::chrono::milliseconds timeout) {
  impl_->Run([](Swim& s) { s.Leave(); });
  if (!impl_->WaitLeaveDone(timeout)) {
    return Status::DeadlineExceeded("gossip leave not yet disseminated");
  }
  return Status::OK();
}

void GossipDriver::SetMeta(std::string meta) {
  impl_->Run([meta = std::move(meta)](Swim& s) mutable { s.SetMeta(std::move(meta)); });
}

void GossipDriver::SetKeyring(std::shared_ptr<const Keyring> keyring) {
  impl_->SetKeyring(std::move(keyring));
}

void GossipDriver::SetDecommissioning(bool decommissioning) {
  impl_->Run([decommissioning](Swim& s) { s.SetDecommissioning(decommissioning); });
}

std::vector<Member> GossipDriver::Members() const { return impl_->Members(); }

std::optional<Member> GossipDriver::Find(NodeId id) const {
  for (Member& m : impl_->Members()) {
    if (m.id == id) return std::move(m);
  }
  return std::nullopt;
}

GossipDriverStats GossipDriver::stats() const { return impl_->Stats(); }

std::vector<MemberEvent> GossipDriver::TakeEvents() { return impl_->TakeEvents(); }

bool GossipDriver::WaitFor(const std::function<bool(const std::vector<Member>&)>& pred,
                           std::chrono::milliseconds timeout) const {
  return impl_->WaitFor(pred, timeout);
}

bool GossipDriver::WaitForStats(const std::function<bool(const GossipDriverStats&)>& pred,
                                std::chrono::milliseconds timeout) const {
  return impl_->WaitForStats(pred, timeout);
}

}  // namespace ringkv::gossip
