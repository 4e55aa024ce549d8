// Simulation of many pure SWIM cores on a lossy, delaying network (seeded, one thread).
// Measures and prints what goes into docs: failure detection time of a crashed node, the
// false-positive rate under 10% message loss, and convergence times of join, leave and
// refutation. Each number line starts with "SWIM-SIM". Failing runs print their seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <vector>

#include "gossip/swim.h"
#include "sim_network.h"

namespace ringkv::gossip {
namespace {

using testing::SimAddr;
using testing::SimNetwork;
using testing::SimNodeOptions;
using testing::SimOptions;

constexpr double kLoss = 0.10;
constexpr int64_t kProbeMs = 1000;  // SwimOptions default

SimOptions Lossy(uint64_t seed) {
  SimOptions o;
  o.seed = seed;
  o.loss = kLoss;
  o.min_delay_ms = 1;
  o.max_delay_ms = 20;
  return o;
}

// Nodes 1..n; each joins through a random earlier node. Returns false if they do not converge.
bool Boot(SimNetwork& net, int n, uint64_t seed) {
  Random rng(seed);
  net.AddNode(SimNodeOptions(1, seed));
  for (int i = 2; i <= n; ++i) {
    const uint64_t seed_node = 1 + rng.Uniform(static_cast<uint64_t>(i - 1));
    net.AddNode(SimNodeOptions(i, seed))->Join({SimAddr(seed_node), SimAddr(1)});
    net.Drain(i);
  }
  return net.RunUntil(
      [&] {
        for (int a = 1; a <= n; ++a) {
          if (net.node(a)->members().NumLive() != static_cast<size_t>(n)) return false;
        }
        return true;
      },
      60000);
}

struct Summary {
  double mean = 0, max = 0;
};
Summary Summarize(const std::vector<int64_t>& v) {
  Summary s;
  if (v.empty()) return s;
  s.mean = static_cast<double>(std::accumulate(v.begin(), v.end(), int64_t{0})) / v.size();
  s.max = static_cast<double>(*std::max_element(v.begin(), v.end()));
  return s;
}

TEST(SwimSimTest, JoinConvergesUnderLoss) {
  std::vector<int64_t> times;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimNetwork net(Lossy(seed));
    ASSERT_TRUE(Boot(net, 32, seed)) << "--seed=" << seed;
    times.push_back(net.now());
  }
  Summary s = Summarize(times);
  std::printf("SWIM-SIM join: 32 nodes, %.0f%% loss: all see all alive after mean %.0f ms, "
              "max %.0f ms (5 runs)\n", kLoss * 100, s.mean, s.max);
}

TEST(SwimSimTest, CrashedNodeIsDetectedEverywhere) {
  constexpr int kNodes = 16;
  std::vector<int64_t> first_suspect, first_dead, all_dead;
  int64_t suspicion_timeout_ms = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SimNetwork net(Lossy(seed));
    ASSERT_TRUE(Boot(net, kNodes, seed)) << "--seed=" << seed;
    net.RunFor(5000 + static_cast<int64_t>(seed) * 137);  // crash at an arbitrary phase
    const uint64_t victim = 1 + seed % kNodes;
    suspicion_timeout_ms = net.node(victim % kNodes + 1)->SuspicionTimeoutMs();
    net.Kill(victim);
    const int64_t t0 = net.now();
    ASSERT_TRUE(net.RunUntil([&] { return net.AllSee(victim, MemberState::kDead); }, 60000))
        << "--seed=" << seed;
    all_dead.push_back(net.now() - t0);
    int64_t fs = -1, fd = -1;
    for (uint64_t id = 1; id <= kNodes; ++id) {
      if (id == victim) continue;
      for (const auto& e : net.events(id)) {
        if (e.at < t0 || e.event.member.id != NodeId(victim)) continue;
        if (e.event.type == MemberEvent::Type::kSuspect && (fs < 0 || e.at < fs)) fs = e.at;
        if (e.event.type == MemberEvent::Type::kDead && (fd < 0 || e.at < fd)) fd = e.at;
      }
    }
    ASSERT_GE(fs, t0);
    ASSERT_GE(fd, fs);
    first_suspect.push_back(fs - t0);
    first_dead.push_back(fd - t0);
  }
  const Summary s = Summarize(first_suspect), d = Summarize(first_dead), a = Summarize(all_dead);
  std::printf("SWIM-SIM detection: %d nodes, %.0f%% loss, probe interval %lld ms, min suspicion "
              "timeout %lld ms, max 6x (10 runs)\n", kNodes, kLoss * 100, static_cast<long long>(kProbeMs),
              static_cast<long long>(suspicion_timeout_ms));
  std::printf("SWIM-SIM detection: first suspicion mean %.0f ms (%.1f probe periods), max %.0f ms\n",
              s.mean, s.mean / kProbeMs, s.max);
  std::printf("SWIM-SIM detection: first dead mean %.0f ms (%.1f periods), all nodes see dead "
              "mean %.0f ms (%.1f periods), max %.0f ms\n",
              d.mean, d.mean / kProbeMs, a.mean, a.mean / kProbeMs, a.max);
  // Bound: someone probes the victim within a round (< n periods, usually ~1), then the
  // suspicion timeout (4 * log10(16) * 1 s ~ 4.8 s), then dissemination.
  EXPECT_LT(a.max, 20.0 * kProbeMs);
}

struct FpResult {
  uint64_t probes = 0, suspicions = 0, refutations = 0, false_dead = 0;
};

// Runs `runs` clusters of `nodes` healthy members for `run_ms` under 10% loss and counts how
// often a live member was declared dead by anybody.
FpResult RunHealthyClusters(const char* what, int nodes, int runs, int64_t run_ms,
                            int max_timeout_mult) {
  FpResult r;
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(runs); ++seed) {
    SimNetwork net(Lossy(100 + seed));
    Random rng(seed);
    for (int i = 1; i <= nodes; ++i) {
      SwimOptions o = SimNodeOptions(i, seed);
      o.suspicion_max_timeout_mult = max_timeout_mult;
      Swim* s = net.AddNode(o);
      if (i > 1) s->Join({SimAddr(1 + rng.Uniform(static_cast<uint64_t>(i - 1))), SimAddr(1)});
      net.Drain(i);
    }
    net.RunFor(run_ms);
    for (uint64_t id = 1; id <= static_cast<uint64_t>(nodes); ++id) {
      const SwimStats& st = net.node(id)->stats();
      r.suspicions += st.suspicions_raised;
      r.probes += st.probes;
      r.refutations += st.refutations;
      for (const auto& e : net.events(id)) {
        if (e.event.type != MemberEvent::Type::kDead) continue;
        ++r.false_dead;
        std::printf("false dead (%s): node %llu declared by %llu at %lld ms, --seed=%llu\n", what,
                    static_cast<unsigned long long>(e.event.member.id.value()),
                    static_cast<unsigned long long>(id), static_cast<long long>(e.at),
                    static_cast<unsigned long long>(seed));
      }
    }
  }
  return r;
}

void PrintFp(const char* what, int nodes, int runs, int64_t run_ms, const FpResult& r) {
  std::printf("SWIM-SIM false positives (%s): %d nodes, %.0f%% loss, %d runs x %lld s: %llu "
              "probes, %llu suspicions (%.3f%% of probes), %llu refutations, %llu times a live "
              "member was declared dead\n",
              what, nodes, kLoss * 100, runs, static_cast<long long>(run_ms / 1000),
              static_cast<unsigned long long>(r.probes),
              static_cast<unsigned long long>(r.suspicions),
              100.0 * static_cast<double>(r.suspicions) /
                  static_cast<double>(std::max<uint64_t>(r.probes, 1)),
              static_cast<unsigned long long>(r.refutations),
              static_cast<unsigned long long>(r.false_dead));
}

TEST(SwimSimTest, NoLiveMemberDeclaredDeadUnderTenPercentLoss) {
  constexpr int kNodes = 16, kRuns = 20;
  constexpr int64_t kRunMs = 120000;
  const char* kLifeguard = "lifeguard suspicion, default";
  const FpResult lifeguard =
      RunHealthyClusters(kLifeguard, kNodes, kRuns, kRunMs, /*max_timeout_mult=*/6);
  PrintFp(kLifeguard, kNodes, kRuns, kRunMs, lifeguard);
  // Plain SWIM suspicion (fixed timeout), for comparison in the docs.
  const char* kPlain = "comparison: plain SWIM, fixed timeout";
  const FpResult plain = RunHealthyClusters(kPlain, kNodes, kRuns, kRunMs, /*max_timeout_mult=*/1);
  PrintFp(kPlain, kNodes, kRuns, kRunMs, plain);
  EXPECT_GT(lifeguard.probes, 0u);
  EXPECT_GT(lifeguard.suspicions, 0u);  // loss does cause suspicions...
  EXPECT_GE(lifeguard.refutations, lifeguard.suspicions / 2);  // ...which get refuted
  EXPECT_EQ(lifeguard.false_dead, 0u);
  EXPECT_LE(lifeguard.false_dead, plain.false_dead);
}

TEST(SwimSimTest, LeaveConvergesUnderLoss) {
  constexpr int kNodes = 16;
  std::vector<int64_t> times;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimNetwork net(Lossy(200 + seed));
    ASSERT_TRUE(Boot(net, kNodes, seed)) << "--seed=" << seed;
    const uint64_t leaver = 1 + seed;
    net.node(leaver)->Leave();
    net.Drain(leaver);
    const int64_t t0 = net.now();
    ASSERT_TRUE(net.RunUntil([&] { return net.node(leaver)->LeaveDisseminated(); }, 10000));
    net.Kill(leaver);  // the process exits once its goodbye is out
    ASSERT_TRUE(net.RunUntil([&] { return net.AllSee(leaver, MemberState::kLeft); }, 30000))
        << "--seed=" << seed;
    times.push_back(net.now() - t0);
    net.RunFor(15000);
    EXPECT_TRUE(net.AllSee(leaver, MemberState::kLeft)) << "--seed=" << seed;
  }
  const Summary s = Summarize(times);
  std::printf("SWIM-SIM leave: %d nodes, %.0f%% loss: all see left after mean %.0f ms, max %.0f "
              "ms (5 runs)\n", kNodes, kLoss * 100, s.mean, s.max);
}

TEST(SwimSimTest, FalseSuspicionIsRefutedUnderLoss) {
  constexpr int kNodes = 16;
  std::vector<int64_t> times;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimNetwork net(Lossy(300 + seed));
    ASSERT_TRUE(Boot(net, kNodes, seed)) << "--seed=" << seed;
    const uint64_t target = 3, liar = 7;
    const uint64_t inc = net.node(target)->self().incarnation;
    gossippb::MemberInfo rumor = InfoFromMember(*net.node(liar)->members().Find(NodeId(target)));
    rumor.set_state(gossippb::MEMBER_SUSPECT);
    gossippb::Envelope env;
    env.set_cluster_id("sim");
    env.set_sender_id(liar);
    env.set_sender_addr(SimAddr(liar));
    *env.add_updates() = rumor;
    ASSERT_TRUE(net.node(liar)->Receive(SimAddr(liar), env).ok());
    net.Drain(liar);
    ASSERT_EQ(net.StateAt(liar, target), MemberState::kSuspect);
    const int64_t t0 = net.now();
    ASSERT_TRUE(net.RunUntil(
        [&] {
          if (!net.AllSee(target, MemberState::kAlive)) return false;
          for (uint64_t id = 1; id <= kNodes; ++id) {
            if (net.node(id)->members().Find(NodeId(target))->incarnation <= inc) return false;
          }
          return true;
        },
        30000))
        << "--seed=" << seed;
    times.push_back(net.now() - t0);
    net.RunFor(10000);
    EXPECT_TRUE(net.AllSee(target, MemberState::kAlive)) << "--seed=" << seed;
  }
  const Summary s = Summarize(times);
  std::printf("SWIM-SIM refutation: %d nodes, %.0f%% loss: all see the refuted member alive at a "
              "higher incarnation after mean %.0f ms, max %.0f ms (5 runs)\n",
              kNodes, kLoss * 100, s.mean, s.max);
}

}  // namespace
}  // namespace ringkv::gossip
