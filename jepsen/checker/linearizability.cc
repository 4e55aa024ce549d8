// Per-key linearizability; see linearizability.h.
#include "jepsen/checker/linearizability.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

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
  for (const auto& [key, indices] : by_key) {
    auto model = NewModel(kind);
    std::vector<SearchOp> ops;
    for (size_t i : indices) RETURN_IF_ERROR(model->Compile(report.pairs, i, &ops));
    KeyReport kr;
    kr.key = key;
    kr.ops = ops.size();
    Clock::time_point start = Clock::now();
    if (options.use_versions && ProvenByVersions(ops, report.pairs, *model)) {
      kr.verdict = Verdict::kValid;
      kr.by_versions = true;
    } else {
      SearchOptions so;
      so.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(options.time_limit_per_key_s));
      so.max_cache_bytes = options.max_cache_bytes;
      SearchResult r = WglSearch(ops, *model, so);
      kr.verdict = r.verdict;
      kr.steps = r.steps;
      kr.cache_entries = r.cache_entries;
      if (r.verdict != Verdict::kValid) Explain(r, ops, report.pairs, *model, options, &kr);
    }
    kr.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    report.verdict = CombineVerdicts(report.verdict, kr.verdict);
    report.keys.push_back(std::move(kr));
  }
  return report;
}

std::string FormatLinearizability(const LinearizabilityReport& report) {
  std::string out;
  for (const KeyReport& k : report.keys) {
    char secs[32];
    std::snprintf(secs, sizeof(secs), "%.3f", k.seconds);
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
