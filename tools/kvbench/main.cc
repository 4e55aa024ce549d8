// kvbench: RingKV load generator. Keeps --concurrency operations in flight through the async
// client API and prints throughput and p50/p99/p99.9 latency (JSON with -w json).
//
//   kvbench --endpoints=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --concurrency=64
//           --value-size=128 --keys=100000 --read-ratio=0 --duration=10 --warmup=2
//           [--cacert=ca.crt --cert=client.crt --key=client.key]   (TLS)
//
// --timeline=FILE writes every --timeline-ms interval's successes, errors and latencies (warmup
// included) to FILE, stamped in Unix milliseconds (timeline.h); bench/kill_under_load.sh uses it.
//
// --target=etcd loads an etcd v3 cluster instead (its client URLs as --endpoints), with the same
// driver, keys, values and histograms (etcd_target.h); built only with gRPC C++.
#include <glog/logging.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cpu_time.h"
#include "load.h"
#include "ringkv_target.h"
#ifdef RINGKV_KVBENCH_ETCD
#include "etcd_target.h"
#endif

namespace {

using ringkv::kvbench::LatencyHistogram;
using ringkv::kvbench::LoadOptions;
using ringkv::kvbench::LoadReport;

double Ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

nlohmann::json LatencyJson(const LatencyHistogram& h) {
  return {{"count", h.count()},          {"mean_ms", h.mean() / 1000.0},
          {"p50_ms", Ms(h.Percentile(0.5))}, {"p99_ms", Ms(h.Percentile(0.99))},
          {"p999_ms", Ms(h.Percentile(0.999))}, {"max_ms", Ms(h.max())}};
}

void PrintSimple(const LoadOptions& o, const LoadReport& r) {
  const double ok = static_cast<double>(r.ok_reads + r.ok_writes);
  std::printf("kvbench: %d in flight over %d client(s), %zu-byte values, %llu keys, read ratio "
              "%.2f, %.1fs measured after %.1fs warmup\n",
              o.concurrency, o.clients, o.value_size, static_cast<unsigned long long>(o.keys),
              o.read_ratio, r.seconds, o.warmup.count() / 1000.0);
  std::printf("throughput: %.1f ops/s (writes %.1f/s, reads %.1f/s); %llu ok, %llu errors\n",
              ok / r.seconds, r.ok_writes / r.seconds, r.ok_reads / r.seconds,
              static_cast<unsigned long long>(ok), static_cast<unsigned long long>(r.total_errors()));
  auto line = [](const char* name, const LatencyHistogram& h) {
    if (h.count() == 0) return;
    std::printf("%-7s latency ms: p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n", name,
                Ms(h.Percentile(0.5)), Ms(h.Percentile(0.99)), Ms(h.Percentile(0.999)),
                Ms(h.max()), h.mean() / 1000.0);
  };
  line("all", r.all);
  line("writes", r.writes);
  line("reads", r.reads);
  const double ops = ok > 0 ? ok : 1;
  std::printf("cpu us/op: client %.1f", 1e6 * r.client_cpu_seconds / ops);
  if (r.have_server_cpu) std::printf("  servers %.1f", 1e6 * r.server_cpu_seconds / ops);
  std::printf("\n");
  if (r.have_server_counts) {
    const uint64_t offered = r.server_admitted + r.server_shed;
    auto bound = [&](double q) {
      const uint32_t ms = r.ServerLatencyQuantileMs(q);
      return ms == UINT32_MAX ? std::string("> max") : "<= " + std::to_string(ms);
    };
    std::printf("server: %llu admitted, %llu shed (shed %.1f%% of attempts, %.1f/s); admitted "
                "requests' latency ms: p50 %s  p99 %s\n",
                static_cast<unsigned long long>(r.server_admitted),
                static_cast<unsigned long long>(r.server_shed),
                offered == 0 ? 0.0 : 100.0 * static_cast<double>(r.server_shed) / offered,
                static_cast<double>(r.server_shed) / r.seconds, bound(0.5).c_str(),
                bound(0.99).c_str());
  }
  if (!r.errors.empty()) {
    std::printf("errors:");
    for (const auto& [k, v] : r.errors) std::printf(" %s=%llu", k.c_str(), static_cast<unsigned long long>(v));
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = google::GLOG_WARNING;
  google::InitGoogleLogging(argv[0]);

  CLI::App app{"kvbench: RingKV load generator", "kvbench"};
  LoadOptions o;
  std::string endpoints = "127.0.0.1:7001", write_out = "simple", consistency = "l";
  std::string target_name = "ringkv", timeline_path;
  int timeline_ms = 100;
  double duration_s = 10, warmup_s = 2, timeout_s = 5;
  app.add_option("--target", target_name, "System to load: ringkv, or etcd (v3 gRPC KV API)")
      ->check(CLI::IsMember({"ringkv", "etcd"}))
      ->capture_default_str();
  app.add_option("--endpoints", endpoints, "Client addresses host:port,...")
      ->envname("KVCTL_ENDPOINTS")
      ->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "Operations in flight")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--clients", o.clients, "Client instances (I/O threads)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--value-size", o.value_size, "Bytes per value")->capture_default_str();
  app.add_option("--keys", o.keys, "Key space size")->check(CLI::Range(uint64_t{1}, UINT64_MAX))
      ->capture_default_str();
  app.add_option("--read-ratio", o.read_ratio, "Fraction of reads (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--duration", duration_s, "Measured seconds")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", warmup_s, "Unmeasured seconds first")->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--timeout", timeout_s, "Per-operation deadline, seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--consistency", consistency, "Reads: l = linearizable, s = serializable")
      ->check(CLI::IsMember({"l", "s"}))
      ->capture_default_str();
  app.add_option("-w,--write-out", write_out, "simple or json")
      ->check(CLI::IsMember({"simple", "json"}))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed for keys and values")->capture_default_str();
  app.add_option("--cpu-pids", o.cpu_pids,
                 "Server pids whose CPU time over the measured window to report (pid,pid,...)")
      ->delimiter(',');
  app.add_option("--timeline", timeline_path,
                 "Write per-interval successes, errors and latencies of the whole run to this "
                 "file (see --timeline-ms)");
  app.add_option("--timeline-ms", timeline_ms, "Interval of --timeline, ms")
      ->check(CLI::Range(1, 3600 * 1000))
      ->capture_default_str();
  app.add_option("--cacert", o.tls.ca_file, "TLS: CA bundle of the servers")
      ->envname("KVCTL_CACERT");
  app.add_option("--cert", o.tls.cert_file, "TLS: client certificate")->envname("KVCTL_CERT");
  app.add_option("--key", o.tls.key_file, "TLS: key of --cert")->envname("KVCTL_KEY");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "Error: " << e.what() << ". Try: kvbench --help\n";
    return 2;
  }
  for (size_t start = 0; start <= endpoints.size();) {
    size_t comma = endpoints.find(',', start);
    if (comma == std::string::npos) comma = endpoints.size();
    if (comma > start) o.endpoints.push_back(endpoints.substr(start, comma - start));
    start = comma + 1;
  }
  o.duration = std::chrono::milliseconds(static_cast<int64_t>(duration_s * 1000));
  o.warmup = std::chrono::milliseconds(static_cast<int64_t>(warmup_s * 1000));
  o.op_timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  std::ofstream timeline_out;  // opened now so that a bad path fails before the run
  if (!timeline_path.empty()) {
    timeline_out.open(timeline_path);
    if (!timeline_out) {
      std::cerr << "Error: cannot open --timeline " << timeline_path << ". Try: a writable path\n";
      return 2;
    }
    o.timeline_interval = std::chrono::milliseconds(timeline_ms);
  }
  o.consistency = consistency == "s" ? ringkv::client::Consistency::kSerializable
                                     : ringkv::client::Consistency::kLinearizable;
  if (auto cpu = ringkv::kvbench::ProcessesCpuSeconds(o.cpu_pids); !cpu.ok()) {
    std::cerr << "Error: --cpu-pids: " << cpu.status().message() << ". Try: pgrep -d, kvd\n";
    return 2;
  }

  ringkv::Result<std::unique_ptr<ringkv::kvbench::Target>> target =
      ringkv::Status::InvalidArgument("unknown target");
  if (target_name == "etcd") {
#ifdef RINGKV_KVBENCH_ETCD
    target = ringkv::kvbench::MakeEtcdTarget(o);
#else
    std::cerr << "Error: this kvbench was built without the etcd target (no gRPC C++ found). "
                 "Try: tools/install_deps.sh bench-etcd, then re-run cmake and rebuild kvbench\n";
    return 2;
#endif
  } else {
    target = ringkv::kvbench::MakeRingKvTarget(o);
  }
  if (!target.ok()) {
    std::cerr << "Error: " << target.status().message() << ". Try: kvbench --help\n";
    return 2;
  }
  auto report = ringkv::kvbench::RunLoad(o, **target);
  if (!report.ok()) {
    std::cerr << "Error: " << report.status().message()
              << (target_name == "etcd"
                      ? ". Try: start etcd (bench/compare_etcd.sh does) or fix --endpoints\n"
                      : ". Try: start a cluster (tools/launch_cluster.sh start) or fix --endpoints\n");
    return 5;
  }
  const LoadReport& r = *report;
  if (r.timeline != nullptr) {
    r.timeline->Write(timeline_out);
    timeline_out.close();
    if (!timeline_out) {
      std::cerr << "Error: could not write --timeline " << timeline_path << "\n";
      return 2;
    }
  }
  if (write_out == "json") {
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [k, v] : r.errors) errors[k] = v;
    const double ok = static_cast<double>(r.ok_reads + r.ok_writes);
    nlohmann::json j = {
        {"config",
         {{"target", target_name}, {"endpoints", o.endpoints}, {"concurrency", o.concurrency}, {"clients", o.clients},
          {"value_size", o.value_size}, {"keys", o.keys}, {"read_ratio", o.read_ratio},
          {"consistency", consistency}, {"duration_s", duration_s}, {"warmup_s", warmup_s}}},
        {"seconds", r.seconds},
        {"ops_per_sec", ok / r.seconds},
        {"writes_per_sec", r.ok_writes / r.seconds},
        {"reads_per_sec", r.ok_reads / r.seconds},
        {"ok_writes", r.ok_writes},
        {"ok_reads", r.ok_reads},
        {"errors", errors},
        {"client_cpu_s", r.client_cpu_seconds},
        {"server_cpu_s", r.have_server_cpu ? nlohmann::json(r.server_cpu_seconds) : nlohmann::json()},
        {"server_admitted", r.server_admitted},
        {"server_shed", r.server_shed},
        {"server_latency_p50_ms_at_most", r.ServerLatencyQuantileMs(0.5)},
        {"server_latency_p99_ms_at_most", r.ServerLatencyQuantileMs(0.99)},
        {"latency", LatencyJson(r.all)},
        {"write_latency", LatencyJson(r.writes)},
        {"read_latency", LatencyJson(r.reads)}};
    std::cout << j.dump(2) << "\n";
  } else {
    PrintSimple(o, r);
  }
  return r.total_errors() > 0 && r.ok_reads + r.ok_writes == 0 ? 1 : 0;
}
