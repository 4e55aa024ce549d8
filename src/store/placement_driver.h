// PlacementDriver: the loop side of placement (store/placement.h is the pure decision). Once
// per placement interval, every shard whose leader is on this node compares its replicas with
// the ring's target over the live nodes (from gossip's membership view) and takes at most one
// step: add a learner, promote it, remove a replica, or transfer the leadership. It also drives
// this node's decommission: the node drops out of the live set, so its replicas move away, and
// the drained callback runs once it holds none.
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
#include <vector>

#include "common/ids.h"
#include "ring/hash_ring.h"
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
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_PLACEMENT_DRIVER_H_
