#include "store/sim_cluster.h"

#include <glog/logging.h>

#include <utility>

#include "common/failpoint.h"
#include "raft/panic.h"
#include "ring/hash_ring.h"
#include "ring/shard_map.h"
#include "storage/snapshot.h"

namespace ringkv::store::sim {
namespace {

struct RaftPanic {
  std::string message;
};
[[noreturn]] void ThrowRaftPanic(const std::string& message) { throw RaftPanic{message}; }

}  // namespace

// A node's outgoing traffic: every message reaches its node after the network's delay.
class SimCluster::Transport final : public StoreTransport {
 public:
  Transport(SimCluster* cluster, NodeId self) : cluster_(cluster), self_(self) {}
  bool Send(raftpb::Message m) override {
    const NodeId from = self_;
    const NodeId to = NodeOfReplica(NodeId(m.to()));  // before m moves
    if (cluster_->send_observer_) cluster_->send_observer_(from, m);
    if (cluster_->send_filter_ && cluster_->send_filter_(from, m)) return true;  // lost
    // A duplicate (a resend after a reconnect, say) is an independent copy: its own delay,
    // its own chance to be lost.
    if (cluster_->Chance(cluster_->options_.duplicate)) {
      cluster_->Deliver(from, to, /*droppable=*/true,
                        [from, m](Store* s) { s->OnRaftMessages(from, {m}); });
    }
    cluster_->Deliver(from, to, /*droppable=*/true, [from, m = std::move(m)](Store* s) {
      s->OnRaftMessages(from, {m});
    });
    return true;
  }
  bool SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk) override {
    const NodeId from = self_;
    cluster_->Deliver(from, to, /*droppable=*/false, [from, chunk = std::move(chunk)](Store* s) {
      s->OnSnapshotChunk(from, chunk);
    });
    return true;
  }

 private:
  SimCluster* const cluster_;
  const NodeId self_;
};

SimCluster::SimCluster(Options options)
    : options_(options), rng_(options.seed), gossip_(options.gossip) {
  ring_.num_shards = options_.shards;
  ring_.replication_factor = 3;
  for (int i = 1; i <= options_.nodes; ++i) NewNode(NodeId(i));
}

void SimCluster::NewNode(NodeId id) {
  auto n = std::make_unique<Node>();
  n->engine->SetAutoFlushBytes(options_.auto_flush_bytes);
  n->transport = std::make_unique<Transport>(this, id);
  nodes_[id] = std::move(n);
}

Status SimCluster::MaybeCrashAtSnapshotPoint(std::string_view point) {
  std::optional<NodeId> node = delivering_to_;
  const uint64_t owner = scheduler_.running_owner();
  for (const auto& [id, n] : nodes_) {
    if (!node && owner != SimScheduler::kNoOwner && n->owner == owner && n->store) node = id;
  }
  // Outside a node's task (a restart's recovery, the test itself) nothing crashes.
  if (!node || snapshot_crashes_ >= options_.snapshot_crash_budget ||
      std::uniform_real_distribution<double>(0, 1)(rng_) >= options_.snapshot_crash) {
    return Status::OK();
  }
  ++snapshot_crashes_;
  Trace("node " + std::to_string(node->value()) + " crashes at failpoint " + std::string(point));
  throw SimCrash{nodes_.at(*node)->owner};
}

SimCluster::~SimCluster() {
  if (options_.snapshot_crash > 0) {
    for (std::string_view p : storage::kSnapshotFailpoints) failpoint::Disarm(p);
  }
  // Stores first (their timers and tasks live in scheduler_), each as a crash would.
  for (auto& [id, n] : nodes_) {
    if (n->env) n->env->Kill();
    n->store.reset();
    n->env.reset();
  }
}

StoreOptions SimCluster::NodeOptions(NodeId id) const {
  StoreOptions o;
  o.node_id = id;
  o.ring = ring_;
  if (options_.membership) {
    o.placement_interval = options_.placement_interval;
    o.stability_delay = options_.stability_delay;
    o.dead_node_timeout = options_.dead_node_timeout;
  } else {
    o.placement_interval = std::chrono::milliseconds(0);  // replica sets never change
  }
  o.replica.seed = options_.seed * 1000 + id.value();
  o.replica.quiesce = options_.quiesce;
  o.replica.coalesced_heartbeats = options_.coalesced_heartbeats;
  o.replica.lease_reads = options_.lease_reads;
  o.apply_on_loop_max_bytes = options_.apply_on_loop_max_bytes;
  if (options_.compact_threshold > 0) o.replica.compact_threshold = options_.compact_threshold;
  if (options_.compact_keep > 0) o.replica.compact_keep = options_.compact_keep;
  o.replica.observer = invariants_.get();
  return o;
}

std::vector<NodeId> SimCluster::node_ids() const {
  std::vector<NodeId> ids;
  for (const auto& [id, n] : nodes_) {
    if (!n->gone) ids.push_back(id);
  }
  return ids;
}

void SimCluster::OpenStore(NodeId id) {
  Node& n = *nodes_.at(id);
  n.owner = next_owner_++;
  n.env = std::make_unique<SimNodeEnv>(&scheduler_, n.owner);
  n.store = std::make_unique<Store>(NodeOptions(id), n.engine.get(), n.transport.get(), n.env.get());
}

void SimCluster::Start() {
  std::vector<NodeId> ids = node_ids();
  Result<ring::ShardMap> map = ring::ShardMap::Compute(ring_, ids);
  CHECK(map.ok()) << map.status();
  scheduler_.set_crash_handler([this](uint64_t owner) {
    for (const auto& [id, n] : nodes_) {
      if (n->owner == owner && n->store) {
        Crash(id);
        return;
      }
    }
  });
  if (options_.snapshot_crash > 0) {
    for (std::string_view p : storage::kSnapshotFailpoints) {
      failpoint::ArmCallback(p, [this, p] { return MaybeCrashAtSnapshotPoint(p); });
    }
  }
  for (NodeId id : ids) OpenStore(id);
  for (uint32_t g = 1; g <= ring_.num_shards; ++g) {
    raftpb::ConfState cs;
    for (NodeId n : map->Replicas(GroupId(g))) cs.add_voters(n.value());
    for (NodeId n : map->Replicas(GroupId(g))) {
      Status s = nodes_.at(n)->store->AddReplica(GroupId(g), &cs);
      CHECK(s.ok()) << s;
    }
  }
  for (NodeId id : ids) nodes_.at(id)->store->Start();
  if (gossip_on()) {
    for (NodeId id : ids) gossip_.Start(id, scheduler_.Now());
    GossipRound();
  }
  if (options_.leaderless_bound.count() > 0) CheckLeadership();
  Trace("started " + std::to_string(ids.size()) + " nodes, " +
        std::to_string(ring_.num_shards) + " shards");
}

std::chrono::nanoseconds SimCluster::NetDelay() {
  const auto jitter = std::chrono::microseconds(
      std::uniform_int_distribution<int64_t>(0, options_.net_jitter.count())(rng_));
  return options_.net_delay + jitter;
}

bool SimCluster::Chance(double p) {
  return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

void SimCluster::SetDiskFull(NodeId node, bool full) {
  nodes_.at(node)->engine->SetDiskFull(full);
  if (full) {
    disk_full_.insert(node);
  } else {
    disk_full_.erase(node);
  }
  Trace("node " + std::to_string(node.value()) + (full ? ": disk full" : ": disk has room"));
}

void SimCluster::Deliver(NodeId from, NodeId to, bool droppable, std::function<void(Store*)> f) {
  if (blocked_.contains({from, to})) return;
  if (droppable && Chance(options_.drop)) return;
  scheduler_.Schedule(scheduler_.Now() + NetDelay(), SimScheduler::kNoOwner,
                      SimScheduler::Kind::kOther, [this, to, f = std::move(f)] {
                        auto it = nodes_.find(to);
                        if (it == nodes_.end() || !it->second->store) return;
                        // Reset also when the node crashes inside (SimCrash).
                        struct Delivering {
                          std::optional<NodeId>* to;
                          ~Delivering() { to->reset(); }
                        } delivering{&delivering_to_};
                        delivering_to_ = to;
                        f(it->second->store.get());
                      });
}

bool SimCluster::RunUntil(const std::function<bool()>& done, std::chrono::nanoseconds limit) {
  return scheduler_.RunUntil(done, scheduler_.Now() + limit);
}

SimCluster::Statuses SimCluster::UpNodeStatuses(bool digests) {
  Statuses out;
  for (auto& [id, n] : nodes_) {
    if (n->store) out.emplace(id, n->store->GetNodeStatus(digests));
  }
  return out;
}

namespace {

// The leader of `group` among `statuses` (the highest term claiming it), if any.
std::optional<NodeId> LeaderIn(const std::map<NodeId, kvpb::NodeStatus>& statuses,
                               GroupId group) {
  std::optional<NodeId> leader;
  uint64_t best_term = 0;
  for (const auto& [id, st] : statuses) {
    for (const kvpb::GroupStatus& g : st.groups()) {
      if (g.group_id() != group.value() || g.role() != "leader") continue;
      if (!leader || g.term() > best_term) {
        leader = id;
        best_term = g.term();
      }
    }
  }
  return leader;
}

}  // namespace

std::optional<NodeId> SimCluster::LeaderOf(GroupId group) {
  return LeaderIn(UpNodeStatuses(/*digests=*/false), group);
}

bool SimCluster::WaitForLeaders(std::chrono::nanoseconds limit) {
  // Polled every 10 ms of virtual time: a check reads every replica's status.
  const auto deadline = scheduler_.Now() + limit;
  for (;;) {
    const Statuses st = UpNodeStatuses(/*digests=*/false);
    uint32_t g = 1;
    while (g <= ring_.num_shards && LeaderIn(st, GroupId(g))) ++g;
    if (g > ring_.num_shards) return true;
    if (scheduler_.Now() >= deadline) return false;
    RunFor(std::chrono::milliseconds(10));
  }
}

uint64_t SimCluster::AppliedIndex(NodeId node, GroupId group) {
  Store* s = nodes_.at(node)->store.get();
  if (s == nullptr) return 0;
  const kvpb::NodeStatus st = s->GetNodeStatus();
  for (const kvpb::GroupStatus& g : st.groups()) {
    if (g.group_id() == group.value()) return g.applied();
  }
  return 0;
}

bool SimCluster::ReplicasAgree(GroupId group, std::string* why) {
  return options_.membership ? ConfigurationAgrees(UpNodeStatuses(true), group, why)
                             : ReplicasAgreeIn(UpNodeStatuses(true), group, why);
}

bool SimCluster::AllReplicasAgree(std::string* why, GroupId* failing) {
  const Statuses st = UpNodeStatuses(/*digests=*/true);
  for (uint32_t g = 1; g <= ring_.num_shards; ++g) {
    const bool agree = options_.membership ? ConfigurationAgrees(st, GroupId(g), why)
                                           : ReplicasAgreeIn(st, GroupId(g), why);
    if (!agree) {
      if (failing != nullptr) *failing = GroupId(g);
      return false;
    }
  }
  return true;
}

bool SimCluster::ReplicasAgreeIn(const Statuses& statuses, GroupId group, std::string* why) {
  if (statuses.size() != nodes_.size()) {
    if (why) *why = "a node is down";
    return false;
  }
  std::optional<std::pair<uint64_t, uint64_t>> seen;  // (applied, digest)
  int replicas = 0;
  for (const auto& [id, st] : statuses) {
    for (const kvpb::GroupStatus& g : st.groups()) {
      if (g.group_id() != group.value()) continue;
      if (!g.has_digest()) return false;
      ++replicas;
      const std::pair<uint64_t, uint64_t> mine{g.digest_applied(), g.digest()};
      if (seen && *seen != mine) {
        if (why) *why = "group " + std::to_string(group.value()) + ": replicas differ";
        return false;
      }
      seen = mine;
    }
  }
  return replicas == static_cast<int>(ring_.replication_factor);
}

GroupId SimCluster::GroupOf(const std::string& key) const {
  Result<ring::HashRing> r = ring::HashRing::Create(ring_);
  CHECK(r.ok()) << r.status();
  return r->ShardForKey(key);
}

uint64_t SimCluster::Submit(NodeId node, kvpb::Request req) {
  const uint64_t id = next_request_++;
  req.set_request_id(id);
  Store* s = nodes_.at(node)->store.get();
  if (s == nullptr) {
    kvpb::Response resp;
    resp.set_request_id(id);
    resp.mutable_error()->set_code(kvpb::UNAVAILABLE);
    resp.mutable_error()->set_message("node is down");
    answers_[id] = resp;
    Trace("request " + std::to_string(id) + " to node " + std::to_string(node.value()) +
          ": node is down");
    return id;
  }
  s->HandleRequest(std::move(req), [this, id, node](kvpb::Response resp) {
    std::string line = "request " + std::to_string(id) + " at node " +
                       std::to_string(node.value()) + ": ";
    if (resp.has_error() && resp.error().code() != kvpb::OK) {
      line += kvpb::ErrorCode_Name(resp.error().code()) + " " + resp.error().message();
    } else {
      line += resp.ShortDebugString();
    }
    Trace(std::move(line));
    answers_[id] = std::move(resp);
  });
  return id;
}

void SimCluster::Block(NodeId from, NodeId to) {
  if (blocked_.insert({from, to}).second) {
    Trace("link " + std::to_string(from.value()) + " -> " + std::to_string(to.value()) +
          " blocked");
  }
}

void SimCluster::HealAll() {
  if (blocked_.empty()) return;
  blocked_.clear();
  Trace("partitions healed");
}

void SimCluster::SubmitAsync(NodeId node, kvpb::Request req,
                             std::function<void(kvpb::Response)> reply) {
  // Clients are "node 0": a partition of a node from node 0 cuts it off from its clients.
  const NodeId client(0);
  Deliver(client, node, /*droppable=*/true,
          [this, node, client, req = std::move(req), reply = std::move(reply)](Store* s) mutable {
            s->HandleRequest(std::move(req), [this, node, client, reply](kvpb::Response resp) {
              if (blocked_.contains({node, client}) || Chance(options_.drop)) return;
              scheduler_.Schedule(scheduler_.Now() + NetDelay(), SimScheduler::kNoOwner,
                                  SimScheduler::Kind::kOther,
                                  [reply, resp = std::move(resp)] { reply(resp); });
            });
          });
}

uint64_t SimCluster::Put(NodeId node, const std::string& key, const std::string& value) {
  kvpb::Request req;
  req.mutable_put()->set_key(key);
  req.mutable_put()->set_value(value);
  return Submit(node, std::move(req));
}

uint64_t SimCluster::Get(NodeId node, const std::string& key) {
  kvpb::Request req;
  req.set_consistency(kvpb::LINEARIZABLE);
  req.mutable_get()->set_key(key);
  return Submit(node, std::move(req));
}

const kvpb::Response* SimCluster::answer(uint64_t id) const {
  auto it = answers_.find(id);
  return it == answers_.end() ? nullptr : &it->second;
}

bool SimCluster::WaitForAnswer(uint64_t id, std::chrono::nanoseconds limit) {
  return RunUntil([this, id] { return answers_.count(id) > 0; }, limit);
}

void SimCluster::Crash(NodeId node) {
  Node& n = *nodes_.at(node);
  n.env->Kill();
  n.store.reset();
  n.env.reset();
  // Half the crashes keep the log's unsynced tail while RocksDB loses its own (two files, see
  // storage/split_engine.h). Chosen by a hash, not rng_, so the seeds' schedules stay as they were.
  const uint64_t h = (options_.seed + 0x9E3779B97F4A7C15ull * ++crashes_) * 0xBF58476D1CE4E5B9ull;
  const bool keep_unsynced_log = (h >> 63) != 0;
  const uint64_t lost_before = n.engine->lost_unlogged_writes();
  n.engine->Crash(keep_unsynced_log);
  lost_apply_writes_ += n.engine->lost_unlogged_writes() - lost_before;
  Trace("node " + std::to_string(node.value()) + " crashed" +
        (keep_unsynced_log ? " (its log's unsynced tail survives)" : ""));
}

void SimCluster::Shutdown(NodeId node) {
  Node& n = *nodes_.at(node);
  n.store.reset();  // Stop()s
  n.env.reset();
  Trace("node " + std::to_string(node.value()) + " shut down");
}

void SimCluster::Restart(NodeId node) {
  OpenStore(node);
  Store* s = nodes_.at(node)->store.get();
  // As kvd opens its engine (server/node_storage.cc), interrupted snapshot installs finish
  // first. A group whose stored Raft state breaks the core's invariants (a commit below the
  // applied index) makes the core panic while it opens: a node that cannot restart, reported
  // as such instead of aborting the simulation.
  Status st;
  raft::SetPanicHandlerForTesting(&ThrowRaftPanic);
  try {
    st = storage::RecoverSnapshotInstalls(nodes_.at(node)->engine.get());
    if (st.ok()) st = s->OpenExistingReplicas();
  } catch (const RaftPanic& p) {
    st = Status::Aborted("raft panic: " + p.message);
  }
  raft::SetPanicHandlerForTesting(nullptr);
  if (!st.ok()) {
    // kvd exits here: the node stays down, and the run has failed.
    Node& n = *nodes_.at(node);
    n.store.reset();
    n.env->Kill();
    n.env.reset();
    const std::string what =
        "node " + std::to_string(node.value()) + " cannot restart: " + st.ToString();
    if (start_failure_.empty()) start_failure_ = what;
    Trace(what);
    return;
  }
  s->Start();
  Trace("node " + std::to_string(node.value()) + " restarted");
  if (gossip_on()) {
    gossip_.Start(node, scheduler_.Now());
    if (nodes_.at(node)->decommissioning) IssueDecommission(node);
  }
}

std::string SimCluster::TimeTag() const {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      scheduler_.Now().time_since_epoch() - std::chrono::hours(1))
                      .count();
  return "t=" + std::to_string(us) + "us step=" + std::to_string(scheduler_.steps());
}

void SimCluster::Trace(std::string line) { trace_.push_back(TimeTag() + " " + line); }

}  // namespace ringkv::store::sim
