// The watch checker on hand-made histories and watch logs: one test per anomaly.
#include "jepsen/checker/watch_checker.h"

#include <gtest/gtest.h>

#include "tests/jepsen/test_histories.h"

namespace ringkv::jepsen {
namespace {

using testing::H;
using Kinds = std::vector<std::string>;

// Writes of 1 (version 10, acknowledged), 2 (version 12, acknowledged), 3 (unknown outcome)
// and 4 (failed) to key k.
History Writes() {
  History h = H({"0 invoke write 1 k", "0 ok write 1 k", "0 invoke write 2 k", "0 ok write 2 k",
                 "1 invoke cas [2 3] k", "1 info cas [2 3] k", "2 invoke write 4 k",
                 "2 fail write 4 k"});
  h[1].version = 10;
  h[3].version = 12;
  return h;
}

WatchedEvent Put(const std::string& v, uint64_t version, uint64_t prev) {
  return WatchedEvent{false, v, version, prev};
}

Kinds Check(const std::vector<std::vector<WatchedEvent>>& per_watcher, uint64_t final_version) {
  std::vector<WatcherLog> logs;
  for (size_t i = 0; i < per_watcher.size(); ++i) {
    WatcherLog l;
    l.watcher = static_cast<int>(i);
    l.events["k"] = per_watcher[i];
    logs.push_back(l);
  }
  WatchCheckResult r = CheckWatches(Writes(), logs, {{"k", final_version}});
  Kinds kinds;
  for (const Anomaly& a : r.anomalies) kinds.push_back(a.kind);
  EXPECT_EQ(r.verdict, kinds.empty() ? Verdict::kValid : Verdict::kInvalid) << r.text;
  return kinds;
}

TEST(WatchChecker, TheCommittedHistoryIsValid) {
  // The unknown-outcome cas took effect at 15: delivered, and the final version says so.
  EXPECT_EQ(Check({{Put("1", 10, 0), Put("2", 12, 10), Put("3", 15, 12)},
                   {Put("1", 10, 0), Put("2", 12, 10), Put("3", 15, 12)}},
                  15),
            Kinds{});
  // Or it never took effect.
  EXPECT_EQ(Check({{Put("1", 10, 0), Put("2", 12, 10)}}, 12), Kinds{});
}

TEST(WatchChecker, GapDuplicateAndOrder) {
  EXPECT_EQ(Check({{Put("1", 10, 0), Put("3", 15, 12)}}, 15), (Kinds{"gap", "lost"}));
  EXPECT_EQ(Check({{Put("1", 10, 0), Put("1", 10, 0), Put("2", 12, 10)}}, 12), Kinds{"duplicate"});
  EXPECT_EQ(Check({{Put("2", 12, 10), Put("1", 10, 0)}}, 12), (Kinds{"gap", "out-of-order"}));
}

TEST(WatchChecker, IncompletePhantomWrongVersionDivergent) {
  EXPECT_EQ(Check({{Put("1", 10, 0)}}, 12), (Kinds{"incomplete", "lost"}));
  EXPECT_EQ(Check({{Put("1", 10, 0), Put("2", 12, 10), Put("4", 13, 12)}}, 13), Kinds{"phantom"});
  EXPECT_EQ(Check({{Put("1", 10, 0), Put("9", 12, 10)}}, 12), (Kinds{"phantom", "lost"}));
  EXPECT_EQ(Check({{Put("1", 11, 0), Put("2", 12, 11)}}, 12), (Kinds{"wrong-version", "lost"}));
  EXPECT_EQ(Check({{Put("1", 10, 0), Put("2", 12, 10), Put("3", 15, 12)},
                   {Put("1", 10, 0), Put("2", 12, 10), Put("3", 14, 12)}},
                  15),
            (Kinds{"incomplete", "divergent"}));
}

}  // namespace
}  // namespace ringkv::jepsen
