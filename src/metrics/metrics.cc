#include "metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace ringkv::metrics {
namespace {

bool ValidName(const std::string& n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void Fail(const std::string& msg) {
  std::cerr << "metrics: " << msg << "\n";
  std::abort();
}

std::string RenderLabels(const Labels& labels, const std::string& extra_key = "",
                         const std::string& extra_value = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    out += (first ? "" : ",") + k + "=\"" + EscapeLabelValue(v) + "\"";
    first = false;
  }
  if (!extra_key.empty()) {
    out += (first ? "" : ",") + extra_key + "=\"" + EscapeLabelValue(extra_value) + "\"";
  }
  return out + "}";
}

std::string EscapeHelp(const std::string& h) {
  std::string out;
  for (char c : h) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Scrape-time samples, grouped into families like the instruments.
class CollectingSink final : public Sink {
 public:
  struct Fam {
    std::string type;
    std::string help;
    std::map<Labels, double> samples;
  };
  void Gauge(const std::string& name, const std::string& help, const Labels& labels,
             double value) override {
    Add(name, help, "gauge", labels, value);
  }
  void CounterValue(const std::string& name, const std::string& help, const Labels& labels,
                    double value) override {
    Add(name, help, "counter", labels, value);
  }
  std::map<std::string, Fam> families;

 private:
  void Add(const std::string& name, const std::string& help, const std::string& type,
           const Labels& labels, double value) {
    if (!ValidName(name)) Fail("invalid metric name " + name);
    Fam& f = families[name];
    if (f.type.empty()) {
      f.type = type;
      f.help = help;
    }
    // Two collectors reporting the same series (several nodes in one test process) add up.
    f.samples[labels] += value;
  }
};

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i + 1 < bounds_.size(); ++i) {
    if (!(bounds_[i] < bounds_[i + 1])) Fail("histogram bounds must increase");
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}
std::vector<double> DiskSyncBuckets() { return ExponentialBuckets(0.001, 2, 14); }
std::vector<double> ApplyBuckets() { return ExponentialBuckets(0.0001, 2, 20); }
std::vector<double> RoundTripBuckets() { return ExponentialBuckets(0.0001, 2, 14); }
std::vector<double> SizeBuckets() { return ExponentialBuckets(1, 2, 14); }

CollectorHandle& CollectorHandle::operator=(CollectorHandle&& o) noexcept {
  if (this != &o) {
    Reset();
    registry_ = o.registry_;
    id_ = o.id_;
    o.registry_ = nullptr;
  }
  return *this;
}

void CollectorHandle::Reset() {
  if (registry_ != nullptr) registry_->RemoveCollector(id_);
  registry_ = nullptr;
}

Registry::Family& Registry::FamilyFor(const std::string& name, const std::string& help,
                                      Type type) {
  if (!ValidName(name)) Fail("invalid metric name " + name);
  if (type == Type::kCounter && (name.size() < 6 || name.substr(name.size() - 6) != "_total")) {
    Fail("counter " + name + " must end in _total");
  }
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    Fail("metric " + name + " registered with two types");
  }
  return it->second;
}

Counter* Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, help, Type::kCounter).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* Registry::GetGauge(const std::string& name, const std::string& help,
                          const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, help, Type::kGauge).gauges[labels];
  if (!slot) slot = std::make_unique<metrics::Gauge>();
  return slot.get();
}

Histogram* Registry::GetHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, help, Type::kHistogram).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return slot.get();
}

CollectorHandle Registry::AddCollector(std::function<void(Sink&)> collector) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_collector_id_++;
  collectors_[id] = std::move(collector);
  return CollectorHandle(this, id);
}

void Registry::RemoveCollector(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.erase(id);
}

std::string Registry::Render() const {
  // Collectors run under the lock so that none is removed (and its owner destroyed) while it
  // runs; they only read their owner's state and must not call back into the registry.
  std::lock_guard<std::mutex> lock(mu_);
  CollectingSink sink;
  for (const auto& [id, c] : collectors_) c(sink);

  // name -> rendered family text; instruments and collected families merge by name order.
  std::map<std::string, std::string> out;
  for (const auto& [name, f] : families_) {
    std::string text = "# HELP " + name + " " + EscapeHelp(f.help) + "\n# TYPE " + name + " ";
    switch (f.type) {
      case Type::kCounter:
        text += "counter\n";
        for (const auto& [labels, c] : f.counters) {
          text += name + RenderLabels(labels) + " " + FormatValue(c->Value()) + "\n";
        }
        break;
      case Type::kGauge:
        text += "gauge\n";
        for (const auto& [labels, g] : f.gauges) {
          text += name + RenderLabels(labels) + " " + FormatValue(g->Value()) + "\n";
        }
        break;
      case Type::kHistogram:
        text += "histogram\n";
        for (const auto& [labels, h] : f.histograms) {
          Histogram::Snapshot s = h->Take();
          for (size_t i = 0; i <= s.bounds.size(); ++i) {
            std::string le = i < s.bounds.size() ? FormatValue(s.bounds[i]) : "+Inf";
            text += name + "_bucket" + RenderLabels(labels, "le", le) + " " +
                    std::to_string(s.cumulative[i]) + "\n";
          }
          text += name + "_sum" + RenderLabels(labels) + " " + FormatValue(s.sum) + "\n";
          text += name + "_count" + RenderLabels(labels) + " " + std::to_string(s.count) + "\n";
        }
        break;
    }
    out[name] = std::move(text);
  }
  for (const auto& [name, f] : sink.families) {
    if (out.count(name) > 0) Fail("collected metric " + name + " clashes with an instrument");
    std::string text = "# HELP " + name + " " + EscapeHelp(f.help) + "\n# TYPE " + name + " " +
                       f.type + "\n";
    for (const auto& [labels, v] : f.samples) {
      text += name + RenderLabels(labels) + " " + FormatValue(v) + "\n";
    }
    out[name] = std::move(text);
  }
  std::string all;
  for (const auto& [name, text] : out) all += text;
  return all;
}

Registry& Registry::Default() {
  static Registry* r = new Registry();  // never destroyed: instruments outlive static users
  return *r;
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest text that reads back as the same double ("0.001", not "0.0010000000000000002").
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

}  // namespace ringkv::metrics
