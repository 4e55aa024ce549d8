#include "node_sim/node_sim.h"

#include <algorithm>
#include <chrono>
#include <optional>
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
// Membership seeds: faults and load for less time (their healing is longer: placement replaces
// dead and drained members); then up to kConvergeMs for every shard to converge.
constexpr int64_t kMembershipRunMs = 5'000;
constexpr int64_t kConvergeMs = 30'000;
constexpr size_t kMaxMembers = 7;
std::optional<bool> g_quiesce_override;
// The leadership invariant's bound (SimCluster::Options::leaderless_bound): see node_sim.h.
constexpr int64_t kLeaderlessBoundMs = 1'200;

// The membership profile's faults, one decision per 250 ms of the run: crash and restart one
// node, partition one node (both ways or one way; either sometimes long enough for gossip to
// declare it dead and placement to replace it), add a node, decommission one, or remove one
// with its disk wiped (only while every shard has all its voters up: losing a node for good
// must not lose a quorum, as the Jepsen member nemesis checks); a wiped machine rejoins under
// a new id shortly after (kvd refuses it under its old one).
class MembershipFaults {
 public:
  MembershipFaults(SimCluster* cluster, SimClient* client, Random* rng)
      : cluster_(*cluster), client_(*client), rng_(*rng) {}

  void Step(int64_t t) {
    if (down_ && restart_at_ <= t) {
      cluster_.Restart(*down_);
      down_.reset();
    }
    if (heal_at_ >= 0 && heal_at_ <= t) {
      cluster_.HealAll();
      heal_at_ = -1;
    }
    if (add_at_ >= 0 && add_at_ <= t) {
      cluster_.AddNode();
      add_at_ = -1;
      Refresh();
    }
    if (t % 250 != 0) return;
    const std::vector<NodeId> ids = cluster_.node_ids();
    std::vector<NodeId> active;  // neither gone nor decommissioning
    for (NodeId id : ids) {
      if (!cluster_.decommissioning(id)) active.push_back(id);
    }
    const NodeId pick = ids[rng_.Uniform(ids.size())];
    const uint64_t dice = rng_.Uniform(12);
    if (dice < 3) {
      if (!down_ && add_at_ < 0) {
        cluster_.Crash(pick);
        down_ = pick;
        restart_at_ = t + FaultLength();
      }
    } else if (dice < 5) {
      if (!cluster_.partitioned()) {
        const bool one_way = rng_.Bernoulli(0.3);
        for (NodeId b : ids) {
          if (b == pick) continue;
          cluster_.Block(pick, b);
          if (!one_way) cluster_.Block(b, pick);
        }
        heal_at_ = t + FaultLength();
      }
    } else if (dice < 7) {
      if (ids.size() < kMaxMembers && add_at_ < 0) {
        cluster_.AddNode();
        Refresh();
      }
    } else if (dice < 9) {
      // Only while more members than the replication factor remain active.
      const NodeId victim = active[rng_.Uniform(active.size())];
      if (active.size() > 3 && cluster_.up(victim)) cluster_.Decommission(victim);
    } else if (dice < 11) {
      const NodeId victim = active[rng_.Uniform(active.size())];
      if (!down_ && add_at_ < 0 && cluster_.GroupsAtFullStrength()) {
        cluster_.RemoveWiped(victim);
        Refresh();
        // The wiped machine comes back as a new member; always when too few would remain.
        if (active.size() <= 4 || rng_.Bernoulli(0.5)) {
          add_at_ = t + 200 + static_cast<int64_t>(rng_.Uniform(800));
        }
      }
    }
  }

  // The end of the run: every fault healed, a pending rejoin done.
  void Heal() {
    if (down_) cluster_.Restart(*down_);
    down_.reset();
    if (add_at_ >= 0) cluster_.AddNode();
    add_at_ = -1;
    Refresh();
  }

 private:
  // Most faults are short; one in three outlasts gossip's death verdict and the dead-node
  // timeout, so placement replaces the node, and adds it back once it returns.
  int64_t FaultLength() {
    if (rng_.Uniform(3) == 0) return 2'500 + static_cast<int64_t>(rng_.Uniform(1500));
    return 200 + static_cast<int64_t>(rng_.Uniform(1200));
  }

  void Refresh() {
    std::vector<uint64_t> ids;
    for (NodeId id : cluster_.node_ids()) ids.push_back(id.value());
    client_.SetNodeIds(std::move(ids));
  }

  SimCluster& cluster_;
  SimClient& client_;
  Random& rng_;
  std::optional<NodeId> down_;
  int64_t restart_at_ = 0;
  int64_t heal_at_ = -1;
  int64_t add_at_ = -1;
};

// Polls (every 100 ms of virtual time: a check scans every replica's data) until every group
// converges by SimCluster::ReplicasAgree, for at most `limit_ms`; `why` says what the last
// check found.
bool WaitForAgreement(SimCluster& cluster, int64_t limit_ms, std::string* why) {
  for (int64_t waited = 0;; waited += 100) {
    GroupId failing;
    if (cluster.AllReplicasAgree(why, &failing)) return true;
    if (waited >= limit_ms) {
      *why += "\n" + cluster.DescribeGroup(failing);
      return false;
    }
    cluster.RunFor(milliseconds(100));
  }
}

std::string TraceTail(const SimCluster& c, size_t n) {
  const auto& t = c.trace();
  std::string out;
  for (size_t i = t.size() > n ? t.size() - n : 0; i < t.size(); ++i) out += "  " + t[i] + "\n";
  return out;
}

}  // namespace

void SetQuiesceOverride(std::optional<bool> quiesce) { g_quiesce_override = quiesce; }

SeedResult RunNodeSimSeed(uint64_t seed, bool keep_trace, std::string_view bug) {
  failpoint::ScopedDisarmAll disarm;
  if (!bug.empty()) failpoint::Arm(bug, failpoint::Action::kInject);
  Random rng(seed * 0x9E3779B97F4A7C15ull + 1);
  SimCluster::Options o;
  o.seed = seed;
  // Every third seed runs the membership profile: gossip views, placement on, nodes added,
  // decommissioned and removed with a wiped disk during the load. It is shorter (the default
  // suite's time) and has fewer shards (each move is a snapshot).
  o.membership = seed % 3 == 0;
  if (o.membership) {
    o.nodes = 3 + static_cast<int>(rng.Uniform(3));      // 3-5, growing to at most kMaxMembers
    o.shards = 4u << rng.Uniform(2);                     // 4 or 8
    o.drop = 0.01 * static_cast<double>(rng.Uniform(4));  // 0-3%
  } else {
    const uint64_t size = rng.Uniform(10);
    o.nodes = size < 4 ? 3 : size < 8 ? 5 : 7;
    // 4, 8 or 16 shards; 32 in one seed of 8 and 64 in one of 16 (a seed costs steps in
    // proportion to its replicas).
    const uint64_t many = rng.Uniform(16);
    o.shards = many == 0 ? 64 : many < 3 ? 32 : 4u << rng.Uniform(3);
    o.drop = 0.01 * static_cast<double>(rng.Uniform(6));  // 0-5%
  }
  const bool append = rng.Bernoulli(0.5);
  o.duplicate = rng.Bernoulli(0.5) ? 0.02 : 0;
  // One seed in six outside the membership profile compacts the Raft log after a few
  // entries, so a node that was down catches up by snapshot, and its nodes crash at the
  // snapshot receive and install points (storage/snapshot.h). Own dice: the other seeds run
  // exactly as before.
  Random snap_rng(seed * 0xD1B54A32D192ED03ull + 7);
  const bool snapshots = !o.membership && snap_rng.Uniform(6) == 0;
  if (snapshots) {
    o.compact_threshold = 8;
    o.compact_keep = 2;
    o.snapshot_crash = 0.2;
  }
  // Quiescence in seven seeds of eight (kvd's default is on), from dice of its own. Gossip's
  // views are its failure detector, so every quiescing seed runs gossip (placement stays off
  // outside the membership profile).
  Random quiesce_rng(seed * 0xBF58476D1CE4E5B9ull + 13);
  o.quiesce = quiesce_rng.Uniform(8) != 0;
  if (g_quiesce_override) o.quiesce = *g_quiesce_override;
  // Coalesced heartbeats in three seeds of four (kvd's default is on), dice of their own.
  Random beats_rng(seed * 0xD6E8FEB86659FD93ull + 17);
  o.coalesced_heartbeats = beats_rng.Uniform(4) != 0;
  // Lease reads in one seed of four (kvd's default is off), dice of their own.
  Random lease_rng(seed * 0x2545F4914F6CDD1Dull + 19);
  o.lease_reads = lease_rng.Uniform(4) == 0;
  // Small apply writes on the loop in three seeds of four (kvd's default), all on the storage
  // worker in the rest, dice of their own.
  Random apply_rng(seed * 0x9E3779B97F4A7C15ull + 29);
  if (apply_rng.Uniform(4) == 0) o.apply_on_loop_max_bytes = 0;
  // Apply writes skip the WAL and wait in the memtable for a flush: a node's engine flushes
  // after 2, 16 or 128 KiB of them (dice of their own), so crashes lose up to that much
  // applied state, which the log must still hold to replay. The log is compacted only up to
  // what a flush made durable, so the snapshot seeds, which compact every few entries to
  // force snapshot catch-up, flush after 2 KiB.
  Random flush_rng(seed * 0x94D049BB133111EBull + 23);
  o.auto_flush_bytes = snapshots ? 2048 : uint64_t{2048} << (3 * flush_rng.Uniform(3));
  o.leaderless_bound = std::chrono::milliseconds(kLeaderlessBoundMs);
  SimCluster cluster(o);
  SimScheduler& sched = cluster.scheduler();
  SeedResult result;
  std::ostringstream params;
  params << "seed " << seed << ": " << o.nodes << " nodes, " << o.shards << " shards, drop "
         << o.drop << ", duplicate " << o.duplicate << ", " << (append ? "append" : "register")
         << (o.membership ? ", membership" : "")
         << (snapshots ? ", snapshots with crash points" : "")
         << (o.quiesce ? ", quiesce" : "")
         << (o.coalesced_heartbeats ? ", coalesced heartbeats" : "")
         << (o.lease_reads ? ", lease reads" : "")
         << (o.apply_on_loop_max_bytes == 0 ? ", apply writes off the loop" : "");

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

  MembershipFaults members(&cluster, &client, &rng);
  const int64_t run_ms = o.membership ? kMembershipRunMs : kRunMs;
  for (int64_t t = 0; t < run_ms; t += 10) {
    if (!cluster.invariants().violations().empty()) break;  // the trace ends at the violation
    if (o.membership) {
      members.Step(t);
    } else {
      // Nodes that crashed at a snapshot failpoint come back like the others.
      for (NodeId id : ids) {
        if (!cluster.up(id) && !restart_at.contains(id)) {
          restart_at[id] = t + 200 + static_cast<int64_t>(snap_rng.Uniform(1500));
        }
      }
    }
    if (!o.membership && t % 200 == 0) {
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
      // A node that crashed at a snapshot failpoint while its disk was full waits for room.
      if (it->second <= t && !room_at.contains(it->first)) {
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
  cluster.StopSnapshotCrashes();
  for (const auto& [node, at] : room_at) cluster.SetDiskFull(node, false);
  room_at.clear();
  members.Heal();
  if (!o.membership) {
    for (NodeId id : ids) {
      if (!cluster.up(id)) cluster.Restart(id);
    }
  }
  restart_at.clear();
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
  if (result.violations == 0 && !cluster.start_failure().empty()) fail(cluster.start_failure());
  if (result.violations == 0) {
    HistoryVerdict v = append ? CheckAppendHistory(recorder.history())
                              : CheckRegisterHistory(recorder.history());
    if (v.verdict != jepsen::Verdict::kValid) {
      fail("history is " + std::string(jepsen::VerdictName(v.verdict)) + ":\n" +
           v.report.substr(0, 4000));
    }
  }
  if (result.violations == 0 && !o.membership) {
    std::string why;
    if (!WaitForAgreement(cluster, 20'000, &why)) {
      fail("replicas differ 20 s after healing: " + why);
    }
  }
  if (result.violations == 0 && o.membership) {
    // Every shard back at its replication factor on live members, its replicas agreeing:
    // polled while placement replaces dead and drained members.
    std::string why;
    if (!WaitForAgreement(cluster, kConvergeMs, &why)) {
      fail("shards not back at their replication factor with agreeing replicas " +
           std::to_string(kConvergeMs / 1000) + " s after healing: " + why);
    }
  }
  // Idle now: how many replicas sleep (a second of quiet first, for the groups to quiesce).
  cluster.RunFor(milliseconds(1000));
  const auto [replicas, quiesced] = cluster.QuiescedReplicas();
  // The leadership invariant keeps being checked while the cluster converges and idles.
  if (const auto& broken = cluster.invariants().violations();
      result.violations == 0 && !broken.empty()) {
    fail("invariant broken after healing: " + broken.front());
  }
  const SimClient::Counts& n = client.counts();
  result.steps = sched.steps();
  result.client_ops = recorder.operations();
  result.lost_apply_writes = cluster.lost_apply_writes();
  params << "; " << result.client_ops << " ops (" << n.ok << " ok, " << n.fail << " fail, "
         << n.info << " info), " << result.steps << " steps, " << quiesced << "/" << replicas
         << " replicas quiesced when idle, longest leaderless "
         << cluster.max_leaderless().count() << " ms (group " << cluster.max_leaderless_group()
         << ")";
  result.max_leaderless_ms = cluster.max_leaderless().count();
  result.summary = params.str();
  if (keep_trace) result.trace = TraceTail(cluster, cluster.trace().size());
  return result;
}

}  // namespace ringkv::node_sim
