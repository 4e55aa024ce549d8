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

#include "common/random.h"
#include "cpu_time.h"
#include "common/status_macros.h"
#include "ringkv_target.h"

namespace ringkv::kvbench {
namespace {

using Clock = std::chrono::steady_clock;

// Shared by all slots: what to do, when to stop, and what was measured.
struct Shared {
  LoadOptions opts;
  std::vector<std::unique_ptr<Connection>> connections;
  std::string value;
  Clock::time_point measure_from, measure_until;
  std::atomic<bool> stop{false};

  std::mutex mu;
  std::condition_variable cv;
  int running = 0;  // slots with an operation in flight
  LoadReport report;  // report.timeline records the whole run, the rest the measured window
};

// One slot: a chain of operations, each started from the previous one's completion.
class Slot : public std::enable_shared_from_this<Slot> {
 public:
  Slot(Shared* shared, Connection* connection, uint64_t seed)
      : shared_(shared), connection_(connection), rng_(seed) {}

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
    const auto start = Clock::now();
    auto self = shared_from_this();
    auto done = [self, start, read](const Status& st) { self->Done(read, start, st); };
    if (read) {
      connection_->Get(key, std::move(done));
    } else {
      connection_->Put(key, shared_->value, std::move(done));
    }
  }

 private:
  void Done(bool read, Clock::time_point start, const Status& st) {
    const auto end = Clock::now();
    const uint64_t us = std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
    if (shared_->report.timeline != nullptr && end <= shared_->measure_until) {
      std::lock_guard<std::mutex> l(shared_->mu);
      shared_->report.timeline->Record(end, st.ok(), us);
    }
    // Throughput is completions in the window, whenever the operation started (as YCSB and
    // etcd's benchmark count). Counting only operations that also started in the window would
    // drop about (mean latency / window) of them at each edge: nothing at 64 in flight, 10% at
    // 5,000 in flight with a 1.5 s mean.
    if (end >= shared_->measure_from && end <= shared_->measure_until) {
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
  Connection* const connection_;
  Random rng_;
};

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
  ASSIGN_OR_RETURN(std::unique_ptr<Target> target, MakeRingKvTarget(options));
  return RunLoad(options, *target);
}

Result<LoadReport> RunLoad(const LoadOptions& options, Target& target) {
  Shared shared;
  shared.opts = options;
  Random value_rng(options.seed);
  shared.value.resize(options.value_size);
  for (auto& c : shared.value) c = static_cast<char>('a' + value_rng.Uniform(26));
  for (int i = 0; i < std::max(1, options.clients); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, target.Connect(i));
    shared.connections.push_back(std::move(c));
  }
  const auto start = Clock::now();
  if (options.timeline_interval.count() > 0) {
    shared.report.timeline = std::make_unique<Timeline>(start, std::chrono::system_clock::now(),
                                                        options.timeline_interval);
  }
  shared.measure_from = start + options.warmup;
  shared.measure_until = shared.measure_from + options.duration;
  {
    std::lock_guard<std::mutex> l(shared.mu);
    shared.running = options.concurrency;
  }
  for (int i = 0; i < options.concurrency; ++i) {
    Connection* c = shared.connections[static_cast<size_t>(i) % shared.connections.size()].get();
    std::make_shared<Slot>(&shared, c, options.seed * 7919 + static_cast<uint64_t>(i))->Next();
  }
  // The benchmark's own clock, not a test.
  // CPU first at each edge: the status queries of Counts() take a while under load.
  std::this_thread::sleep_until(shared.measure_from);
  const double client_cpu_before = SelfCpuSeconds();
  Result<double> server_cpu_before = ProcessesCpuSeconds(options.cpu_pids);
  auto counts_before = target.Counts();
  std::this_thread::sleep_until(shared.measure_until);
  const double client_cpu_after = SelfCpuSeconds();
  Result<double> server_cpu_after = ProcessesCpuSeconds(options.cpu_pids);
  auto counts_after = target.Counts();
  shared.stop = true;
  {
    std::unique_lock<std::mutex> l(shared.mu);
    shared.cv.wait(l, [&] { return shared.running == 0; });
  }
  shared.connections.clear();
  LoadReport report = std::move(shared.report);
  report.seconds = std::chrono::duration<double>(options.duration).count();
  report.client_cpu_seconds = client_cpu_after - client_cpu_before;
  if (!options.cpu_pids.empty() && server_cpu_before.ok() && server_cpu_after.ok()) {
    report.have_server_cpu = true;
    report.server_cpu_seconds = *server_cpu_after - *server_cpu_before;
  }
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
