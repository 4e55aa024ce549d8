// The default deterministic simulation of the Raft core: thousands of seeds, each a randomized
// run with faults, checked after every step (see sim_runner.h for what a run does and for the
// flags). Prints the summary line `raft-sim: <seeds> seeds, <steps> steps, <violations>
// violations`. Rerun one failing seed with --seed=N (or RAFT_SIM_SEED=N).
#include <gtest/gtest.h>

#include <iostream>
#include <vector>

#include "raft/sim/sim_runner.h"

namespace ringkv::raft::sim {
namespace {

TEST(RaftSim, DefaultSeeds) {
  const SimFlags& f = GlobalSimFlags();
  RunTotals t;
  if (f.single_seed) {
    SeedResult r = RunSeed(f.first_seed, f.steps);
    std::cout << r.summary << "\n";
    std::cout << r.report;
    t.seeds = 1;
    t.steps = r.steps;
    t.violations = r.violation ? 1 : 0;
    if (r.violation) t.first_failing_seed = r.seed;
  } else {
    t = RunSeeds(f.first_seed, f.seeds, f.steps, /*stop_at_first=*/false);
    if (t.violations > 0) std::cout << t.first_report;
  }
  std::cout << SummaryLine(t) << std::endl;
  EXPECT_EQ(t.violations, 0u) << "first failing seed: --seed=" << t.first_failing_seed;
  if (!f.single_seed) {
    EXPECT_GE(t.seeds, f.seeds);
  }
}

// Every seed that ever failed a long run (issue #11), rerun alone in the profile it failed in:
// the standard ones under raft_sim_test, the membership ones under raft_sim_membership. Each fix
// also has a scripted replay in tests/raft/sim_found_bugs_test.cc.
TEST(RaftSim, SeedsThatOnceFailed) {
  const SimFlags& f = GlobalSimFlags();
  if (f.single_seed) GTEST_SKIP() << "a single --seed run";
  const std::vector<uint64_t> standard = {3878,  18069, 46273, 84818, 10866, 11261,
                                          59218, 49228, 19470, 20745, 20935, 23027,
                                          24454, 49596, 53066, 85298, 19225, 53607};
  const std::vector<uint64_t> membership = {76, 7118, 17884, 35240, 27729, 47526};
  for (uint64_t seed : f.profile == SimProfile::kMembership ? membership : standard) {
    SeedResult r = RunSeed(seed, f.steps);
    EXPECT_FALSE(r.violation) << r.report;
  }
}

}  // namespace
}  // namespace ringkv::raft::sim

int main(int argc, char** argv) {
  ringkv::raft::sim::ParseSimFlags(&argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
