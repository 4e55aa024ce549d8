// The verdict shared by all checkers.
//
// Thread-safety: plain values.
#ifndef RINGKV_JEPSEN_CHECKER_VERDICT_H_
#define RINGKV_JEPSEN_CHECKER_VERDICT_H_

#include <string>
#include <string_view>

namespace ringkv::jepsen {

// kUnknown: the checker ran out of its budget (or could not check); a run with an unknown
// verdict fails, like an invalid one, but is reported differently.
enum class Verdict { kValid, kInvalid, kUnknown };

inline std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kValid: return "valid";
    case Verdict::kInvalid: return "invalid";
    case Verdict::kUnknown: return "unknown";
  }
  return "?";
}

// Combines per-part verdicts: any invalid -> invalid, else any unknown -> unknown, else valid.
inline Verdict CombineVerdicts(Verdict a, Verdict b) {
  if (a == Verdict::kInvalid || b == Verdict::kInvalid) return Verdict::kInvalid;
  if (a == Verdict::kUnknown || b == Verdict::kUnknown) return Verdict::kUnknown;
  return Verdict::kValid;
}

// One anomaly found by the append-list or set checker.
struct Anomaly {
  std::string kind;    // e.g. "lost", "stale-read", "phantom", "duplicated"
  std::string key;     // "" for single-object histories
  std::string detail;  // printable: the element and the operations involved
};

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_VERDICT_H_
