#include "store/sim_node_env.h"

#include <vector>

namespace ringkv::store::sim {

uint64_t SimScheduler::Schedule(TimePoint at, uint64_t owner, Kind kind,
                                std::function<void()> task) {
  if (at < now_) at = now_;
  const uint64_t id = next_id_++;
  queue_.emplace(Key{at, id}, Task{owner, kind, std::move(task)});
  time_of_[id] = at;
  return id;
}

void SimScheduler::Cancel(uint64_t id) {
  auto t = time_of_.find(id);
  if (t == time_of_.end()) return;
  queue_.erase(Key{t->second, id});
  time_of_.erase(t);
}

void SimScheduler::DropOwner(uint64_t owner) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->second.owner == owner) {
      time_of_.erase(it->first.second);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

void SimScheduler::DropOwner(uint64_t owner, Kind kind) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->second.owner == owner && it->second.kind == kind) {
      time_of_.erase(it->first.second);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

void SimScheduler::Run(std::map<Key, Task>::iterator it) {
  std::function<void()> fn = std::move(it->second.fn);
  const uint64_t owner = it->second.owner;
  time_of_.erase(it->first.second);
  queue_.erase(it);
  ++steps_;
  const uint64_t outer = running_owner_;  // Run nests: RunDue and RunAll run inside a task
  running_owner_ = owner;
  try {
    fn();
  } catch (const SimCrash& crash) {
    running_owner_ = outer;
    if (outer != kNoOwner) throw;  // the outer task's node crashes (it runs the inner one)
    if (crash_handler_) crash_handler_(crash.owner);
    return;
  }
  running_owner_ = outer;
}

void SimScheduler::RunDue(uint64_t owner, Kind kind) {
  std::vector<uint64_t> due;
  for (const auto& [key, task] : queue_) {
    if (key.first > now_) break;
    if (task.owner == owner && task.kind == kind) due.push_back(key.second);
  }
  for (uint64_t id : due) {
    auto t = time_of_.find(id);
    if (t == time_of_.end()) continue;  // cancelled by an earlier one
    Run(queue_.find(Key{t->second, id}));
  }
}

void SimScheduler::RunAll(uint64_t owner, Kind kind) {
  for (;;) {
    auto it = queue_.begin();
    while (it != queue_.end() && !(it->second.owner == owner && it->second.kind == kind)) ++it;
    if (it == queue_.end()) return;
    Run(it);
  }
}

bool SimScheduler::Step() {
  if (queue_.empty()) return false;
  auto it = queue_.begin();
  now_ = it->first.first;
  Run(it);
  return true;
}

void SimScheduler::RunUntil(TimePoint until) {
  while (!queue_.empty() && queue_.begin()->first.first <= until) Step();
  if (now_ < until) now_ = until;
}

bool SimScheduler::RunUntil(const std::function<bool()>& done, TimePoint limit) {
  while (!done()) {
    if (queue_.empty() || queue_.begin()->first.first > limit) {
      if (now_ < limit) now_ = limit;
      return done();
    }
    Step();
  }
  return true;
}

class SimNodeEnv::Timer final : public LoopTimer {
 public:
  explicit Timer(SimNodeEnv* env) : env_(env) {}
  ~Timer() override { Cancel(); }

  void RunAfter(std::chrono::nanoseconds delay, std::function<void()> task) override {
    Cancel();
    if (env_->dead_ || env_->loop_stopped_) return;
    pending_ = env_->scheduler_->Schedule(env_->scheduler_->Now() + delay, env_->owner_,
                                          SimScheduler::Kind::kLoop,
                                          [this, task = std::move(task)] {
                                            pending_ = 0;
                                            task();
                                          });
  }
  void Cancel() override {
    if (pending_ != 0) env_->scheduler_->Cancel(pending_);
    pending_ = 0;
  }

 private:
  SimNodeEnv* const env_;
  uint64_t pending_ = 0;
};

SimNodeEnv::SimNodeEnv(SimScheduler* scheduler, uint64_t owner, Options options)
    : scheduler_(scheduler),
      owner_(owner),
      storage_(this, options.storage_latency),
      snapshot_(this, options.snapshot_latency) {}

SimNodeEnv::~SimNodeEnv() { Kill(); }

void SimNodeEnv::Worker::Post(std::function<void()> task) {
  if (env_->dead_) return;
  env_->scheduler_->Schedule(env_->scheduler_->Now() + latency_, env_->owner_,
                             SimScheduler::Kind::kWorker, std::move(task));
}

void SimNodeEnv::Post(std::function<void()> task) {
  if (dead_ || loop_stopped_) return;
  scheduler_->Schedule(scheduler_->Now(), owner_, SimScheduler::Kind::kLoop, std::move(task));
}

std::unique_ptr<LoopTimer> SimNodeEnv::NewTimer() { return std::make_unique<Timer>(this); }

void SimNodeEnv::Stop(std::function<void()> last) {
  if (dead_ || loop_stopped_) return;
  scheduler_->RunDue(owner_, SimScheduler::Kind::kLoop);
  last();
  loop_stopped_ = true;
  scheduler_->DropOwner(owner_, SimScheduler::Kind::kLoop);
  // Both workers' queues, in the order posted (one queue here).
  scheduler_->RunAll(owner_, SimScheduler::Kind::kWorker);
}

void SimNodeEnv::Kill() {
  dead_ = true;
  scheduler_->DropOwner(owner_);
}

}  // namespace ringkv::store::sim
