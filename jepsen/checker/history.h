// The history model of the Jepsen-style checkers: a sequence of operation events (invocations
// and completions) in real-time order, and the pairing of each invocation with its completion.
//
// Real time: a history is ordered as Jepsen records it, by the time each event happened. The
// checkers use an event's position in the history as its time; `time_ns` is kept for output
// only. An operation A precedes B in real time iff A's completion comes before B's invocation.
//
// Thread-safety: plain value types; the functions are pure.
#ifndef RINGKV_JEPSEN_CHECKER_HISTORY_H_
#define RINGKV_JEPSEN_CHECKER_HISTORY_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "jepsen/checker/edn.h"

namespace ringkv::jepsen {

// Jepsen's :type. kOk: the operation took effect. kFail: it certainly did not. kInfo: unknown
// (it may have taken effect at any time after its invocation, or never).
enum class OpType { kInvoke, kOk, kFail, kInfo };

std::string_view OpTypeName(OpType t);  // "invoke", "ok", "fail", "info"
std::optional<OpType> ParseOpType(std::string_view name);

// Process id of the nemesis (Jepsen's `:process :nemesis`). Checkers ignore its events.
inline constexpr int64_t kNemesisProcess = -1;

// One event of a history.
struct Op {
  int64_t index = 0;    // Jepsen :index; strictly increasing along the history
  int64_t process = 0;  // client process id, or kNemesisProcess
  OpType type = OpType::kInvoke;
  std::string f;                   // operation name without ':' (read, write, cas, append, ...)
  std::optional<std::string> key;  // :key; absent for single-object histories
  edn::Value value;                // :value, as recorded
  int64_t time_ns = 0;             // :time (ns since the test start); 0 when not recorded
  // :version, on completions: the version of the key this operation wrote (writes) or observed
  // (reads), i.e. the log index that last wrote the key. Absent when the client doesn't know.
  std::optional<int64_t> version;

  friend bool operator==(const Op&, const Op&) = default;
};

using History = std::vector<Op>;

// "{:process 3, :type :ok, :f :read, :value 4}"-style one-line rendering (history.edn form).
std::string FormatOp(const Op& op);

// An invocation paired with its completion. `call`/`ret` are positions in the history (the
// checkers' clock); `ret == kNever` when the outcome is unknown (completed :info, or no
// completion at all).
struct OpPair {
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  int64_t process = 0;
  std::string f;
  std::string key;           // "" when the operation carries no :key
  edn::Value invoke_value;   // arguments as invoked
  edn::Value result_value;   // :value of the completion (nil if none)
  OpType outcome = OpType::kInfo;  // kOk, kFail or kInfo
  int64_t call = 0;
  int64_t ret = kNever;
  std::optional<int64_t> version;  // from the completion
  size_t invoke_pos = 0;           // position of the invocation in the history
  std::optional<size_t> complete_pos;
};

// Pairs every client invocation with the next event of the same process. Nemesis events are
// skipped. Returns kInvalidArgument when a completion has no pending invocation or a process
// invokes while one of its operations is pending (see well_formed.h for the full check).
Result<std::vector<OpPair>> PairOps(const History& history);

// One-line rendering of a pair: "p3 :cas [1 2] -> :ok" (plus key and version when present).
std::string FormatPair(const OpPair& op);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_HISTORY_H_
