// The two steps behind ShardMap::Compute, on dense node indices (0..N-1 into the sorted node
// list): replica placement by rendezvous hashing with bounded loads, and preferred-leader choice
// by capacity-bounded matching. See shard_map.h for the algorithm and its guarantees.
//
// Thread-safety: pure functions.
#ifndef RINGKV_RING_PLACEMENT_H_
#define RINGKV_RING_PLACEMENT_H_

#include <cstdint>
#include <vector>

#include "common/ids.h"
#include "ring/ring_config.h"

namespace ringkv::ring {

// Replicas of each shard as node indices; [shard - 1] -> indices.
using Placement = std::vector<std::vector<uint32_t>>;

// Places config.num_shards shards on `nodes` (sorted, distinct, non-empty). Each shard gets
// min(R, N) distinct indices ordered by the shard's rendezvous preference, and every node gets
// floor or ceil of min(R, N) * S / N of them.
Placement PlaceReplicas(const RingConfig& config, const std::vector<NodeId>& nodes);

// Moves one replica of each shard to the front of its list. The choice is a maximum matching in
// which no node leads more than ceil(S / N) shards, built after one capped at floor(S / N) so that
// nodes are filled to the floor first; earlier replicas are tried first. A shard the matching
// cannot place (only if the placement makes balance impossible) keeps its first replica.
void AssignLeaders(uint32_t num_nodes, Placement* placement);

}  // namespace ringkv::ring

#endif  // RINGKV_RING_PLACEMENT_H_
