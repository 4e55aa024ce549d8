// Per-key linearizability; see linearizability.h.
#include "jepsen/checker/linearizability.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "common/status_macros.h"

namespace ringkv::jepsen {
namespace {

using Clock = std::chrono::steady_clock;

// The version fast path: builds a candidate linearization from the versions the completed
// operations returned, and verifies it against the model and real time. Only a verified witness
// is trusted, so wrong versions can never make an invalid history pass; when the witness fails
// the caller falls back to the full search. Unknown-outcome operations are left out of the
// witness (they are allowed to never take effect).
bool ProvenByVersions(const std::vector<SearchOp>& ops, const std::vector<OpPair>& pairs,
                      Model& model) {
  std::vector<const SearchOp*> order;
  for (const SearchOp& op : ops) {
    if (op.ret == SearchOp::kNever) continue;
    if (!pairs[op.pair].version) return false;
    order.push_back(&op);
  }
  if (order.empty()) return false;
  // A mutation creates its version; reads of that version follow it.
  std::sort(order.begin(), order.end(), [&](const SearchOp* x, const SearchOp* y) {
    int64_t vx = *pairs[x->pair].version, vy = *pairs[y->pair].version;
    if (vx != vy) return vx < vy;
    if (x->read_only != y->read_only) return !x->read_only;
    return x->call < y->call;
  });
  uint32_t state = model.Init();
  int64_t max_call = -1;
  for (const SearchOp* op : order) {
    // Real time: no earlier-placed op may have been invoked after this one returned.
    if (max_call > op->ret) return false;
    max_call = std::max(max_call, op->call);
    uint32_t next = 0;
    if (!model.Step(state, *op, &next)) return false;
    state = next;
  }
  return true;
}

void Explain(const SearchResult& r, const std::vector<SearchOp>& ops,
             const std::vector<OpPair>& pairs, const CompilingModel& model,
             const LinearizabilityOptions& options, KeyReport* out) {
  auto line = [&](const SearchOp& op) {
    return "  " + FormatPair(pairs[op.pair]) + "   {" + model.DescribeOp(op) + "}";
  };
  std::vector<std::string>& ex = out->explanation;
  if (r.verdict == Verdict::kUnknown) {
    ex.push_back("search stopped: " + r.reason + "; deepest point reached so far:");
  }
  if (!r.stuck) return;
  size_t shown = std::min(options.explain_prefix_ops, r.order.size());
  ex.push_back("longest linearizable prefix: " + std::to_string(r.order.size()) + " ops" +
               (shown < r.order.size() ? " (last " + std::to_string(shown) + " shown)" : "") +
               ":");
  for (size_t k = r.order.size() - shown; k < r.order.size(); ++k) ex.push_back(line(ops[r.order[k]]));
  ex.push_back("state after the prefix: " + model.DescribeState(r.state_after_order));
  ex.push_back("could not linearize:");
  ex.push_back(line(ops[*r.stuck]));
  if (!r.pending.empty()) {
    ex.push_back("other concurrent ops pending at that point (none leads to a linearization):");
    for (size_t k = 0; k < r.pending.size() && k < options.explain_prefix_ops; ++k) {
      ex.push_back(line(ops[r.pending[k]]));
    }
  }
  for (size_t k : r.order) out->prefix.push_back(ops[k].pair);
  out->stuck = ops[*r.stuck].pair;
}

}  // namespace

Result<LinearizabilityReport> CheckLinearizability(const History& history, LinearModelKind kind,
                                                   const LinearizabilityOptions& options) {
  LinearizabilityReport report;
  auto pairs = PairOps(history);
  if (!pairs.ok()) return pairs.status();
  report.pairs = std::move(pairs).value();
  std::map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < report.pairs.size(); ++i) by_key[report.pairs[i].key].push_back(i);

  struct Work {
    std::unique_ptr<CompilingModel> model;
    std::vector<SearchOp> ops;
    bool decided = false;
  };
  std::vector<Work> work;
  for (const auto& [key, indices] : by_key) {
    Work w{NewModel(kind), {}, false};
    for (size_t i : indices) RETURN_IF_ERROR(w.model->Compile(report.pairs, i, &w.ops));
    w.model->DropNeedless(&w.ops);
    KeyReport kr;
    kr.key = key;
    kr.ops = w.ops.size();
    Clock::time_point start = Clock::now();
    if (options.use_versions && ProvenByVersions(w.ops, report.pairs, *w.model)) {
      kr.verdict = Verdict::kValid;
      kr.by_versions = true;
      w.decided = true;
    }
    kr.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    report.keys.push_back(std::move(kr));
    work.push_back(std::move(w));
  }

  // Rounds of searches with a growing step budget, so that a key that is quick to decide is
  // decided before a slow one uses up its time (and, when it is invalid, ends the check).
  bool found_invalid = false;
  for (uint64_t steps = options.first_round_steps;; steps = steps > UINT64_MAX / 8 ? UINT64_MAX
                                                                                : steps * 8) {
    bool undecided = false;
    // Every round completes, so all keys get at least the first round's budget.
    bool skip_rest = found_invalid && options.stop_at_first_invalid;
    for (size_t k = 0; k < work.size(); ++k) {
      Work& w = work[k];
      KeyReport& kr = report.keys[k];
      if (w.decided) continue;
      if (skip_rest) {
        kr.skipped = true;
        kr.verdict = Verdict::kUnknown;
        kr.explanation = {"not checked: another key is already not linearizable"};
        w.decided = true;
        continue;
      }
      SearchOptions so;
      Clock::time_point start = Clock::now();
      double left = std::max(0.0, options.time_limit_per_key_s - kr.seconds);
      so.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(left));
      so.max_cache_bytes = options.max_cache_bytes;
      so.max_steps = steps;
      SearchResult r = WglSearch(w.ops, *w.model, so);
      kr.seconds += std::chrono::duration<double>(Clock::now() - start).count();
      kr.steps = r.steps;
      kr.cache_entries = r.cache_entries;
      if (r.out_of_steps) {
        undecided = true;
        continue;
      }
      w.decided = true;
      kr.verdict = r.verdict;
      found_invalid |= r.verdict == Verdict::kInvalid;
      if (r.verdict != Verdict::kValid) Explain(r, w.ops, report.pairs, *w.model, options, &kr);
    }
    if (!undecided) break;
  }
  for (const KeyReport& kr : report.keys) report.verdict = CombineVerdicts(report.verdict, kr.verdict);
  return report;
}

std::string FormatLinearizability(const LinearizabilityReport& report) {
  std::string out;
  for (const KeyReport& k : report.keys) {
    char secs[32];
    std::snprintf(secs, sizeof(secs), "%.3f", k.seconds);
    if (k.skipped) {
      out += "key " + edn::Write(edn::Value::String(k.key)) + ": not checked (" +
             std::to_string(k.ops) + " ops; another key is already invalid)\n";
      continue;
    }
    out += "key " + edn::Write(edn::Value::String(k.key)) + ": " +
           std::string(VerdictName(k.verdict)) + " (" + std::to_string(k.ops) + " ops, " +
           (k.by_versions ? std::string("by versions")
                          : std::to_string(k.steps) + " steps, " +
                                std::to_string(k.cache_entries) + " configurations") +
           ", " + secs + " s)\n";
    for (const std::string& line : k.explanation) out += "  " + line + "\n";
  }
  out += "linearizable: " + std::string(VerdictName(report.verdict)) + "\n";
  return out;
}

}  // namespace ringkv::jepsen
