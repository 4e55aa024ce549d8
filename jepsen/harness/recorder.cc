#include "jepsen/harness/recorder.h"

namespace ringkv::jepsen {

Op Recorder::Record(Op op) {
  std::lock_guard<std::mutex> l(mu_);
  // The clock is read under the lock so :time never decreases along the history.
  op.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - start_)
                   .count();
  op.index = static_cast<int64_t>(history_.size());
  history_.push_back(op);
  return op;
}

double Recorder::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

History Recorder::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return history_;
}

}  // namespace ringkv::jepsen
