#include "load.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "client/admin.h"
#include "common/random.h"

namespace ringkv::kvbench {
namespace {

using Clock = std::chrono::steady_clock;

// Shared by all slots: what to do, when to stop, and what was measured.
struct Shared {
  LoadOptions opts;
  std::vector<std::unique_ptr<client::Client>> clients;
  std::string value;
  Clock::time_point measure_from, measure_until;
  std::atomic<bool> stop{false};

  std::mutex mu;
  std::condition_variable cv;
  int running = 0;  // slots with an operation in flight
  LoadReport report;
};

// One slot: a chain of operations, each started from the previous one's completion.
class Slot : public std::enable_shared_from_this<Slot> {
 public:
  Slot(Shared* shared, client::Client* client, uint64_t seed)
      : shared_(shared), client_(client), rng_(seed) {}

  void Next() {
    if (shared_->stop.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> l(shared_->mu);
      --shared_->running;
      shared_->cv.notify_all();
      return;
    }
    char key[32];
    std::snprintf(key, sizeof(key), "bench/%012llu",
                  static_cast<unsigned long long>(rng_.Uniform(shared_->opts.keys)));
    const bool read = rng_.Bernoulli(shared_->opts.read_ratio);
    client::CallOptions co;
    co.timeout = shared_->opts.op_timeout;
    co.consistency = shared_->opts.consistency;
    const auto start = Clock::now();
    auto self = shared_from_this();
    if (read) {
      client_->GetAsync(key, co, [self, start](Result<std::optional<client::KeyValue>> r) {
        self->Done(true, start, r.status());
      });
    } else {
      client_->PutAsync(key, shared_->value, co, [self, start](Result<uint64_t> r) {
        self->Done(false, start, r.status());
      });
    }
  }

 private:
  void Done(bool read, Clock::time_point start, const Status& st) {
    const auto end = Clock::now();
    // Throughput is completions in the window, whenever the operation started (as YCSB and
    // etcd's benchmark count). Counting only operations that also started in the window would
    // drop about (mean latency / window) of them at each edge: nothing at 64 in flight, 10% at
    // 5,000 in flight with a 1.5 s mean.
    if (end >= shared_->measure_from && end <= shared_->measure_until) {
      const uint64_t us = std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
      std::lock_guard<std::mutex> l(shared_->mu);
      LoadReport& r = shared_->report;
      if (st.ok()) {
        r.all.Record(us);
        (read ? r.reads : r.writes).Record(us);
        ++(read ? r.ok_reads : r.ok_writes);
      } else {
        ++r.errors[std::string(StatusCodeName(st.code()))];
      }
    }
    Next();
  }

  Shared* const shared_;
  client::Client* const client_;
  Random rng_;
};

// The servers' admission counters, summed over every endpoint.
struct ServerCounts {
  uint64_t admitted = 0, shed = 0;
  std::vector<uint32_t> bounds_ms;
  std::vector<uint64_t> latency_counts;
};

// nullopt if an endpoint does not answer or does not report them.
std::optional<ServerCounts> AdmissionTotals(client::Client& c, const std::vector<std::string>& eps) {
  ServerCounts out;
  for (const std::string& ep : eps) {
    Result<kvpb::NodeStatus> st = client::NodeStatus(c, ep, std::chrono::seconds(5));
    if (!st.ok() || !st->has_admission()) return std::nullopt;
    const kvpb::AdmissionStatus& a = st->admission();
    out.admitted += a.admitted_total();
    out.shed += a.shed_total();
    out.bounds_ms.assign(a.latency_bucket_bounds_ms().begin(), a.latency_bucket_bounds_ms().end());
    out.latency_counts.resize(a.latency_counts_size());
    for (int i = 0; i < a.latency_counts_size(); ++i) out.latency_counts[i] += a.latency_counts(i);
  }
  return out;
}

}  // namespace

uint32_t LoadReport::ServerLatencyQuantileMs(double q) const {
  uint64_t total = 0;
  for (uint64_t n : server_latency_counts) total += n;
  if (total == 0) return 0;
  const double want = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i < server_latency_counts.size(); ++i) {
    seen += server_latency_counts[i];
    if (static_cast<double>(seen) >= want) {
      return i < server_latency_bounds_ms.size() ? server_latency_bounds_ms[i] : UINT32_MAX;
    }
  }
  return UINT32_MAX;
}

uint64_t LoadReport::total_errors() const {
  uint64_t n = 0;
  for (const auto& [k, v] : errors) n += v;
  return n;
}

Result<LoadReport> RunLoad(const LoadOptions& options) {
  Shared shared;
  shared.opts = options;
  Random value_rng(options.seed);
  shared.value.resize(options.value_size);
  for (auto& c : shared.value) c = static_cast<char>('a' + value_rng.Uniform(26));
  for (int i = 0; i < std::max(1, options.clients); ++i) {
    client::ClientOptions co;
    co.endpoints = options.endpoints;
    co.request_timeout = options.op_timeout;
    co.seed = options.seed * 1000 + static_cast<uint64_t>(i) + 1;
    co.tls = options.tls;
    auto c = client::Client::Connect(co);
    if (!c.ok()) return c.status();
    shared.clients.push_back(std::move(c).value());
  }
  // Status queries get their own connections: behind thousands of queued writes they would
  // wait as long as those.
  client::ClientOptions status_options;
  status_options.endpoints = options.endpoints;
  status_options.lazy_connect = true;
  status_options.tls = options.tls;
  auto status_client = client::Client::Connect(status_options);
  if (!status_client.ok()) return status_client.status();
  const auto start = Clock::now();
  shared.measure_from = start + options.warmup;
  shared.measure_until = shared.measure_from + options.duration;
  {
    std::lock_guard<std::mutex> l(shared.mu);
    shared.running = options.concurrency;
  }
  for (int i = 0; i < options.concurrency; ++i) {
    auto* client = shared.clients[static_cast<size_t>(i) % shared.clients.size()].get();
    std::make_shared<Slot>(&shared, client, options.seed * 7919 + static_cast<uint64_t>(i))->Next();
  }
  // The benchmark's own clock, not a test.
  std::this_thread::sleep_until(shared.measure_from);
  auto counts_before = AdmissionTotals(**status_client, options.endpoints);
  std::this_thread::sleep_until(shared.measure_until);
  auto counts_after = AdmissionTotals(**status_client, options.endpoints);
  shared.stop = true;
  {
    std::unique_lock<std::mutex> l(shared.mu);
    shared.cv.wait(l, [&] { return shared.running == 0; });
  }
  shared.clients.clear();
  LoadReport report = std::move(shared.report);
  report.seconds = std::chrono::duration<double>(options.duration).count();
  if (counts_before && counts_after &&
      counts_before->latency_counts.size() == counts_after->latency_counts.size()) {
    report.have_server_counts = true;
    report.server_admitted = counts_after->admitted - counts_before->admitted;
    report.server_shed = counts_after->shed - counts_before->shed;
    report.server_latency_bounds_ms = counts_after->bounds_ms;
    for (size_t i = 0; i < counts_after->latency_counts.size(); ++i) {
      report.server_latency_counts.push_back(counts_after->latency_counts[i] -
                                             counts_before->latency_counts[i]);
    }
  }
  return report;
}

}  // namespace ringkv::kvbench
