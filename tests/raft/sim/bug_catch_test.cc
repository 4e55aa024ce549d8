// Teeth: this binary injects one classic bug into the Raft core through its bug point
// (--expect-bug=<name> arms bug.raft.<name>; raft.h and raft_log.h declare them). It runs the
// default seeds of the simulation, stopping at the first violation, and passes only if the
// simulation catches the bug. The seed that caught it and the violation are printed, so the
// catch can be replayed (same flags, --seed=N).
#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/failpoint.h"
#include "raft/raft.h"
#include "raft/raft_log.h"
#include "raft/sim/sim_runner.h"

namespace ringkv::raft::sim {
namespace {

TEST(RaftSimTeeth, CatchesInjectedBugWithinDefaultSeeds) {
  const SimFlags& f = GlobalSimFlags();
  ASSERT_FALSE(f.expect_bug.empty()) << "run with --expect-bug=<name>";
  // Only a violation that this bug can cause counts, so that an unrelated failure (of the
  // core as a whole) cannot make this test pass.
  std::vector<std::string> kinds;
  std::string_view point;
  if (f.expect_bug == "commit_prev_term") {
    point = kBugCommitPrevTerm;
    kinds = {"committed entry lost", "leader completeness", "state machine safety", "durability",
             "log matching"};
  } else if (f.expect_bug == "vote_before_persist") {
    point = kBugVoteBeforePersist;
    kinds = {"election safety"};
  } else if (f.expect_bug == "read_index_no_quorum") {
    point = kBugReadIndexNoQuorum;
    kinds = {"stale read"};
  }
  ASSERT_FALSE(kinds.empty()) << "unknown bug " << f.expect_bug;
  failpoint::ScopedDisarmAll disarm;
  failpoint::Arm(point, failpoint::Action::kInject);
  auto counts = [&kinds](const std::string& violation) {
    for (const std::string& k : kinds) {
      if (violation.rfind(k, 0) == 0) return true;
    }
    return false;
  };
  const RunTotals t = RunSeeds(f.first_seed, f.seeds, f.steps, /*stop_at_first=*/true, counts);
  std::cout << SummaryLine(t) << "\n";
  ASSERT_EQ(t.violations, 1u) << "injected bug " << f.expect_bug << " was NOT caught by seeds "
                              << f.first_seed << ".." << f.first_seed + f.seeds - 1;
  std::cout << "raft-sim: injected bug " << f.expect_bug
            << " caught by --seed=" << t.first_failing_seed << " (after " << t.seeds << " seeds)\n"
            << t.first_report << std::endl;
}

}  // namespace
}  // namespace ringkv::raft::sim

int main(int argc, char** argv) {
  ringkv::raft::sim::ParseSimFlags(&argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
