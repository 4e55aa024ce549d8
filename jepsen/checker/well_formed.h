// Well-formedness of a history, checked before any consistency check: a malformed history is a
// harness bug, and checking it for linearizability would give a meaningless verdict.
//
// Thread-safety: pure function.
#ifndef RINGKV_JEPSEN_CHECKER_WELL_FORMED_H_
#define RINGKV_JEPSEN_CHECKER_WELL_FORMED_H_

#include <string>
#include <vector>

#include "jepsen/checker/history.h"

namespace ringkv::jepsen {

// Returns one line per problem (empty when well-formed). Rules, per client process (the nemesis
// is exempt from all but the index rule):
// - events alternate invoke, completion (:ok/:fail/:info), invoke, ...;
// - a completion has the same :f (and :key) as its invocation;
// - after an :info completion the process never appears again (Jepsen gives a crashed client a
//   fresh process id);
// - :index values are strictly increasing along the history.
// An invocation with no completion at the end of the history is allowed (unknown outcome).
// At most `max_problems` lines are returned (Default: 20).
std::vector<std::string> CheckWellFormed(const History& history, size_t max_problems = 20);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_WELL_FORMED_H_
