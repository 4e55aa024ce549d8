// AdmissionController: decides, before any work is done, whether the node takes a request or
// sheds it with "too many requests" and a retry_after_ms hint. It bounds what the node has
// admitted and not yet answered — requests and bytes, per connection and for the whole node —
// so that overload turns into fast definite rejections instead of queues that grow until every
// request times out (issue #10: at 2,000 requests in flight goodput fell to 1% and RSS passed
// 1 GiB).
//
// Three bounds, checked in this order (the first one hit names itself in the reason):
//   1. per connection (static): one client cannot take the whole node;
//   2. per node, hard (static): memory stays bounded whatever the load;
//   3. per node, adaptive: a concurrency limit L that follows the latency of admitted requests
//      toward `target_latency` (Little's law: L = throughput x target). Every `window` it is
//      multiplied by target/mean latency of the requests answered in that window, by at most
//      x1.2 up (only when demand reached the limit) and x0.8 down, within
//      [min_node_requests, max_node_requests]. Admitting more than the node can finish only
//      adds queueing delay; this keeps the queue short while still filling the pipeline.
// A node with nothing in flight always admits one request, whatever its size. And a request
// whose timeout is shorter than what admitted requests take now (their smoothed mean latency)
// is shed too: it would time out after using the node's time (64 KiB writes at 2,000 in flight
// spent most of the node's work on such attempts). The estimate counts only while answers keep
// updating it (the last second), so a stale one cannot keep shedding once the node is fast.
//
// The latency of every answered request is also counted in fixed buckets (kLatencyBucketsMs),
// so operators and benchmarks can read the percentiles of admitted requests.
//
// retry_after_ms = (time to drain what is in flight at the recent completion rate) x (1 + the
// recent shed rate / completion rate), within [min_retry_after, max_retry_after]: when many
// clients are waiting, each is told to wait longer, so their retries arrive at about the rate
// the node frees room and retries do not become the load. Clients add jitter.
//
// Time is passed in (`now`), so the policy is testable without a clock; a Ticket dropped without
// an explicit Release() reads the steady clock.
//
// Thread-safety: thread-safe (one mutex). Tickets may be released on any thread and may outlive
// the code that created them (they keep the controller alive).
#ifndef RINGKV_SERVER_ADMISSION_H_
#define RINGKV_SERVER_ADMISSION_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>

#include "common/thread_annotations.h"

namespace ringkv::server {

struct AdmissionOptions {
  // Hard bounds of the whole node: requests admitted and not yet answered, and the bytes of
  // their frames. Defaults: 4096 requests, 64 MiB.
  size_t max_node_requests = 4096;
  size_t max_node_bytes = size_t{64} << 20;
  // The same bounds per client connection. Defaults: 1024 requests, 32 MiB.
  size_t max_connection_requests = 1024;
  size_t max_connection_bytes = size_t{32} << 20;
  // Adaptive limit: the server-side latency (admission to answer) it steers toward; 0 turns it
  // off (only the static bounds apply). Default: 500 ms.
  std::chrono::milliseconds target_latency{500};
  // Floor and starting value of the adaptive limit, in requests. Default: 8, 256.
  size_t min_node_requests = 8;
  size_t initial_node_requests = 256;
  // How often the adaptive limit and the rates are updated. Default: 100 ms.
  std::chrono::milliseconds window{100};
  // Bounds of the retry_after_ms hint. Defaults: 10 ms .. 3000 ms.
  uint32_t min_retry_after_ms = 10;
  uint32_t max_retry_after_ms = 3000;
};

// Upper bounds (ms) of the latency buckets; a last, unbounded bucket follows.
inline constexpr uint32_t kLatencyBucketsMs[] = {
    1,   2,   3,   5,    7,    10,   15,   20,   30,    50,    70,    100,   150,   200,  300,
    500, 700, 1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000};
inline constexpr size_t kLatencyBuckets = std::size(kLatencyBucketsMs) + 1;

// A snapshot of the controller's counters (for status and metrics).
struct AdmissionStats {
  size_t in_flight_requests = 0;
  size_t in_flight_bytes = 0;
  size_t limit = 0;               // the adaptive limit now (max_node_requests when off)
  uint64_t admitted_total = 0;
  uint64_t shed_total = 0;
  double completions_per_s = 0;   // recent rate of answered requests
  double sheds_per_s = 0;         // recent rate of shed requests
  uint32_t retry_after_ms = 0;    // the hint a request shed now would get
  double latency_ms = 0;          // smoothed mean latency of answered requests; 0 = none yet
  // Answered requests by latency (admission to answer), since start: latency_counts[i] counts
  // those <= kLatencyBucketsMs[i] (and above the previous bound); the last counts the rest.
  std::array<uint64_t, kLatencyBuckets> latency_counts{};
};

class AdmissionController : public std::enable_shared_from_this<AdmissionController> {
 public:
  using Clock = std::chrono::steady_clock;

  // One client connection's share. Created per connection; tickets keep it alive.
  class Account {
   public:
    size_t in_flight_requests() const;
    size_t in_flight_bytes() const;

   private:
    friend class AdmissionController;
    // Protected by the controller's mutex.
    size_t requests_ = 0;
    size_t bytes_ = 0;
    AdmissionController* owner_ = nullptr;
  };

  // An admitted request's reservation. Release() (or destruction) returns it and records the
  // request's latency. Move-only; releases once.
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) = delete;
    Ticket(const Ticket&) = delete;
    ~Ticket();
    void Release(Clock::time_point now);
    Clock::time_point admitted_at() const { return admitted_at_; }

   private:
    friend class AdmissionController;
    Ticket(std::shared_ptr<AdmissionController> owner, std::shared_ptr<Account> account,
           size_t bytes, Clock::time_point admitted_at);
    std::shared_ptr<AdmissionController> owner_;  // null once released
    std::shared_ptr<Account> account_;
    size_t bytes_;
    Clock::time_point admitted_at_;
  };

  struct Decision {
    // Set when admitted.
    std::unique_ptr<Ticket> ticket;
    // When shed: how long the client should wait before retrying, and why (for the error
    // message: which bound, with its numbers and flag name).
    uint32_t retry_after_ms = 0;
    std::string reason;
    bool admitted() const { return ticket != nullptr; }
  };

  // REQUIRES: created by Create (tickets hold a shared_ptr to it).
  static std::shared_ptr<AdmissionController> Create(AdmissionOptions options);

  std::shared_ptr<Account> NewAccount();

  // Admits a request of `bytes` (its frame size) with a server-side `timeout` (0 = none given)
  // on `account`, or sheds it. Never blocks.
  Decision TryAdmit(const std::shared_ptr<Account>& account, size_t bytes, Clock::time_point now,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // The retry_after_ms hint now (also for answers shed elsewhere, e.g. a request that waited
  // in the node's queue past its deadline).
  uint32_t RetryAfterMs(Clock::time_point now);

  AdmissionStats Stats(Clock::time_point now);
  const AdmissionOptions& options() const { return options_; }

 private:
  explicit AdmissionController(AdmissionOptions options);

  void Release(Account* account, size_t bytes, Clock::duration latency, Clock::time_point now);
  // Closes the current window if it is over: updates rates and the adaptive limit.
  void MaybeEndWindow(Clock::time_point now) REQUIRES(mu_);
  uint32_t RetryAfterLocked() const REQUIRES(mu_);
  std::string Shed(const std::string& why) REQUIRES(mu_);

  const AdmissionOptions options_;

  mutable std::mutex mu_;
  // State below is protected by mu_.
  size_t requests_ GUARDED_BY(mu_) = 0;  // admitted, not yet released (whole node)
  size_t bytes_ GUARDED_BY(mu_) = 0;
  double limit_ GUARDED_BY(mu_);         // adaptive limit; in [min, max]
  uint64_t admitted_total_ GUARDED_BY(mu_) = 0;
  uint64_t shed_total_ GUARDED_BY(mu_) = 0;
  // The current window: its start, completions and their summed latency, sheds, and whether
  // demand reached the adaptive limit in it (only then may the limit grow).
  Clock::time_point window_start_ GUARDED_BY(mu_);
  uint64_t window_completions_ GUARDED_BY(mu_) = 0;
  double window_latency_s_ GUARDED_BY(mu_) = 0;
  uint64_t window_sheds_ GUARDED_BY(mu_) = 0;
  bool window_limited_ GUARDED_BY(mu_) = false;
  // Smoothed rates per second (exponentially weighted over windows); negative = no sample yet.
  double completion_rate_ GUARDED_BY(mu_) = -1;
  double shed_rate_ GUARDED_BY(mu_) = 0;
  // Smoothed mean latency of answered requests, seconds; negative = no sample yet.
  double latency_s_ GUARDED_BY(mu_) = -1;
  // When latency_s_ last took in answers; older than kLatencyFreshFor, it sheds nothing.
  Clock::time_point latency_updated_ GUARDED_BY(mu_);
  static constexpr std::chrono::seconds kLatencyFreshFor{1};
  std::array<uint64_t, kLatencyBuckets> latency_counts_ GUARDED_BY(mu_){};
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_ADMISSION_H_
