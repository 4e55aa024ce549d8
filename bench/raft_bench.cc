// Google Benchmarks of the pure Raft core (no network, disk or clock), driven by
// bench/in_memory_group.h. Results and the command to reproduce them: docs/benchmarks.md.
//
//   BM_ProposeCommit/<in_flight>/<payload>: a 3-node group; each iteration proposes
//     `in_flight` entries of `payload` bytes on the leader and runs the group until no node has
//     anything left to do (all committed on the leader and a quorum, applied where the commit
//     index is known). items_per_second = committed proposals per second.
//   BM_IdleGroupsTick/<groups>: `groups` independent 3-node groups in steady state (leaders
//     elected, no proposals); each iteration ticks every node once and handles all Readys,
//     delivering the heartbeats. Reports time per group-tick and node-tick and the message
//     traffic.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/in_memory_group.h"
#include "raft/config.h"

namespace ringkv::bench {
namespace {

constexpr int kReplicas = 3;
// Compact a node's MemoryStorage once this many applied entries sit above its snapshot.
constexpr uint64_t kCompactThreshold = 4096;
// The tick interval the server is configured with (raft::Config documents 10 ms ticks).
constexpr double kTicksPerSecond = 100;

void BM_ProposeCommit(benchmark::State& state) {
  const int in_flight = static_cast<int>(state.range(0));
  const std::string payload(static_cast<size_t>(state.range(1)), 'v');
  Result<std::unique_ptr<InMemoryGroup>> created = InMemoryGroup::Create(kReplicas, 1);
  if (!created.ok()) return state.SkipWithError(created.status().ToString().c_str());
  InMemoryGroup& group = **created;
  if (Status s = group.ElectFirst(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  raft::RawNode& leader = group.node(1);

  uint64_t proposed = 0;
  uint64_t messages = 0;
  for (auto _ : state) {
    for (int i = 0; i < in_flight; ++i) {
      Result<raft::EntryId> id = leader.Propose(payload);
      if (!id.ok()) return state.SkipWithError(id.status().ToString().c_str());
    }
    proposed += in_flight;
    messages += group.Stabilize();
    group.MaybeCompact(kCompactThreshold);
  }

  // Every proposal must have been committed and applied everywhere, or the number is void.
  // A follower whose in-flight window was full when the leader committed learns the commit
  // index only from the next heartbeat (raft_leader.cc does not resend it on the response
  // that unpauses the follower), so let one heartbeat interval pass first (untimed).
  for (int t = 0; t < raft::Config().heartbeat_tick; ++t) {
    group.TickAll();
    group.Stabilize();
  }
  for (int id = 1; id <= kReplicas; ++id) {
    if (group.applied_entries(id) != proposed) {
      return state.SkipWithError("not every proposal was applied on every node");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(proposed));
  state.SetBytesProcessed(static_cast<int64_t>(proposed * payload.size()));
  state.counters["msgs_per_proposal"] =
      benchmark::Counter(proposed == 0 ? 0 : static_cast<double>(messages) / proposed);
}
BENCHMARK(BM_ProposeCommit)
    ->ArgNames({"in_flight", "payload"})
    ->Args({1, 128})
    ->Args({16, 128})
    ->Args({256, 128})
    ->Args({1024, 128})
    ->Args({256, 1024});

void BM_IdleGroupsTick(benchmark::State& state) {
  const int num_groups = static_cast<int>(state.range(0));
  std::vector<std::unique_ptr<InMemoryGroup>> groups;
  groups.reserve(num_groups);
  for (int g = 0; g < num_groups; ++g) {
    Result<std::unique_ptr<InMemoryGroup>> created = InMemoryGroup::Create(kReplicas, g + 1);
    if (!created.ok()) return state.SkipWithError(created.status().ToString().c_str());
    if (Status s = (*created)->ElectFirst(); !s.ok()) {
      return state.SkipWithError(s.ToString().c_str());
    }
    groups.push_back(std::move(created).value());
  }
  // Run a few election timeouts so every group is in its steady heartbeat rhythm.
  for (int t = 0; t < 100; ++t) {
    for (auto& g : groups) g->TickAll();
    for (auto& g : groups) g->Stabilize();
  }
  std::vector<Term> terms;
  for (auto& g : groups) terms.push_back(g->node(1).term());

  uint64_t messages = 0;
  for (auto _ : state) {
    // As a store would: tick every replica, then handle every Ready.
    for (auto& g : groups) g->TickAll();
    for (auto& g : groups) messages += g->Stabilize();
  }

  // Idle means idle: the same leaders, no elections, nothing proposed.
  for (int g = 0; g < num_groups; ++g) {
    raft::RawNode& leader = groups[g]->node(1);
    if (leader.role() != raft::StateRole::kLeader || leader.term() != terms[g]) {
      return state.SkipWithError("leadership changed while idle");
    }
  }
  const double ticks = static_cast<double>(state.iterations());
  using benchmark::Counter;
  state.SetItemsProcessed(state.iterations() * num_groups);  // group-ticks per second
  state.counters["group_tick"] = Counter(ticks * num_groups, Counter::kIsRate | Counter::kInvert);
  state.counters["node_tick"] =
      Counter(ticks * num_groups * kReplicas, Counter::kIsRate | Counter::kInvert);
  state.counters["msgs_per_tick"] = Counter(static_cast<double>(messages), Counter::kAvgIterations);
  state.counters["msgs_per_s_at_10ms"] =
      Counter(static_cast<double>(messages) * kTicksPerSecond, Counter::kAvgIterations);
  state.counters["msgs_per_cpu_s"] = Counter(static_cast<double>(messages), Counter::kIsRate);
}
BENCHMARK(BM_IdleGroupsTick)->ArgName("groups")->Arg(1)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace ringkv::bench

BENCHMARK_MAIN();
