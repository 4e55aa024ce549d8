// Per-key linearizability checking (P-compositionality: linearizability is local, so a history
// of independent keys is linearizable iff each key's sub-history is; Herlihy & Wing 1990).
// Each key is decided by the version fast path when it applies, else by WglSearch under an
// explicit time budget; a key whose budget runs out is `unknown`.
//
// Thread-safety: pure function of its inputs.
#ifndef RINGKV_JEPSEN_CHECKER_LINEARIZABILITY_H_
#define RINGKV_JEPSEN_CHECKER_LINEARIZABILITY_H_

#include <string>
#include <vector>

#include "common/result.h"
#include "jepsen/checker/history.h"
#include "jepsen/checker/models.h"
#include "jepsen/checker/verdict.h"

namespace ringkv::jepsen {

struct LinearizabilityOptions {
  // Time budget of the search for one key, in seconds. Default: 60.
  double time_limit_per_key_s = 60;
  // Memo size budget for one key, in bytes. Default: 1 GiB.
  size_t max_cache_bytes = size_t{1} << 30;
  // Try the version fast path (see README "Fast path") before searching. Default: true.
  bool use_versions = true;
  // Stop as soon as one key is invalid (the overall verdict is then known); keys not decided
  // yet are reported `unknown` with `skipped` set. Default: true.
  bool stop_at_first_invalid = true;
  // Model steps of the first round of searches; each further round multiplies it by 8 (see
  // README "Budget"). Default: 65536.
  uint64_t first_round_steps = 65536;
  // Operations of the prefix shown in an explanation (the last ones). Default: 12.
  size_t explain_prefix_ops = 12;
};

struct KeyReport {
  std::string key;
  Verdict verdict = Verdict::kUnknown;
  size_t ops = 0;             // operations that entered the check (after dropping :fail etc.)
  bool by_versions = false;   // proven linearizable by the version fast path
  uint64_t steps = 0;         // model steps of the search
  size_t cache_entries = 0;   // configurations memoized
  double seconds = 0;          // search time, summed over rounds
  bool skipped = false;        // not decided: another key was invalid first
  // kInvalid/kUnknown: printable explanation, one line per entry (see FormatLinearizability).
  std::vector<std::string> explanation;
  // kInvalid/kUnknown: the longest linearizable prefix (indices into the OpPair list) and the
  // operation that could not be linearized after it.
  std::vector<size_t> prefix;
  std::optional<size_t> stuck;
};

struct LinearizabilityReport {
  Verdict verdict = Verdict::kValid;
  std::vector<KeyReport> keys;  // sorted by key
  std::vector<OpPair> pairs;    // the paired operations the indices above refer to
};

// Checks `history` against `model` key by key. Returns kInvalidArgument when the history can't
// be paired (see PairOps) or holds an operation the model doesn't know.
Result<LinearizabilityReport> CheckLinearizability(const History& history, LinearModelKind model,
                                                   const LinearizabilityOptions& options);

// Human-readable report: one line per key verdict, explanations of failed keys, overall verdict.
std::string FormatLinearizability(const LinearizabilityReport& report);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_LINEARIZABILITY_H_
