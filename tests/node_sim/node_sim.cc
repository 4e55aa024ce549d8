#include "node_sim/node_sim.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>
#include <vector>

#include "common/failpoint.h"
#include "common/random.h"
#include "node_sim/history_recorder.h"
#include "node_sim/sim_client.h"
#include "store/sim_cluster.h"

namespace ringkv::node_sim {
namespace {

using std::chrono::milliseconds;
using store::sim::SimCluster;
using store::sim::SimScheduler;

constexpr int64_t kRunMs = 6'000;     // faults and load
constexpr int64_t kHealMs = 6'000;    // quiet time for the cluster to recover
constexpr int kProcesses = 6;         // Jepsen processes sharing one SimClient (one session)

std::string TraceTail(const SimCluster& c, size_t n) {
  const auto& t = c.trace();
  std::string out;
  for (size_t i = t.size() > n ? t.size() - n : 0; i < t.size(); ++i) out += "  " + t[i] + "\n";
  return out;
}

}  // namespace

SeedResult RunNodeSimSeed(uint64_t seed, bool keep_trace, std::string_view bug) {
  failpoint::ScopedDisarmAll disarm;
  if (!bug.empty()) failpoint::Arm(bug, failpoint::Action::kInject);
  Random rng(seed * 0x9E3779B97F4A7C15ull + 1);
  SimCluster::Options o;
  o.seed = seed;
  o.nodes = rng.Bernoulli(0.5) ? 3 : 5;
  o.shards = 4u << rng.Uniform(3);  // 4, 8 or 16
  o.drop = 0.01 * static_cast<double>(rng.Uniform(6));  // 0-5%
  const bool append = rng.Bernoulli(0.5);
  o.duplicate = rng.Bernoulli(0.5) ? 0.02 : 0;
  SimCluster cluster(o);
  SimScheduler& sched = cluster.scheduler();
  SeedResult result;
  std::ostringstream params;
  params << "seed " << seed << ": " << o.nodes << " nodes, " << o.shards << " shards, drop "
         << o.drop << ", duplicate " << o.duplicate << ", " << (append ? "append" : "register");

  auto fail = [&](const std::string& what) {
    result.violations = 1;
    result.report = params.str() + "\n" + what + "\nlast events:\n" + TraceTail(cluster, 40);
  };

  cluster.Start();
  if (!cluster.WaitForLeaders(std::chrono::seconds(20))) {
    fail("no leader for every shard 20 s after the start");
    result.steps = sched.steps();
    return result;
  }

  HistoryRecorder recorder;
  const std::vector<NodeId> ids = cluster.node_ids();
  ClientEnv env;
  env.now_ms = [&sched] {
    return std::chrono::duration_cast<milliseconds>(sched.Now().time_since_epoch()).count();
  };
  env.after = [&sched](int64_t delay_ms, std::function<void()> task) {
    sched.Schedule(sched.Now() + milliseconds(delay_ms), SimScheduler::kNoOwner,
                   SimScheduler::Kind::kOther, std::move(task));
  };
  env.send = [&cluster](uint64_t node, kvpb::Request req,
                        std::function<void(kvpb::Response)> reply) {
    cluster.SubmitAsync(NodeId(node), std::move(req), std::move(reply));
  };
  for (NodeId id : ids) env.node_ids.push_back(id.value());
  SimClient client(env, ClientTiming{}, &recorder, &rng);

  // Faults: at most a minority down at once; partitions isolate one node (both ways or one
  // way) or cut clients off a node.
  const size_t max_down = (ids.size() - 1) / 2;
  std::map<NodeId, int64_t> restart_at;  // down nodes and when they come back
  std::map<NodeId, int64_t> room_at;     // nodes whose disk is full, and when it has room
  int64_t heal_at = -1;
  int64_t next_value = 1;
  std::vector<std::string> keys;
  for (int k = 0; k < 3; ++k) keys.push_back((append ? "a" : "r") + std::to_string(k));

  for (int64_t t = 0; t < kRunMs; t += 10) {
    if (!cluster.invariants().violations().empty()) break;  // the trace ends at the violation
    if (t % 200 == 0) {
      const uint64_t dice = rng.Uniform(10);
      if (dice < 3 && restart_at.size() < max_down) {
        NodeId victim = ids[rng.Uniform(ids.size())];
        if (!restart_at.contains(victim) && !room_at.contains(victim)) {
          cluster.Crash(victim);
          restart_at[victim] = t + 200 + static_cast<int64_t>(rng.Uniform(1500));
        }
      } else if (dice < 5 && !cluster.partitioned()) {
        NodeId a = ids[rng.Uniform(ids.size())];
        const bool one_way = rng.Bernoulli(0.3);
        for (NodeId b : ids) {
          if (b == a) continue;
          cluster.Block(a, b);
          if (!one_way) cluster.Block(b, a);
        }
        heal_at = t + 300 + static_cast<int64_t>(rng.Uniform(1500));
      } else if (dice == 5 && room_at.empty()) {
        NodeId full = ids[rng.Uniform(ids.size())];
        if (!restart_at.contains(full)) {
          cluster.SetDiskFull(full, true);
          room_at[full] = t + 200 + static_cast<int64_t>(rng.Uniform(1500));
        }
      }
    }
    for (auto it = room_at.begin(); it != room_at.end();) {
      if (it->second <= t) {
        cluster.SetDiskFull(it->first, false);
        it = room_at.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = restart_at.begin(); it != restart_at.end();) {
      if (it->second <= t) {
        cluster.Restart(it->first);
        it = restart_at.erase(it);
      } else {
        ++it;
      }
    }
    if (heal_at >= 0 && heal_at <= t) {
      cluster.HealAll();
      heal_at = -1;
    }
    for (int p = 0; p < kProcesses; ++p) {
      if (client.Busy(p) || !rng.Bernoulli(0.2)) continue;
      const std::string& key = keys[rng.Uniform(keys.size())];
      const uint64_t dice = rng.Uniform(10);
      if (dice == 9 || (!append && dice == 3)) {
        // A scan of the key's shard, read as every workload key that shard holds.
        const GroupId group = cluster.GroupOf(key);
        std::vector<std::string> in_shard;
        for (const std::string& k : keys) {
          if (cluster.GroupOf(k) == group) in_shard.push_back(k);
        }
        client.Scan(p, group, std::move(in_shard), append);
      } else if (append) {
        if (dice < 6) {
          client.Append(p, key, next_value++);
        } else {
          client.ReadList(p, key);
        }
      } else if (dice < 3) {
        client.Read(p, key);
      } else if (dice < 7) {
        client.Write(p, key, next_value++);
      } else {
        const auto expected = static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(next_value)));
        client.Cas(p, key, expected, next_value++);
      }
    }
    cluster.RunFor(milliseconds(10));
  }

  // Heal everything and let the operations in flight finish.
  cluster.HealAll();
  for (const auto& [node, at] : restart_at) cluster.Restart(node);
  restart_at.clear();
  for (const auto& [node, at] : room_at) cluster.SetDiskFull(node, false);
  room_at.clear();
  cluster.RunUntil([&] { return client.in_flight() == 0; }, milliseconds(kHealMs));
  // Final reads: every key read by a fresh process once the cluster is whole.
  int64_t process = kProcesses;
  for (const std::string& key : keys) {
    if (append) {
      client.ReadList(process++, key);
    } else {
      client.Read(process++, key);
    }
  }
  cluster.RunUntil([&] { return client.in_flight() == 0; }, milliseconds(30'000));
  if (client.in_flight() != 0) fail("client operations still in flight 30 s after healing");

  if (const auto& broken = cluster.invariants().violations(); !broken.empty()) {
    std::string lines;
    for (size_t i = 0; i < broken.size() && i < 5; ++i) lines += "  " + broken[i] + "\n";
    fail("Raft safety invariant broken (" + std::to_string(broken.size()) + " times):\n" + lines);
  }
  if (result.violations == 0) {
    HistoryVerdict v = append ? CheckAppendHistory(recorder.history())
                              : CheckRegisterHistory(recorder.history());
    if (v.verdict != jepsen::Verdict::kValid) {
      fail("history is " + std::string(jepsen::VerdictName(v.verdict)) + ":\n" +
           v.report.substr(0, 4000));
    }
  }
  if (result.violations == 0) {
    for (uint32_t g = 1; g <= o.shards && result.violations == 0; ++g) {
      const GroupId group(g);
      if (!cluster.RunUntil([&] { return cluster.ReplicasAgree(group); }, milliseconds(20'000))) {
        fail("replicas of group " + std::to_string(g) + " differ 20 s after healing");
      }
    }
  }
  const SimClient::Counts& n = client.counts();
  result.steps = sched.steps();
  result.client_ops = recorder.operations();
  params << "; " << result.client_ops << " ops (" << n.ok << " ok, " << n.fail << " fail, "
         << n.info << " info), " << result.steps << " steps";
  result.summary = params.str();
  if (keep_trace) result.trace = TraceTail(cluster, cluster.trace().size());
  return result;
}

}  // namespace ringkv::node_sim
