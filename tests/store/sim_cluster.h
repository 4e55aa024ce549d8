// SimCluster: whole RingKV nodes (Store, its replicas, a MemEngine each) in one thread, on the
// deterministic SimNodeEnv and an in-memory network, driven by a test. A run is a function of
// the seed and of the calls made: trace() lists what happened (client answers, crashes,
// restarts) with its virtual time, so two runs can be compared line by line.
//
// The network delays (by a seeded jitter, so messages of one link may be reordered), drops and
// partitions. With Options::membership, every node also gets gossip's membership view
// (sim_gossip.h: alive / suspect / dead / left, decommissioning) each gossip round, placement
// runs (store/placement_driver.h, with its own timers), and nodes can be added, decommissioned,
// or removed with their disk wiped.
//
// Thread-safety: none; one thread drives everything.
#ifndef RINGKV_TESTS_STORE_SIM_CLUSTER_H_
#define RINGKV_TESTS_STORE_SIM_CLUSTER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "storage/mem_engine.h"
#include "store/sim_gossip.h"
#include "store/sim_invariants.h"
#include "store/sim_node_env.h"
#include "store/store.h"

namespace ringkv::store::sim {

class SimCluster {
 public:
  struct Options {
    uint64_t seed = 1;
    int nodes = 3;
    uint32_t shards = 2;
    // One-way delay of a message: base plus a seeded jitter in [0, jitter].
    std::chrono::microseconds net_delay{500};
    std::chrono::microseconds net_jitter{1500};
    // Probability that one Raft message between nodes, or one client request or answer, is
    // lost. Snapshot chunks are not dropped one by one (the real transport is a stream); a
    // partition loses them all.
    double drop = 0;
    // Probability that a Raft message is delivered twice (each copy delayed on its own).
    double duplicate = 0;
    // Membership: gossip views fed to every store each `gossip_round`, and placement on with
    // the intervals below (kvd's --placement_interval_ms, --stability_delay_ms,
    // --dead_node_timeout_ms, shortened to the simulation's time scale). Off: every node holds
    // its ring replicas for good.
    bool membership = false;
    // Quiescence (ReplicaOptions::quiesce, kvd's --quiesce): idle groups sleep, and gossip's
    // views (as with membership, but placement stays off without it) are the failure detector
    // that wakes the followers of a dead leader.
    bool quiesce = false;
    // Coalesced heartbeats (ReplicaOptions::coalesced_heartbeats, kvd's
    // --coalesce_heartbeats).
    bool coalesced_heartbeats = false;
    // Lease reads (ReplicaOptions::lease_reads, kvd's --lease_reads).
    bool lease_reads = false;
    // Apply writes up to this size are made on the loop (StoreOptions::apply_on_loop_max_bytes;
    // 0: all on the storage worker, as before).
    size_t apply_on_loop_max_bytes = StoreOptions{}.apply_on_loop_max_bytes;
    std::chrono::milliseconds gossip_round{100};
    SimGossip::Timing gossip{};
    std::chrono::milliseconds placement_interval{200};
    std::chrono::milliseconds stability_delay{1000};
    std::chrono::milliseconds dead_node_timeout{1500};
    // Raft log compaction (ReplicaOptions::compact_threshold and compact_keep; 0 = their
    // defaults). Small values make a node that was down catch up by snapshot.
    uint64_t compact_threshold = 0;
    uint64_t compact_keep = 0;
    // Every node's engine flushes RocksDB's part once this many bytes were written unlogged
    // since its last flush (MemEngine::SetAutoFlushBytes: RocksDB flushing a full memtable).
    // Until a flush, a crash loses the apply writes and the log must replay them. 0: only the
    // flushes a replica or an ingest asks for. Default: 64 KiB.
    uint64_t auto_flush_bytes = 64 << 10;
    // Probability that a node crashes at each snapshot receive and install failpoint it
    // reaches (storage/snapshot.h kSnapshotFailpoints), at most `snapshot_crash_budget` times
    // a run. The crash happens right at the point (SimCrash): nothing after it runs.
    double snapshot_crash = 0;
    int snapshot_crash_budget = 4;
    // The leadership invariant (sim_leadership.cc), checked every `leadership_check` of virtual
    // time: no group may go longer than this without a leader that all of its "able" voters
    // agree on, counting only while a quorum of its voters is able: up, disk not full, and no
    // link blocked either way with another up voter of the group; a rise of their highest term
    // (an election round) starts the count again. 0: not checked.
    std::chrono::milliseconds leaderless_bound{0};
    std::chrono::milliseconds leadership_check{20};
  };
  explicit SimCluster(Options options);
  ~SimCluster();

  // Bootstraps every shard on its ring placement and starts every node.
  void Start();

  SimScheduler& scheduler() { return scheduler_; }
  // Runs the simulation for `d` of virtual time.
  void RunFor(std::chrono::nanoseconds d) { scheduler_.RunFor(d); }
  // Runs until `done()` or `limit` of virtual time passed; returns done().
  bool RunUntil(const std::function<bool()>& done, std::chrono::nanoseconds limit);

  // The node whose replica leads `group` by its own account, if one does (several may think
  // so briefly; the one of the highest term).
  std::optional<NodeId> LeaderOf(GroupId group);
  // Runs until every shard has a leader; false after `limit`.
  bool WaitForLeaders(std::chrono::nanoseconds limit);

  // Sends `req` to `node` (Store::HandleRequest); its answer lands in answer(id) and the trace.
  // Returns the request id (numbered by the cluster).
  uint64_t Submit(NodeId node, kvpb::Request req);
  uint64_t Put(NodeId node, const std::string& key, const std::string& value);
  uint64_t Get(NodeId node, const std::string& key);
  // Sends `req` to `node` over the simulated network (delay, drops, the node being down):
  // `reply` runs with its answer after the network delay back, or never.
  void SubmitAsync(NodeId node, kvpb::Request req, std::function<void(kvpb::Response)> reply);
  // Partitions: messages from `from` to `to` are lost until healed (one-way).
  void Block(NodeId from, NodeId to);
  void HealAll();
  bool partitioned() const { return !blocked_.empty(); }
  // A full disk on `node` (MemEngine::SetDiskFull): its writes fail until it has room again
  // and the node resumes; what was synced stays.
  void SetDiskFull(NodeId node, bool full);
  // The answer to request `id`, once there is one.
  const kvpb::Response* answer(uint64_t id) const;
  // Runs until request `id` is answered; false after `limit`.
  bool WaitForAnswer(uint64_t id, std::chrono::nanoseconds limit);
  // The group (shard) of `key`.
  GroupId GroupOf(const std::string& key) const;

  // A crash: the node's queued work is dropped, its Store destroyed, and its engine loses every
  // unsynced write. Restart: a new Store on the same engine reopens its replicas and starts.
  void Crash(NodeId node);
  // A clean stop (Store::Stop: what is due on the loop runs, then the workers drain; nothing
  // is lost), for a restart.
  void Shutdown(NodeId node);
  void Restart(NodeId node);
  // The first restart that failed (its stored replicas would not open: kvd would exit), or "".
  const std::string& start_failure() const { return start_failure_; }
  // No more crashes at snapshot failpoints (Options::snapshot_crash) from now on.
  void StopSnapshotCrashes() { snapshot_crashes_ = options_.snapshot_crash_budget; }
  bool up(NodeId node) const { return nodes_.at(node)->store != nullptr; }

  // Membership (Options::membership). A fresh node with an empty disk joins (by gossip; the
  // placement moves replicas to it); returns its id.
  NodeId AddNode();
  // Decommissions `node` (up) as kvd's admin request does: gossip carries the flag and the
  // store drains (Store::SetDecommissioning); once it holds no replica it leaves (gossip's
  // Leave) and stops for good. A restart before that re-issues the request (kvd keeps the
  // flag in memory only; the operator repeats it).
  void Decommission(NodeId node);
  // Removes `node` for good: a crash, then its disk is wiped. kvd refuses a wiped node under
  // its old id (server/node_storage.cc: the peer incarnation check), so the machine can only
  // rejoin as a new member (AddNode); the old id stays dead in gossip until placement
  // replaces its replicas.
  void RemoveWiped(NodeId node);
  // Decommissioned (left) or removed: never up again.
  bool gone(NodeId node) const { return nodes_.at(node)->gone; }
  bool decommissioning(NodeId node) const { return nodes_.at(node)->decommissioning; }
  // Every group has a leader whose configuration has the replication factor of voters, all on
  // up members: losing one node for good now loses no group's quorum (the member nemesis'
  // condition for a removal).
  bool GroupsAtFullStrength();
  // Each up node's replica of `group` (role, term, applied, configuration), for reports.
  std::string DescribeGroup(GroupId group);
  Store* store(NodeId node) { return nodes_.at(node)->store.get(); }

  // Applied index of `node`'s replica of `group` (0 if none).
  uint64_t AppliedIndex(NodeId node, GroupId group);
  // Without membership: every node is up and every replica of `group` has the same state
  // digest at the same applied index (every node holds its ring replicas).
  // With membership (the Jepsen member nemesis' rule, jepsen/harness/cluster.cc): the
  // configuration of the group's leader (highest term) has exactly the replication factor of
  // voters and no learner, every voter is on an up member that is neither gone nor
  // decommissioning, and every one of them has the leader's applied index and state digest.
  // Replicas outside the configuration (removed, awaiting their tombstone) are not compared.
  bool ReplicasAgree(GroupId group, std::string* why = nullptr);
  // ReplicasAgree for every shard, reading each node's status once (a check of a shard alone
  // costs every node's status: n shards one by one cost n times this). On false, `failing` is
  // the first shard that does not agree.
  bool AllReplicasAgree(std::string* why = nullptr, GroupId* failing = nullptr);
  const std::vector<std::string>& trace() const { return trace_; }
  // The longest stretch any group went without an agreed leader while a quorum of its voters
  // was able (see Options::leaderless_bound), ended or still open; with the group.
  std::chrono::milliseconds max_leaderless() const { return max_leaderless_; }
  GroupId max_leaderless_group() const { return max_leaderless_group_; }
  // Replicas on up nodes, and how many of them are quiesced now.
  std::pair<size_t, size_t> QuiescedReplicas();
  // Raft's safety invariants, checked as replicas lead and apply (sim_invariants.h).
  const SimInvariants& invariants() const { return *invariants_; }
  // Tests: called with every Raft message a node hands its transport (before the network).
  void set_send_observer(std::function<void(NodeId from, const raftpb::Message&)> f) {
    send_observer_ = std::move(f);
  }
  // Tests: every Raft message for which `drop` returns true is lost (after the observer).
  void set_send_filter(std::function<bool(NodeId from, const raftpb::Message&)> drop) {
    send_filter_ = std::move(drop);
  }
  // Apply writes (unlogged, not yet flushed) that node crashes lost so far: the log replayed
  // each at the restart.
  uint64_t lost_apply_writes() const { return lost_apply_writes_; }
  // The nodes that are not gone (up or down).
  std::vector<NodeId> node_ids() const;

 private:
  class Transport;
  struct Node {
    std::unique_ptr<storage::MemEngine> engine = std::make_unique<storage::MemEngine>();
    std::unique_ptr<Transport> transport;
    std::unique_ptr<SimNodeEnv> env;
    std::unique_ptr<Store> store;
    bool gone = false;
    bool decommissioning = false;
    uint64_t owner = 0;  // env's SimScheduler owner (this incarnation's tasks)
  };
  // A node with an empty disk, not started.
  void NewNode(NodeId id);
  // The failpoint callback of the snapshot crash points: crashes the node reaching it (SimCrash)
  // by the dice of Options::snapshot_crash.
  Status MaybeCrashAtSnapshotPoint(std::string_view point);
  StoreOptions NodeOptions(NodeId id) const;
  void OpenStore(NodeId id);
  // Delivers `f` to `to`'s store after the network delay, if it is up then, unless the link
  // from `from` is blocked or (when `droppable`) the message is lost.
  void Deliver(NodeId from, NodeId to, bool droppable, std::function<void(Store*)> f);
  std::chrono::nanoseconds NetDelay();
  bool Chance(double p);  // true with probability p, from the seeded generator
  void Trace(std::string line);
  std::string TimeTag() const;  // virtual time and step, for trace and violation lines
  // Membership: one gossip round, every up node's view handed to its store, and the next round.
  void GossipRound();
  // The leadership invariant's check (Options::leaderless_bound), and its next run.
  void CheckLeadership();
  // Whether gossip views are fed to the stores (membership or quiescence).
  bool gossip_on() const { return options_.membership || options_.quiesce; }
  void IssueDecommission(NodeId node);
  void OnDrained(NodeId node);
  // Each up node's status (with state digests if `digests`), read once for many checks.
  using Statuses = std::map<NodeId, kvpb::NodeStatus>;
  Statuses UpNodeStatuses(bool digests);
  bool ReplicasAgreeIn(const Statuses& st, GroupId group, std::string* why);
  bool ConfigurationAgrees(const Statuses& st, GroupId group, std::string* why);

  const Options options_;
  std::function<void(NodeId from, const raftpb::Message&)> send_observer_;
  std::function<bool(NodeId from, const raftpb::Message&)> send_filter_;
  ring::RingConfig ring_;
  SimScheduler scheduler_;
  std::mt19937_64 rng_;
  uint64_t crashes_ = 0;  // Crash() calls so far
  uint64_t lost_apply_writes_ = 0;  // unlogged (apply) writes the crashes lost
  uint64_t next_owner_ = 1;
  uint64_t next_request_ = 1;
  // Before nodes_: the stores report to it until they are destroyed.
  std::unique_ptr<SimInvariants> invariants_ =
      std::make_unique<SimInvariants>([this] { return TimeTag(); });
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::map<uint64_t, kvpb::Response> answers_;
  std::vector<std::string> trace_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  SimGossip gossip_;
  std::string start_failure_;
  // The node whose store a network task is calling into (SimScheduler::running_owner tells
  // for the node's own tasks).
  std::optional<NodeId> delivering_to_;
  int snapshot_crashes_ = 0;
  std::set<NodeId> disk_full_;
  // Leadership invariant: since when each group lacks an agreed leader while able to elect.
  struct Leaderless {
    SimScheduler::TimePoint since;
    uint64_t term;  // the highest term among its able voters then
  };
  std::map<GroupId, Leaderless> leaderless_since_;
  std::chrono::milliseconds max_leaderless_{0};
  GroupId max_leaderless_group_;
};

}  // namespace ringkv::store::sim

#endif  // RINGKV_TESTS_STORE_SIM_CLUSTER_H_
