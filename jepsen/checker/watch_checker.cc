#include "jepsen/checker/watch_checker.h"

#include <set>
#include <sstream>

namespace ringkv::jepsen {
namespace {

// What the history says about each value written to a key.
struct Write {
  OpType outcome = OpType::kInfo;
  std::optional<int64_t> version;  // acknowledged writes
};

// key -> written value (as text) -> the write.
using Writes = std::map<std::string, std::map<std::string, Write>>;

Writes CollectWrites(const History& history) {
  Writes out;
  Result<std::vector<OpPair>> pairs = PairOps(history);
  if (!pairs.ok()) return out;
  for (const OpPair& p : *pairs) {
    std::optional<int64_t> v;
    if (p.f == "write" && p.invoke_value.IsInt()) v = p.invoke_value.integer;
    if (p.f == "cas" && p.invoke_value.IsSequence() && p.invoke_value.items.size() == 2 &&
        p.invoke_value.items[1].IsInt()) {
      v = p.invoke_value.items[1].integer;
    }
    if (!v) continue;
    Write w;
    w.outcome = p.outcome;
    if (p.outcome == OpType::kOk) w.version = p.version;
    out[p.key][std::to_string(*v)] = w;
  }
  return out;
}

}  // namespace

WatchCheckResult CheckWatches(const History& history, const std::vector<WatcherLog>& logs,
                              const std::map<std::string, uint64_t>& final_versions) {
  WatchCheckResult r;
  const Writes writes = CollectWrites(history);
  auto add = [&](const std::string& kind, const std::string& key, const std::string& detail) {
    r.anomalies.push_back(Anomaly{kind, key, detail});
  };
  std::set<std::string> keys;
  for (const auto& [k, v] : final_versions) keys.insert(k);
  for (const auto& [k, w] : writes) keys.insert(k);
  for (const WatcherLog& log : logs) {
    for (const auto& [k, e] : log.events) keys.insert(k);
  }
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> first_seen;
  for (const WatcherLog& log : logs) {
    const std::string who = "watcher " + std::to_string(log.watcher);
    for (const std::string& key : keys) {
      static const std::vector<WatchedEvent> kNone;
      auto it = log.events.find(key);
      const std::vector<WatchedEvent>& events = it == log.events.end() ? kNone : it->second;
      r.events += events.size();
      uint64_t prev = 0;
      std::map<uint64_t, std::string> delivered;  // version -> value
      std::vector<std::pair<uint64_t, std::string>> seq;
      for (const WatchedEvent& e : events) {
        if (e.version <= prev) {
          add(e.version == prev ? "duplicate" : "out-of-order", key,
              who + ": version " + std::to_string(e.version) + " after " + std::to_string(prev));
        } else if (e.prev_version != prev) {
          add("gap", key,
              who + ": version " + std::to_string(e.version) + " replaced version " +
                  std::to_string(e.prev_version) + ", but the last one delivered was " +
                  std::to_string(prev));
        }
        prev = std::max(prev, e.version);
        delivered.emplace(e.version, e.is_delete ? std::string() : e.value);
        seq.emplace_back(e.version, e.is_delete ? std::string("<delete>") : e.value);
        if (e.is_delete) continue;
        auto key_writes = writes.find(key);
        const Write* w = nullptr;
        if (key_writes != writes.end()) {
          auto wi = key_writes->second.find(e.value);
          if (wi != key_writes->second.end()) w = &wi->second;
        }
        if (w == nullptr || w->outcome == OpType::kFail) {
          add("phantom", key,
              who + ": value " + e.value + " at version " + std::to_string(e.version) +
                  (w == nullptr ? " was never written" : " was written by a failed operation"));
        } else if (w->version && static_cast<uint64_t>(*w->version) != e.version) {
          add("wrong-version", key,
              who + ": value " + e.value + " acknowledged at version " +
                  std::to_string(*w->version) + ", delivered at " + std::to_string(e.version));
        }
      }
      auto fv = final_versions.find(key);
      if (fv != final_versions.end() && fv->second != prev) {
        add("incomplete", key,
            who + ": last delivered version " + std::to_string(prev) + ", final version " +
                std::to_string(fv->second));
      }
      if (auto kw = writes.find(key); kw != writes.end()) {
        for (const auto& [value, w] : kw->second) {
          auto d = w.version ? delivered.find(static_cast<uint64_t>(*w.version)) : delivered.end();
          if (w.version && (d == delivered.end() || d->second != value)) {
            add("lost", key,
                who + ": acknowledged write of " + value + " at version " +
                    std::to_string(*w.version) + " never delivered");
          }
        }
      }
      auto [first, inserted] = first_seen.emplace(key, seq);
      if (!inserted && first->second != seq) {
        add("divergent", key, who + " delivered a different sequence than watcher " +
                                  std::to_string(logs.front().watcher));
      }
    }
  }
  r.verdict = r.anomalies.empty() ? Verdict::kValid : Verdict::kInvalid;
  std::ostringstream text;
  text << "watch: " << logs.size() << " watcher(s), " << r.events << " events over "
       << keys.size() << " key(s): " << (r.anomalies.empty() ? "every change delivered once, in "
                                                               "order, without gaps"
                                                             : std::to_string(r.anomalies.size()) +
                                                                   " anomalies")
       << "\n";
  for (size_t i = 0; i < r.anomalies.size() && i < 20; ++i) {
    text << "  " << r.anomalies[i].kind << " " << r.anomalies[i].key << ": "
         << r.anomalies[i].detail << "\n";
  }
  r.text = text.str();
  return r;
}

}  // namespace ringkv::jepsen
