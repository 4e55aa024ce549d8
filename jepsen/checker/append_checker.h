// Checker for append-list histories (Elle's list-append model without transactions): per key a
// list; :append adds one element (unique per key) atomically at the end; :read returns the
// whole list (nil = empty).
//
// Anomalies (each makes the history invalid):
// - duplicated: an element appears twice in one read;
// - phantom: a read holds an element never appended;
// - failed-observed: a read holds an element whose append :fail-ed, i.e. a write the client
//   was told definitely did not happen took effect (issue 10: a retry of an applied write
//   answered with a definite error);
// - incompatible-order: two reads of a key are not prefixes of one order;
// - lost: an :ok append that completed before the key's final read (latest invocation) was
//   invoked is missing from it;
// - stale-read: a read misses an element whose :ok append completed before the read was
//   invoked, or that a read completed before it was invoked had returned (real-time);
// - real-time-order: appends A then B in real time (A completed before B invoked) but B is
//   before A in the observed order.
// :info appends may or may not appear; unknown-outcome and failed reads are ignored.
//
// Thread-safety: pure function.
#ifndef RINGKV_JEPSEN_CHECKER_APPEND_CHECKER_H_
#define RINGKV_JEPSEN_CHECKER_APPEND_CHECKER_H_

#include <vector>

#include "common/result.h"
#include "jepsen/checker/history.h"
#include "jepsen/checker/verdict.h"

namespace ringkv::jepsen {

struct AppendReport {
  Verdict verdict = Verdict::kValid;
  std::vector<Anomaly> anomalies;
  size_t keys = 0, appends = 0, reads = 0;
};

// Returns kInvalidArgument when the history can't be paired or holds other operations than
// :append and :read, or a read value that isn't a sequence.
Result<AppendReport> CheckAppendHistory(const History& history);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_APPEND_CHECKER_H_
