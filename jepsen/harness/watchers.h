// The watch workload's watchers: a few clients, each with its own connections, watching every
// key the workload writes ("w..." prefix, every shard) from the first version while the nemesis
// runs, recording each delivered event per key in delivery order. After healing and the final
// reads, they are given each key's final version and must catch up to it; then
// jepsen/checker/watch_checker.h compares what they delivered with the writes of the history.
//
// Thread-safety: Start, WaitCaughtUp and Stop from one controlling thread; the watch callbacks
// run on each client's I/O thread.
#ifndef RINGKV_JEPSEN_HARNESS_WATCHERS_H_
#define RINGKV_JEPSEN_HARNESS_WATCHERS_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/thread_annotations.h"
#include "jepsen/checker/watch_checker.h"
#include "ringkv/client.h"

namespace ringkv::jepsen {

class Watchers {
 public:
  // `endpoints`: client addresses of the current members.
  Watchers(int count, std::string prefix, std::function<std::vector<std::string>()> endpoints,
           uint64_t seed);
  ~Watchers();

  Status Start();
  // Waits until every watcher delivered at least `final_versions[key]` for every key (or
  // `timeout`); returns the keys some watcher is still behind on.
  std::vector<std::string> WaitCaughtUp(const std::map<std::string, uint64_t>& final_versions,
                                        std::chrono::milliseconds timeout);
  // Cancels the watches; returns what each delivered.
  std::vector<WatcherLog> Stop();
  // Watches that ended on their own ("watcher 1: <status>"): each is an anomaly.
  std::vector<std::string> Ends() const;

 private:
  struct One {
    int index = 0;
    std::unique_ptr<client::Client> client;
    std::unique_ptr<client::WatchHandle> handle;
  };

  const int count_;
  const std::string prefix_;
  const std::function<std::vector<std::string>()> endpoints_;
  const uint64_t seed_;
  std::vector<One> watchers_;

  mutable std::mutex mu_;
  std::vector<WatcherLog> logs_ GUARDED_BY(mu_);
  std::vector<std::string> ends_ GUARDED_BY(mu_);
};

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_WATCHERS_H_
