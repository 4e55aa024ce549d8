// The default deterministic simulation of the Raft core: thousands of seeds, each a randomized
// run with faults, checked after every step (see sim_runner.h for what a run does and for the
// flags). Prints the summary line `raft-sim: <seeds> seeds, <steps> steps, <violations>
// violations`. Rerun one failing seed with --seed=N (or RAFT_SIM_SEED=N).
#include <gtest/gtest.h>

#include <iostream>

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

}  // namespace
}  // namespace ringkv::raft::sim

int main(int argc, char** argv) {
  ringkv::raft::sim::ParseSimFlags(&argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
