// SnapshotStreams: Raft snapshots between nodes, in chunks. Sending: a replica asks for a
// snapshot of its group (ReplicaEnv::SendSnapshot); the store opens a storage snapshot and
// streams it chunk by chunk from the snapshot thread, so the loop never reads it, and reports
// the outcome to the replica on the loop. Receiving: each chunk goes to this node's replica it
// names, creating that replica on the first chunk when the node's tombstone allows it. At most
// one snapshot is installed on the node at a time (the install reservation).
//
// Thread-safety: store loop thread only; the sending tasks run on the snapshot worker.
#ifndef RINGKV_STORE_SNAPSHOT_STREAMS_H_
#define RINGKV_STORE_SNAPSHOT_STREAMS_H_

#include <atomic>
#include <optional>

#include "common/ids.h"
#include "proto/raft.pb.h"
#include "proto/transport.pb.h"
#include "ring/hash_ring.h"
#include "storage/engine.h"
#include "store/node_env.h"
#include "store/replica_set.h"
#include "store/store_options.h"
#include "store/turn_pipeline.h"

namespace ringkv::store {

class SnapshotStreams {
 public:
  // None is owned; all must outlive this. `env`'s snapshot worker streams the chunks; `running` is
  // the store's (a stream stops when the store stops).
  SnapshotStreams(const StoreOptions& options, storage::Engine* engine, StoreTransport* transport,
                  NodeEnv& env,
                  const std::atomic<bool>& running, const std::optional<ring::HashRing>& ring,
                  ReplicaSet& replicas, TurnPipeline& pipeline);

  // Streams a snapshot of `group` to the replica `msg` is addressed to (a MSG_SNAP whose
  // metadata is filled in here); the replica hears of its outcome (ReportSnapshot).
  void Send(GroupId group, raftpb::Message msg);
  // A chunk `from` a peer: hands it to this node's replica it names (see the .cc).
  void OnChunk(NodeId from, const transportpb::SnapshotChunk& chunk);

  // The node's single snapshot install (ReplicaEnv).
  bool TryReserveInstall() {
    if (installing_) return false;
    installing_ = true;
    return true;
  }
  void ReleaseInstall() { installing_ = false; }

 private:
  const StoreOptions& options_;
  storage::Engine* const engine_;
  StoreTransport* const transport_;
  LoopExecutor& loop_;
  OffLoopExecutor& snapshot_worker_;
  const std::atomic<bool>& running_;
  const std::optional<ring::HashRing>& ring_;
  ReplicaSet& replicas_;
  TurnPipeline& pipeline_;

  bool installing_ = false;  // a replica of this node is installing a snapshot
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_SNAPSHOT_STREAMS_H_
