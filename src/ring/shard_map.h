// ShardMap: shard -> replicas. For a RingConfig and a set of live nodes it places every shard on
// min(R, N) distinct nodes, and names one of them the preferred leader (first in the list), so
// that Raft leaders spread over the cluster. Shard leaders compute it to choose a group's target
// replica set; clients compute it to guess where a shard lives. It is a pure function of
// (config, set of live nodes): input order and duplicates do not matter, and every node and
// client gets the same map.
//
// Algorithm (ring config version 1): rendezvous hashing with bounded loads.
//  * Each shard ranks the nodes by PlacementScore(shard, node) (highest random weight; with no
//    load bound this is consistent hashing with the fewest possible moves, as if every node had
//    infinitely many virtual nodes).
//  * Node capacities are exact: R*S replicas over N nodes, so (R*S mod N) nodes (the first by
//    NodeRank) may hold ceil(R*S/N) replicas and the rest floor(R*S/N).
//  * Shards 1..S in order take their most preferred nodes that still have capacity. When a shard
//    finds every node it lacks full, one swap repairs it: its favourite full node m gives its slot
//    in an earlier shard t to a non-full node f (which t lacks), and the shard takes m. Such t
//    always exists (all shards holding m also holding f would give f more replicas than m).
//  * Preferred leaders: a maximum matching of shards to one of their replicas (augmenting paths)
//    with each node leading at most floor(S/N) shards, then extended to ceil(S/N); replicas are
//    tried in rendezvous order, so a shard's favourite replica leads when balance allows.
// Result: every node holds floor or ceil of R*S/N replicas and leads floor or ceil of S/N shards.
// The price of that exact balance is extra movement on membership change (capacity cascades):
// measured over random clusters, adding or removing one node moves on average 1.1x-1.4x the
// minimum number of replicas (tests/ring/shard_map_test.cc states the asserted bounds).
//
// Cost: O(S * N log N) hashing and sorting plus the matching; about a millisecond for S = 1000,
// N = 10.
//
// Thread-safety: immutable after construction; safe to share between threads.
#ifndef RINGKV_RING_SHARD_MAP_H_
#define RINGKV_RING_SHARD_MAP_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "ring/ring_config.h"

namespace ringkv::ring {

class ShardMap {
 public:
  // Places all shards of `config` on `live_nodes` (any order; duplicates are ignored). With no
  // nodes every shard has no replicas. Returns kInvalidArgument if config.Validate() fails or
  // a node id is kNoNode.
  static Result<ShardMap> Compute(const RingConfig& config, std::span<const NodeId> live_nodes);

  // The replicas of `shard`: min(R, N) distinct nodes, preferred leader first, then in the
  // shard's rendezvous order. Empty when there are no nodes or `shard` is not in [1, S].
  std::span<const NodeId> Replicas(GroupId shard) const;

  // The first replica of `shard`, or kNoNode when Replicas(shard) is empty.
  NodeId PreferredLeader(GroupId shard) const;

  // The shards that have a replica on `node`, ascending. Empty for an unknown node.
  std::vector<GroupId> ShardsOf(NodeId node) const;

  // How many shards `node` replicates / is the preferred leader of. 0 for an unknown node.
  uint32_t ReplicaCount(NodeId node) const;
  uint32_t LeaderCount(NodeId node) const;

  // The distinct live nodes the map was computed over, ascending.
  const std::vector<NodeId>& nodes() const { return nodes_; }
  const RingConfig& config() const { return config_; }
  uint32_t num_shards() const { return config_.num_shards; }

  // One line per shard: "<shard>: <leader> <replica> ...". For logs and kvctl.
  std::string DebugString() const;

  bool operator==(const ShardMap&) const = default;

 private:
  ShardMap(const RingConfig& config, std::vector<NodeId> nodes,
           std::vector<std::vector<NodeId>> replicas)
      : config_(config), nodes_(std::move(nodes)), replicas_(std::move(replicas)) {}

  RingConfig config_;                          // valid; fixed at construction
  std::vector<NodeId> nodes_;                  // sorted, distinct, no kNoNode
  std::vector<std::vector<NodeId>> replicas_;  // [shard - 1]: replicas, leader first
};

// The number of replicas that must be created to go from `from` to `to`: the sum over shards of
// the nodes in to.Replicas(s) but not in from.Replicas(s). This is the data that moves on a
// membership change. REQUIRES: from.num_shards() == to.num_shards().
uint64_t ReplicaMoves(const ShardMap& from, const ShardMap& to);

}  // namespace ringkv::ring

#endif  // RINGKV_RING_SHARD_MAP_H_
