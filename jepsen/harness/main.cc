// ringkv-jepsen: runs one Jepsen-style test against a kvd cluster it starts itself. Meant to
// run inside a fresh network namespace (jepsen/run creates it, runs this binary with
// `ip netns exec`, and removes the namespace afterwards). Its iptables rules go into the
// namespace it runs in: never run it directly in the host namespace.
//
// Phases: start the nodes and wait for a leader; run the workload for --time seconds with the
// nemesis; heal everything; keep the workload running --final-quiet seconds; wait until all
// replicas report the same applied index and state digest; final reads; stop the nodes; check
// the history; scan the logs; write history.edn, history.json, report.txt, report.json, the plot.
// Exit code: 0 valid, 1 invalid, 2 unknown or harness error.
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <fstream>
#include <iostream>
#include <thread>

#include "jepsen/checker/check.h"
#include "jepsen/checker/history_io.h"
#include "jepsen/harness/cluster.h"
#include "jepsen/harness/nemesis.h"
#include "jepsen/harness/network.h"
#include "jepsen/harness/options.h"
#include "jepsen/harness/process.h"
#include "jepsen/harness/recorder.h"
#include "jepsen/harness/report.h"
#include "jepsen/checker/watch_checker.h"
#include "jepsen/harness/watchers.h"
#include "jepsen/harness/workload.h"

namespace ringkv::jepsen {
namespace {

// Each key's version as the last completed read of the history saw it (the final reads come
// last), for the watch checker.
std::map<std::string, uint64_t> FinalVersions(const History& history) {
  std::map<std::string, uint64_t> out;
  for (const Op& op : history) {
    if (op.type == OpType::kOk && op.f == "read" && op.key && op.version) {
      out[*op.key] = static_cast<uint64_t>(*op.version);
    }
  }
  return out;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return static_cast<bool>(f);
}

// True when this process runs in the namespace jepsen/run created for it: $RINGKV_JEPSEN_NETNS
// names it and `ip netns identify` (which matches /proc/self/ns/net against /run/netns/*)
// agrees.
bool InOwnNetworkNamespace() {
  const char* want = std::getenv("RINGKV_JEPSEN_NETNS");
  if (want == nullptr || *want == 0) return false;
  std::string out;
  Result<int> rc = RunCommand({"ip", "netns", "identify"}, &out);
  if (!rc.ok() || *rc != 0) return false;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out == want;
}

CheckModel ModelFor(WorkloadKind w) {
  switch (w) {
    case WorkloadKind::kRegister: return CheckModel::kRegister;
    case WorkloadKind::kAppend: return CheckModel::kAppend;
    case WorkloadKind::kSet: return CheckModel::kSet;
    case WorkloadKind::kPipeline: return CheckModel::kAppend;
    case WorkloadKind::kWatch: return CheckModel::kRegister;
  }
  return CheckModel::kRegister;
}

int RunTest(const RunOptions& o, const std::string& command) {
  ReportInput rep;
  rep.command = command;
  // The verdict before the checker: kUnknown when the harness itself failed, kInvalid when the
  // system showed an anomaly the checker cannot see (no convergence, a key unreadable after
  // healing, a crash in a log, a node that exited on its own).
  Verdict observed = Verdict::kValid;
  auto harness_error = [&](const std::string& msg) {
    observed = CombineVerdicts(observed, Verdict::kUnknown);
    rep.reasons.push_back("harness: " + msg);
    std::cerr << "ringkv-jepsen: " << msg << "\n";
  };
  auto anomaly = [&](const std::string& msg) {
    observed = CombineVerdicts(observed, Verdict::kInvalid);
    rep.reasons.push_back(msg);
  };

  if (!InOwnNetworkNamespace()) {
    std::cerr << "ringkv-jepsen: refusing to run in the host network namespace (iptables rules "
                 "would touch the host); use jepsen/run\n";
    return 2;
  }
  Network net;
  if (Status s = net.Init(); !s.ok()) {
    std::cerr << "ringkv-jepsen: iptables unavailable (run inside a network namespace as root, "
                 "via jepsen/run): "
              << s.ToString() << "\n";
    return 2;
  }
  ClusterOptions co;
  co.nodes = o.nodes;
  co.binary = o.uses_buggy_binary() ? o.kvd_buggy : o.kvd;
  co.bug = o.bug;
  co.lose_unsynced = o.lose_unsynced();
  co.dir = o.out_dir;
  if (o.changes_membership()) {
    // Membership changes must finish within a run: replace dead nodes' replicas after 4 s
    // and give joined nodes replicas after 1 s (defaults: 10 s and 3 s).
    co.extra_flags = {"--dead_node_timeout_ms=4000", "--stability_delay_ms=1000"};
  }
  Cluster cluster(co);
  rep.notes.push_back("server binary: " + co.binary + (o.bug.empty() ? "" : " --test_inject_bug=" + o.bug) +
                      (co.lose_unsynced ? " --test_lose_unsynced_writes" : ""));
  rep.notes.push_back("clients connect from " + o.client_source + "; node i is 127.0.0.(10+i)");

  Recorder recorder;
  History history;
  std::vector<FaultWindow> windows;
  if (Status s = cluster.StartAll(); !s.ok()) {
    harness_error("cannot start the cluster: " + s.ToString());
  } else if (Status r = cluster.WaitReady(std::chrono::seconds(30)); !r.ok()) {
    harness_error(r.ToString());
  } else {
    Workload::ClusterView view;
    view.endpoints = [&cluster] { return cluster.ClientEndpoints(); };
    view.replicas = [&cluster](const std::vector<std::string>& keys) {
      return cluster.ReplicaEndpoints(keys);
    };
    std::unique_ptr<Watchers> watchers;
    if (o.workload == WorkloadKind::kWatch) {
      watchers = std::make_unique<Watchers>(2, "w", [&cluster] { return cluster.ClientEndpoints(); },
                                            o.seed);
      if (Status s = watchers->Start(); !s.ok()) harness_error("watchers: " + s.ToString());
    }
    Workload workload(o, &recorder, std::move(view));
    Nemesis nemesis(o, &cluster, &net, &recorder);
    const double t0 = recorder.Elapsed();
    nemesis.Start();
    Status wl;
    std::thread workers([&] { wl = workload.Run(t0 + o.time_s + o.final_quiet_s); });
    while (recorder.Elapsed() < t0 + o.time_s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (Status h = nemesis.StopAndHeal(); !h.ok()) harness_error("healing: " + h.ToString());
    workers.join();
    if (!wl.ok()) harness_error(wl.ToString());
    windows = nemesis.Windows();
    for (const auto& e : nemesis.Errors()) harness_error("nemesis: " + e);

    std::string converge;
    // Membership changes may still be moving replicas when the faults stop.
    Status c = cluster.WaitConverged(std::chrono::seconds(o.changes_membership() ? 90 : 30),
                                     &converge);
    if (!c.ok()) {
      anomaly("convergence: " + c.ToString());
    } else {
      rep.notes.push_back("converged after healing: " + converge);
    }
    std::vector<std::string> unavailable = workload.FinalReads();
    if (!unavailable.empty()) {
      anomaly("availability: after healing, the final linearizable read of " +
                            std::to_string(unavailable.size()) + " key(s) (first: " +
                            unavailable[0] + ") never succeeded within 10 s");
    }
    rep.notes.push_back("most frequent client errors:");
    for (const auto& e : workload.TopErrors(8)) rep.notes.push_back("  " + e);
    history = recorder.Snapshot();
    if (watchers) {
      const std::map<std::string, uint64_t> finals = FinalVersions(history);
      std::vector<std::string> behind = watchers->WaitCaughtUp(finals, std::chrono::seconds(30));
      for (const auto& e : watchers->Ends()) anomaly("watch ended on its own: " + e);
      if (!behind.empty()) {
        anomaly("watch: after healing, the watchers never delivered the final version of " +
                std::to_string(behind.size()) + " key(s) (first: " + behind[0] + ") in 30 s");
      }
      WatchCheckResult wc = CheckWatches(history, watchers->Stop(), finals);
      WriteFile(o.out_dir + "/watch.txt", wc.text);
      rep.notes.push_back(wc.text.substr(0, wc.text.find('\n')));
      if (wc.verdict != Verdict::kValid) {
        anomaly("watch checker: " + std::to_string(wc.anomalies.size()) + " anomalies (" +
                wc.anomalies[0].kind + " " + wc.anomalies[0].key + ": " +
                wc.anomalies[0].detail + "; all in watch.txt)");
      }
    }
  }
  std::vector<int> forced = cluster.StopAll(std::chrono::seconds(10));
  for (int n : forced) {
    rep.notes.push_back("node " + std::to_string(n) + " did not stop on SIGTERM within 10 s");
  }
  for (const auto& e : cluster.UnexpectedExits()) anomaly("process: " + e);
  for (int i = 1; i <= cluster.size(); ++i) {
    for (const auto& line : ScanLogForCrashes(cluster.LogPath(i), 20)) {
      anomaly("log: " + line);
    }
  }

  WriteFile(o.out_dir + "/history.edn", WriteHistoryEdn(history));
  WriteFile(o.out_dir + "/history.json", WriteHistoryJson(history));
  Verdict verdict = observed;
  if (!history.empty()) {
    LinearizabilityOptions lo;
    lo.time_limit_per_key_s = o.check_time_limit_s;
    CheckOutcome out = RunCheckOnHistory(ModelFor(o.workload), history, lo);
    rep.checker_text = out.text;
    WriteFile(o.out_dir + "/check.json", out.json);
    if (out.verdict != Verdict::kValid) {
      rep.reasons.push_back("checker (" + std::string(WorkloadName(o.workload)) + "): " +
                            std::string(VerdictName(out.verdict)) + " (details below)");
    }
    verdict = CombineVerdicts(verdict, out.verdict);
  }
  rep.verdict = verdict;
  rep.windows = windows;
  rep.counts = OpCounts(history);
  rep.notes.push_back(WritePlot(o.out_dir, history, windows,
                                std::string(WorkloadName(o.workload)) + " / " + o.nemesis_spec +
                                    " / seed " + std::to_string(o.seed)));
  const std::string text = RenderReport(rep);
  WriteFile(o.out_dir + "/report.txt", text);
  std::cout << "verdict: " << VerdictName(verdict) << "\n";
  for (const auto& r : rep.reasons) std::cout << "  - " << r << "\n";
  switch (verdict) {
    case Verdict::kValid: return 0;
    case Verdict::kInvalid: return 1;
    case Verdict::kUnknown: return 2;
  }
  return 2;
}

}  // namespace
}  // namespace ringkv::jepsen

int main(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  auto o = ringkv::jepsen::ParseRunOptions(argc, argv);
  if (!o.ok()) {
    std::cerr << o.status().message() << "\n";
    return 2;
  }
  return ringkv::jepsen::RunTest(*o, command);
}
