// Well-formedness check; see well_formed.h.
#include "jepsen/checker/well_formed.h"

#include <unordered_map>
#include <unordered_set>

namespace ringkv::jepsen {

std::vector<std::string> CheckWellFormed(const History& history, size_t max_problems) {
  std::vector<std::string> problems;
  auto report = [&](size_t pos, const std::string& what) {
    if (problems.size() < max_problems) {
      problems.push_back("event " + std::to_string(pos) + " " + FormatOp(history[pos]) + ": " +
                         what);
    }
  };
  std::unordered_map<int64_t, size_t> pending;  // process -> position of its open invocation
  std::unordered_set<int64_t> crashed;          // processes that completed with :info
  for (size_t pos = 0; pos < history.size(); ++pos) {
    const Op& op = history[pos];
    if (pos > 0 && op.index <= history[pos - 1].index) {
      report(pos, "index not increasing (previous " + std::to_string(history[pos - 1].index) + ")");
    }
    if (op.process == kNemesisProcess) continue;
    if (crashed.count(op.process) != 0) {
      report(pos, "process appears after its :info (crashed) completion");
      continue;
    }
    auto it = pending.find(op.process);
    if (op.type == OpType::kInvoke) {
      if (it != pending.end()) {
        report(pos, "invocation while event " + std::to_string(it->second) + " is pending");
        it->second = pos;
      } else {
        pending.emplace(op.process, pos);
      }
      continue;
    }
    if (it == pending.end()) {
      report(pos, "completion without a pending invocation");
      continue;
    }
    const Op& inv = history[it->second];
    if (inv.f != op.f) report(pos, "completion :f differs from invocation :f :" + inv.f);
    if (inv.key != op.key) report(pos, "completion :key differs from its invocation's");
    if (op.type == OpType::kInfo) crashed.insert(op.process);
    pending.erase(it);
  }
  return problems;
}

}  // namespace ringkv::jepsen
