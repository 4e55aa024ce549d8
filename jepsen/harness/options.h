// The options of one Jepsen-style test run (ringkv-jepsen's command line) and their parsing.
//
// Thread-safety: plain values; ParseRunOptions is pure.
#ifndef RINGKV_JEPSEN_HARNESS_OPTIONS_H_
#define RINGKV_JEPSEN_HARNESS_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status_macros.h"

namespace ringkv::jepsen {

// kPipeline: appends and reads like kAppend, but each worker's client keeps `in_flight`
// operations in flight at once (the async API), so one client session has many writes
// outstanding and their retries interleave (issue 10).
// kWatch: the register workload on "w..." keys, plus watchers that must deliver every change
// (jepsen/harness/watchers.h, jepsen/checker/watch_checker.h).
enum class WorkloadKind { kRegister, kAppend, kSet, kPipeline, kWatch };

// The fault kinds a nemesis schedule draws from. `--nemesis partition` expands to every
// partition shape; the others name one shape each.
enum class FaultKind {
  kPartitionOne,       // one random node cut from the other nodes (both ways)
  kPartitionHalves,    // a random minority | majority split
  kPartitionRing,      // majorities ring: each node sees its neighbours only (5 nodes)
  kPartitionBridge,    // two halves joined by one bridge node
  kPartitionLeader,    // the current leader cut from the other nodes
  kPartitionOneWay,    // packets from one random node to the others dropped (one direction)
  kPartitionClients,   // responses from the leader to clients dropped (requests still arrive)
  kKill,               // kill -9 of one node / the leader / a majority / all, then restart
  kKillUnsynced,       // kill -9 of a majority or all nodes that lose unsynced writes
  kPause,              // SIGSTOP of a node or the leader around the election timeout, SIGCONT
  kMember,             // a membership change: add a node, decommission one, or remove one
                       // (kill -9 and wipe: gone for good, its replicas replaced)
};

const char* FaultKindName(FaultKind k);

struct RunOptions {
  WorkloadKind workload = WorkloadKind::kRegister;
  std::string nemesis_spec = "none";  // as given, e.g. "partition,kill"
  std::vector<FaultKind> faults;      // expanded from nemesis_spec; empty = none
  int nodes = 3;
  double time_s = 60;  // length of the workload phase (faults included), seconds
  int concurrency = 10;
  int in_flight = 8;   // pipeline: operations each worker's client keeps in flight
  double rate = 200;   // target operations per second over all workers (0 = unlimited)
  uint64_t seed = 1;
  std::string bug;     // kvd_buggy --test_inject_bug value; "" = none
  std::string out_dir;
  std::string kvd;     // path of kvd
  std::string kvd_buggy;  // path of kvd_buggy (for --bug and kill-unsynced)
  std::string client_source = "127.0.0.100";  // informational: the route's source address
  double fault_min_s = 2, fault_max_s = 6;    // length of one fault window
  double quiet_min_s = 2, quiet_max_s = 5;    // healthy time between fault windows
  double final_quiet_s = 3;                   // workload after healing, before final reads
  double check_time_limit_s = 60;             // linearizability budget per key
  double op_timeout_s = 3;                    // client request deadline
  bool uses_buggy_binary() const;             // --bug or kill-unsynced
  bool lose_unsynced() const;                 // nodes get --test_lose_unsynced_writes
  bool changes_membership() const;            // the member nemesis is enabled
};

// Parses "register|append|set|pipeline|watch".
Result<WorkloadKind> ParseWorkload(const std::string& name);
const char* WorkloadName(WorkloadKind w);

// Expands a comma-separated nemesis spec: none, partition (all shapes), partition-one,
// partition-halves, partition-ring, partition-bridge, partition-leader, partition-oneway,
// partition-clients, kill, kill-unsynced, pause, member.
Result<std::vector<FaultKind>> ParseNemesis(const std::string& spec);

// Parses argv (see ringkv-jepsen --help). Returns InvalidArgument with a message on bad usage.
Result<RunOptions> ParseRunOptions(int argc, char** argv);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_OPTIONS_H_
