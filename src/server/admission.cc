#include "server/admission.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ringkv::server {
namespace {

// Weight of the newest (nominal-length) window in the smoothed rates.
constexpr double kRateWeight = 0.3;
// Largest change of the adaptive limit per window, up and down.
constexpr double kMaxGrowth = 1.2;
constexpr double kMaxShrink = 0.8;

std::string MiB(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

// ---- Account ----

size_t AdmissionController::Account::in_flight_requests() const {
  std::lock_guard<std::mutex> l(owner_->mu_);
  return requests_;
}

size_t AdmissionController::Account::in_flight_bytes() const {
  std::lock_guard<std::mutex> l(owner_->mu_);
  return bytes_;
}

// ---- Ticket ----

AdmissionController::Ticket::Ticket(std::shared_ptr<AdmissionController> owner,
                                    std::shared_ptr<Account> account, size_t bytes,
                                    Clock::time_point admitted_at)
    : owner_(std::move(owner)),
      account_(std::move(account)),
      bytes_(bytes),
      admitted_at_(admitted_at) {}

AdmissionController::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::move(other.owner_)),
      account_(std::move(other.account_)),
      bytes_(other.bytes_),
      admitted_at_(other.admitted_at_) {}

AdmissionController::Ticket::~Ticket() {
  if (owner_) Release(Clock::now());
}

void AdmissionController::Ticket::Release(Clock::time_point now) {
  if (!owner_) return;
  owner_->Release(account_.get(), bytes_, now - admitted_at_, now);
  owner_.reset();
  account_.reset();
}

// ---- AdmissionController ----

std::shared_ptr<AdmissionController> AdmissionController::Create(AdmissionOptions options) {
  return std::shared_ptr<AdmissionController>(new AdmissionController(std::move(options)));
}

AdmissionController::AdmissionController(AdmissionOptions options)
    : options_(std::move(options)), window_start_(Clock::now()) {
  const size_t hi = std::max<size_t>(1, options_.max_node_requests);
  const size_t lo = std::clamp<size_t>(options_.min_node_requests, 1, hi);
  limit_ = options_.target_latency.count() > 0
               ? static_cast<double>(std::clamp(options_.initial_node_requests, lo, hi))
               : static_cast<double>(hi);
}

std::shared_ptr<AdmissionController::Account> AdmissionController::NewAccount() {
  auto a = std::make_shared<Account>();
  a->owner_ = this;
  return a;
}

AdmissionController::Decision AdmissionController::TryAdmit(const std::shared_ptr<Account>& account,
                                                            size_t bytes, Clock::time_point now,
                                                            std::chrono::milliseconds timeout) {
  Decision d;
  std::lock_guard<std::mutex> l(mu_);
  MaybeEndWindow(now);
  // Each bound lets an empty queue take one request, so any request that fits the frame limit
  // can be served eventually.
  if (account->requests_ > 0 && account->requests_ >= options_.max_connection_requests) {
    d.reason = Shed("this connection has " + std::to_string(account->requests_) +
                    " requests in flight (limit --admission_max_connection_requests=" +
                    std::to_string(options_.max_connection_requests) + ")");
  } else if (account->requests_ > 0 &&
             account->bytes_ + bytes > options_.max_connection_bytes) {
    d.reason = Shed("this connection has " + MiB(account->bytes_) +
                    " of requests in flight (limit --admission_max_connection_bytes=" +
                    std::to_string(options_.max_connection_bytes) + ")");
  } else if (requests_ > 0 && requests_ >= options_.max_node_requests) {
    window_limited_ = true;
    d.reason = Shed("the node has " + std::to_string(requests_) +
                    " requests in flight (limit --admission_max_node_requests=" +
                    std::to_string(options_.max_node_requests) + ")");
  } else if (requests_ > 0 && bytes_ + bytes > options_.max_node_bytes) {
    window_limited_ = true;
    d.reason = Shed("the node has " + MiB(bytes_) +
                    " of requests in flight (limit --admission_max_node_bytes=" +
                    std::to_string(options_.max_node_bytes) + ")");
  } else if (requests_ > 0 && static_cast<double>(requests_) + 1 > limit_) {
    window_limited_ = true;
    d.reason = Shed("the node has " + std::to_string(requests_) +
                    " requests in flight, its current limit for --admission_target_latency_ms=" +
                    std::to_string(options_.target_latency.count()) + ")");
  } else if (requests_ > 0 && timeout.count() > 0 && latency_s_ > 0 &&
             now - latency_updated_ <= kLatencyFreshFor &&
             std::chrono::duration<double>(timeout).count() < latency_s_) {
    // Only a fresh estimate: it is updated by answers alone, and shedding on an old one could
    // keep turning requests away after the node has become fast again.
    d.reason = Shed("requests take " + std::to_string(static_cast<int64_t>(latency_s_ * 1000)) +
                    " ms now, more than this one's timeout of " +
                    std::to_string(timeout.count()) + " ms");
  }
  if (!d.reason.empty()) {
    d.retry_after_ms = RetryAfterLocked();
    return d;
  }
  ++requests_;
  bytes_ += bytes;
  ++account->requests_;
  account->bytes_ += bytes;
  ++admitted_total_;
  if (static_cast<double>(requests_) >= limit_) window_limited_ = true;
  d.ticket.reset(new Ticket(shared_from_this(), account, bytes, now));
  return d;
}

std::string AdmissionController::Shed(const std::string& why) {
  ++shed_total_;
  ++window_sheds_;
  return "too many requests: " + why;
}

void AdmissionController::Release(Account* account, size_t bytes, Clock::duration latency,
                                  Clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  MaybeEndWindow(now);
  --requests_;
  bytes_ -= bytes;
  --account->requests_;
  account->bytes_ -= bytes;
  ++window_completions_;
  const double secs = std::chrono::duration<double>(latency).count();
  window_latency_s_ += secs;
  const double ms = secs * 1000;
  size_t b = 0;
  while (b < std::size(kLatencyBucketsMs) && ms > kLatencyBucketsMs[b]) ++b;
  ++latency_counts_[b];
}

void AdmissionController::MaybeEndWindow(Clock::time_point now) {
  if (now - window_start_ < options_.window) return;
  const double secs = std::chrono::duration<double>(now - window_start_).count();
  const double completions = static_cast<double>(window_completions_) / secs;
  const double sheds = static_cast<double>(window_sheds_) / secs;
  // A window that lasted k nominal windows (an idle spell) weighs as much as k windows.
  const double k = secs / std::chrono::duration<double>(options_.window).count();
  const double w = 1 - std::pow(1 - kRateWeight, k);
  completion_rate_ =
      completion_rate_ < 0 ? completions : (1 - w) * completion_rate_ + w * completions;
  shed_rate_ = (1 - w) * shed_rate_ + w * sheds;
  if (window_completions_ > 0) {
    const double mean = window_latency_s_ / static_cast<double>(window_completions_);
    latency_s_ = latency_s_ < 0 ? mean : (1 - w) * latency_s_ + w * mean;
    latency_updated_ = now;
  }
  if (options_.target_latency.count() > 0 && window_completions_ > 0) {
    const double mean = window_latency_s_ / static_cast<double>(window_completions_);
    const double target = std::chrono::duration<double>(options_.target_latency).count();
    double g = target / std::max(mean, 1e-6);
    g = std::clamp(g, kMaxShrink, window_limited_ ? kMaxGrowth : 1.0);
    const double hi = static_cast<double>(std::max<size_t>(1, options_.max_node_requests));
    const double lo = std::clamp(static_cast<double>(options_.min_node_requests), 1.0, hi);
    limit_ = std::clamp(limit_ * g, lo, hi);
  }
  window_start_ = now;
  window_completions_ = 0;
  window_latency_s_ = 0;
  window_sheds_ = 0;
  window_limited_ = false;
}

uint32_t AdmissionController::RetryAfterLocked() const {
  const double lo = options_.min_retry_after_ms;
  const double hi = std::max(lo, static_cast<double>(options_.max_retry_after_ms));
  if (requests_ == 0) return static_cast<uint32_t>(lo);
  if (completion_rate_ <= 0) {
    // No window closed yet (just started), or none with a completion yet (a smoothed rate that
    // starts at 0 stays exactly 0 until the first one; the hint below would be 0/0): assume
    // what is in flight drains in the target time.
    const double guess = options_.target_latency.count() > 0
                             ? static_cast<double>(options_.target_latency.count())
                             : lo;
    return static_cast<uint32_t>(std::clamp(guess, lo, hi));
  }
  const double drain_ms = 1000.0 * static_cast<double>(requests_ + 1) / completion_rate_;
  const double pressure = 1 + shed_rate_ / completion_rate_;
  return static_cast<uint32_t>(std::clamp(std::ceil(drain_ms * pressure), lo, hi));
}

uint32_t AdmissionController::RetryAfterMs(Clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  MaybeEndWindow(now);
  return RetryAfterLocked();
}

AdmissionStats AdmissionController::Stats(Clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  MaybeEndWindow(now);
  AdmissionStats s;
  s.in_flight_requests = requests_;
  s.in_flight_bytes = bytes_;
  s.limit = static_cast<size_t>(limit_);
  s.admitted_total = admitted_total_;
  s.shed_total = shed_total_;
  s.completions_per_s = std::max(0.0, completion_rate_);
  s.sheds_per_s = shed_rate_;
  s.retry_after_ms = RetryAfterLocked();
  s.latency_ms = std::max(0.0, latency_s_ * 1000);
  s.latency_counts = latency_counts_;
  return s;
}

}  // namespace ringkv::server
