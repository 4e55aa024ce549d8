// One entry point for all checkers, used by the ringkv-check CLI and by the cluster harness:
// reads a history file, checks well-formedness, runs the chosen checker and renders the result
// as text and JSON.
//
// Thread-safety: pure function of its inputs (reads one file).
#ifndef RINGKV_JEPSEN_CHECKER_CHECK_H_
#define RINGKV_JEPSEN_CHECKER_CHECK_H_

#include <optional>
#include <string>
#include <string_view>

#include "jepsen/checker/history.h"
#include "jepsen/checker/linearizability.h"
#include "jepsen/checker/verdict.h"

namespace ringkv::jepsen {

enum class CheckModel { kRegister, kAppend, kSet, kKv };

// "register", "append", "set", "kv"; nullopt otherwise.
std::optional<CheckModel> ParseCheckModel(std::string_view name);

struct CheckRequest {
  CheckModel model = CheckModel::kRegister;
  std::string history_path;
  LinearizabilityOptions linearizability;  // register and kv only
};

struct CheckOutcome {
  // kUnknown also when the file can't be read or parsed, or the history is malformed.
  Verdict verdict = Verdict::kUnknown;
  std::string text;  // human-readable report, ends with "verdict: <valid|invalid|unknown>"
  std::string json;  // {"verdict": ..., "model": ..., "anomalies"/"keys": ..., "errors": [...]}
};

// Checks a history already in memory.
CheckOutcome RunCheckOnHistory(CheckModel model, const History& history,
                               const LinearizabilityOptions& options);

// Reads request.history_path (see ReadHistoryFile) and checks it.
CheckOutcome RunCheck(const CheckRequest& request);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_CHECK_H_
