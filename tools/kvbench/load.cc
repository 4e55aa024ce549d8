#include "load.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

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
    if (start >= shared_->measure_from && end <= shared_->measure_until) {
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

}  // namespace

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
  std::this_thread::sleep_until(shared.measure_until);  // the benchmark's own clock, not a test
  shared.stop = true;
  {
    std::unique_lock<std::mutex> l(shared.mu);
    shared.cv.wait(l, [&] { return shared.running == 0; });
  }
  shared.clients.clear();
  LoadReport report = std::move(shared.report);
  report.seconds = std::chrono::duration<double>(options.duration).count();
  return report;
}

}  // namespace ringkv::kvbench
