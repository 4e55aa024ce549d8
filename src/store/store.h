// Store: every replica of one node and the node's event loop (in kvd one thread, one io_context:
// AsioNodeEnv; in a simulation a queue a test steps: node_env.h).
// It owns the replicas, so replica state has no mutex; everything else reaches it by posting to
// the loop. Each loop turn runs the Ready pipeline of all replicas with group commit: the
// Raft-log and hard-state writes of every group go into one WriteBatch, synced once on the
// storage thread, while the loop keeps stepping messages and accepting proposals (which the
// next turn batches). Messages that need no durability leave before the sync (the leader's
// AppendEntries: thesis 10.2.1); after it, acknowledgements go out and entries are applied.
//
// The store is the loop, its threads and its entry points; the work is done by its parts, each
// driven one way by the loop: ReplicaSet (the replicas and their lifecycle), TurnPipeline (the
// loop turn and its writes), SnapshotStreams (snapshot chunks out and in), PlacementDriver (the
// placement tick) and RequestRouter (client requests and watches to their replica).
//
// Thread-safety: public methods are safe from any thread unless marked "loop thread".
#ifndef RINGKV_STORE_STORE_H_
#define RINGKV_STORE_STORE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "proto/raft.pb.h"
#include "proto/transport.pb.h"
#include "raft/logger.h"
#include "replica/replica.h"
#include "ring/hash_ring.h"
#include "ring/ring_config.h"
#include "storage/engine.h"
#include "storage/snapshot.h"
#include "store/backup_cursors.h"
#include "store/log_budget.h"
#include "store/node_env.h"
#include "store/placement_driver.h"
#include "store/replica_set.h"
#include "store/request_router.h"
#include "store/snapshot_streams.h"
#include "store/store_options.h"
#include "store/turn_output.h"
#include "store/turn_pipeline.h"

namespace ringkv::store {

class Store final : public replica::ReplicaEnv, private TurnSink {
 public:
  // None is owned; all must outlive the store. `env` (its clock, loop and workers) is the
  // store's alone; null: the store runs on its own AsioNodeEnv (kvd).
  Store(StoreOptions options, storage::Engine* engine, StoreTransport* transport,
        NodeEnv* env = nullptr);
  ~Store() override;  // Stop()s

  // Opens this node's replica of `group`, bootstrapping it with `bootstrap` if new (before
  // Start() only when called from outside). Its Raft id: `new_raft_id` for a replica created on
  // a leader's message or snapshot (stored first), else the stored one, else the node id
  // (bootstrap configuration).
  ringkv::Status AddReplica(GroupId group, const raftpb::ConfState* bootstrap,
                           std::optional<NodeId> new_raft_id = std::nullopt);
  // Reopens every replica whose state is on disk. Before Start() only.
  ringkv::Status OpenExistingReplicas();
  // Client addresses of nodes, for leader hints in NOT_LEADER answers.
  void SetClientAddress(NodeId node, std::string address);
  // The membership as gossip sees it (replaces the previous view).
  void SetMembership(std::vector<MemberView> members);
  // Marks this node as draining: placement moves its replicas away; `on_drained` runs (on the
  // loop) once it holds none.
  void SetDecommissioning(std::function<void()> on_drained);
  // Called (on the loop) when a client asks this node to decommission (admin request).
  void SetDecommissionHandler(std::function<void()> handler) { on_decommission_request_ = std::move(handler); }

  // Starts the storage and snapshot workers, then the loop.
  void Start();
  // Stops ticking, then the loop, then the workers (AsioNodeEnv joins its threads). Requests
  // still pending are dropped unanswered (their callbacks are destroyed with the replicas;
  // store_sim_test); open watches end with UNAVAILABLE. Idempotent.
  void Stop();

  // Inbound traffic (any thread).
  void OnRaftMessages(NodeId from, std::vector<raftpb::Message> msgs);
  void OnSnapshotChunk(NodeId from, transportpb::SnapshotChunk chunk);
  void OnUnreachable(NodeId peer);
  // A client request; `reply` runs on the loop thread exactly once. `received` is when it
  // arrived: its deadline (timeout_ms, else the default) runs from then, and a data request
  // still waiting in the loop's queue at its deadline is answered BUSY (definite, "too many
  // requests") without being executed.
  void HandleRequest(kvpb::Request req, ResponseCallback reply,
                     std::chrono::steady_clock::time_point received);
  // The same, received now (by the env's clock).
  void HandleRequest(kvpb::Request req, ResponseCallback reply) {
    HandleRequest(std::move(req), std::move(reply), env_->clock().Now());
  }
  // Watches (RequestRouter::HandleWatch): opens the watch `req` on `stream` (its messages are sent on the
  // loop thread); ends one (no answer); ends every watch of a closed client connection.
  void HandleWatch(kvpb::Request req, std::shared_ptr<replica::WatchStream> stream);
  void CancelWatch(uint64_t connection_id, GroupId group, uint64_t watch_request_id);
  void OnConnectionClosed(uint64_t connection_id);

  // This node's view for status/admin (runs on the loop, waits for the answer). With
  // `with_digests`, every group also carries its state digest (a scan of its data).
  kvpb::NodeStatus GetNodeStatus(bool with_digests = false);
  // Whether any group has a leader this node knows of (readiness).
  bool AllGroupsHaveLeader();
  // Replicas the loop turns visited since start (TurnPipeline::replica_visits). Loop thread,
  // or a stopped or simulated loop.
  uint64_t ReplicaVisitsForTesting() const { return pipeline_.replica_visits(); }

  // ReplicaEnv (loop thread).
  void SendRaft(raftpb::Message m) override;
  void SendSnapshot(GroupId group, raftpb::Message msg) override;
  // TurnSink: a turn's messages leave through the transport, its snapshots through snapshots_.
  void SendToPeer(NodeId peer, std::vector<raftpb::Message> messages) override;
  void StreamSnapshot(GroupId group, raftpb::Message msg) override;
  raft::Logger* raft_logger() override { return logger_.get(); }
  replica::Clock::time_point Now() const override { return env_->clock().Now(); }
  bool TryReserveSnapshotInstall() override { return snapshots_.TryReserveInstall(); }
  void ReleaseSnapshotInstall() override { snapshots_.ReleaseInstall(); }
  // Gossip's view as the replicas' failure detector (quiescence): this node, and members gossip
  // calls alive, are live; suspect, dead, left and unknown ones are not.
  bool NodeLive(NodeId node) const override {
    return node == options_.node_id || live_nodes_.contains(node);
  }
  bool LivenessKnown() const override { return liveness_known_; }
  void RequestApplyFlush(storage::Engine* engine) override { pipeline_.RequestApplyFlush(); }

 private:
  void OnTick();
  // A new membership view: when the live set changed, every replica re-checks its sleep
  // (a follower of a leader on a node gossip no longer calls alive wakes and elects).
  void UpdateLiveness(const std::vector<MemberView>& members);
  // Serves the node-wide requests (status, decommission); the rest go to router_.
  void Dispatch(kvpb::Request req, ResponseCallback reply,
                std::chrono::steady_clock::time_point received);

  const StoreOptions options_;
  storage::Engine* const engine_;
  StoreTransport* const transport_;
  std::unique_ptr<raft::Logger> logger_;

  std::unique_ptr<NodeEnv> own_env_;  // when none was given
  NodeEnv* const env_;
  std::unique_ptr<LoopTimer> tick_timer_;
  // OnTick calls so far: the rhythm of coalesced heartbeats.
  uint64_t ticks_ = 0;
  std::atomic<bool> running_{false};

  // State below is owned by the loop thread.
  std::chrono::steady_clock::time_point started_at_;
  std::optional<ring::HashRing> ring_;  // unset when options_.ring is invalid
  // The parts, after env_ so destroyed before it. Each refers to those above it, except that
  // replicas_ asks pipeline_ whether a turn's writes are out (only once the loop runs).
  ReplicaSet replicas_;
  TurnPipeline pipeline_;
  SnapshotStreams snapshots_;
  PlacementDriver placement_;
  RequestRouter router_;
  std::function<void()> on_decommission_request_;
  // The members gossip calls alive (NodeLive), and whether any view arrived yet.
  std::set<NodeId> live_nodes_;
  bool liveness_known_ = false;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_STORE_H_
