// Wing-Gong-Lowe linearizability search for one object (one key), in the variant of Lowe,
// "Testing for linearizability" (2017), as implemented by Porcupine: the history is a
// doubly-linked list of call and return entries in real-time order; the search repeatedly
// tries to linearize a pending call entry at the head of the list (lifting it and its return
// entry out of the list), and backtracks when it reaches a return entry whose operation has not
// been linearized. Configurations (set of linearized operations, model state) already explored
// are memoized, which makes the search polynomial on most real histories. A configuration is
// also pruned when a memoized one has the same state and completed ops linearized and a subset
// of its unknown-outcome ops: it can do nothing the smaller one cannot (see ConfigMemo).
//
// Unknown outcomes: an operation with `ret == kNever` has no return entry. It may be linearized
// at any point after its call, or never: the search succeeds as soon as every operation with a
// return entry is linearized.
//
// Thread-safety: WglSearch is reentrant; `model` is used by one search at a time.
#ifndef RINGKV_JEPSEN_CHECKER_WGL_H_
#define RINGKV_JEPSEN_CHECKER_WGL_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jepsen/checker/verdict.h"

namespace ringkv::jepsen {

// An operation compiled for a model: `kind` and interned arguments `a`, `b` mean whatever the
// model says. `call` < `ret` are event positions; `ret == kNever` for an unknown outcome.
struct SearchOp {
  static constexpr int64_t kNever = INT64_MAX;
  int64_t call = 0;
  int64_t ret = kNever;
  uint32_t kind = 0;
  uint32_t a = 0;
  uint32_t b = 0;
  size_t pair = 0;  // caller's handle (index of the OpPair), carried into explanations
  bool read_only = false;  // observes the state without changing it (used by the version path)
};

// A sequential specification over interned states.
class Model {
 public:
  virtual ~Model() = default;
  virtual uint32_t Init() = 0;
  // Applies `op` in `state`. Returns false when `op` (with its observed result) cannot happen
  // in `state`; else sets *next.
  virtual bool Step(uint32_t state, const SearchOp& op, uint32_t* next) = 0;
  virtual std::string DescribeState(uint32_t state) const = 0;
};

struct SearchOptions {
  // The search gives up with kUnknown after this instant.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // And when the memo holds more than this many bytes of configurations. Default: 1 GiB.
  size_t max_cache_bytes = size_t{1} << 30;
  // And after this many model steps (deterministic budget; see CheckLinearizability).
  uint64_t max_steps = UINT64_MAX;
};

struct SearchResult {
  Verdict verdict = Verdict::kUnknown;
  // kValid: a linearization (indices into `ops`; unknown-outcome operations left out never took
  // effect). Otherwise the longest linearizable prefix found.
  std::vector<size_t> order;
  // kInvalid/kUnknown: the operation whose return was reached without it being linearizable
  // after `order` (nullopt if the search never backtracked).
  std::optional<size_t> stuck;
  // Other operations still pending at that point (called, not linearized); none could be
  // linearized next either without a dead end.
  std::vector<size_t> pending;
  uint32_t state_after_order = 0;  // model state after `order`
  uint64_t steps = 0;              // model steps taken
  size_t cache_entries = 0;        // configurations memoized
  std::string reason;              // kUnknown: why the search stopped
  bool out_of_steps = false;       // kUnknown because of max_steps (may be retried with more)
};

// Decides whether `ops` (one object's operations, any order) is linearizable w.r.t. `model`.
// REQUIRES: call < ret for every op; event positions are distinct.
SearchResult WglSearch(const std::vector<SearchOp>& ops, Model& model,
                       const SearchOptions& options);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_WGL_H_
