// Teeth: with a known bug injected into every node (a bug point, common/failpoint.h), the node
// simulation must fail within a few seeds of the default run. The bugs are those the Jepsen
// suite's kvd_buggy injects and those the issues name as found by Jepsen or by real processes.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "node_sim/node_sim.h"
#include "replica/applier.h"
#include "replica/replica.h"
#include "store/turn_pipeline.h"

namespace ringkv::node_sim {
namespace {

// The first seed in [1, 40] that the simulation fails with `bug`, 0 if none.
uint64_t FirstCaughtSeed(std::string_view bug, std::string* report) {
  for (uint64_t s = 1; s <= 40; ++s) {
    SeedResult r = RunNodeSimSeed(s, false, bug);
    if (r.violations > 0) {
      *report = r.report.substr(0, 600);
      return s;
    }
  }
  return 0;
}

struct Bug {
  const char* test_name;
  std::string_view point;
};

class NodeSimBugTest : public ::testing::TestWithParam<Bug> {};

TEST_P(NodeSimBugTest, IsCaughtWithinTheDefaultSeeds) {
  std::string report;
  const uint64_t seed = FirstCaughtSeed(GetParam().point, &report);
  EXPECT_NE(seed, 0u) << "the simulation missed the injected bug " << GetParam().point
                      << " in 40 seeds";
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
                      Bug{"AckBeforeSync", store::kBugAckBeforeSync}),
    [](const ::testing::TestParamInfo<Bug>& p) { return std::string(p.param.test_name); });

}  // namespace
}  // namespace ringkv::node_sim

int main(int argc, char** argv) {
  FLAGS_minloglevel = 2;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
