// Hand-made register and kv histories: concurrency, :info semantics, cas, stale reads,
// explanations, the version fast path and the budget.
#include "jepsen/checker/linearizability.h"

#include <gtest/gtest.h>

#include "testutil/status_matchers.h"
#include "tests/jepsen/test_histories.h"

namespace ringkv::jepsen {
namespace {

using testing::H;

Verdict Register(const History& h, LinearizabilityOptions o = {}) {
  auto r = CheckLinearizability(h, LinearModelKind::kRegister, o);
  EXPECT_OK(r);
  return r.ok() ? r->verdict : Verdict::kUnknown;
}

TEST(Register, SequentialReadOfLastWrite) {
  EXPECT_EQ(Register(H({"0 invoke write 1", "0 ok write 1", "1 invoke read nil", "1 ok read 1"})),
            Verdict::kValid);
  EXPECT_EQ(Register(H({"0 invoke write 1", "0 ok write 1", "1 invoke read nil", "1 ok read 2"})),
            Verdict::kInvalid);
}

TEST(Register, InitialValueIsNil) {
  EXPECT_EQ(Register(H({"0 invoke read nil", "0 ok read nil"})), Verdict::kValid);
  EXPECT_EQ(Register(H({"0 invoke read nil", "0 ok read 0"})), Verdict::kInvalid);
}

TEST(Register, OverlappingOpsMayOrderEitherWay) {
  // Two concurrent writes; reads after both see one of them, and both reads must agree.
  History h = H({"0 invoke write 1", "1 invoke write 2", "0 ok write 1", "1 ok write 2",
                 "2 invoke read nil", "2 ok read 1", "3 invoke read nil", "3 ok read 1"});
  EXPECT_EQ(Register(h), Verdict::kValid);
  History flip = H({"0 invoke write 1", "1 invoke write 2", "0 ok write 1", "1 ok write 2",
                    "2 invoke read nil", "2 ok read 1", "3 invoke read nil", "3 ok read 2"});
  EXPECT_EQ(Register(flip), Verdict::kInvalid);
  // A read concurrent with a write may see the old or the new value.
  EXPECT_EQ(Register(H({"0 invoke write 1", "1 invoke read nil", "1 ok read nil", "0 ok write 1"})),
            Verdict::kValid);
  EXPECT_EQ(Register(H({"0 invoke write 1", "1 invoke read nil", "1 ok read 1", "0 ok write 1"})),
            Verdict::kValid);
}

TEST(Register, StaleReadIsInvalid) {
  History h = H({"0 invoke write 1", "0 ok write 1", "0 invoke write 2", "0 ok write 2",
                 "1 invoke read nil", "1 ok read 1"});
  EXPECT_EQ(Register(h), Verdict::kInvalid);
}

TEST(Register, NonMonotonicReadsAreInvalid) {
  // The write is concurrent with both reads, but once a read saw 1, a later read can't see nil.
  History h = H({"0 invoke write 1", "1 invoke read nil", "1 ok read 1", "2 invoke read nil",
                 "2 ok read nil", "0 ok write 1"});
  EXPECT_EQ(Register(h), Verdict::kInvalid);
}

TEST(Register, CasSemantics) {
  EXPECT_EQ(Register(H({"0 invoke write 1", "0 ok write 1", "0 invoke cas [1 2]", "0 ok cas [1 2]",
                        "1 invoke read nil", "1 ok read 2"})),
            Verdict::kValid);
  // An :ok cas whose expected value can't be current is impossible.
  EXPECT_EQ(Register(H({"0 invoke write 1", "0 ok write 1", "0 invoke cas [3 2]", "0 ok cas [3 2]"})),
            Verdict::kInvalid);
  // A :fail cas certainly didn't happen: its new value must not be read.
  EXPECT_EQ(Register(H({"0 invoke write 1", "0 ok write 1", "0 invoke cas [1 2]",
                        "0 fail cas [1 2]", "1 invoke read nil", "1 ok read 2"})),
            Verdict::kInvalid);
  EXPECT_EQ(Register(H({"0 invoke write 1", "0 ok write 1", "0 invoke cas [1 2]",
                        "0 fail cas [1 2]", "1 invoke read nil", "1 ok read 1"})),
            Verdict::kValid);
}

TEST(Register, InfoWriteMayHaveHappened) {
  // The write crashed; a later read of its value is explained by it taking effect.
  History h = H({"0 invoke write 1", "0 info write 1", "1 invoke read nil", "1 ok read 1"});
  EXPECT_EQ(Register(h), Verdict::kValid);
  // And a read of nil by it never taking effect.
  EXPECT_EQ(Register(H({"0 invoke write 1", "0 info write 1", "1 invoke read nil", "1 ok read nil"})),
            Verdict::kValid);
  // An invocation that never completes behaves the same.
  EXPECT_EQ(Register(H({"0 invoke write 1", "1 invoke read nil", "1 ok read 1"})), Verdict::kValid);
}

TEST(Register, InfoWriteTakesEffectOnlyOnce) {
  // If the crashed write happened, it happened at one point: reads can't see 1, then 2, then 1.
  History h = H({"0 invoke write 1", "0 info write 1", "1 invoke write 2", "1 ok write 2",
                 "2 invoke read nil", "2 ok read 1", "2 invoke read nil", "2 ok read 2",
                 "2 invoke read nil", "2 ok read 1"});
  EXPECT_EQ(Register(h), Verdict::kInvalid);
}

TEST(Register, InfoOpCannotTakeEffectBeforeItsInvocation) {
  History h = H({"1 invoke read nil", "1 ok read 1", "0 invoke write 1", "0 info write 1"});
  EXPECT_EQ(Register(h), Verdict::kInvalid);
}

TEST(Register, InfoCasMustMatchWhenItTakesEffect) {
  // The crashed cas [5 2] can't explain reading 2: the value was never 5.
  History h = H({"0 invoke write 1", "0 ok write 1", "0 invoke cas [5 2]", "0 info cas [5 2]",
                 "1 invoke read nil", "1 ok read 2"});
  EXPECT_EQ(Register(h), Verdict::kInvalid);
  History ok = H({"0 invoke write 1", "0 ok write 1", "0 invoke cas [1 2]", "0 info cas [1 2]",
                  "1 invoke read nil", "1 ok read 2"});
  EXPECT_EQ(Register(ok), Verdict::kValid);
}

// 24 crashed writes of values 0..23 concurrent with everything, then, in sequence, a write of
// 100, a read of 7 and a read of `last`.
History CrashedWritesThenReads(int last) {
  std::string edn;
  for (int p = 0; p < 24; ++p) {
    std::string v = std::to_string(p);
    edn += "{:process " + v + ", :type :invoke, :f :write, :value " + v + "}\n";
    edn += "{:process " + v + ", :type :info, :f :write, :value " + v + "}\n";
  }
  for (auto [f, v] : {std::pair{"write", 100}, {"read", 7}, {"read", last}}) {
    for (const char* type : {"invoke", "ok"}) {
      edn += "{:process 99, :type :" + std::string(type) + ", :f :" + f + ", :value " +
             (std::string(type) == "invoke" && std::string(f) == "read" ? "nil"
                                                                        : std::to_string(v)) +
             "}\n";
    }
  }
  auto h = HistoryFromEdn(edn);
  EXPECT_OK(h);
  return h.ok() ? *h : History{};
}

TEST(Register, CrashedWritesOfValuesNobodyReadLeaveTheSearch) {
  // Refuting the impossible read would otherwise try every subset of the 23 writes whose values
  // nobody read (2^23 configurations). They can never be needed: only the write of 7 stays.
  auto r = CheckLinearizability(CrashedWritesThenReads(200), LinearModelKind::kRegister, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kInvalid);
  EXPECT_EQ(r->keys[0].ops, 4u);  // write 7 (crashed), write 100, read 7, read 200
  EXPECT_LT(r->keys[0].steps, 100u);
  // Reading 7 after 100 is explained by the crashed write of 7 taking effect in between.
  r = CheckLinearizability(CrashedWritesThenReads(7), LinearModelKind::kRegister, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kValid);
  // A crashed cas stays when its new value is read, and when a cas expects it.
  History h = H({"0 invoke cas [nil 1]", "0 info cas [nil 1]", "1 invoke cas [nil 2]",
                 "1 info cas [nil 2]", "2 invoke cas [nil 3]", "2 info cas [nil 3]",
                 "3 invoke read nil", "3 ok read 1", "3 invoke cas [2 4]", "3 info cas [2 4]"});
  r = CheckLinearizability(h, LinearModelKind::kRegister, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kValid);
  EXPECT_EQ(r->keys[0].ops, 3u);  // cas nil->1, cas nil->2, read 1
}

TEST(Register, FailedAndUnknownReadsAreIgnored) {
  History h = H({"0 invoke write 1", "0 ok write 1", "1 invoke read nil", "1 fail read 7",
                 "2 invoke read nil", "2 info read :timed-out"});
  EXPECT_EQ(Register(h), Verdict::kValid);
}

TEST(Register, KeysAreCheckedIndependently) {
  History h = H({"0 invoke write 1 a", "0 ok write 1 a", "1 invoke write 2 b", "1 ok write 2 b",
                 "2 invoke read nil a", "2 ok read 1 a", "3 invoke read nil b", "3 ok read 1 b"});
  auto r = CheckLinearizability(h, LinearModelKind::kRegister, {});
  ASSERT_OK(r);
  ASSERT_EQ(r->keys.size(), 2u);
  EXPECT_EQ(r->keys[0].key, "a");
  EXPECT_EQ(r->keys[0].verdict, Verdict::kValid);
  EXPECT_EQ(r->keys[1].key, "b");
  EXPECT_EQ(r->keys[1].verdict, Verdict::kInvalid);
  EXPECT_EQ(r->verdict, Verdict::kInvalid);
}

TEST(Register, ExplanationNamesPrefixAndStuckOp) {
  History h = H({"0 invoke write 1", "0 ok write 1", "0 invoke write 2", "0 ok write 2",
                 "1 invoke read nil", "1 ok read 1"});
  auto r = CheckLinearizability(h, LinearModelKind::kRegister, {});
  ASSERT_OK(r);
  const KeyReport& k = r->keys[0];
  ASSERT_EQ(k.verdict, Verdict::kInvalid);
  ASSERT_TRUE(k.stuck.has_value());
  EXPECT_EQ(r->pairs[*k.stuck].f, "read");
  ASSERT_EQ(k.prefix.size(), 2u);  // both writes linearize; the read of 1 can't follow
  EXPECT_EQ(r->pairs[k.prefix[1]].invoke_value, edn::Value::Int(2));
  std::string text = FormatLinearizability(*r);
  EXPECT_NE(text.find("could not linearize"), std::string::npos) << text;
  EXPECT_NE(text.find("state after the prefix: 2"), std::string::npos) << text;
}

TEST(Register, VersionFastPathProvesAndFallsBack) {
  // Versions consistent with a linearization: decided without a search.
  History h = H({"0 invoke write 1", "1 invoke read nil", "0 ok write 1", "1 ok read 1"});
  h[2].version = 5;
  h[3].version = 5;
  auto r = CheckLinearizability(h, LinearModelKind::kRegister, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kValid);
  EXPECT_TRUE(r->keys[0].by_versions);
  // Wrong versions (the read claims a version before the write) make the witness fail; the
  // full search still decides correctly, so versions can't change a verdict.
  h[3].version = 1;
  r = CheckLinearizability(h, LinearModelKind::kRegister, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kValid);
  EXPECT_FALSE(r->keys[0].by_versions);
  // Versions can't make an invalid history pass.
  History bad = H({"0 invoke write 1", "0 ok write 1", "0 invoke write 2", "0 ok write 2",
                   "1 invoke read nil", "1 ok read 1"});
  bad[1].version = 1;
  bad[3].version = 2;
  bad[5].version = 1;
  EXPECT_EQ(Register(bad), Verdict::kInvalid);
}

TEST(Register, ExhaustedBudgetIsUnknown) {
  // Many concurrent crashed writes plus an impossible read: refuting needs a big search.
  History h;
  {
    std::string edn;
    for (int p = 0; p < 20; ++p) {
      edn += "{:process " + std::to_string(p) + ", :type :invoke, :f :write, :value " +
             std::to_string(p) + "}\n";
    }
    for (int p = 0; p < 20; ++p) {
      edn += "{:process " + std::to_string(p) + ", :type :ok, :f :write, :value " +
             std::to_string(p) + "}\n";
    }
    edn += "{:process 99, :type :invoke, :f :read, :value nil}\n";
    edn += "{:process 99, :type :ok, :f :read, :value 100}\n";
    auto parsed = HistoryFromEdn(edn);
    ASSERT_OK(parsed);
    h = *parsed;
  }
  LinearizabilityOptions o;
  o.time_limit_per_key_s = 0.05;
  auto r = CheckLinearizability(h, LinearModelKind::kRegister, o);
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kUnknown);
  EXPECT_NE(r->keys[0].explanation.front().find("time limit"), std::string::npos);
}

TEST(Kv, GetPutAppendPerKey) {
  History ok = H({"0 invoke put \"a\" x", "0 ok put \"a\" x", "1 invoke append \"b\" x",
                  "1 ok append \"b\" x", "2 invoke get nil x", "2 ok get \"ab\" x",
                  "3 invoke get nil y", "3 ok get \"\" y"});
  auto r = CheckLinearizability(ok, LinearModelKind::kKv, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kValid);
  History bad = H({"0 invoke append \"a\" x", "0 ok append \"a\" x", "1 invoke append \"b\" x",
                   "1 ok append \"b\" x", "2 invoke get nil x", "2 ok get \"ba\" x"});
  r = CheckLinearizability(bad, LinearModelKind::kKv, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kInvalid);
}

TEST(Register, UnknownOperationIsAnError) {
  auto r = CheckLinearizability(H({"0 invoke frob 1", "0 ok frob 1"}), LinearModelKind::kRegister, {});
  EXPECT_TRUE(r.status().IsInvalidArgument());
}

}  // namespace
}  // namespace ringkv::jepsen
