// History model helpers; see history.h.
#include "jepsen/checker/history.h"

#include <unordered_map>

namespace ringkv::jepsen {

std::string_view OpTypeName(OpType t) {
  switch (t) {
    case OpType::kInvoke: return "invoke";
    case OpType::kOk: return "ok";
    case OpType::kFail: return "fail";
    case OpType::kInfo: return "info";
  }
  return "?";
}

std::optional<OpType> ParseOpType(std::string_view name) {
  if (name == "invoke") return OpType::kInvoke;
  if (name == "ok") return OpType::kOk;
  if (name == "fail") return OpType::kFail;
  if (name == "info") return OpType::kInfo;
  return std::nullopt;
}

std::string FormatOp(const Op& op) {
  std::string out = "{:type :" + std::string(OpTypeName(op.type));
  // An op without :f (it is optional) writes none: ":f :" would not read back (found by the
  // edn_history fuzz target; regression input fuzz/corpus/edn_history/regress-op-without-f).
  // An :f read from a string that is no keyword name (a comma, a space...) stays a string: as
  // a keyword it would read back as several values (edn_history fuzz target; regression input
  // fuzz/corpus/edn_history/regress-f-string-with-delimiter).
  if (!op.f.empty()) {
    out += ", :f " + (edn::IsKeywordName(op.f) ? ":" + op.f : edn::Write(edn::Value::String(op.f)));
  }
  if (op.key) out += ", :key " + edn::Write(edn::Value::String(*op.key));
  out += ", :value " + edn::Write(op.value);
  out += ", :process " +
         (op.process == kNemesisProcess ? std::string(":nemesis") : std::to_string(op.process));
  out += ", :time " + std::to_string(op.time_ns);
  out += ", :index " + std::to_string(op.index);
  if (op.version) out += ", :version " + std::to_string(*op.version);
  out += "}";
  return out;
}

Result<std::vector<OpPair>> PairOps(const History& history) {
  std::vector<OpPair> pairs;
  std::unordered_map<int64_t, size_t> pending;  // process -> index into pairs
  for (size_t pos = 0; pos < history.size(); ++pos) {
    const Op& op = history[pos];
    if (op.process == kNemesisProcess) continue;
    auto it = pending.find(op.process);
    if (op.type == OpType::kInvoke) {
      if (it != pending.end()) {
        return Status::InvalidArgument("process " + std::to_string(op.process) +
                                       " invokes while its previous operation is pending, at " +
                                       FormatOp(op));
      }
      OpPair p;
      p.process = op.process;
      p.f = op.f;
      p.key = op.key.value_or("");
      p.invoke_value = op.value;
      p.call = static_cast<int64_t>(pos);
      p.invoke_pos = pos;
      pending[op.process] = pairs.size();
      pairs.push_back(std::move(p));
      continue;
    }
    if (it == pending.end()) {
      return Status::InvalidArgument("completion without a pending invocation: " + FormatOp(op));
    }
    OpPair& p = pairs[it->second];
    pending.erase(it);
    p.outcome = op.type;
    p.result_value = op.value;
    p.version = op.version;
    p.complete_pos = pos;
    p.ret = op.type == OpType::kInfo ? OpPair::kNever : static_cast<int64_t>(pos);
  }
  return pairs;  // still-pending invocations keep outcome kInfo and ret kNever
}

std::string FormatPair(const OpPair& op) {
  std::string out = "p" + std::to_string(op.process) + " :" + op.f;
  if (!op.key.empty()) out += " key=" + edn::Write(edn::Value::String(op.key));
  out += " " + edn::Write(op.invoke_value) + " -> :" + std::string(OpTypeName(op.outcome));
  if (op.outcome == OpType::kOk && !(op.result_value == op.invoke_value)) {
    out += " " + edn::Write(op.result_value);
  }
  if (!op.complete_pos) out += " (never completed)";
  if (op.version) out += " v" + std::to_string(*op.version);
  out += " [events " + std::to_string(op.invoke_pos) + ".." +
         (op.complete_pos ? std::to_string(*op.complete_pos) : std::string("inf")) + "]";
  return out;
}

}  // namespace ringkv::jepsen
