// SimCluster's membership half (sim_cluster.h, Options::membership): gossip rounds, nodes added,
// decommissioned and removed with a wiped disk, and the convergence rule over each group's
// configuration. Split from sim_cluster.cc by concern.
#include <glog/logging.h>

#include <utility>

#include "store/sim_cluster.h"

namespace ringkv::store::sim {

void SimCluster::GossipRound() {
  const auto now = scheduler_.Now();
  std::vector<NodeId> up_ids;
  for (const auto& [id, n] : nodes_) {
    if (n->store) up_ids.push_back(id);
  }
  gossip_.Round(now, up_ids, [this](NodeId a, NodeId b) { return !blocked_.contains({a, b}); });
  for (NodeId id : up_ids) nodes_.at(id)->store->SetMembership(gossip_.ViewOf(id, now));
  scheduler_.Schedule(now + options_.gossip_round, SimScheduler::kNoOwner,
                      SimScheduler::Kind::kOther, [this] { GossipRound(); });
}

NodeId SimCluster::AddNode() {
  CHECK(options_.membership);
  const NodeId id(nodes_.rbegin()->first.value() + 1);
  NewNode(id);
  OpenStore(id);
  nodes_.at(id)->store->Start();
  gossip_.Start(id, scheduler_.Now());
  Trace("node " + std::to_string(id.value()) + " added (empty disk; joins by gossip)");
  return id;
}

void SimCluster::Decommission(NodeId node) {
  CHECK(options_.membership);
  Node& n = *nodes_.at(node);
  CHECK(n.store != nullptr && !n.gone);
  n.decommissioning = true;
  gossip_.SetDecommissioning(node);
  Trace("node " + std::to_string(node.value()) + " decommissioning");
  IssueDecommission(node);
}

void SimCluster::IssueDecommission(NodeId node) {
  nodes_.at(node)->store->SetDecommissioning([this, node] {
    // On the node's loop, inside its placement tick: stop it from a task of its own.
    scheduler_.Schedule(scheduler_.Now(), SimScheduler::kNoOwner, SimScheduler::Kind::kOther,
                        [this, node] { OnDrained(node); });
  });
}

void SimCluster::OnDrained(NodeId node) {
  Node& n = *nodes_.at(node);
  if (n.gone) return;
  // Drained: gossip's Leave, then the operator stops the process (kvd stays up, serving
  // nothing; stopping it changes nothing the others see).
  gossip_.Leave(node);
  if (n.store) Shutdown(node);
  n.gone = true;
  Trace("node " + std::to_string(node.value()) + " drained: left the cluster");
}

void SimCluster::RemoveWiped(NodeId node) {
  CHECK(options_.membership);
  Node& n = *nodes_.at(node);
  CHECK(!n.gone);
  if (n.store) Crash(node);
  n.engine = std::make_unique<storage::MemEngine>();
  n.engine->SetAutoFlushBytes(options_.auto_flush_bytes);
  n.gone = true;
  Trace("node " + std::to_string(node.value()) +
        " removed: disk wiped (may rejoin only under a new id)");
}

std::string SimCluster::DescribeGroup(GroupId group) {
  std::string out;
  for (auto& [id, n] : nodes_) {
    out += "  n" + std::to_string(id.value()) + ":";
    if (n->gone) out += " (gone)";
    if (n->decommissioning) out += " (decommissioning)";
    if (!n->store) {
      out += " down\n";
      continue;
    }
    const kvpb::NodeStatus st = n->store->GetNodeStatus();
    bool any = false;
    for (const kvpb::GroupStatus& g : st.groups()) {
      if (g.group_id() != group.value()) continue;
      any = true;
      out += " " + g.role() + " term " + std::to_string(g.term()) + " leader n" +
             std::to_string(g.leader()) + " commit " + std::to_string(g.commit()) + " applied " +
             std::to_string(g.applied()) + " last " + std::to_string(g.last_index()) + " voters";
      for (uint64_t v : g.voters()) out += " " + std::to_string(v);
      out += " learners";
      for (uint64_t v : g.learners()) out += " " + std::to_string(v);
      if (g.quiesced()) out += " (quiesced)";
    }
    if (!any) out += " no replica";
    out += "\n";
  }
  return out;
}

bool SimCluster::GroupsAtFullStrength() {
  std::map<GroupId, std::pair<uint64_t, kvpb::GroupStatus>> leaders;  // highest term
  for (auto& [id, n] : nodes_) {
    if (!n->store) continue;
    const kvpb::NodeStatus st = n->store->GetNodeStatus();
    for (const kvpb::GroupStatus& g : st.groups()) {
      if (g.role() != "leader") continue;
      auto [it, fresh] = leaders.try_emplace(GroupId(g.group_id()), g.term(), g);
      if (!fresh && g.term() > it->second.first) it->second = {g.term(), g};
    }
  }
  if (leaders.size() != ring_.num_shards) return false;
  for (const auto& [g, l] : leaders) {
    const kvpb::GroupStatus& st = l.second;
    if (st.voters_size() != static_cast<int>(ring_.replication_factor)) return false;
    for (uint64_t v : st.voters()) {
      auto it = nodes_.find(NodeId(v));
      if (it == nodes_.end() || it->second->gone || !it->second->store) return false;
    }
  }
  return true;
}

bool SimCluster::ConfigurationAgrees(const Statuses& statuses, GroupId group, std::string* why) {
  auto say = [why](std::string s) {
    if (why) *why = std::move(s);
    return false;
  };
  std::map<NodeId, kvpb::GroupStatus> of;  // this group's status on each up node
  std::optional<NodeId> leader;
  for (const auto& [id, st] : statuses) {
    for (const kvpb::GroupStatus& g : st.groups()) {
      if (g.group_id() != group.value()) continue;
      of[id] = g;
      if (g.role() == "leader" && (!leader || g.term() > of.at(*leader).term())) leader = id;
    }
  }
  const std::string name = "group " + std::to_string(group.value());
  if (!leader) return say(name + " has no leader");
  const kvpb::GroupStatus& l = of.at(*leader);
  std::string conf = name + " (leader n" + std::to_string(leader->value()) + ", term " +
                     std::to_string(l.term()) + ", applied " + std::to_string(l.applied()) + "):";
  for (uint64_t v : l.voters()) conf += " voter n" + std::to_string(v);
  for (uint64_t v : l.learners()) conf += " learner n" + std::to_string(v);
  if (l.learners_size() > 0) return say(conf + ": learners remain");
  if (l.voters_size() != static_cast<int>(ring_.replication_factor)) {
    return say(conf + ": not " + std::to_string(ring_.replication_factor) + " voters");
  }
  if (!l.has_digest() || l.digest_applied() != l.applied()) return say(conf + ": leader digest lags");
  for (uint64_t v : l.voters()) {
    const NodeId node(v);
    const std::string who = conf + ": n" + std::to_string(v);
    auto it = nodes_.find(node);
    if (it == nodes_.end() || it->second->gone) return say(who + " is not a member");
    if (it->second->decommissioning) return say(who + " is decommissioning");
    if (!it->second->store) return say(who + " is down");
    auto s = of.find(node);
    if (s == of.end()) return say(who + " has no replica");
    const kvpb::GroupStatus& g = s->second;
    if (!g.has_digest() || g.applied() != l.applied() || g.digest_applied() != g.applied() ||
        g.digest() != l.digest()) {
      return say(who + " at applied " + std::to_string(g.applied()) + ", digest " +
                 std::to_string(g.digest()) + " vs " + std::to_string(l.digest()));
    }
  }
  return true;
}

}  // namespace ringkv::store::sim
