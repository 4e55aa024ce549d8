// PlacementDriver: the loop side of placement (store/placement.h is the pure decision). Once
// per placement interval, every shard whose leader is on this node compares its replicas with
// the ring's target over the live nodes (from gossip's membership view) and takes at most one
// step: add a learner, promote it, remove a replica, or transfer the leadership. It also drives
// this node's decommission: the node drops out of the live set, so its replicas move away, and
// the drained callback runs once it holds none.
//
// A round costs what changed, not the number of groups (issue 13, idle cost): it looks only at
// the groups touched since (ReplicaSet::TakeTouchedForPlacement: a step, a request, an apply,
// a leadership change all touch the group), at those whose step it took last round (to retry
// or go on), and at those whose transferred leadership stops being held; every group when the
// live set (so the target map) changes. A group not looked at would take no step: its
// configuration, leadership, progress and target are those of its last look, which took none.
// The target map is computed once per live set, and the nodes named in local configurations
// (LiveNodes) are counted as configurations change.
//
// Thread-safety: store loop thread only (Start before the loop runs).
#ifndef RINGKV_STORE_PLACEMENT_DRIVER_H_
#define RINGKV_STORE_PLACEMENT_DRIVER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "common/ids.h"
#include "ring/hash_ring.h"
#include "ring/shard_map.h"
#include "store/node_env.h"
#include "store/replica_set.h"
#include "store/store_options.h"
#include "store/turn_pipeline.h"

namespace ringkv::store {

class PlacementDriver {
 public:
  // None is owned; all must outlive this. `running` is the store's.
  PlacementDriver(const StoreOptions& options, NodeEnv& env,
                  const std::atomic<bool>& running, const std::optional<ring::HashRing>& ring,
                  ReplicaSet& replicas, TurnPipeline& pipeline);

  // Arms the placement timer (unless options.placement_interval is 0); no placement happens
  // within options.stability_delay of `started_at`.
  void Start(std::chrono::steady_clock::time_point started_at);
  // Cancels the placement timer.
  void Stop() { timer_->Cancel(); }

  // The membership as gossip sees it (replaces the previous view).
  void SetMembers(std::vector<MemberView> members);
  // Marks this node as draining; `on_drained` runs once it holds no replica.
  void SetDecommissioning(std::function<void()> on_drained);
  // A leadership transfer to this node's replica of `g` arrived (MSG_TIMEOUT_NOW).
  void OnTransferReceived(GroupId g) {
    transfer_received_at_[g] = clock_.Now();
  }

  const std::map<NodeId, MemberView>& members() const { return members_; }
  bool decommissioning() const { return decommissioning_; }

 private:
  void OnTick();
  std::vector<NodeId> LiveNodes(std::chrono::steady_clock::time_point now);
  // Takes the groups touched since the last round into pending_, and recounts the nodes in
  // their configurations (conf_nodes_, groups_on_node_).
  void TakeTouched();
  // The next placement step of group `g` (a leader here), if any, taken. Returns whether one
  // was taken (or deferred): the group is then looked at again next round.
  bool Step(GroupId g, replica::Replica& r, const ring::ShardMap& map);

  const StoreOptions& options_;
  const std::atomic<bool>& running_;
  const std::optional<ring::HashRing>& ring_;
  ReplicaSet& replicas_;
  TurnPipeline& pipeline_;
  const Clock& clock_;
  std::unique_ptr<LoopTimer> timer_;
  std::chrono::steady_clock::time_point started_at_;

  // When a leadership transfer to this node's replica arrived (MSG_TIMEOUT_NOW), per group:
  // placement leaves such a leader in place for options_.transferred_leader_hold.
  std::map<GroupId, std::chrono::steady_clock::time_point> transfer_received_at_;
  std::map<NodeId, MemberView> members_;
  std::map<NodeId, std::chrono::steady_clock::time_point> alive_since_, dead_since_;
  // Nodes in a local configuration that gossip does not know of, since when (LiveNodes).
  std::map<NodeId, std::chrono::steady_clock::time_point> unknown_since_;
  bool decommissioning_ = false;
  std::function<void()> on_drained_;

  // The groups to look at in the next round (see the file comment).
  std::set<GroupId> pending_;
  // The target map, computed over map_live_ (unset until the first round that needs one).
  std::optional<ring::ShardMap> map_;
  std::vector<NodeId> map_live_;
  // The nodes in each group's configuration at its last touch (voters and learners), and per
  // node the number of groups naming it: LiveNodes' local members are the nodes with a count.
  std::map<GroupId, std::vector<NodeId>> conf_nodes_;
  std::map<NodeId, size_t> groups_on_node_;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_PLACEMENT_DRIVER_H_
