// Metrics: counters, gauges and histograms with labels, and their Prometheus text exposition
// (text format 0.0.4), for kvd's /metrics. No dependency beyond the standard library.
//
// Two kinds of series:
// - Instruments (Counter, Gauge, Histogram) updated where an event happens. They live as long
//   as the registry; a call site keeps the pointer (typically a function-local static), so an
//   update is one relaxed atomic operation, no lookup, no lock.
// - Collectors: functions run at scrape time that emit gauges from state owned elsewhere
//   (replica terms, gossip member states, disk usage). A collector is registered with an RAII
//   handle, so an owner that goes away (a Node in an in-process test) unregisters it.
//
// One registry per process (Default()); kvd runs one node per process. Tests that run several
// nodes in one process see their instruments summed.
//
// Thread-safety: everything is safe from any thread. Collectors run on the scraping thread
// and must not block for long.
#ifndef RINGKV_METRICS_METRICS_H_
#define RINGKV_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ringkv::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, strictly increasing; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Take() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

// Bucket layouts (as etcd's, built with prometheus' ExponentialBuckets).
std::vector<double> ExponentialBuckets(double start, double factor, int count);
// Disk syncs and backend commits: 1 ms .. 8.192 s (etcd_disk_wal_fsync_duration_seconds).
std::vector<double> DiskSyncBuckets();
// Applies and requests: 100 us .. 52 s (etcd_server_apply_duration_seconds).
std::vector<double> ApplyBuckets();
// Round trips: 100 us .. 0.8192 s (etcd_network_peer_round_trip_time_seconds).
std::vector<double> RoundTripBuckets();
// Sizes and counts: 1 .. 8192.
std::vector<double> SizeBuckets();

// What a collector emits into at scrape time.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Gauge(const std::string& name, const std::string& help, const Labels& labels,
                     double value) = 0;
  // A monotonically increasing value kept elsewhere (exposed as a counter).
  virtual void CounterValue(const std::string& name, const std::string& help,
                            const Labels& labels, double value) = 0;
};

class Registry;

// Unregisters its collector when destroyed.
class CollectorHandle {
 public:
  CollectorHandle() = default;
  CollectorHandle(Registry* r, uint64_t id) : registry_(r), id_(id) {}
  CollectorHandle(CollectorHandle&& o) noexcept { *this = std::move(o); }
  CollectorHandle& operator=(CollectorHandle&& o) noexcept;
  ~CollectorHandle() { Reset(); }
  void Reset();

 private:
  Registry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class Registry {
 public:
  // The instrument named `name` with `labels`, created on first use; the same pointer for the
  // same name and labels. `help` and the type are fixed by the first call for a name; a later
  // call for that name with another type is a programming error (CHECK-style abort).
  // Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*); counters end in _total.
  Counter* GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, const Labels& labels = {});

  [[nodiscard]] CollectorHandle AddCollector(std::function<void(Sink&)> collector);

  // The text exposition: one HELP and TYPE line per family, families sorted by name.
  std::string Render() const;

  static Registry& Default();

 private:
  friend class CollectorHandle;
  void RemoveCollector(uint64_t id);

  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<metrics::Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mu_;
  // State below is protected by mu_.
  std::map<std::string, Family> families_;
  std::map<uint64_t, std::function<void(Sink&)>> collectors_;
  uint64_t next_collector_id_ = 1;
};

// Formatting helpers, exposed for tests.
std::string EscapeLabelValue(const std::string& v);
std::string FormatValue(double v);

}  // namespace ringkv::metrics

#endif  // RINGKV_METRICS_METRICS_H_
