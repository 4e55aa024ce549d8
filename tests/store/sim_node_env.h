// The deterministic NodeEnv (node_env.h) for simulations of whole nodes in one thread.
//
// SimScheduler holds the virtual clock and ONE queue of tasks of every simulated node (and of
// the simulated network), ordered by (time, order of scheduling). Nothing runs until the test
// steps it; a step advances the clock to the next task's time and runs it. So a run is a
// function of its inputs: the same calls and seeds give the same sequence of tasks.
//
// SimNodeEnv is one node's env on it: loop tasks and timers are tasks of the node; off-loop
// work (storage and snapshot workers) is queued as tasks too, in the order posted, after a
// fixed latency per worker (a disk's sync time). Kill() is a crash: the node's queued work is
// dropped and nothing posted later runs.
//
// Thread-safety: none; one thread drives everything.
#ifndef RINGKV_TESTS_STORE_SIM_NODE_ENV_H_
#define RINGKV_TESTS_STORE_SIM_NODE_ENV_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "store/node_env.h"

namespace ringkv::store::sim {

// Thrown from inside a simulated node's code (a failpoint callback) to crash the node right
// there: nothing after the throw point runs, as when a process dies. The scheduler catches it
// around the task and calls its crash handler, which must kill the node before anything else
// of it runs (SimCluster::Crash).
struct SimCrash {
  uint64_t owner;  // the crashing node's tasks' owner (its SimNodeEnv)
};

class SimScheduler final : public Clock {
 public:
  // Tasks of no node (the network, the test).
  static constexpr uint64_t kNoOwner = 0;
  enum class Kind { kLoop, kWorker, kOther };

  // Virtual time starts one hour after the clock's epoch (a zero time point means "unset" in
  // places).
  SimScheduler() : now_(std::chrono::hours(1)) {}

  TimePoint Now() const override { return now_; }
  // Queues `task` to run at `at` (not before now); returns its id.
  uint64_t Schedule(TimePoint at, uint64_t owner, Kind kind, std::function<void()> task);
  void Cancel(uint64_t id);
  // Drops every queued task of `owner` (of `kind`, or all).
  void DropOwner(uint64_t owner);
  void DropOwner(uint64_t owner, Kind kind);
  // Runs the queued tasks of `owner` of `kind` that are due now, in order, then returns.
  void RunDue(uint64_t owner, Kind kind);
  // Runs every queued task of `owner` of `kind`, in order, including those they queue.
  void RunAll(uint64_t owner, Kind kind);

  // Runs the next task, advancing the clock to its time. False when the queue is empty.
  bool Step();
  // Runs every task due up to `until`, then sets the clock to `until`.
  void RunUntil(TimePoint until);
  void RunFor(std::chrono::nanoseconds d) { RunUntil(now_ + d); }
  // Steps until `done()` or the clock reaches `limit`; returns done().
  bool RunUntil(const std::function<bool()>& done, TimePoint limit);

  uint64_t steps() const { return steps_; }
  // The owner of the task running now (SimScheduler::kNoOwner between tasks and for tasks of
  // no node).
  uint64_t running_owner() const { return running_owner_; }
  // Called with SimCrash::owner when a task throws SimCrash (see there), after the task.
  void set_crash_handler(std::function<void(uint64_t owner)> fn) { crash_handler_ = std::move(fn); }
  size_t queued() const { return queue_.size(); }

 private:
  struct Task {
    uint64_t owner;
    Kind kind;
    std::function<void()> fn;
  };
  using Key = std::pair<TimePoint, uint64_t>;  // (time, id): ids grow with scheduling order
  void Run(std::map<Key, Task>::iterator it);

  TimePoint now_;
  uint64_t running_owner_ = kNoOwner;
  std::function<void(uint64_t)> crash_handler_;
  uint64_t next_id_ = 1;
  uint64_t steps_ = 0;
  std::map<Key, Task> queue_;
  std::map<uint64_t, TimePoint> time_of_;  // id -> time, for Cancel
};

class SimNodeEnv final : public NodeEnv, private LoopExecutor {
 public:
  struct Options {
    // Time a storage write takes (log syncs and apply writes), and a snapshot stream.
    std::chrono::nanoseconds storage_latency = std::chrono::microseconds(500);
    std::chrono::nanoseconds snapshot_latency = std::chrono::milliseconds(1);
  };
  // `owner` tags this node's tasks (unique per incarnation, not SimScheduler::kNoOwner).
  SimNodeEnv(SimScheduler* scheduler, uint64_t owner, Options options);
  SimNodeEnv(SimScheduler* scheduler, uint64_t owner) : SimNodeEnv(scheduler, owner, Options{}) {}
  ~SimNodeEnv() override;

  Clock& clock() override { return *scheduler_; }
  LoopExecutor& loop() override { return *this; }
  OffLoopExecutor& storage_worker() override { return storage_; }
  OffLoopExecutor& snapshot_worker() override { return snapshot_; }
  void StartWorkers() override {}
  void StartLoop() override {}
  // As AsioNodeEnv: the loop tasks due now run, then `last`; later loop tasks never run; the
  // work already posted to the workers runs (their posts to the loop are dropped).
  void Stop(std::function<void()> last) override;

  // A crash: every queued task of the node is dropped, and everything posted later too.
  void Kill();
  bool dead() const { return dead_; }

 private:
  class Worker final : public OffLoopExecutor {
   public:
    Worker(SimNodeEnv* env, std::chrono::nanoseconds latency) : env_(env), latency_(latency) {}
    void Post(std::function<void()> task) override;

   private:
    SimNodeEnv* const env_;
    const std::chrono::nanoseconds latency_;
  };
  class Timer;

  // LoopExecutor. One thread runs everything: whoever calls runs between two tasks, so a
  // direct call is as good as a posted one, and nobody may wait for the loop.
  void Post(std::function<void()> task) override;
  std::unique_ptr<LoopTimer> NewTimer() override;
  bool OnLoop() const override { return true; }

  SimScheduler* const scheduler_;
  const uint64_t owner_;
  Worker storage_;
  Worker snapshot_;
  bool loop_stopped_ = false;
  bool dead_ = false;
};

}  // namespace ringkv::store::sim

#endif  // RINGKV_TESTS_STORE_SIM_NODE_ENV_H_
