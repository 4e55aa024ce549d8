// The history of one test as it happens: every client invocation and completion and every
// nemesis event, in the order they happened (the checkers' real-time order), with :index and
// :time (ns since the test start) assigned here.
//
// Thread-safety: thread-safe; Record may be called from any worker.
#ifndef RINGKV_JEPSEN_HARNESS_RECORDER_H_
#define RINGKV_JEPSEN_HARNESS_RECORDER_H_

#include <chrono>
#include <mutex>

#include "common/thread_annotations.h"
#include "jepsen/checker/history.h"

namespace ringkv::jepsen {

class Recorder {
 public:
  Recorder() : start_(std::chrono::steady_clock::now()) {}

  // Appends `op` with the next index and the current time. Returns the recorded op.
  Op Record(Op op);
  // Seconds since the test start.
  double Elapsed() const;
  History Snapshot() const;

 private:
  const std::chrono::steady_clock::time_point start_;
  mutable std::mutex mu_;
  History history_ GUARDED_BY(mu_);
};

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_RECORDER_H_
