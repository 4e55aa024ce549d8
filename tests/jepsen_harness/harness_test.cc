// Unit tests of the harness's pure parts: option and nemesis parsing, the seeded fault
// schedule, list parsing, the crash scan of node logs, the report's op counts.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "jepsen/harness/nemesis.h"
#include "jepsen/harness/options.h"
#include "jepsen/harness/report.h"
#include "jepsen/harness/workload.h"

namespace ringkv::jepsen {
namespace {

TEST(HarnessOptions, NemesisSpecExpands) {
  auto all = ParseNemesis("partition");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 6u);
  auto combo = ParseNemesis("partition-leader,kill,kill,pause");
  ASSERT_TRUE(combo.ok());
  ASSERT_EQ(combo->size(), 3u);  // duplicates collapse
  EXPECT_EQ((*combo)[0], FaultKind::kPartitionLeader);
  EXPECT_EQ((*combo)[2], FaultKind::kPause);
  EXPECT_TRUE(ParseNemesis("none")->empty());
  EXPECT_FALSE(ParseNemesis("partition,teleport").ok());
}

TEST(MemberNemesis, StaysWithinBoundsAndRemovesOnlyWhenHealthy) {
  auto healthy = [] { return Status::OK(); };
  auto unhealthy = [] { return Status::FailedPrecondition("group 7 has no leader"); };
  // 5 nodes: members stay in [4, 6]. mode % 3: 0 add, 1 decommission, 2 remove.
  EXPECT_EQ(ChooseMemberAction(5, 5, 0, healthy).action, MemberAction::kAdd);
  EXPECT_EQ(ChooseMemberAction(5, 5, 1, healthy).action, MemberAction::kDecommission);
  EXPECT_EQ(ChooseMemberAction(5, 5, 2, healthy).action, MemberAction::kRemove);
  EXPECT_EQ(ChooseMemberAction(4, 5, 1, healthy).action, MemberAction::kAdd);  // at the floor
  EXPECT_EQ(ChooseMemberAction(4, 5, 2, healthy).action, MemberAction::kAdd);
  EXPECT_NE(ChooseMemberAction(6, 5, 0, healthy).action, MemberAction::kAdd);  // at the ceiling
  // A removal while some shard is not fully replicated becomes an add, saying why.
  MemberChoice c = ChooseMemberAction(5, 5, 2, unhealthy);
  EXPECT_EQ(c.action, MemberAction::kAdd);
  EXPECT_NE(c.why.find("group 7 has no leader"), std::string::npos);
  // ... or a decommission when no node may be added.
  EXPECT_EQ(ChooseMemberAction(6, 5, 2, unhealthy).action, MemberAction::kDecommission);
  // 3 nodes: never below 3 members (3 replicas per shard).
  EXPECT_EQ(ChooseMemberAction(3, 3, 2, healthy).action, MemberAction::kAdd);
  EXPECT_EQ(ChooseMemberAction(4, 3, 0, healthy).action, MemberAction::kDecommission);
  // Floor and ceiling meet (2 nodes: [3, 3]): nothing to do.
  EXPECT_EQ(ChooseMemberAction(3, 2, 0, healthy).action, MemberAction::kNone);
}

TEST(HarnessOptions, KillUnsyncedNeedsTheBuggyBinary) {
  const char* argv[] = {"x", "--out", "/tmp/o", "--kvd", "/bin/kvd", "--nemesis", "kill-unsynced"};
  auto o = ParseRunOptions(7, const_cast<char**>(argv));
  EXPECT_FALSE(o.ok());
  const char* argv2[] = {"x",          "--out",     "/tmp/o", "--kvd", "/bin/kvd", "--kvd-buggy",
                         "/bin/kvdb", "--nemesis", "kill-unsynced", "--workload", "append"};
  auto o2 = ParseRunOptions(11, const_cast<char**>(argv2));
  ASSERT_TRUE(o2.ok()) << o2.status().ToString();
  EXPECT_TRUE(o2->lose_unsynced());
  EXPECT_TRUE(o2->uses_buggy_binary());
  EXPECT_EQ(o2->workload, WorkloadKind::kAppend);
}

TEST(HarnessOptions, PipelineWorkloadAndItsInFlightBound) {
  const char* argv[] = {"x", "--out", "/tmp/o", "--kvd", "/bin/kvd", "--workload", "pipeline",
                        "--in-flight", "16"};
  auto o = ParseRunOptions(9, const_cast<char**>(argv));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->workload, WorkloadKind::kPipeline);
  EXPECT_EQ(o->in_flight, 16);
  EXPECT_STREQ(WorkloadName(o->workload), "pipeline");
  const char* bad[] = {"x", "--out", "/tmp/o", "--kvd", "/bin/kvd", "--in-flight", "0"};
  EXPECT_FALSE(ParseRunOptions(7, const_cast<char**>(bad)).ok());
}

TEST(HarnessSchedule, DeterministicPerSeedAndInsideTheRun) {
  RunOptions o;
  o.time_s = 60;
  o.faults = *ParseNemesis("partition,kill,pause");
  o.seed = 7;
  std::vector<FaultPlan> a = MakeSchedule(o), b = MakeSchedule(o);
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  double prev_end = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].start_s, b[i].start_s);
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].choice, b[i].choice);
    EXPECT_GE(a[i].start_s, prev_end + o.quiet_min_s);  // healthy gap between windows
    EXPECT_GT(a[i].end_s, a[i].start_s);
    EXPECT_LE(a[i].end_s, o.time_s - 1);
    prev_end = a[i].end_s;
  }
  o.seed = 8;
  std::vector<FaultPlan> c = MakeSchedule(o);
  bool differs = c.size() != a.size();
  for (size_t i = 0; !differs && i < a.size(); ++i) differs = a[i].start_s != c[i].start_s;
  EXPECT_TRUE(differs);
  o.faults.clear();
  EXPECT_TRUE(MakeSchedule(o).empty());
}

TEST(HarnessSchedule, FamiliesTakeTurnsAndWindowsFillTheRun) {
  RunOptions o;
  o.time_s = 18;
  o.faults = *ParseNemesis("partition,kill,pause");
  auto family = [](FaultKind k) {
    if (k == FaultKind::kKill) return 1;
    if (k == FaultKind::kPause) return 2;
    return 0;  // a partition shape
  };
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    o.seed = seed;
    std::vector<FaultPlan> s = MakeSchedule(o);
    ASSERT_FALSE(s.empty()) << "seed " << seed;
    // Rounds of three windows: one partition, one kill, one pause each.
    for (size_t round = 0; round + 3 <= s.size(); round += 3) {
      std::set<int> seen;
      for (size_t i = round; i < round + 3; ++i) seen.insert(family(s[i].kind));
      EXPECT_EQ(seen.size(), 3u) << "seed " << seed << " round at window " << round;
    }
    // No room was left for another window: the next would start after a healthy gap and need
    // at least the shortest pause (0.2 s) before the last second.
    EXPECT_GT(s.back().end_s + o.quiet_max_s + o.fault_min_s, o.time_s - 1) << "seed " << seed;
    EXPECT_LE(s.back().end_s, o.time_s - 1);
  }
  // The short matrix's runs (seed 1, 18 s, windows of 1.5-4 s after gaps of 1-3 s: see
  // jepsen/harness/CMakeLists.txt) see every family of a combined nemesis.
  o.seed = 1;
  o.fault_min_s = 1.5;
  o.fault_max_s = 4;
  o.quiet_min_s = 1;
  o.quiet_max_s = 3;
  EXPECT_GE(MakeSchedule(o).size(), 3u);
}

TEST(HarnessWorkload, ParseListKeepsOrderAndOddTokens) {
  edn::Value v = ParseList("3,1,2,");
  ASSERT_EQ(v.items.size(), 3u);
  EXPECT_EQ(v.items[0].integer, 3);
  EXPECT_EQ(v.items[2].integer, 2);
  EXPECT_TRUE(ParseList("").items.empty());
  edn::Value odd = ParseList("1,x,");
  ASSERT_EQ(odd.items.size(), 2u);
  EXPECT_TRUE(odd.items[1].IsString());
}

TEST(HarnessReport, ScanFindsCrashesOnly) {
  const std::string dir = ::testing::TempDir() + "/jh_scan";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/n1.log";
  {
    std::ofstream f(path);
    f << "I20261123 07:58:36.695236  2978 kvd_main.cc:134] kvd starting\n"
      << "W20261123 07:58:37.000000  2978 x.cc:1] Check this later\n"
      << "F20261123 07:58:38.000000  2978 raft.cc:9] Check failed: x == y\n"
      << "==123==ERROR: AddressSanitizer: heap-use-after-free\n"
      << "foo.cc:3:5: runtime error: signed integer overflow\n";
  }
  std::vector<std::string> hits = ScanLogForCrashes(path, 10);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_NE(hits[0].find("Check failed"), std::string::npos);
  EXPECT_EQ(hits[0].rfind("n1.log: ", 0), 0u);
  EXPECT_EQ(ScanLogForCrashes(path, 1).size(), 1u);
  EXPECT_TRUE(ScanLogForCrashes(dir + "/missing.log", 10).empty());
  std::filesystem::remove_all(dir);
}

TEST(HarnessReport, OpCountsIgnoreInvocationsAndNemesis) {
  History h;
  auto add = [&h](int64_t p, OpType t, const char* f) {
    Op op;
    op.process = p;
    op.type = t;
    op.f = f;
    h.push_back(op);
  };
  add(0, OpType::kInvoke, "read");
  add(0, OpType::kOk, "read");
  add(1, OpType::kInvoke, "write");
  add(kNemesisProcess, OpType::kInfo, "start-kill");
  add(1, OpType::kInfo, "write");
  std::vector<std::string> c = OpCounts(h);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], "read: 1 ok, 0 fail, 0 info");
  EXPECT_EQ(c[1], "write: 0 ok, 0 fail, 1 info");
}

}  // namespace
}  // namespace ringkv::jepsen
