// Append-list checker; see append_checker.h.
#include "jepsen/checker/append_checker.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace ringkv::jepsen {
namespace {

struct KeyOps {
  std::vector<size_t> appends;  // pair indices
  std::vector<size_t> reads;    // :ok reads only
};

class KeyChecker {
 public:
  KeyChecker(const std::string& key, const KeyOps& ops, const std::vector<OpPair>& pairs,
             std::vector<Anomaly>* out)
      : key_(key), ops_(ops), pairs_(pairs), out_(out) {}

  void Run() {
    for (size_t a : ops_.appends) append_of_[edn::Write(pairs_[a].invoke_value)] = a;
    CheckElements();
    std::vector<std::string> order = LongestRead();
    for (size_t k = 0; k < order.size(); ++k) pos_.emplace(order[k], k);
    bool consistent = CheckPrefixes(order);
    CheckLost();
    if (consistent) {
      CheckStale();
      CheckAppendOrder();
    }
  }

 private:
  void Add(const std::string& kind, const std::string& detail) {
    out_->push_back({kind, key_, detail});
  }

  std::vector<std::string> Elements(size_t read) const {
    std::vector<std::string> out;
    for (const edn::Value& v : pairs_[read].result_value.items) out.push_back(edn::Write(v));
    return out;
  }

  void CheckElements() {
    for (size_t r : ops_.reads) {
      std::unordered_set<std::string> seen;
      for (const std::string& e : Elements(r)) {
        if (!seen.insert(e).second) {
          Add("duplicated", "element " + e + " twice in " + FormatPair(pairs_[r]));
        }
        auto it = append_of_.find(e);
        if (it == append_of_.end()) {
          Add("phantom", "element " + e + " was never appended, read by " + FormatPair(pairs_[r]));
        } else if (pairs_[it->second].outcome == OpType::kFail) {
          Add("failed-observed", "element " + e + " of failed " +
                                     FormatPair(pairs_[it->second]) + " read by " +
                                     FormatPair(pairs_[r]));
        }
      }
    }
  }

  std::vector<std::string> LongestRead() const {
    size_t best = SIZE_MAX;
    for (size_t r : ops_.reads) {
      if (best == SIZE_MAX ||
          pairs_[r].result_value.items.size() > pairs_[best].result_value.items.size()) {
        best = r;
      }
    }
    return best == SIZE_MAX ? std::vector<std::string>{} : Elements(best);
  }

  bool CheckPrefixes(const std::vector<std::string>& order) {
    bool ok = true;
    for (size_t r : ops_.reads) {
      std::vector<std::string> els = Elements(r);
      if (!std::equal(els.begin(), els.end(), order.begin())) {
        ok = false;
        Add("incompatible-order", FormatPair(pairs_[r]) +
                                      " is not a prefix of the longest read " +
                                      edn::Write(pairs_[LongestReadIndex()].result_value));
      }
    }
    return ok;
  }

  size_t LongestReadIndex() const {
    size_t best = ops_.reads.front();
    for (size_t r : ops_.reads) {
      if (pairs_[r].result_value.items.size() > pairs_[best].result_value.items.size()) best = r;
    }
    return best;
  }

  void CheckLost() {
    if (ops_.reads.empty()) return;
    size_t final_read = ops_.reads.front();
    for (size_t r : ops_.reads) {
      if (pairs_[r].call > pairs_[final_read].call) final_read = r;
    }
    std::unordered_set<std::string> in_final;
    for (std::string& e : Elements(final_read)) in_final.insert(std::move(e));
    for (size_t a : ops_.appends) {
      const OpPair& p = pairs_[a];
      if (p.outcome == OpType::kOk && p.ret < pairs_[final_read].call &&
          in_final.count(edn::Write(p.invoke_value)) == 0) {
        Add("lost", "acknowledged " + FormatPair(p) + " missing from final " +
                        FormatPair(pairs_[final_read]));
      }
    }
  }

  // With consistent reads, a read of length L holds exactly order[0..L). A read R must reach
  // past every element known before R was invoked: appended by an :ok completed before, or
  // returned by a read completed before.
  void CheckStale() {
    struct Event {
      int64_t time;
      int kind;  // 0: a completion that makes an element known; 1: a read's invocation
      size_t pair;
    };
    std::vector<Event> events;
    for (size_t a : ops_.appends) {
      if (pairs_[a].outcome == OpType::kOk) events.push_back({pairs_[a].ret, 0, a});
    }
    for (size_t r : ops_.reads) {
      events.push_back({pairs_[r].ret, 0, r});
      events.push_back({pairs_[r].call, 1, r});
    }
    std::sort(events.begin(), events.end(), [](const Event& x, const Event& y) {
      return x.time != y.time ? x.time < y.time : x.kind < y.kind;
    });
    // Known elements are a prefix of the order up to `need`, plus elements absent from it.
    size_t need = 0;
    std::optional<size_t> need_by;  // pair that made order[need-1] known
    std::optional<size_t> unseen;   // an :ok append known but absent from every read
    for (const Event& ev : events) {
      const OpPair& p = pairs_[ev.pair];
      if (ev.kind == 0) {
        size_t reach = 0;
        if (p.f == "read") {
          reach = p.result_value.items.size();
        } else {
          auto it = pos_.find(edn::Write(p.invoke_value));
          if (it == pos_.end()) {
            if (!unseen) unseen = ev.pair;
            continue;
          }
          reach = it->second + 1;
        }
        if (reach > need) {
          need = reach;
          need_by = ev.pair;
        }
        continue;
      }
      size_t len = p.result_value.items.size();
      if (len < need) {
        Add("stale-read", FormatPair(p) + " misses elements known before it was invoked (from " +
                              FormatPair(pairs_[*need_by]) + ")");
      } else if (unseen) {
        Add("stale-read", FormatPair(p) + " misses the element of " + FormatPair(pairs_[*unseen]) +
                              ", which completed before it was invoked");
      }
    }
  }

  void CheckAppendOrder() {
    // Appends in observed order must not contradict real time: walking the order, no append
    // may have completed before an earlier-placed one was invoked.
    std::vector<size_t> observed;
    for (size_t a : ops_.appends) {
      if (pos_.count(edn::Write(pairs_[a].invoke_value)) != 0) observed.push_back(a);
    }
    std::sort(observed.begin(), observed.end(), [&](size_t x, size_t y) {
      return pos_.at(edn::Write(pairs_[x].invoke_value)) <
             pos_.at(edn::Write(pairs_[y].invoke_value));
    });
    // Suffix minimum of completion times: if some later-placed append completed before this
    // one was invoked, real time is violated.
    std::optional<size_t> min_ret;
    for (size_t k = observed.size(); k-- > 0;) {
      const OpPair& p = pairs_[observed[k]];
      if (min_ret && pairs_[*min_ret].ret < p.call) {
        Add("real-time-order", FormatPair(pairs_[*min_ret]) + " completed before " +
                                   FormatPair(p) + " was invoked, but is ordered after it");
      }
      if (!min_ret || p.ret < pairs_[*min_ret].ret) min_ret = observed[k];
    }
  }

  const std::string& key_;
  const KeyOps& ops_;
  const std::vector<OpPair>& pairs_;
  std::vector<Anomaly>* out_;
  std::unordered_map<std::string, size_t> append_of_;  // element text -> append pair
  std::unordered_map<std::string, size_t> pos_;        // element text -> position in order
};

}  // namespace

Result<AppendReport> CheckAppendHistory(const History& history) {
  auto pairs = PairOps(history);
  if (!pairs.ok()) return pairs.status();
  std::map<std::string, KeyOps> keys;
  AppendReport report;
  for (size_t i = 0; i < pairs->size(); ++i) {
    const OpPair& p = (*pairs)[i];
    if (p.f == "append") {
      keys[p.key].appends.push_back(i);
      ++report.appends;
    } else if (p.f == "read") {
      if (p.outcome != OpType::kOk) continue;
      if (!p.result_value.IsSequence() && !p.result_value.IsNil()) {
        return Status::InvalidArgument("read value is not a list: " + FormatPair(p));
      }
      keys[p.key].reads.push_back(i);
      ++report.reads;
    } else {
      return Status::InvalidArgument("append model has no operation :" + p.f);
    }
  }
  report.keys = keys.size();
  for (const auto& [key, ops] : keys) KeyChecker(key, ops, *pairs, &report.anomalies).Run();
  report.verdict = report.anomalies.empty() ? Verdict::kValid : Verdict::kInvalid;
  return report;
}

}  // namespace ringkv::jepsen
