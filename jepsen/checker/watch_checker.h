// The watch checker: every change a watch delivered must be the committed history of its key,
// in order, without gaps, once — checked against the writes of the history.
//
// Inputs: the run's history (register workload: :write of a unique integer, :cas [old new])
// and, per watcher, the events it delivered for each key in delivery order, each with the
// version it was written at and the version it replaced (prev_version); and the final version
// of each key (a linearizable read after healing). Every watcher watched from the first
// version, so each key's chain starts at "absent" (prev_version 0).
//
// Anomalies, per watcher and key:
//   out-of-order / duplicate   versions not strictly increasing;
//   gap                        an event's prev_version is not the version delivered before it
//                              (a committed change between them was skipped);
//   incomplete                 the last event is not the key's final version;
//   phantom                    a delivered value no write of that key ever wrote, or one whose
//                              write failed (:fail);
//   wrong-version              a write acknowledged with version v delivered at another version;
//   lost                       an acknowledged write never delivered;
//   divergent                  two watchers delivered different (version, value) sequences.
//
// Thread-safety: pure functions.
#ifndef RINGKV_JEPSEN_CHECKER_WATCH_CHECKER_H_
#define RINGKV_JEPSEN_CHECKER_WATCH_CHECKER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "jepsen/checker/history.h"
#include "jepsen/checker/verdict.h"

namespace ringkv::jepsen {

struct WatchedEvent {
  bool is_delete = false;
  std::string value;  // the delivered value (puts)
  uint64_t version = 0;
  uint64_t prev_version = 0;
};

struct WatcherLog {
  int watcher = 0;
  // Events per key, in the order they were delivered.
  std::map<std::string, std::vector<WatchedEvent>> events;
};

struct WatchCheckResult {
  Verdict verdict = Verdict::kValid;
  std::vector<Anomaly> anomalies;
  size_t events = 0;  // delivered events checked, over all watchers
  std::string text;   // a human summary (first anomalies)
};

// `final_versions`: each written key's version after the run (keys never written may be
// absent). Keys a watcher delivered nothing for are checked too (incomplete when written).
WatchCheckResult CheckWatches(const History& history, const std::vector<WatcherLog>& logs,
                              const std::map<std::string, uint64_t>& final_versions);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_WATCH_CHECKER_H_
