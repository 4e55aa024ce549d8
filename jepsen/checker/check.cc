// Checker entry point; see check.h.
#include "jepsen/checker/check.h"

#include <nlohmann/json.hpp>

#include "jepsen/checker/append_checker.h"
#include "jepsen/checker/history_io.h"
#include "jepsen/checker/set_checker.h"
#include "jepsen/checker/well_formed.h"

namespace ringkv::jepsen {
namespace {

const char* ModelName(CheckModel m) {
  switch (m) {
    case CheckModel::kRegister: return "register";
    case CheckModel::kAppend: return "append";
    case CheckModel::kSet: return "set";
    case CheckModel::kKv: return "kv";
  }
  return "?";
}

CheckOutcome Finish(CheckModel model, Verdict verdict, std::string text, nlohmann::json json) {
  CheckOutcome out;
  out.verdict = verdict;
  out.text = std::move(text) + "verdict: " + std::string(VerdictName(verdict)) + "\n";
  json["verdict"] = std::string(VerdictName(verdict));
  json["model"] = ModelName(model);
  // Error texts may quote history bytes that are not UTF-8: replaced, never thrown.
  out.json = json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return out;
}

CheckOutcome Error(CheckModel model, const std::vector<std::string>& errors) {
  std::string text;
  nlohmann::json json;
  json["errors"] = errors;
  for (const std::string& e : errors) text += "error: " + e + "\n";
  return Finish(model, Verdict::kUnknown, std::move(text), std::move(json));
}

CheckOutcome FromAnomalies(CheckModel model, Verdict verdict,
                           const std::vector<Anomaly>& anomalies, std::string summary) {
  std::string text = std::move(summary);
  nlohmann::json list = nlohmann::json::array();
  for (const Anomaly& a : anomalies) {
    text += a.kind + " (key " + edn::Write(edn::Value::String(a.key)) + "): " + a.detail + "\n";
    list.push_back({{"kind", a.kind}, {"key", a.key}, {"detail", a.detail}});
  }
  nlohmann::json json;
  json["anomalies"] = std::move(list);
  return Finish(model, verdict, std::move(text), std::move(json));
}

}  // namespace

std::optional<CheckModel> ParseCheckModel(std::string_view name) {
  if (name == "register") return CheckModel::kRegister;
  if (name == "append") return CheckModel::kAppend;
  if (name == "set") return CheckModel::kSet;
  if (name == "kv") return CheckModel::kKv;
  return std::nullopt;
}

CheckOutcome RunCheckOnHistory(CheckModel model, const History& history,
                               const LinearizabilityOptions& options) {
  std::vector<std::string> problems = CheckWellFormed(history);
  if (!problems.empty()) {
    problems.insert(problems.begin(), "history is not well-formed:");
    return Error(model, problems);
  }
  if (model == CheckModel::kAppend) {
    auto r = CheckAppendHistory(history);
    if (!r.ok()) return Error(model, {std::string(r.status().message())});
    return FromAnomalies(model, r->verdict, r->anomalies,
                         "append-list: " + std::to_string(r->keys) + " keys, " +
                             std::to_string(r->appends) + " appends, " +
                             std::to_string(r->reads) + " reads, " +
                             std::to_string(r->anomalies.size()) + " anomalies\n");
  }
  if (model == CheckModel::kSet) {
    auto r = CheckSetHistory(history);
    if (!r.ok()) return Error(model, {std::string(r.status().message())});
    return FromAnomalies(model, r->verdict, r->anomalies,
                         "set: " + std::to_string(r->keys) + " keys, " + std::to_string(r->adds) +
                             " adds, " + std::to_string(r->reads) + " reads, " +
                             std::to_string(r->anomalies.size()) + " anomalies\n");
  }
  LinearModelKind kind =
      model == CheckModel::kKv ? LinearModelKind::kKv : LinearModelKind::kRegister;
  auto r = CheckLinearizability(history, kind, options);
  if (!r.ok()) return Error(model, {std::string(r.status().message())});
  nlohmann::json keys = nlohmann::json::array();
  for (const KeyReport& k : r->keys) {
    nlohmann::json jk = {{"key", k.key},
                         {"verdict", std::string(VerdictName(k.verdict))},
                         {"ops", k.ops},
                         {"by_versions", k.by_versions},
                         {"steps", k.steps},
                         {"seconds", k.seconds}};
    if (!k.explanation.empty()) jk["explanation"] = k.explanation;
    if (k.stuck) {
      jk["stuck_op"] = FormatPair(r->pairs[*k.stuck]);
      jk["prefix_length"] = k.prefix.size();
    }
    keys.push_back(std::move(jk));
  }
  nlohmann::json json;
  json["keys"] = std::move(keys);
  return Finish(model, r->verdict, FormatLinearizability(*r), std::move(json));
}

CheckOutcome RunCheck(const CheckRequest& request) {
  auto history = ReadHistoryFile(request.history_path);
  if (!history.ok()) return Error(request.model, {std::string(history.status().message())});
  return RunCheckOnHistory(request.model, *history, request.linearizability);
}

}  // namespace ringkv::jepsen
