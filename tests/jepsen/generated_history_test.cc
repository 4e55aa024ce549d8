// A 10,000-operation history simulated from a real register (10 processes, random
// concurrency, crashes) must check linearizable in seconds; mutations of it must not.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/random.h"
#include "jepsen/checker/linearizability.h"
#include "testutil/status_matchers.h"

namespace ringkv::jepsen {
namespace {

// Simulates clients against one atomic register. Each operation takes effect at a random moment
// between its invocation and completion (its linearization point), so the history is
// linearizable by construction. Writes use unique values. ~1% of operations crash (:info, the
// process gets a fresh id; probability `crash`) either before or after taking effect. Completions carry the
// register's version when `versions` is set.
History Simulate(uint64_t seed, size_t ops, bool versions, double crash = 0.01) {
  Random rng(seed);
  struct Client {
    int64_t process = 0;
    bool busy = false;
    bool applied = false;
    std::string f;
    int64_t a = 0, b = 0;
    edn::Value result;
    int64_t version = 0;
  };
  std::vector<Client> clients;
  for (int64_t p = 0; p < 10; ++p) {
    Client c;
    c.process = p;
    clients.push_back(c);
  }
  int64_t value = -1;  // -1 = nil
  int64_t version = 0;
  int64_t next_value = 0;
  size_t invoked = 0;
  History h;
  auto val = [](int64_t v) { return v < 0 ? edn::Value::Nil() : edn::Value::Int(v); };
  auto emit = [&](const Client& c, OpType type, edn::Value v) {
    Op op;
    op.index = static_cast<int64_t>(h.size());
    op.process = c.process;
    op.type = type;
    op.f = c.f;
    op.value = std::move(v);
    op.time_ns = static_cast<int64_t>(h.size()) * 1000;
    if (versions && type == OpType::kOk) op.version = c.version;
    h.push_back(std::move(op));
  };
  auto args = [&](const Client& c) {
    if (c.f == "read") return edn::Value::Nil();
    if (c.f == "write") return val(c.a);
    return edn::Value::Vector({val(c.a), val(c.b)});
  };
  while (invoked < ops || std::any_of(clients.begin(), clients.end(),
                                      [](const Client& c) { return c.busy; })) {
    Client& c = clients[rng.Uniform(clients.size())];
    if (!c.busy) {
      if (invoked == ops) continue;
      ++invoked;
      c.busy = true;
      c.applied = false;
      uint64_t kind = rng.Uniform(10);
      c.f = kind < 5 ? "read" : kind < 8 ? "write" : "cas";
      if (c.f == "write") c.a = next_value++;
      if (c.f == "cas") {
        c.a = rng.Bernoulli(0.7) ? value : next_value - 1 - static_cast<int64_t>(rng.Uniform(3));
        c.b = next_value++;
      }
      emit(c, OpType::kInvoke, args(c));
    } else if (!c.applied) {
      c.applied = true;  // the linearization point
      if (c.f == "read") {
        c.result = val(value);
      } else if (c.f == "write") {
        value = c.a;
        ++version;
      } else if (value == c.a) {
        value = c.b;
        ++version;
      } else {
        c.result = edn::Value::Keyword("fail");
      }
      c.version = version;
    } else {
      if (rng.Bernoulli(crash)) {
        emit(c, OpType::kInfo, args(c));
        c.process += 10;  // a crashed client comes back under a fresh id
      } else if (c.f == "cas" && c.result.IsKeyword("fail")) {
        emit(c, OpType::kFail, args(c));
      } else {
        emit(c, OpType::kOk, c.f == "read" ? c.result : args(c));
      }
      c.busy = false;
      c.result = edn::Value::Nil();
    }
  }
  return h;
}

LinearizabilityOptions Opts(bool versions) {
  LinearizabilityOptions o;
  o.use_versions = versions;
  o.time_limit_per_key_s = 60;  // an `unknown` must show up as a failure, not hide one
  return o;
}

Verdict Check(const History& h, bool versions = false) {
  auto r = CheckLinearizability(h, LinearModelKind::kRegister, Opts(versions));
  EXPECT_OK(r);
  return r.ok() ? r->verdict : Verdict::kUnknown;
}

uint64_t Seed() { return ::testing::UnitTest::GetInstance()->random_seed(); }

TEST(GeneratedHistory, TenThousandOpsAreLinearizable) {
  History h = Simulate(Seed(), 10000, /*versions=*/false);
  ASSERT_GE(h.size(), 19000u);
  auto r = CheckLinearizability(h, LinearModelKind::kRegister, Opts(false));
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kValid) << FormatLinearizability(*r) << " seed " << Seed();
}

TEST(GeneratedHistory, VersionFastPathAgrees) {
  // Without crashes: a read of a crashed write's value has no versioned writer to follow.
  History h = Simulate(Seed() + 1, 10000, /*versions=*/true, /*crash=*/0);
  auto r = CheckLinearizability(h, LinearModelKind::kRegister, Opts(true));
  ASSERT_OK(r);
  EXPECT_EQ(r->verdict, Verdict::kValid);
  EXPECT_TRUE(r->keys[0].by_versions) << "seed " << Seed() + 1;
}


TEST(GeneratedHistory, FlippingAReadValueIsCaught) {
  History base = Simulate(Seed() + 2, 2000, false);
  ASSERT_EQ(Check(base), Verdict::kValid);
  Random rng(Seed() + 2);
  int mutated = 0;
  for (int trial = 0; trial < 5; ++trial) {
    size_t pos = rng.Uniform(base.size());
    while (!(base[pos].type == OpType::kOk && base[pos].f == "read")) pos = (pos + 1) % base.size();
    History h = base;
    h[pos].value = edn::Value::Int(1000000 + trial);  // a value never written
    EXPECT_EQ(Check(h), Verdict::kInvalid) << "read at event " << pos << " seed " << Seed() + 2;
    ++mutated;
  }
  EXPECT_EQ(mutated, 5);
}

TEST(GeneratedHistory, StaleReadValueIsCaught) {
  // Replace a read's value by one that was overwritten before the read was invoked.
  History base = Simulate(Seed() + 3, 2000, false);
  ASSERT_EQ(Check(base), Verdict::kValid);
  // Completed writes in history order: (completion position, value).
  std::vector<std::pair<size_t, int64_t>> writes;
  std::map<int64_t, size_t> invoke_of;  // process -> position of its open invocation
  int checked = 0;
  for (size_t pos = 0; pos < base.size() && checked < 5; ++pos) {
    const Op& op = base[pos];
    if (op.type == OpType::kInvoke) {
      invoke_of[op.process] = pos;
      continue;
    }
    if (op.type == OpType::kOk && op.f == "write") writes.push_back({pos, op.value.integer});
    if (op.type != OpType::kOk || op.f != "read") continue;
    size_t call = invoke_of[op.process];
    // Two writes completed before the call, the later one also invoked after the earlier one
    // completed (so the older value is certainly overwritten); use the older value.
    std::vector<std::pair<size_t, int64_t>> before;
    for (const auto& w : writes) {
      if (w.first < call) before.push_back(w);
    }
    if (before.size() < 40) continue;
    int64_t stale = before[before.size() - 30].second;
    if (op.value == edn::Value::Int(stale)) continue;
    History h = base;
    h[pos].value = edn::Value::Int(stale);
    EXPECT_EQ(Check(h), Verdict::kInvalid) << "read at event " << pos << " seed " << Seed() + 3;
    ++checked;
    pos += 200;
  }
  EXPECT_EQ(checked, 5);
}

TEST(GeneratedHistory, SwappingCompletionsAcrossARealTimeEdgeIsCaught) {
  // Two reads R1 -> R2 in real time that returned different values, where R2's value was
  // written by an op invoked after R1 completed. Swapping their completion values makes R1
  // return a value from its future.
  History base = Simulate(Seed() + 4, 2000, false);
  ASSERT_EQ(Check(base), Verdict::kValid);
  std::map<int64_t, size_t> first_write_invoke;  // value -> position of the invoking event
  for (size_t pos = 0; pos < base.size(); ++pos) {
    const Op& op = base[pos];
    if (op.type != OpType::kInvoke) continue;
    if (op.f == "write") first_write_invoke.emplace(op.value.integer, pos);
    if (op.f == "cas") first_write_invoke.emplace(op.value.items[1].integer, pos);
  }
  int swapped = 0;
  for (size_t r1 = 0; r1 < base.size() && swapped < 5; ++r1) {
    if (!(base[r1].type == OpType::kOk && base[r1].f == "read")) continue;
    for (size_t r2 = r1 + 1; r2 < base.size(); ++r2) {
      if (!(base[r2].type == OpType::kOk && base[r2].f == "read" && base[r2].value.IsInt())) continue;
      auto w = first_write_invoke.find(base[r2].value.integer);
      if (w == first_write_invoke.end() || w->second <= r1 || base[r2].value == base[r1].value) {
        continue;
      }
      History h = base;
      std::swap(h[r1].value, h[r2].value);
      EXPECT_EQ(Check(h), Verdict::kInvalid)
          << "swapped events " << r1 << " and " << r2 << " seed " << Seed() + 4;
      ++swapped;
      r1 += 300;
      break;
    }
  }
  EXPECT_EQ(swapped, 5);
}

}  // namespace
}  // namespace ringkv::jepsen
