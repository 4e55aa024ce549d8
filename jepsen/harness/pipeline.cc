// The pipeline workload's worker loop (see workload.h): one client, options_.in_flight
// operations in flight through the async API, each slot its own Jepsen process.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "jepsen/harness/workload.h"

namespace ringkv::jepsen {

namespace {

// What the worker thread and the completion callbacks (on the client's I/O thread) share.
struct Slots {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int64_t> process;  // the slot's current Jepsen process
  std::vector<bool> busy;        // an operation of the slot is in flight
  int running = 0;               // busy slots
};

}  // namespace

void Workload::PipelineLoop(Worker* w, double until_s) {
  const int k = options_.in_flight;
  auto slots = std::make_shared<Slots>();
  for (int s = 0; s < k; ++s) slots->process.push_back(int64_t{w->index} * k + s);
  slots->busy.assign(static_cast<size_t>(k), false);
  // Every free slot starts an operation at once (a burst on one session), then the worker
  // thinks; a slot still busy (a write retrying through a fault) keeps its operation while the
  // others go on, which is what makes retries overtake later writes of the session. Mean think
  // time concurrency * k / rate, so full bursts add up to --rate.
  const double mean_gap = options_.rate > 0 ? options_.concurrency * k / options_.rate : 0;
  const int64_t retire_stride = int64_t{options_.concurrency} * k;

  // Runs when an operation of `slot` completed: records it (a slot whose operation ended :info
  // continues as a new process) and frees the slot.
  auto finish = [this, slots, retire_stride](size_t slot, Op done, const Status& status,
                                             bool is_read) {
    std::lock_guard<std::mutex> l(slots->mu);
    int64_t process = slots->process[slot];
    const int64_t before = process;
    Complete(&process, done, status, is_read);
    // Complete() retires a process by + concurrency; slots retire by a whole stride.
    if (process != before) process = before + retire_stride;
    slots->process[slot] = process;
    slots->busy[slot] = false;
    --slots->running;
    slots->cv.notify_all();
  };

  while (recorder_->Elapsed() < until_s) {
    for (size_t slot = 0; slot < static_cast<size_t>(k); ++slot) {
      Op inv;
      {
        std::lock_guard<std::mutex> l(slots->mu);
        if (slots->busy[slot]) continue;
        slots->busy[slot] = true;
        ++slots->running;
        inv.process = slots->process[slot];
      }
      inv.type = OpType::kInvoke;
      inv.key = PickKey(w);
      op_count_.fetch_add(1);
      if (w->rng.Bernoulli(0.6)) {
        const int64_t e = next_value_.fetch_add(1);
        inv.f = "append";
        inv.value = edn::Value::Int(e);
        recorder_->Record(inv);
        w->client->AppendAsync(*inv.key, std::to_string(e) + ",", Call(),
                               [finish, slot, inv](Result<client::AppendResult> r) {
                                 Op done = inv;
                                 if (r.ok()) done.version = static_cast<int64_t>(r->version);
                                 finish(slot, done, r.status(), false);
                               });
      } else {
        inv.f = "read";
        recorder_->Record(inv);
        w->client->GetAsync(*inv.key, Call(client::Consistency::kLinearizable, Home(*w)),
                            [finish, slot, inv](Result<std::optional<client::KeyValue>> r) {
                              Op done = inv;
                              if (r.ok()) {
                                done.value = r->has_value() ? ParseList((*r)->value)
                                                            : edn::Value::Vector({});
                                done.version =
                                    r->has_value() ? static_cast<int64_t>((*r)->version) : 0;
                              }
                              finish(slot, done, r.status(), true);
                            });
      }
    }
    if (mean_gap > 0) {
      const double u = (static_cast<double>(w->rng.Next() >> 11) + 1) * 0x1.0p-53;
      const double gap = std::min(-std::log(u) * mean_gap, until_s - recorder_->Elapsed());
      // The workload's own pacing clock, as WorkerLoop's.
      if (gap > 0) std::this_thread::sleep_for(std::chrono::duration<double>(gap));
    } else {
      // Unlimited rate: start again as soon as a slot is free.
      std::unique_lock<std::mutex> l(slots->mu);
      slots->cv.wait(l, [&] { return slots->running < k; });
    }
  }
  // Operations in flight complete (at the latest at their deadline) before the client goes.
  std::unique_lock<std::mutex> l(slots->mu);
  slots->cv.wait(l, [&] { return slots->running == 0; });
}

}  // namespace ringkv::jepsen
