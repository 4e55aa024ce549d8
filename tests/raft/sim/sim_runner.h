// The randomized simulation: one run per seed. A run picks its cluster (3 or 5 voters), its
// Raft knobs and its fault mix from the seed, then alternates workload and faults every tick
// (writes, ReadIndex reads, crashes, crashes inside the persistence window, partitions of every
// shape, lossy/duplicating/reordering network, compaction, leadership transfer, membership
// changes), then heals everything and demands liveness: within kLivenessBoundMs of virtual time
// a leader must commit and acknowledge a new write. Invariants are checked after every step.
//
// Flags understood by the simulation test binaries (also env RAFT_SIM_SEED):
//   --seed=N        run only seed N (prints its full trace on a violation)
//   --seeds=K       number of seeds (default 2000)
//   --first-seed=S  first seed of the range (default 1)
//   --steps=N       step budget of each seed's fault phase (default 30000)
//   --trace-size=N  how many recent events a report shows (default 400)
//   --trace         with --seed: print the trace even when the seed passes
//   --profile=P     standard (default) or membership: the fault mix seeds draw from
//   --expect-bug=B  (bug_catch_test) the bug to inject (bug point bug.raft.B) and expect caught
//
// Thread-safety: single-threaded.
#ifndef RINGKV_TESTS_RAFT_SIM_SIM_RUNNER_H_
#define RINGKV_TESTS_RAFT_SIM_SIM_RUNNER_H_

#include <cstdint>
#include <functional>
#include <string>

namespace ringkv::raft::sim {

// After the faults heal, a new write must be acknowledged within this much virtual time:
// 10 s = 1000 ticks of 10 ms (the election timeout is 150-300 ms).
inline constexpr int64_t kLivenessBoundMs = 10000;

// Which fault and workload mix a seed draws from. kMembership weights every seed toward
// membership changes during leader changes, removals and partitions (the default suite runs
// both profiles).
enum class SimProfile { kStandard, kMembership };

struct SimFlags {
  uint64_t first_seed = 1;
  uint64_t seeds = 2000;
  bool single_seed = false;
  uint64_t steps = 30000;
  std::string expect_bug;
  bool print_trace = false;
  uint64_t trace_size = 400;
  SimProfile profile = SimProfile::kStandard;
};

// Parses and removes the simulation flags from argv (leaving gtest's).
SimFlags ParseSimFlags(int* argc, char** argv);
// The flags parsed by the last ParseSimFlags call (defaults if none).
const SimFlags& GlobalSimFlags();

struct SeedResult {
  uint64_t seed = 0;
  uint64_t steps = 0;
  bool violation = false;
  std::string violation_text;  // the checker's violation line
  std::string report;          // the seed, the violation and the trace
  std::string summary;         // one line: cluster shape and counters
};

SeedResult RunSeed(uint64_t seed, uint64_t step_budget);

class Cluster;
// Test-only: RunSeed calls `hook` with each seed's cluster just before the run starts (the
// simulator's own tests use it to make chosen seeds fail). nullptr removes it.
void SetSeedHookForTesting(std::function<void(Cluster&, uint64_t seed)> hook);

struct RunTotals {
  uint64_t seeds = 0;
  uint64_t steps = 0;
  uint64_t violations = 0;
  uint64_t first_failing_seed = 0;
  std::string first_report;
};

// Runs seeds [first, first + count); stops at the first violation if stop_at_first. With
// `counts`, only violations for which it returns true are counted (and stop the run); the
// others are printed and skipped.
RunTotals RunSeeds(uint64_t first, uint64_t count, uint64_t step_budget, bool stop_at_first,
                   const std::function<bool(const std::string&)>& counts = nullptr);

// "raft-sim: <seeds> seeds, <steps> steps, <violations> violations"
std::string SummaryLine(const RunTotals& t);

}  // namespace ringkv::raft::sim

#endif  // RINGKV_TESTS_RAFT_SIM_SIM_RUNNER_H_
