#include "jepsen/harness/options.h"

#include <CLI/CLI.hpp>
#include <sstream>

namespace ringkv::jepsen {

const char* FaultKindName(FaultKind k) {
  switch (k) {
    case FaultKind::kPartitionOne: return "partition-one";
    case FaultKind::kPartitionHalves: return "partition-halves";
    case FaultKind::kPartitionRing: return "partition-ring";
    case FaultKind::kPartitionBridge: return "partition-bridge";
    case FaultKind::kPartitionLeader: return "partition-leader";
    case FaultKind::kPartitionOneWay: return "partition-oneway";
    case FaultKind::kPartitionClients: return "partition-clients";
    case FaultKind::kKill: return "kill";
    case FaultKind::kKillUnsynced: return "kill-unsynced";
    case FaultKind::kPause: return "pause";
    case FaultKind::kMember: return "member";
  }
  return "?";
}

bool RunOptions::uses_buggy_binary() const { return !bug.empty() || lose_unsynced(); }

bool RunOptions::lose_unsynced() const {
  for (FaultKind f : faults) {
    if (f == FaultKind::kKillUnsynced) return true;
  }
  return false;
}

bool RunOptions::changes_membership() const {
  for (FaultKind f : faults) {
    if (f == FaultKind::kMember) return true;
  }
  return false;
}

Result<WorkloadKind> ParseWorkload(const std::string& name) {
  if (name == "register") return WorkloadKind::kRegister;
  if (name == "append") return WorkloadKind::kAppend;
  if (name == "set") return WorkloadKind::kSet;
  if (name == "pipeline") return WorkloadKind::kPipeline;
  if (name == "watch") return WorkloadKind::kWatch;
  return Status::InvalidArgument("unknown workload '" + name +
                                 "' (register|append|set|pipeline|watch)");
}

const char* WorkloadName(WorkloadKind w) {
  switch (w) {
    case WorkloadKind::kRegister: return "register";
    case WorkloadKind::kAppend: return "append";
    case WorkloadKind::kSet: return "set";
    case WorkloadKind::kPipeline: return "pipeline";
    case WorkloadKind::kWatch: return "watch";
  }
  return "?";
}

Result<std::vector<FaultKind>> ParseNemesis(const std::string& spec) {
  std::vector<FaultKind> out;
  std::stringstream ss(spec);
  std::string item;
  auto add = [&out](FaultKind k) {
    for (FaultKind e : out) {
      if (e == k) return;
    }
    out.push_back(k);
  };
  while (std::getline(ss, item, ',')) {
    if (item.empty() || item == "none") continue;
    if (item == "partition") {
      for (FaultKind k : {FaultKind::kPartitionOne, FaultKind::kPartitionHalves,
                          FaultKind::kPartitionRing, FaultKind::kPartitionBridge,
                          FaultKind::kPartitionLeader, FaultKind::kPartitionOneWay}) {
        add(k);
      }
      continue;
    }
    bool found = false;
    for (int i = 0; i <= static_cast<int>(FaultKind::kMember); ++i) {
      auto k = static_cast<FaultKind>(i);
      if (item == FaultKindName(k)) {
        add(k);
        found = true;
      }
    }
    if (!found) return Status::InvalidArgument("unknown nemesis '" + item + "'");
  }
  return out;
}

Result<RunOptions> ParseRunOptions(int argc, char** argv) {
  RunOptions o;
  std::string workload = "register";
  CLI::App app{"ringkv-jepsen: one Jepsen-style test of a RingKV cluster (run inside a "
               "network namespace; see jepsen/run)"};
  app.add_option("--workload", workload, "register | append | set | pipeline | watch");
  app.add_option("--nemesis", o.nemesis_spec,
                 "none | partition | partition-{one,halves,ring,bridge,leader,oneway,clients} | "
                 "kill | kill-unsynced | pause | member, comma-separated");
  app.add_option("--nodes", o.nodes, "cluster size (3..9)");
  app.add_option("--time", o.time_s, "workload seconds");
  app.add_option("--concurrency", o.concurrency, "client workers");
  app.add_option("--in-flight", o.in_flight,
                 "pipeline: operations each worker's client keeps in flight");
  app.add_option("--rate", o.rate, "target ops/s over all workers (0 = unlimited)");
  app.add_option("--seed", o.seed, "seed of the fault schedule and the workload");
  app.add_option("--bug", o.bug, "run kvd_buggy with --test_inject_bug=NAME");
  app.add_option("--out", o.out_dir, "output directory")->required();
  app.add_option("--kvd", o.kvd, "path of kvd")->required();
  app.add_option("--kvd-buggy", o.kvd_buggy, "path of kvd_buggy");
  app.add_option("--client-source", o.client_source, "clients' source address (for the report)");
  app.add_option("--fault-min", o.fault_min_s, "shortest fault window, s");
  app.add_option("--fault-max", o.fault_max_s, "longest fault window, s");
  app.add_option("--quiet-min", o.quiet_min_s, "shortest healthy gap, s");
  app.add_option("--quiet-max", o.quiet_max_s, "longest healthy gap, s");
  app.add_option("--final-quiet", o.final_quiet_s, "healthy workload after healing, s");
  app.add_option("--check-time-limit", o.check_time_limit_s, "checker budget per key, s");
  app.add_option("--op-timeout", o.op_timeout_s, "client deadline per operation, s");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return Status::InvalidArgument(app.help());
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  ASSIGN_OR_RETURN(o.workload, ParseWorkload(workload));
  ASSIGN_OR_RETURN(o.faults, ParseNemesis(o.nemesis_spec));
  if (o.nodes < 1 || o.nodes > 9) return Status::InvalidArgument("--nodes must be in 1..9");
  if (o.concurrency < 1) return Status::InvalidArgument("--concurrency must be positive");
  if (o.in_flight < 1 || o.in_flight > 64) {
    return Status::InvalidArgument("--in-flight must be in 1..64");
  }
  if (o.time_s <= 0) return Status::InvalidArgument("--time must be positive");
  if (o.fault_min_s <= 0 || o.fault_max_s < o.fault_min_s || o.quiet_min_s <= 0 ||
      o.quiet_max_s < o.quiet_min_s) {
    return Status::InvalidArgument("bad fault/quiet window lengths");
  }
  if (o.uses_buggy_binary() && o.kvd_buggy.empty()) {
    return Status::InvalidArgument("--bug and kill-unsynced need --kvd-buggy");
  }
  return o;
}

}  // namespace ringkv::jepsen
