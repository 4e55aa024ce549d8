// The node's Raft log budget plan (store/log_budget.h): nothing under the budget; over it, the
// groups holding the most bytes first, down to half the budget, each keeping a small tail.
#include "store/log_budget.h"

#include <gtest/gtest.h>

namespace ringkv::store {
namespace {

std::vector<uint64_t> Ids(const LogBudgetPlan& p) {
  std::vector<uint64_t> out;
  for (GroupId g : p.compact) out.push_back(g.value());
  return out;
}

TEST(PlanLogBudget, NothingWithoutABudgetOrUnderIt) {
  std::vector<GroupLogUsage> u = {{GroupId(1), 600, 600}, {GroupId(2), 300, 300}};
  EXPECT_TRUE(PlanLogBudget(u, 0).compact.empty());
  EXPECT_TRUE(PlanLogBudget(u, 900).compact.empty());
  EXPECT_TRUE(PlanLogBudget({}, 100).compact.empty());
}

TEST(PlanLogBudget, LargestGroupsFirstDownToHalfTheBudget) {
  // Total 1600 over a budget of 1000: target 500, each keeps 1000/4/4 = 62 bytes.
  std::vector<GroupLogUsage> u = {{GroupId(1), 100, 100},
                                  {GroupId(2), 700, 700},
                                  {GroupId(3), 300, 300},
                                  {GroupId(4), 500, 500}};
  LogBudgetPlan p = PlanLogBudget(u, 1000);
  EXPECT_EQ(p.keep_bytes, 62u);
  // 1600 - (700-62) = 962; - (500-62) = 524; - (300-62) = 286 <= 500.
  EXPECT_EQ(Ids(p), (std::vector<uint64_t>{2, 4, 3}));
}

TEST(PlanLogBudget, UnappliedEntriesAreNotCounted) {
  // Group 2 holds the most but has applied almost nothing: compaction cannot shrink it.
  std::vector<GroupLogUsage> u = {{GroupId(1), 400, 400}, {GroupId(2), 900, 10}};
  LogBudgetPlan p = PlanLogBudget(u, 1000);
  EXPECT_EQ(Ids(p), (std::vector<uint64_t>{1}));
}

TEST(PlanLogBudget, StopsWhenNothingAppliedIsLeft) {
  std::vector<GroupLogUsage> u = {{GroupId(1), 2000, 0}, {GroupId(2), 2000, 0}};
  EXPECT_TRUE(PlanLogBudget(u, 1000).compact.empty());
}

}  // namespace
}  // namespace ringkv::store
