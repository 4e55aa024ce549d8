// The store's shared vocabulary: its options, the membership view gossip hands it, and the
// outgoing transport it sends through. Split from store.h so that the store's parts (replica
// set, turn pipeline, snapshot streams, placement driver, request router) can take them without
// including store.h.
//
// Thread-safety: plain values and an interface (StoreTransport's contract is its own).
#ifndef RINGKV_STORE_STORE_OPTIONS_H_
#define RINGKV_STORE_STORE_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "proto/raft.pb.h"
#include "proto/transport.pb.h"
#include "replica/replica.h"
#include "ring/ring_config.h"
#include "storage/snapshot.h"

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
  // A turn's apply write of at most this many bytes is made on the loop thread, unless the
  // engine would have to wait for it; larger ones on the storage worker (turn_pipeline.h).
  // 0: always on the worker. Default: 64 KiB.
  size_t apply_on_loop_max_bytes = size_t{64} << 10;
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
  // A loop turn's messages to node `to`, in order. The default sends them one by one; the
  // server's queues them together, so they leave in one frame.
  virtual void SendAll(NodeId to, std::vector<raftpb::Message> msgs) {
    (void)to;
    for (raftpb::Message& m : msgs) Send(std::move(m));
  }
  // May block briefly when the peer's queue is full; called on the snapshot thread.
  virtual bool SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk) = 0;
};

using ResponseCallback = std::function<void(kvpb::Response)>;

}  // namespace ringkv::store

#endif  // RINGKV_STORE_STORE_OPTIONS_H_
