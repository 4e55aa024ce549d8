// The node simulation (issue 12 item 3), first version: whole RingKV nodes (store/, replica/,
// raft/ on MemEngine disks, tests/store/sim_cluster.h) on one virtual clock, with a network
// that delays, reorders and drops, partitions (both ways and one-way), crashes that lose every
// unsynced write, and restarts; clients (sim_client.h) with sessions, deadlines and retries,
// several writes of one session in flight, doing register (read/write/cas) or append
// operations. Every client operation goes into a Jepsen history checked by jepsen/checker/;
// after healing, every replica of every shard must reach the same state digest. One seed in
// four compacts the Raft log early and crashes nodes at the snapshot receive and install
// failpoints; a node that then cannot restart is a violation.
//
// One seed decides everything (cluster size, shard count, drop rate, workload, faults), so a
// failing seed reruns alone with --seed=N and prints the same trace.
//
// Every third seed runs the membership profile: gossip views with suspicion and death,
// placement on, nodes added, decommissioned and removed with a wiped disk; after healing every
// shard must be back at its replication factor on live members, its replicas agreeing.
//
// Not yet simulated: snapshot streams cut by leader changes, and transactions (see
// docs/architecture.md, Tests).
//
// Thread-safety: none; each seed runs on the calling thread.
#ifndef RINGKV_TESTS_NODE_SIM_NODE_SIM_H_
#define RINGKV_TESTS_NODE_SIM_NODE_SIM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::node_sim {

struct SeedResult {
  uint64_t steps = 0;       // scheduler tasks run
  uint64_t client_ops = 0;  // operations invoked (final reads included)
  uint64_t lost_apply_writes = 0;  // unflushed apply writes crashes lost (replayed from logs)
  uint64_t violations = 0;  // 0 or 1: the first violation ends the seed
  std::string report;       // what was violated, with the checker's report and the trace tail
  std::string summary;      // one line: the seed's parameters and outcome counts
  std::string trace;        // with `keep_trace`: every cluster event (node faults, answers)
  int64_t max_leaderless_ms = 0;  // the longest leaderless stretch counted (SimCluster)
};

// `bug`: a bug point (common/failpoint.h, e.g. replica::kBugStaleReads) injected on every node
// for the seed (failpoints are process-wide; every point is disarmed at the end); the seed
// should then fail. Empty: none.
SeedResult RunNodeSimSeed(uint64_t seed, bool keep_trace = false, std::string_view bug = {});

// Quiescence in every seed (true), in none (false), or by each seed's dice (nullopt, the
// default): node_sim_test's --quiesce=on|off, to compare.
void SetQuiesceOverride(std::optional<bool> quiesce);

}  // namespace ringkv::node_sim

#endif  // RINGKV_TESTS_NODE_SIM_NODE_SIM_H_
