#include "node_sim/history_recorder.h"

#include <utility>

#include "jepsen/checker/check.h"

namespace ringkv::node_sim {

void HistoryRecorder::Invoke(int64_t process, const std::string& f, const std::string& key,
                             jepsen::edn::Value value, int64_t now_ms) {
  jepsen::Op op;
  op.index = static_cast<int64_t>(history_.size());
  op.process = process;
  op.type = jepsen::OpType::kInvoke;
  op.f = f;
  op.key = key;
  op.value = std::move(value);
  op.time_ns = now_ms * 1'000'000;
  history_.push_back(std::move(op));
  ++invocations_;
}

void HistoryRecorder::Complete(int64_t process, jepsen::OpType type, const std::string& f,
                               const std::string& key, jepsen::edn::Value value,
                               std::optional<int64_t> version, int64_t now_ms) {
  jepsen::Op op;
  op.index = static_cast<int64_t>(history_.size());
  op.process = process;
  op.type = type;
  op.f = f;
  op.key = key;
  op.value = std::move(value);
  op.time_ns = now_ms * 1'000'000;
  op.version = version;
  history_.push_back(std::move(op));
}

namespace {

HistoryVerdict Check(jepsen::CheckModel model, const jepsen::History& history) {
  jepsen::CheckOutcome out =
      jepsen::RunCheckOnHistory(model, history, jepsen::LinearizabilityOptions{});
  return HistoryVerdict{out.verdict, std::move(out.text)};
}

}  // namespace

HistoryVerdict CheckRegisterHistory(const jepsen::History& history) {
  return Check(jepsen::CheckModel::kRegister, history);
}

HistoryVerdict CheckAppendHistory(const jepsen::History& history) {
  return Check(jepsen::CheckModel::kAppend, history);
}

}  // namespace ringkv::node_sim
