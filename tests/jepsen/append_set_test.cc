// Append-list and set checkers on hand-made histories: one test per anomaly.
#include <gtest/gtest.h>

#include "jepsen/checker/append_checker.h"
#include "jepsen/checker/set_checker.h"
#include "testutil/status_matchers.h"
#include "tests/jepsen/test_histories.h"

namespace ringkv::jepsen {
namespace {

using testing::H;

std::vector<std::string> AppendKinds(const History& h) {
  auto r = CheckAppendHistory(h);
  EXPECT_OK(r);
  std::vector<std::string> kinds;
  if (r.ok()) {
    for (const Anomaly& a : r->anomalies) kinds.push_back(a.kind);
    EXPECT_EQ(r->verdict, kinds.empty() ? Verdict::kValid : Verdict::kInvalid);
  }
  return kinds;
}

using Kinds = std::vector<std::string>;

TEST(Append, ConsistentPrefixesAreValid) {
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "1 invoke read nil k", "0 ok append 1 k",
                           "1 ok read [] k", "0 invoke append 2 k", "0 ok append 2 k",
                           "1 invoke read nil k", "1 ok read [1 2] k", "2 invoke append 3 k",
                           "2 info append 3 k"})),
            Kinds{});
}

TEST(Append, Duplicated) {
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "0 ok append 1 k", "1 invoke read nil k",
                           "1 ok read [1 1] k"})),
            Kinds{"duplicated"});
}

TEST(Append, PhantomAndFailedAppendObserved) {
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "0 fail append 1 k", "1 invoke read nil k",
                           "1 ok read [1 9] k"})),
            (Kinds{"failed-observed", "phantom"}));
}

TEST(Append, PipelinedWriteAnsweredDefinitelyFailedThatTookEffect) {
  // Issue 10's shape (the pipeline workload): one client with appends 1..3 in flight as
  // processes 0..2. Append 1's first attempt applied, its retry arrived after 2 and 3 applied
  // and was answered with a definite error (:fail); a later read sees 1.
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "1 invoke append 2 k", "2 invoke append 3 k",
                           "1 ok append 2 k", "2 ok append 3 k", "0 fail append 1 k",
                           "3 invoke read nil k", "3 ok read [1 2 3] k"})),
            Kinds{"failed-observed"});
  // Answered "outcome unknown" (:info) instead, the same history is valid.
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "1 invoke append 2 k", "2 invoke append 3 k",
                           "1 ok append 2 k", "2 ok append 3 k", "0 info append 1 k",
                           "3 invoke read nil k", "3 ok read [1 2 3] k"})),
            Kinds{});
}

TEST(Append, IncompatibleOrders) {
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "1 invoke append 2 k", "0 ok append 1 k",
                           "1 ok append 2 k", "2 invoke read nil k", "2 ok read [1 2] k",
                           "3 invoke read nil k", "3 ok read [2] k"})),
            (Kinds{"incompatible-order", "lost"}));
}

TEST(Append, LostAcknowledgedAppend) {
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "0 ok append 1 k", "0 invoke append 2 k",
                           "0 ok append 2 k", "1 invoke read nil k", "1 ok read [1] k"})),
            (Kinds{"lost", "stale-read"}));
}

TEST(Append, StaleReadAfterEarlierRead) {
  // The second read began after the first returned [1 2] but sees less.
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "1 invoke append 2 k", "2 invoke read nil k",
                           "2 ok read [1 2] k", "3 invoke read nil k", "3 ok read [1] k",
                           "0 ok append 1 k", "1 ok append 2 k", "2 invoke read nil k",
                           "2 ok read [1 2] k"})),
            Kinds{"stale-read"});
}

TEST(Append, RealTimeOrderOfAppends) {
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 k", "0 ok append 1 k", "0 invoke append 2 k",
                           "0 ok append 2 k", "1 invoke read nil k", "1 ok read [2 1] k"})),
            Kinds{"real-time-order"});
}

TEST(Append, KeysAreIndependent) {
  EXPECT_EQ(AppendKinds(H({"0 invoke append 1 a", "0 ok append 1 a", "1 invoke append 1 b",
                           "1 ok append 1 b", "2 invoke read nil a", "2 ok read [1] a",
                           "2 invoke read nil b", "2 ok read [1] b"})),
            Kinds{});
}

std::vector<std::string> SetKinds(const History& h) {
  auto r = CheckSetHistory(h);
  EXPECT_OK(r);
  std::vector<std::string> kinds;
  if (r.ok()) {
    for (const Anomaly& a : r->anomalies) kinds.push_back(a.kind);
    EXPECT_EQ(r->verdict, kinds.empty() ? Verdict::kValid : Verdict::kInvalid);
  }
  return kinds;
}

TEST(Set, ValidWithConcurrentAndUnknownAdds) {
  EXPECT_EQ(SetKinds(H({"0 invoke add 1", "1 invoke read nil", "1 ok read #{}", "0 ok add 1",
                        "2 invoke add 2", "2 info add 2", "1 invoke read nil", "1 ok read #{1 2}",
                        "1 invoke read nil", "1 ok read [2 1]"})),
            Kinds{});
}

TEST(Set, LostUnexpectedStale) {
  EXPECT_EQ(SetKinds(H({"0 invoke add 1", "0 ok add 1", "1 invoke read nil", "1 ok read #{}",
                        "1 invoke read nil", "1 ok read #{1}"})),
            Kinds{"stale"});
  EXPECT_EQ(SetKinds(H({"0 invoke add 1", "0 ok add 1", "1 invoke read nil", "1 ok read #{1}",
                        "1 invoke read nil", "1 ok read #{}"})),
            Kinds{"lost"});
  EXPECT_EQ(SetKinds(H({"0 invoke add 1", "0 fail add 1", "1 invoke read nil", "1 ok read #{1 5}"})),
            (Kinds{"failed-observed", "unexpected"}));
}

TEST(Set, ElementSeenByAReadIsKnownFromThen) {
  // The add is still pending, but once a read returned 1, a later read must too.
  EXPECT_EQ(SetKinds(H({"0 invoke add 1", "1 invoke read nil", "1 ok read #{1}",
                        "1 invoke read nil", "1 ok read #{}", "0 info add 1"})),
            Kinds{"lost"});
}

}  // namespace
}  // namespace ringkv::jepsen
