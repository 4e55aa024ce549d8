// NodeEnv: what the node layer (Store, its parts, its replicas) needs from the world to run: a
// clock, its loop and two off-loop executors. Store and its parts reach time, the loop and
// other threads only through these, so the same code runs on Asio and real threads in kvd
// (AsioNodeEnv, asio_node_env.h) and on a virtual clock with a queue a test steps
// (tests/store/sim_node_env.h), where a whole run is a function of its inputs.
//
// The loop is one logical thread: everything posted to it, and every timer callback, runs
// there one at a time in the order posted (timers at their time). Off-loop work runs in the
// order posted on its executor and reports back by posting to the loop.
#ifndef RINGKV_STORE_NODE_ENV_H_
#define RINGKV_STORE_NODE_ENV_H_

#include <chrono>
#include <functional>
#include <memory>

namespace ringkv::store {

// Monotonic time. The type of std::chrono::steady_clock, so deadlines and leases keep theirs;
// a virtual clock counts from its own epoch. Safe from any thread.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// One pending callback on the loop after a delay (an Asio steady_timer in kvd). Loop thread
// only; destroying it cancels it.
class LoopTimer {
 public:
  virtual ~LoopTimer() = default;
  // Runs `task` on the loop `delay` from now, replacing a pending one.
  virtual void RunAfter(std::chrono::nanoseconds delay, std::function<void()> task) = 0;
  // The pending task (if any) never runs.
  virtual void Cancel() = 0;
};

class LoopExecutor {
 public:
  virtual ~LoopExecutor() = default;
  // Runs `task` on the loop after what is already posted. Any thread.
  virtual void Post(std::function<void()> task) = 0;
  virtual std::unique_ptr<LoopTimer> NewTimer() = 0;
  // Whether the caller runs on the loop (a caller on the loop must not wait for it).
  virtual bool OnLoop() const = 0;
};

// Work that must not hold up the loop (synced writes, snapshot streaming). Tasks run in order
// posted; a task posts its result back with LoopExecutor::Post. Any thread.
class OffLoopExecutor {
 public:
  virtual ~OffLoopExecutor() = default;
  virtual void Post(std::function<void()> task) = 0;
};

class NodeEnv {
 public:
  virtual ~NodeEnv() = default;
  virtual Clock& clock() = 0;
  virtual LoopExecutor& loop() = 0;
  // Raft log and apply writes, in order (the turn's writes: turn_pipeline.h).
  virtual OffLoopExecutor& storage_worker() = 0;
  // Snapshot streams to peers, in order.
  virtual OffLoopExecutor& snapshot_worker() = 0;

  // Starts the off-loop executors (before the store arms its timers).
  virtual void StartWorkers() = 0;
  // Starts running the loop.
  virtual void StartLoop() = 0;
  // Posts `last` to the loop, then stops the loop after it and waits for that; then stops the
  // snapshot worker and the storage worker, each after the work already posted to it.
  virtual void Stop(std::function<void()> last) = 0;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_NODE_ENV_H_
