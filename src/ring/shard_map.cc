#include "ring/shard_map.h"

#include <algorithm>

#include "ring/placement.h"

namespace ringkv::ring {

Result<ShardMap> ShardMap::Compute(const RingConfig& config, std::span<const NodeId> live_nodes) {
  Status s = config.Validate();
  if (!s.ok()) return s;
  std::vector<NodeId> nodes(live_nodes.begin(), live_nodes.end());
  if (std::find(nodes.begin(), nodes.end(), kNoNode) != nodes.end()) {
    return Status::InvalidArgument("shard map: node id 0 is not a node");
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());

  std::vector<std::vector<NodeId>> replicas(config.num_shards);
  if (!nodes.empty()) {
    Placement placement = PlaceReplicas(config, nodes);
    AssignLeaders(static_cast<uint32_t>(nodes.size()), &placement);
    for (uint32_t shard = 0; shard < config.num_shards; ++shard) {
      for (uint32_t index : placement[shard]) replicas[shard].push_back(nodes[index]);
    }
  }
  return ShardMap(config, std::move(nodes), std::move(replicas));
}

std::span<const NodeId> ShardMap::Replicas(GroupId shard) const {
  if (shard.value() == 0 || shard.value() > replicas_.size()) return {};
  return replicas_[shard.value() - 1];
}

NodeId ShardMap::PreferredLeader(GroupId shard) const {
  std::span<const NodeId> r = Replicas(shard);
  return r.empty() ? kNoNode : r.front();
}

std::vector<GroupId> ShardMap::ShardsOf(NodeId node) const {
  std::vector<GroupId> shards;
  for (size_t i = 0; i < replicas_.size(); ++i) {
    const auto& r = replicas_[i];
    if (std::find(r.begin(), r.end(), node) != r.end()) shards.push_back(GroupId(i + 1));
  }
  return shards;
}

uint32_t ShardMap::ReplicaCount(NodeId node) const {
  uint32_t count = 0;
  for (const auto& r : replicas_) count += std::count(r.begin(), r.end(), node);
  return count;
}

uint32_t ShardMap::LeaderCount(NodeId node) const {
  uint32_t count = 0;
  for (const auto& r : replicas_) count += (!r.empty() && r.front() == node);
  return count;
}

std::string ShardMap::DebugString() const {
  std::string out;
  for (size_t i = 0; i < replicas_.size(); ++i) {
    out += std::to_string(i + 1) + ":";
    for (NodeId n : replicas_[i]) out += " " + std::to_string(n.value());
    out += "\n";
  }
  return out;
}

uint64_t ReplicaMoves(const ShardMap& from, const ShardMap& to) {
  uint64_t moves = 0;
  const uint32_t shards = std::min(from.num_shards(), to.num_shards());
  for (uint32_t s = 1; s <= shards; ++s) {
    std::span<const NodeId> before = from.Replicas(GroupId(s));
    for (NodeId n : to.Replicas(GroupId(s))) {
      moves += std::find(before.begin(), before.end(), n) == before.end();
    }
  }
  return moves;
}

}  // namespace ringkv::ring
