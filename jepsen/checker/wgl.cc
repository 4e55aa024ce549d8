// Wing-Gong-Lowe search; see wgl.h.
#include "jepsen/checker/wgl.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <unordered_map>

#include "common/random.h"

namespace ringkv::jepsen {
namespace {

// The memo of explored configurations. A configuration is (model state, set of linearized
// completed ops, set of linearized unknown-outcome ops). The completed-op set is stored
// compressed as the words between `lo` (first word not all ones) and `hi` (last non-zero word):
// ops are numbered in call order, so long histories keep a narrow window of partly-linearized
// ops and an entry stays small however long the history is.
//
// Subsumption: configuration X = (s, C, U) is pruned when the memo holds Y = (s, C, U') with
// U' a subset of U. Y can make every move X can (an unknown-outcome op has no return entry, so
// the extra unlinearized calls in Y's list never block it, and the state is the same), reaching
// a configuration that again differs only by unknown-outcome ops; so if X can finish, Y can, in
// as many moves. Y is either a dead end or on the search path, where its other branches cover
// X's. This cuts some of the configurations that differ only in which crashed ops took effect
// (up to 2^k for k pending ones); how many depends on the order the search meets them. The
// models drop most such ops before the search (CompilingModel::DropNeedless).
class ConfigMemo {
 public:
  // Returns true when no configuration in the memo subsumes this one (and inserts it).
  // `hash` must not depend on `unknown`.
  bool Insert(uint64_t hash, uint32_t state, int32_t lo, int32_t hi, const uint64_t* completed,
              const std::vector<uint64_t>& unknown) {
    size_t window = hi >= lo ? static_cast<size_t>(hi - lo + 1) : 0;
    auto [it, fresh] = heads_.try_emplace(hash, kNone);
    for (uint32_t e = it->second; e != kNone; e = entries_[e].next) {
      const Entry& en = entries_[e];
      if (en.state != state || en.lo != lo || en.hi != hi) continue;
      const uint64_t* words = arena_.data() + en.offset;
      if (window > 0 && std::memcmp(words, completed + lo, window * 8) != 0) continue;
      if (Subset(words + window, unknown)) return false;
    }
    Entry en{state, lo, hi, it->second, arena_.size()};
    if (window > 0) arena_.insert(arena_.end(), completed + lo, completed + lo + window);
    arena_.insert(arena_.end(), unknown.begin(), unknown.end());
    it->second = static_cast<uint32_t>(entries_.size());
    entries_.push_back(en);
    return true;
  }
  size_t size() const { return entries_.size(); }
  size_t bytes() const {
    return entries_.size() * (sizeof(Entry) + 24) + arena_.capacity() * sizeof(uint64_t);
  }

 private:
  static bool Subset(const uint64_t* stored, const std::vector<uint64_t>& unknown) {
    for (size_t w = 0; w < unknown.size(); ++w) {
      if ((stored[w] & ~unknown[w]) != 0) return false;
    }
    return true;
  }

  static constexpr uint32_t kNone = UINT32_MAX;
  struct Entry {
    uint32_t state;
    int32_t lo;
    int32_t hi;
    uint32_t next;  // next entry with the same hash, or kNone
    size_t offset;  // of this entry's words in arena_
  };
  std::vector<Entry> entries_;
  std::vector<uint64_t> arena_;
  std::unordered_map<uint64_t, uint32_t> heads_;
};

class Searcher {
 public:
  Searcher(const std::vector<SearchOp>& ops, Model& model, const SearchOptions& options)
      : ops_(ops), model_(model), options_(options) {}

  SearchResult Run() {
    Build();
    SearchResult result;
    uint32_t state = model_.Init();
    std::vector<std::pair<int32_t, uint32_t>> stack;  // (lifted call node, state before it)
    int32_t entry = next_[0];
    uint64_t iterations = 0;
    while (true) {
      if (remaining_ == 0) {
        result.verdict = Verdict::kValid;
        for (const auto& [node, unused] : stack) result.order.push_back(orig_[node_op_[node]]);
        result.state_after_order = state;
        break;
      }
      if ((++iterations & 1023) == 0) {
        if (std::chrono::steady_clock::now() > options_.deadline) {
          return Stop(std::move(result), "time limit exceeded");
        }
        if (memo_.bytes() > options_.max_cache_bytes) {
          return Stop(std::move(result), "memo size limit exceeded");
        }
      }
      if (steps_ >= options_.max_steps) {
        result.out_of_steps = true;
        return Stop(std::move(result), "step limit exceeded");
      }
      // While a completed op is unlinearized its return node is in the list, so the walk
      // reaches a return node before running off the end.
      int32_t op = node_op_[entry];
      if (node_is_call_[entry]) {
        uint32_t next_state = 0;
        ++steps_;
        if (model_.Step(state, ops_[orig_[op]], &next_state)) {
          SetBit(op);
          if (memo_.Insert(hash_ ^ MixState(next_state), next_state, lo_, hi_, cbits_.data(),
                           ibits_)) {
            stack.emplace_back(entry, state);
            state = next_state;
            Lift(entry);
            if (completed_[op]) --remaining_;
            entry = next_[0];
            continue;
          }
          ClearBit(op);
        }
        entry = next_[entry];
        continue;
      }
      RecordBest(entry, state, stack);
      if (stack.empty()) {
        result.verdict = Verdict::kInvalid;
        break;
      }
      auto [node, prev_state] = stack.back();
      stack.pop_back();
      state = prev_state;
      int32_t popped = node_op_[node];
      ClearBit(popped);
      Unlift(node);
      if (completed_[popped]) ++remaining_;
      entry = next_[node];
    }
    if (result.verdict == Verdict::kInvalid) FillBest(&result);
    result.steps = steps_;
    result.cache_entries = memo_.size();
    return result;
  }

 private:
  SearchResult Stop(SearchResult result, std::string reason) {
    result.verdict = Verdict::kUnknown;
    result.reason = std::move(reason);
    FillBest(&result);
    result.steps = steps_;
    result.cache_entries = memo_.size();
    return result;
  }

  void FillBest(SearchResult* result) const {
    result->order = best_order_;
    result->stuck = best_stuck_;
    result->pending = best_pending_;
    result->state_after_order = best_state_;
  }

  static uint64_t MixState(uint32_t s) {
    uint64_t z = (uint64_t{s} + 1) * 0x9E3779B97F4A7C15ull;
    return z ^ (z >> 29);
  }

  void Build() {
    size_t n = ops_.size();
    orig_.resize(n);
    std::iota(orig_.begin(), orig_.end(), 0);
    std::stable_sort(orig_.begin(), orig_.end(),
                     [&](size_t x, size_t y) { return ops_[x].call < ops_[y].call; });
    completed_.resize(n);
    slot_.resize(n);
    zobrist_.resize(n);
    Random rng(0x5EEDF00Dull + n);
    int32_t nc = 0;
    int32_t ni = 0;
    for (size_t i = 0; i < n; ++i) {
      completed_[i] = ops_[orig_[i]].ret != SearchOp::kNever;
      slot_[i] = completed_[i] ? nc++ : ni++;
      zobrist_[i] = rng.Next();
    }
    remaining_ = nc;
    cwords_ = (nc + 63) / 64;
    cbits_.assign(cwords_, 0);
    ibits_.assign((ni + 63) / 64, 0);
    last_mask_ = nc % 64 == 0 ? ~uint64_t{0} : (uint64_t{1} << (nc % 64)) - 1;
    lo_ = 0;
    hi_ = -1;
    while (lo_ < cwords_ && Full(lo_)) ++lo_;

    // Events in time order; node 0 is the list head.
    struct Event {
      int64_t time;
      int32_t op;
      bool call;
    };
    std::vector<Event> events;
    for (size_t i = 0; i < n; ++i) {
      events.push_back({ops_[orig_[i]].call, static_cast<int32_t>(i), true});
      if (completed_[i]) events.push_back({ops_[orig_[i]].ret, static_cast<int32_t>(i), false});
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& x, const Event& y) { return x.time < y.time; });
    size_t nodes = events.size() + 1;
    next_.assign(nodes, -1);
    prev_.assign(nodes, -1);
    node_op_.assign(nodes, -1);
    node_is_call_.assign(nodes, false);
    ret_node_.assign(n, -1);
    for (size_t k = 0; k < events.size(); ++k) {
      int32_t node = static_cast<int32_t>(k + 1);
      node_op_[node] = events[k].op;
      node_is_call_[node] = events[k].call;
      if (!events[k].call) ret_node_[events[k].op] = node;
      prev_[node] = node - 1;
      next_[node - 1] = node;
    }
  }

  bool Full(int32_t w) const { return cbits_[w] == (w == cwords_ - 1 ? last_mask_ : ~uint64_t{0}); }

  void SetBit(int32_t op) {
    int32_t s = slot_[op];
    if (!completed_[op]) {
      ibits_[s / 64] |= uint64_t{1} << (s % 64);
      return;
    }
    hash_ ^= zobrist_[op];
    int32_t w = s / 64;
    cbits_[w] |= uint64_t{1} << (s % 64);
    if (w == lo_) {
      while (lo_ < cwords_ && Full(lo_)) ++lo_;
    }
    hi_ = std::max(hi_, w);
  }

  void ClearBit(int32_t op) {
    int32_t s = slot_[op];
    if (!completed_[op]) {
      ibits_[s / 64] &= ~(uint64_t{1} << (s % 64));
      return;
    }
    hash_ ^= zobrist_[op];
    int32_t w = s / 64;
    cbits_[w] &= ~(uint64_t{1} << (s % 64));
    lo_ = std::min(lo_, w);
    if (w == hi_) {
      while (hi_ >= 0 && cbits_[hi_] == 0) --hi_;
    }
  }

  void Unlink(int32_t node) {
    next_[prev_[node]] = next_[node];
    if (next_[node] != -1) prev_[next_[node]] = prev_[node];
  }
  void Relink(int32_t node) {
    next_[prev_[node]] = node;
    if (next_[node] != -1) prev_[next_[node]] = node;
  }
  void Lift(int32_t call_node) {
    Unlink(call_node);
    int32_t ret = ret_node_[node_op_[call_node]];
    if (ret != -1) Unlink(ret);
  }
  void Unlift(int32_t call_node) {
    int32_t ret = ret_node_[node_op_[call_node]];
    if (ret != -1) Relink(ret);
    Relink(call_node);
  }

  // Remembers the deepest dead end for the explanation.
  void RecordBest(int32_t ret_node, uint32_t state,
                  const std::vector<std::pair<int32_t, uint32_t>>& stack) {
    if (best_stuck_ && stack.size() <= best_order_.size()) return;
    best_order_.clear();
    for (const auto& [node, unused] : stack) best_order_.push_back(orig_[node_op_[node]]);
    best_stuck_ = orig_[node_op_[ret_node]];
    best_state_ = state;
    best_pending_.clear();
    for (int32_t e = next_[0]; e != ret_node && e != -1; e = next_[e]) {
      if (node_is_call_[e] && node_op_[e] != node_op_[ret_node]) {
        best_pending_.push_back(orig_[node_op_[e]]);
      }
    }
  }

  const std::vector<SearchOp>& ops_;
  Model& model_;
  const SearchOptions& options_;

  // Per internal op (numbered in call order).
  std::vector<size_t> orig_;      // index into ops_
  std::vector<bool> completed_;   // has a return entry
  std::vector<int32_t> slot_;     // bit index in cbits_ (completed) or ibits_ (unknown)
  std::vector<uint64_t> zobrist_;
  std::vector<int32_t> ret_node_;  // -1 for unknown outcomes

  // The entry list (dancing links); node 0 is the head.
  std::vector<int32_t> next_, prev_, node_op_;
  std::vector<bool> node_is_call_;

  // Linearized set: completed ops in cbits_ (window [lo_, hi_]), unknown ones in ibits_.
  std::vector<uint64_t> cbits_, ibits_;
  int32_t cwords_ = 0;
  uint64_t last_mask_ = 0;
  int32_t lo_ = 0, hi_ = -1;
  uint64_t hash_ = 0;      // Zobrist hash of the linearized completed ops
  int32_t remaining_ = 0;  // completed ops not yet linearized

  ConfigMemo memo_;
  uint64_t steps_ = 0;
  std::vector<size_t> best_order_, best_pending_;
  std::optional<size_t> best_stuck_;
  uint32_t best_state_ = 0;
};

}  // namespace

SearchResult WglSearch(const std::vector<SearchOp>& ops, Model& model,
                       const SearchOptions& options) {
  return Searcher(ops, model, options).Run();
}

}  // namespace ringkv::jepsen
