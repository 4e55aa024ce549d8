// HistoryRecorder: the node simulation's record of every client operation, as a Jepsen history
// (jepsen/checker/history.h) in the order the events happened on the virtual clock, ready for
// the project's own checkers (register linearizability per key, append).
//
// Thread-safety: not thread-safe; the simulation is single-threaded.
#ifndef RINGKV_TESTS_NODE_SIM_HISTORY_RECORDER_H_
#define RINGKV_TESTS_NODE_SIM_HISTORY_RECORDER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "jepsen/checker/history.h"
#include "jepsen/checker/verdict.h"

namespace ringkv::node_sim {

class HistoryRecorder {
 public:
  void Invoke(int64_t process, const std::string& f, const std::string& key,
              jepsen::edn::Value value, int64_t now_ms);
  // `type` is kOk, kFail or kInfo.
  void Complete(int64_t process, jepsen::OpType type, const std::string& f,
                const std::string& key, jepsen::edn::Value value,
                std::optional<int64_t> version, int64_t now_ms);

  const jepsen::History& history() const { return history_; }
  size_t operations() const { return invocations_; }

 private:
  jepsen::History history_;
  size_t invocations_ = 0;
};

// The verdict of the register (per-key linearizability) or append checker on `history`, and
// the checker's report (its last line is "verdict: ...").
struct HistoryVerdict {
  jepsen::Verdict verdict = jepsen::Verdict::kUnknown;
  std::string report;
};
HistoryVerdict CheckRegisterHistory(const jepsen::History& history);
HistoryVerdict CheckAppendHistory(const jepsen::History& history);

}  // namespace ringkv::node_sim

#endif  // RINGKV_TESTS_NODE_SIM_HISTORY_RECORDER_H_
