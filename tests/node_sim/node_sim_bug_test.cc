// Teeth: with a known bug injected into every node (a bug point, common/failpoint.h), the node
// simulation must fail within a few seeds of the default run. The bugs are those the Jepsen
// suite's kvd_buggy injects and those the issues name as found by Jepsen or by real processes.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "node_sim/node_sim.h"
#include "raft/raft.h"
#include "replica/applier.h"
#include "replica/replica.h"
#include "store/placement.h"
#include "store/replica_set.h"
#include "storage/raft_log_store.h"
#include "store/turn_pipeline.h"

namespace ringkv::node_sim {
namespace {

// The first seed in [1, max_seeds] that the simulation fails with `bug`, 0 if none.
uint64_t FirstCaughtSeed(std::string_view bug, uint64_t max_seeds, std::string* report) {
  for (uint64_t s = 1; s <= max_seeds; ++s) {
    SeedResult r = RunNodeSimSeed(s, false, bug);
    if (r.violations > 0) {
      *report = r.report.substr(0, 1200);
      return s;
    }
  }
  return 0;
}

struct Bug {
  const char* test_name;
  std::string_view point;
  // How many seeds may run before the bug must be caught: 40, or the 1,000 default seeds for
  // bugs that need membership changes (every third seed; the test stops at the first catch).
  uint64_t max_seeds = 40;
};

class NodeSimBugTest : public ::testing::TestWithParam<Bug> {};

TEST_P(NodeSimBugTest, IsCaughtWithinTheDefaultSeeds) {
  std::string report;
  const uint64_t seed = FirstCaughtSeed(GetParam().point, GetParam().max_seeds, &report);
  EXPECT_NE(seed, 0u) << "the simulation missed the injected bug " << GetParam().point << " in "
                      << GetParam().max_seeds << " seeds";
  std::cout << GetParam().point << " caught by seed " << seed << ":\n" << report << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    InjectedBugs, NodeSimBugTest,
    ::testing::Values(Bug{"StaleReads", replica::kBugStaleReads},
                      Bug{"FollowerReads", replica::kBugFollowerReads},
                      Bug{"AckBeforeCommit", replica::kBugAckBeforeCommit},
                      Bug{"AckBeforeApply", replica::kBugAckBeforeApply},
                      Bug{"ForgetSessions", replica::kBugForgetSessions},
                      Bug{"OneAnswerSessions", replica::kBugOneAnswerSessions},
                      Bug{"RetryInBatchAppliesTwice", replica::kBugRetryInBatchAppliesTwice},
                      Bug{"AckBeforeSync", store::kBugAckBeforeSync},
                      // Found before only by the Jepsen member nemesis.
                      Bug{"NoticeDuringWrite", store::kBugNoticeDuringWrite, 1000},
                      Bug{"ReaddOldAcks", store::kBugReaddOldAcks, 1000},
                      Bug{"SnapshotInstallWithoutHardState",
                          storage::kBugInstallWithoutHardState},
                      // Caught by the leadership invariant (a quiescing seed's dead leader).
                      Bug{"QuiesceIgnoresDeadLeader", raft::kBugQuiesceIgnoresDeadLeader}),
    [](const ::testing::TestParamInfo<Bug>& p) { return std::string(p.param.test_name); });

}  // namespace
}  // namespace ringkv::node_sim

int main(int argc, char** argv) {
  FLAGS_minloglevel = 2;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
