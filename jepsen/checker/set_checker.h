// Checker for set histories (Jepsen's set-full, simplified): :add inserts one unique element;
// :read returns all elements (a set or a sequence). Per key (:key, or one set when absent).
//
// For an element e, "known" is the earliest of: its :ok add completed, a read containing it
// completed. Anomalies (each makes the history invalid):
// - unexpected: a read holds an element never added;
// - failed-observed: a read holds an element whose add :fail-ed (a definite failure that took
//   effect);
// - duplicated: a read returns an element twice;
// - lost: e was known before the final read (latest invocation) was invoked, but is missing
//   from it;
// - stale: e was known before some read was invoked and is missing from that read, but present
//   again in the final read (a stale read; with linearizable reads this can't happen).
// :info adds may or may not appear; only :ok reads are used.
//
// Thread-safety: pure function.
#ifndef RINGKV_JEPSEN_CHECKER_SET_CHECKER_H_
#define RINGKV_JEPSEN_CHECKER_SET_CHECKER_H_

#include <vector>

#include "common/result.h"
#include "jepsen/checker/history.h"
#include "jepsen/checker/verdict.h"

namespace ringkv::jepsen {

struct SetReport {
  Verdict verdict = Verdict::kValid;
  std::vector<Anomaly> anomalies;
  size_t keys = 0, adds = 0, reads = 0;
};

// Returns kInvalidArgument when the history can't be paired, holds other operations than :add
// and :read, or a read value that isn't a set or sequence.
Result<SetReport> CheckSetHistory(const History& history);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_SET_CHECKER_H_
