// Set checker; see set_checker.h.
#include "jepsen/checker/set_checker.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace ringkv::jepsen {
namespace {

struct KeyOps {
  std::vector<size_t> adds;
  std::vector<size_t> reads;  // :ok reads
};

void CheckKey(const std::string& key, const KeyOps& ops, const std::vector<OpPair>& pairs,
              std::vector<Anomaly>* out) {
  auto add = [&](const char* kind, const std::string& detail) {
    out->push_back({kind, key, detail});
  };
  std::unordered_map<std::string, size_t> add_of;  // element -> add pair
  for (size_t a : ops.adds) add_of[edn::Write(pairs[a].invoke_value)] = a;
  // Element -> the pair that first made it known (the earliest completion).
  std::unordered_map<std::string, size_t> known_by;
  auto learn = [&](const std::string& e, size_t pair) {
    auto [it, fresh] = known_by.try_emplace(e, pair);
    if (!fresh && pairs[pair].ret < pairs[it->second].ret) it->second = pair;
  };
  for (size_t a : ops.adds) {
    if (pairs[a].outcome == OpType::kOk) learn(edn::Write(pairs[a].invoke_value), a);
  }
  std::vector<std::unordered_set<std::string>> contents(ops.reads.size());
  for (size_t k = 0; k < ops.reads.size(); ++k) {
    size_t r = ops.reads[k];
    for (const edn::Value& v : pairs[r].result_value.items) {
      std::string e = edn::Write(v);
      if (!contents[k].insert(e).second) {
        add("duplicated", "element " + e + " twice in " + FormatPair(pairs[r]));
      }
      auto it = add_of.find(e);
      if (it == add_of.end()) {
        add("unexpected", "element " + e + " was never added, read by " + FormatPair(pairs[r]));
        continue;
      }
      if (pairs[it->second].outcome == OpType::kFail) {
        add("failed-observed", "element " + e + " of failed " + FormatPair(pairs[it->second]) +
                                   " read by " + FormatPair(pairs[r]));
        continue;
      }
      learn(e, r);
    }
  }
  if (ops.reads.empty()) return;
  size_t final_k = 0;
  for (size_t k = 0; k < ops.reads.size(); ++k) {
    if (pairs[ops.reads[k]].call > pairs[ops.reads[final_k]].call) final_k = k;
  }
  const OpPair& final_read = pairs[ops.reads[final_k]];
  // Sorted by the time each element became known, to report in history order.
  std::vector<std::pair<std::string, size_t>> known(known_by.begin(), known_by.end());
  std::sort(known.begin(), known.end(), [&](const auto& x, const auto& y) {
    return pairs[x.second].ret < pairs[y.second].ret;
  });
  for (const auto& [e, by] : known) {
    int64_t known_at = pairs[by].ret;
    bool in_final = contents[final_k].count(e) != 0;
    if (!in_final && known_at < final_read.call) {
      add("lost", "element " + e + " known from " + FormatPair(pairs[by]) +
                      " is missing from the final " + FormatPair(final_read));
      continue;
    }
    for (size_t k = 0; k < ops.reads.size(); ++k) {
      const OpPair& r = pairs[ops.reads[k]];
      if (known_at < r.call && contents[k].count(e) == 0) {
        add("stale", "element " + e + " known from " + FormatPair(pairs[by]) + " is missing from " +
                         FormatPair(r));
        break;  // one stale read per element is enough
      }
    }
  }
}

}  // namespace

Result<SetReport> CheckSetHistory(const History& history) {
  auto pairs = PairOps(history);
  if (!pairs.ok()) return pairs.status();
  std::map<std::string, KeyOps> keys;
  SetReport report;
  for (size_t i = 0; i < pairs->size(); ++i) {
    const OpPair& p = (*pairs)[i];
    if (p.f == "add") {
      keys[p.key].adds.push_back(i);
      ++report.adds;
    } else if (p.f == "read") {
      if (p.outcome != OpType::kOk) continue;
      const edn::Value& v = p.result_value;
      if (!v.IsSequence() && v.kind != edn::Kind::kSet && !v.IsNil()) {
        return Status::InvalidArgument("read value is not a set: " + FormatPair(p));
      }
      keys[p.key].reads.push_back(i);
      ++report.reads;
    } else {
      return Status::InvalidArgument("set model has no operation :" + p.f);
    }
  }
  report.keys = keys.size();
  for (const auto& [key, ops] : keys) CheckKey(key, ops, *pairs, &report.anomalies);
  report.verdict = report.anomalies.empty() ? Verdict::kValid : Verdict::kInvalid;
  return report;
}

}  // namespace ringkv::jepsen
