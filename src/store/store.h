// Store: every replica of one node and the node's event loop (one thread, one io_context).
// It owns the replicas, so replica state has no mutex; everything else reaches it by posting to
// the loop. Each loop turn runs the Ready pipeline of all replicas with group commit: the
// Raft-log and hard-state writes of every group go into one WriteBatch, synced once on the
// storage thread, while the loop keeps stepping messages and accepting proposals (which the
// next turn batches). Messages that need no durability leave before the sync (the leader's
// AppendEntries: thesis 10.2.1); after it, acknowledgements go out and entries are applied.
//
// Thread-safety: public methods are safe from any thread unless marked "loop thread".
#ifndef RINGKV_STORE_STORE_H_
#define RINGKV_STORE_STORE_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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
#include "store/background_worker.h"
#include "store/backup_cursors.h"
#include "store/log_budget.h"

namespace ringkv::store {

struct StoreOptions {
  NodeId node_id;
  // Tick length of every replica's Raft clock. Default: 10 ms.
  std::chrono::milliseconds tick{10};
  // Used when a request names no deadline. Default: 5 s.
  std::chrono::milliseconds default_request_timeout{5000};
  // Template for every replica's options (group and self are filled in).
  replica::ReplicaOptions replica;
  // Key -> shard mapping and replication factor (fixed at cluster bootstrap).
  ring::RingConfig ring;
  // Placement: how often each shard leader compares its replicas with the ring's target.
  // Default: 1 s. 0 disables placement (replica sets never change).
  std::chrono::milliseconds placement_interval{1000};
  // A node gossip reports dead is replaced after this long. Default: 10 s.
  std::chrono::milliseconds dead_node_timeout{10000};
  // A node must be alive this long before replicas move to it (no churn from flapping), and no
  // placement happens in the first interval after start. Default: 3 s.
  std::chrono::milliseconds stability_delay{3000};
  // A leadership handed to this node by a transfer (kvctl shard transfer-leader, or the
  // balancer's own) is not balanced away for this long: an operator's move sticks instead of
  // being undone at the next placement round. Default: 5 min.
  std::chrono::milliseconds transferred_leader_hold{std::chrono::minutes(5)};
  // A learner within this many entries of the leader is promoted. Default: 1000.
  uint64_t catch_up_lag = 1000;
  // Slow-operation warnings: a Raft log write (with fdatasync) or one round of applies that
  // takes longer is logged as a WARNING. Defaults: 1 s and 100 ms (etcd's).
  std::chrono::milliseconds slow_sync{1000};
  std::chrono::milliseconds slow_apply{100};
  // Snapshots this node sends (chunk size). Default: 1 MiB chunks.
  storage::SnapshotOptions snapshot;
  // The Raft logs of all replicas on this node together (store/log_budget.h); 0 = no node
  // budget (each group's own budget still applies). Default: 512 MiB.
  uint64_t raft_log_node_max_bytes = uint64_t{512} << 20;
};

// One cluster member as gossip sees it.
struct MemberView {
  enum class State { kAlive, kSuspect, kDead, kLeft };
  NodeId id;
  std::string peer_addr;
  std::string client_addr;
  State state = State::kAlive;
  bool decommissioning = false;
};

const char* MemberStateName(MemberView::State s);

// Outgoing traffic, implemented by the server over net::Transport (tests may fake it).
class StoreTransport {
 public:
  virtual ~StoreTransport() = default;
  virtual bool Send(raftpb::Message m) = 0;
  // May block briefly when the peer's queue is full; called on the snapshot thread.
  virtual bool SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk) = 0;
};

using ResponseCallback = std::function<void(kvpb::Response)>;

class Store final : public replica::ReplicaEnv {
 public:
  // Neither is owned; both must outlive the store.
  Store(StoreOptions options, storage::Engine* engine, StoreTransport* transport);
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

  // Starts the loop, storage and snapshot threads.
  void Start();
  // Stops ticking and joins every thread; pending requests get UNAVAILABLE. Idempotent.
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
                     std::chrono::steady_clock::time_point received =
                         std::chrono::steady_clock::now());
  // Watches (store_watch.cc): opens the watch `req` on `stream` (its messages are sent on the
  // loop thread); ends one (no answer); ends every watch of a closed client connection.
  void HandleWatch(kvpb::Request req, std::shared_ptr<replica::WatchStream> stream);
  void CancelWatch(uint64_t connection_id, GroupId group, uint64_t watch_request_id);
  void OnConnectionClosed(uint64_t connection_id);

  // This node's view for status/admin (runs on the loop, waits for the answer). With
  // `with_digests`, every group also carries its state digest (a scan of its data).
  kvpb::NodeStatus GetNodeStatus(bool with_digests = false);
  // Whether any group has a leader this node knows of (readiness).
  bool AllGroupsHaveLeader();

  // ReplicaEnv (loop thread).
  void SendRaft(raftpb::Message m) override;
  void SendSnapshot(GroupId group, raftpb::Message msg) override;
  raft::Logger* raft_logger() override { return logger_.get(); }
  bool TryReserveSnapshotInstall() override {
    if (snapshot_installing_) return false;
    snapshot_installing_ = true;
    return true;
  }
  void ReleaseSnapshotInstall() override { snapshot_installing_ = false; }

 private:
  void OnTick();
  void ScheduleCycle();
  void RunCycle();
  void OnBatchWritten(const ringkv::Status& s);
  // The apply writes of one turn, done by storage_worker_ after the log write (see the .cc).
  struct ApplyWriteJob {
    replica::Replica* replica;
    storage::WriteBatch batch;
    ringkv::Status written;
  };
  void OnApplyWritten(std::vector<ApplyWriteJob>& jobs);
  // The end of a turn: its log and apply writes are on disk.
  void FinishTurn();
  // Storage thread: the group-commit write, waiting out a full disk (see the .cc).
  ringkv::Status WriteLogBatch(const storage::WriteBatch& batch, bool sync);
  void Dispatch(const kvpb::Request& req, ResponseCallback reply,
                std::chrono::steady_clock::time_point received);
  replica::Replica* FindReplica(GroupId group);
  void FailStop(const ringkv::Status& s, const char* what);
  void HandleAdmin(const kvpb::Request& req, replica::Replica* r, ResponseCallback reply);
  replica::Replica* CreateReplica(GroupId group, const raftpb::ConfState* bootstrap,
                                  std::optional<NodeId> new_raft_id);
  void MaybeCreateReplicaFor(const raftpb::Message& m);
  // Whether this node's tombstone of `g` forbids creating replica `raft_id` (from a snapshot
  // at `snapshot_index`): the id is not newer than the removed replica's, or the snapshot is
  // not newer than the removal.
  bool TombstoneRefuses(GroupId g, NodeId raft_id, std::optional<Index> snapshot_index);
  // Deletes `r`, which a leader's message for the newer replica `newer` of this node showed
  // to be removed from its group, leaving a tombstone. False when it cannot go now (it leads,
  // or a write is in flight): the caller drops the message, and Raft retransmits.
  bool ReplaceStaleReplica(replica::Replica* r, NodeId newer);
  void DestroyRemovedReplicas();
  void HandleRemovalNotice(const raftpb::Message& m);
  // Deletes `r` (data, log) and leaves a tombstone at `notice_index`.
  // REQUIRES: no group-commit write in flight.
  void DeleteReplicaForNotice(replica::Replica* r, Index notice_index);
  void SendRemovalNotice(replica::Replica* r, NodeId to);
  void OnPlacementTick();
  std::vector<NodeId> LiveNodes(std::chrono::steady_clock::time_point now);
  std::optional<GroupId> RouteKey(const kvpb::Request& req, kvpb::Response* error);
  // Every key of a transaction must belong to one shard (store_watch.cc).
  std::optional<GroupId> RouteTxn(const kvpb::Request& req, kvpb::Response* error);
  // The client address of `node`'s leader hint, if known (loop thread).
  std::string ClientAddressOf(NodeId node) const;

  const StoreOptions options_;
  storage::Engine* const engine_;
  StoreTransport* const transport_;
  std::unique_ptr<raft::Logger> logger_;

  boost::asio::io_context loop_;
  std::unique_ptr<boost::asio::steady_timer> tick_timer_;
  std::thread loop_thread_;
  BackgroundWorker storage_worker_{"storage"};
  BackgroundWorker snapshot_worker_{"snapshot"};
  std::atomic<bool> running_{false};

  // State below is owned by the loop thread.
  std::map<GroupId, std::unique_ptr<replica::Replica>> replicas_;
  // Replicas whose Ready is in the turn being written (the log batch being synced, then their
  // apply batches).
  std::vector<replica::Replica*> in_flight_;
  // A turn's writes are out: from the log write's start to the end of its apply writes.
  bool write_in_flight_ = false;
  std::chrono::steady_clock::time_point apply_started_;
  // Work that must not overlap a turn's writes (a log compaction asked by an admin, which
  // would race a compaction inside them), run at the turn's end.
  std::vector<std::function<void()>> after_turn_;
  bool snapshot_installing_ = false;
  bool cycle_scheduled_ = false;
  std::map<NodeId, std::string> client_addresses_;
  std::map<GroupId, NodeId> last_leader_;  // to log leader changes once
  // When a leadership transfer to this node's replica arrived (MSG_TIMEOUT_NOW), per group:
  // placement leaves such a leader in place for options_.transferred_leader_hold.
  std::map<GroupId, std::chrono::steady_clock::time_point> transfer_received_at_;
  bool all_led_once_ = false;  // every hosted shard has had a leader since start (log summary)
  // Removal notices accepted while a group-commit write was in flight: the replica may be in
  // that write (its entries and its pointer in in_flight_), so it is deleted only after the
  // write lands (DestroyRemovedReplicas).
  struct PendingNotice {
    NodeId replica;  // the replica id the notice named
    Index at;
  };
  std::map<GroupId, PendingNotice> pending_removal_notices_;
  std::chrono::steady_clock::time_point started_at_;
  std::optional<ring::HashRing> ring_;
  std::unique_ptr<boost::asio::steady_timer> placement_timer_;
  // `kvctl backup save` cursors (loop thread; after loop_, so destroyed before it).
  std::unique_ptr<BackupCursors> backup_cursors_;
  LogBudget log_budget_;  // loop thread
  std::map<NodeId, MemberView> members_;
  std::map<NodeId, std::chrono::steady_clock::time_point> alive_since_, dead_since_;
  bool decommissioning_ = false;
  std::function<void()> on_drained_;
  std::function<void()> on_decommission_request_;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_STORE_H_
