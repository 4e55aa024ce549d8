// SimCluster: whole RingKV nodes (Store, its replicas, a MemEngine each) in one thread, on the
// deterministic SimNodeEnv and an in-memory network, driven by a test. A run is a function of
// the seed and of the calls made: trace() lists what happened (client answers, crashes,
// restarts) with its virtual time, so two runs can be compared line by line.
//
// The seed of the node simulation (issue 12 item 3): the network here only delays (by a seeded
// jitter, so messages of one link may be reordered); drops, partitions and client histories
// come later.
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
#include <vector>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "storage/mem_engine.h"
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
  bool up(NodeId node) const { return nodes_.at(node)->store != nullptr; }
  Store* store(NodeId node) { return nodes_.at(node)->store.get(); }

  // Applied index of `node`'s replica of `group` (0 if none).
  uint64_t AppliedIndex(NodeId node, GroupId group);
  // Every node is up and every replica of `group` has the same state digest at the same
  // applied index (placement is off: every node holds its ring replicas).
  bool ReplicasAgree(GroupId group);
  const std::vector<std::string>& trace() const { return trace_; }
  // Raft's safety invariants, checked as replicas lead and apply (sim_invariants.h).
  const SimInvariants& invariants() const { return *invariants_; }
  std::vector<NodeId> node_ids() const;

 private:
  class Transport;
  struct Node {
    storage::MemEngine engine;
    std::unique_ptr<Transport> transport;
    std::unique_ptr<SimNodeEnv> env;
    std::unique_ptr<Store> store;
  };
  StoreOptions NodeOptions(NodeId id) const;
  void OpenStore(NodeId id);
  // Delivers `f` to `to`'s store after the network delay, if it is up then, unless the link
  // from `from` is blocked or (when `droppable`) the message is lost.
  void Deliver(NodeId from, NodeId to, bool droppable, std::function<void(Store*)> f);
  std::chrono::nanoseconds NetDelay();
  bool Chance(double p);  // true with probability p, from the seeded generator
  void Trace(std::string line);
  std::string TimeTag() const;  // virtual time and step, for trace and violation lines

  const Options options_;
  ring::RingConfig ring_;
  SimScheduler scheduler_;
  std::mt19937_64 rng_;
  uint64_t next_owner_ = 1;
  uint64_t next_request_ = 1;
  // Before nodes_: the stores report to it until they are destroyed.
  std::unique_ptr<SimInvariants> invariants_ =
      std::make_unique<SimInvariants>([this] { return TimeTag(); });
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::map<uint64_t, kvpb::Response> answers_;
  std::vector<std::string> trace_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
};

}  // namespace ringkv::store::sim

#endif  // RINGKV_TESTS_STORE_SIM_CLUSTER_H_
