// Teeth: with a known bug injected into every node, the node simulation must fail within a few
// seeds of the default run. Each bug is one the Jepsen suite's kvd_buggy also injects
// (replica.h TestBug).
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <string>

#include "node_sim/node_sim.h"

namespace ringkv::node_sim {
namespace {

using replica::TestBug;

// The first seed in [1, 40] that the simulation fails with `bug`, 0 if none.
uint64_t FirstCaughtSeed(TestBug bug, std::string* report) {
  for (uint64_t s = 1; s <= 40; ++s) {
    SeedResult r = RunNodeSimSeed(s, false, bug);
    if (r.violations > 0) {
      *report = r.report.substr(0, 600);
      return s;
    }
  }
  return 0;
}

class NodeSimBugTest : public ::testing::TestWithParam<TestBug> {};

TEST_P(NodeSimBugTest, IsCaughtWithinTheDefaultSeeds) {
  std::string report;
  const uint64_t seed = FirstCaughtSeed(GetParam(), &report);
  EXPECT_NE(seed, 0u) << "the simulation missed the injected bug in 40 seeds";
  std::cout << "caught by seed " << seed << ":\n" << report << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    InjectedBugs, NodeSimBugTest,
    ::testing::Values(TestBug::kStaleReads, TestBug::kAckBeforeCommit, TestBug::kForgetSessions,
                      TestBug::kAckBeforeSync, TestBug::kOneAnswerSessions),
    [](const ::testing::TestParamInfo<TestBug>& p) {
      switch (p.param) {
        case TestBug::kStaleReads: return std::string("StaleReads");
        case TestBug::kAckBeforeCommit: return std::string("AckBeforeCommit");
        case TestBug::kForgetSessions: return std::string("ForgetSessions");
        case TestBug::kAckBeforeSync: return std::string("AckBeforeSync");
        case TestBug::kOneAnswerSessions: return std::string("OneAnswerSessions");
        default: return std::string("None");
      }
    });

}  // namespace
}  // namespace ringkv::node_sim

int main(int argc, char** argv) {
  FLAGS_minloglevel = 2;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
