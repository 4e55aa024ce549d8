#include "store/placement_driver.h"

#include <glog/logging.h>

#include <set>
#include <utility>

#include "store/placement.h"

namespace ringkv::store {

PlacementDriver::PlacementDriver(const StoreOptions& options, NodeEnv& env,
                                 const std::atomic<bool>& running,
                                 const std::optional<ring::HashRing>& ring, ReplicaSet& replicas,
                                 TurnPipeline& pipeline)
    : options_(options),
      running_(running),
      ring_(ring),
      replicas_(replicas),
      pipeline_(pipeline),
      clock_(env.clock()),
      timer_(env.loop().NewTimer()) {}

void PlacementDriver::Start(std::chrono::steady_clock::time_point started_at) {
  started_at_ = started_at;
  if (options_.placement_interval.count() > 0) {
    timer_->RunAfter(options_.placement_interval, [this] { OnTick(); });
  }
}

void PlacementDriver::SetMembers(std::vector<MemberView> members) {
  members_.clear();
  for (MemberView& m : members) members_[m.id] = std::move(m);
}

void PlacementDriver::SetDecommissioning(std::function<void()> on_drained) {
  if (!decommissioning_) LOG(INFO) << "node " << options_.node_id << " is decommissioning";
  decommissioning_ = true;
  on_drained_ = std::move(on_drained);
}

void PlacementDriver::TakeTouched() {
  for (GroupId g : replicas_.TakeTouchedForPlacement()) {
    pending_.insert(g);
    std::vector<NodeId> nodes;
    if (replica::Replica* r = replicas_.Peek(g)) {
      const raftpb::ConfState& cs = r->conf_state();
      for (auto* set : {&cs.voters(), &cs.learners()}) {
        for (uint64_t id : *set) nodes.push_back(NodeOfReplica(NodeId(id)));
      }
    }
    std::vector<NodeId>& old = conf_nodes_[g];
    if (old == nodes) continue;
    for (NodeId n : old) {
      if (--groups_on_node_[n] == 0) groups_on_node_.erase(n);
    }
    for (NodeId n : nodes) ++groups_on_node_[n];
    if (nodes.empty()) {
      conf_nodes_.erase(g);  // deleted (or not initialized yet)
    } else {
      old = std::move(nodes);
    }
  }
}

std::vector<NodeId> PlacementDriver::LiveNodes(std::chrono::steady_clock::time_point now) {
  std::set<NodeId> live;
  std::set<NodeId> local_members;
  for (const auto& [n, groups] : groups_on_node_) local_members.insert(n);
  for (const auto& [id, m] : members_) {
    if (m.state == MemberView::State::kLeft || m.decommissioning) {
      alive_since_.erase(id);
      continue;
    }
    if (m.state == MemberView::State::kAlive || m.state == MemberView::State::kSuspect) {
      dead_since_.erase(id);
      auto since = alive_since_.try_emplace(id, now).first->second;
      // Current members count at once; newcomers only once stable (no churn from flapping).
      if (local_members.count(id) > 0 || now - since >= options_.stability_delay) live.insert(id);
    } else {
      alive_since_.erase(id);
      auto since = dead_since_.try_emplace(id, now).first->second;
      if (now - since < options_.dead_node_timeout) live.insert(id);
    }
  }
  // A node in a configuration here that gossip does not know of is not known to be dead: it
  // may be a member our view has not learned yet (we just started). But gossip forgets dead
  // members it is not told of again: when every node that saw a member die has restarted
  // since, nobody knows it any more. Unknown for as long as a dead member is given, it counts
  // as dead, or its groups would stay a replica short forever (node sim seed 21591).
  for (NodeId id : local_members) {
    if (members_.count(id) > 0) {
      unknown_since_.erase(id);
      continue;
    }
    auto since = unknown_since_.try_emplace(id, now).first->second;
    if (now - since < options_.dead_node_timeout) live.insert(id);
  }
  std::erase_if(unknown_since_, [&](const auto& e) { return local_members.count(e.first) == 0; });
  if (decommissioning_) {
    live.erase(options_.node_id);
  } else {
    live.insert(options_.node_id);
  }
  return std::vector<NodeId>(live.begin(), live.end());
}

void PlacementDriver::OnTick() {
  if (!running_) return;
  auto now = clock_.Now();
  TakeTouched();
  if (ring_ && !members_.empty() && now - started_at_ >= options_.stability_delay) {
    std::vector<NodeId> live = LiveNodes(now);
    if (!map_ || live != map_live_) {
      // A new live set: a new target for every group.
      Result<ring::ShardMap> map = ring::ShardMap::Compute(options_.ring, live);
      map_.reset();
      if (map.ok()) map_ = std::move(map).value();
      map_live_ = std::move(live);
      for (const auto& [g, r] : replicas_.all()) pending_.insert(g);
    }
    for (auto it = transfer_received_at_.begin(); it != transfer_received_at_.end();) {
      if (now - it->second >= options_.transferred_leader_hold) {
        pending_.insert(it->first);  // its leadership may be balanced again
        it = transfer_received_at_.erase(it);
      } else {
        ++it;
      }
    }
    if (map_) {
      std::set<GroupId> look = std::exchange(pending_, {});
      for (GroupId g : look) {
        replica::Replica* r = replicas_.Peek(g);
        if (r == nullptr || !r->is_leader()) continue;
        if (Step(g, *r, *map_)) pending_.insert(g);
      }
    }
  }
  if (decommissioning_ && replicas_.empty() && on_drained_) {
    LOG(INFO) << "node " << options_.node_id << " holds no replicas: decommission complete";
    auto f = std::move(on_drained_);
    on_drained_ = nullptr;
    f();
  }
  pipeline_.ScheduleCycle();
  timer_->RunAfter(options_.placement_interval, [this] { OnTick(); });
}

bool PlacementDriver::Step(GroupId g, replica::Replica& r, const ring::ShardMap& map) {
  // A leadership transferred here (by an operator, or by this balancer) stays a while.
  const bool hold_leader = transfer_received_at_.count(g) > 0;
  raft::RaftStatus st = r.GetStatus();
  // Placement speaks of nodes; the configuration holds replica ids.
  GroupView v;
  v.self = options_.node_id;
  v.conf = replica::ConfByNode(st.conf_state);
  v.last_index = st.last_index;
  for (const auto& [id, pr] : st.progress) v.match[NodeOfReplica(id)] = pr.match;
  PlacementStep step = NextPlacementStep(v, map.Replicas(g), options_.ring.replication_factor,
                                         options_.catch_up_lag,
                                         /*balance_leaders=*/!hold_leader);
  if (step.kind == PlacementStep::Kind::kNone) return false;
  // A node added gets a new replica id: its epoch is the leader's next log index, above any
  // earlier replica of that node in this group (which was removed before, at a lower index).
  // Other steps name the node's current replica.
  std::optional<NodeId> raft_id =
      step.kind == PlacementStep::Kind::kAddLearner
          ? std::optional<NodeId>(MakeReplicaId(step.node, st.last_index.value() + 1))
          : replica::ReplicaOnNode(st.conf_state, step.node);
  if (!raft_id) return true;
  // The step changes the replica: the next loop turn collects its Ready.
  replicas_.MarkTouched(g);
  if (step.kind == PlacementStep::Kind::kTransferLeader) {
    VLOG(1) << "group " << g << ": placement: " << step.ToString();
    r.TransferLeader(*raft_id);
    return true;
  }
  raftpb::ConfChange cc;
  raftpb::ConfChangeSingle* c = cc.add_changes();
  c->set_node_id(raft_id->value());
  c->set_type(step.kind == PlacementStep::Kind::kAddLearner ? raftpb::CONF_ADD_LEARNER_NODE
              : step.kind == PlacementStep::Kind::kPromote  ? raftpb::CONF_ADD_NODE
                                                            : raftpb::CONF_REMOVE_NODE);
  ringkv::Status s = r.ProposeConfChange(cc);
  if (s.ok()) {
    LOG(INFO) << "group " << g << ": placement: " << step.ToString() << " (replica "
              << ReplicaIdString(*raft_id) << ")";
  } else {
    VLOG(1) << "group " << g << ": placement step " << step.ToString() << " deferred: " << s;
  }
  return true;
}

}  // namespace ringkv::store
