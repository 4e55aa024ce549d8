// The nemesis: a fault schedule derived from the seed (alternating healthy gaps and fault
// windows, each window one fault kind: the enabled families - partition, kill, kill-unsynced,
// pause, member - take turns in seeded rounds, and so do the partition shapes within theirs)
// and the thread that carries
// it out against the cluster and the network, recording each start and stop in the history
// (process :nemesis, type :info) and as a window for the plot.
//
// Fault targets that depend on the cluster (the leader) are resolved when the fault starts;
// everything else (times, kinds, random nodes, modes) comes from the seed.
//
// Thread-safety: Start/StopAndHeal from one controlling thread; Windows() after StopAndHeal.
#ifndef RINGKV_JEPSEN_HARNESS_NEMESIS_H_
#define RINGKV_JEPSEN_HARNESS_NEMESIS_H_

#include <condition_variable>
#include <functional>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/random.h"
#include "common/thread_annotations.h"
#include "jepsen/harness/cluster.h"
#include "jepsen/harness/network.h"
#include "jepsen/harness/options.h"
#include "jepsen/harness/recorder.h"

namespace ringkv::jepsen {

struct FaultPlan {
  double start_s = 0, end_s = 0;  // since the test start
  FaultKind kind = FaultKind::kPartitionOne;
  uint64_t choice = 0;  // seeded randomness for the fault's shape and targets
};

// The schedule for a workload of `time_s` seconds: windows from the first healthy gap until a
// second before time_s (the last one shortened to fit). With k enabled families, windows come
// in rounds of k in which every family has one.
std::vector<FaultPlan> MakeSchedule(const RunOptions& options);

// The member fault's decision. The member count stays within
// [max(3, nodes - 1), nodes + 1] (a shard always has nodes for its 3 replicas, and clients
// always find some node they know); `mode` (seeded) picks add, decommission or remove, turned
// into what the bounds allow; a removal happens only if `replicas_healthy` says losing a node
// now cannot cost a shard its quorum (else add, or decommission, with `why` saying so).
enum class MemberAction { kNone, kAdd, kDecommission, kRemove };
struct MemberChoice {
  MemberAction action = MemberAction::kNone;
  std::string why;  // " (not removing: ...)" when a removal was turned into something else
};
MemberChoice ChooseMemberAction(size_t members, int nodes, uint64_t mode,
                                const std::function<Status()>& replicas_healthy);

// What actually happened, for the report and the plot.
struct FaultWindow {
  double start_s = 0, end_s = 0;
  std::string kind;
  std::string detail;
};

class Nemesis {
 public:
  Nemesis(const RunOptions& options, Cluster* cluster, Network* network, Recorder* recorder);
  ~Nemesis();

  void Start();
  // Stops the schedule, heals the network, resumes and restarts every node. Returns the first
  // error of healing.
  Status StopAndHeal();
  std::vector<FaultWindow> Windows() const;
  // Errors met while injecting faults (a fault that could not be applied).
  std::vector<std::string> Errors() const;

 private:
  // A fault being applied: what to undo.
  struct Active {
    FaultWindow window;
    bool network = false;
    std::vector<int> killed, paused;
  };
  void Run();
  Active Begin(const FaultPlan& plan);
  void End(Active& active);
  Grudge PartitionGrudge(const FaultPlan& plan, std::string* detail);
  // The member fault: adds, decommissions or removes a node (`order`: the members in a seeded
  // order; `mode`: seeded choice). Membership changes are permanent: ending the window undoes
  // nothing.
  Status ChangeMembership(const std::vector<int>& order, uint64_t mode, std::string* detail);
  void RecordEvent(const std::string& f, const std::string& value);
  // Waits until `at_s` (since test start) or Stop; false when stopped.
  bool SleepUntil(double at_s);

  const RunOptions options_;
  Cluster* const cluster_;
  Network* const network_;
  Recorder* const recorder_;
  const std::vector<FaultPlan> schedule_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<FaultWindow> windows_ GUARDED_BY(mu_);
  std::vector<std::string> errors_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_NEMESIS_H_
