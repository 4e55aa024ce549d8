// SnapshotReceipt: the receiving end of a replica's snapshot streams (issue 10). Chunks from
// the leader are assembled into a storage::SnapshotReceiver; a complete stream whose last chunk
// carries a MsgSnap describing exactly its data is kept, with that MsgSnap, until the replica
// steps it into Raft (Replica::MaybeStepPendingSnapshot). Anything else is discarded, never
// fatal: Raft asks again and the leader sends again.
//
// A snapshot moves receiving -> received (here) -> stepped (the replica) and each slot is owned
// by one step, so the data Raft restores is the data installed: a later stream (the leader
// re-sends while we wait for the install slot) fills receiving and received, never stepped.
//
// Thread-safety: not thread-safe; the replica's (store loop) thread only.
#ifndef RINGKV_REPLICA_SNAPSHOT_RECEIPT_H_
#define RINGKV_REPLICA_SNAPSHOT_RECEIPT_H_

#include <memory>
#include <optional>
#include <string>

#include "common/ids.h"
#include "proto/raft.pb.h"
#include "proto/transport.pb.h"
#include "storage/engine.h"
#include "storage/snapshot.h"

namespace ringkv::replica {

// Whether two snapshot descriptions are the same snapshot (byte-equal metadata).
bool SameSnapshotMetadata(const raftpb::SnapshotMetadata& a, const raftpb::SnapshotMetadata& b);
// "snapshot at index I term T", for messages.
std::string DescribeSnapshot(const raftpb::SnapshotMetadata& m);

class SnapshotReceipt {
 public:
  // A complete snapshot and the MsgSnap describing it.
  struct ReceivedSnapshot {
    std::unique_ptr<storage::SnapshotReceiver> data;
    raftpb::Message msg;
  };

  // Receives the snapshot streams of `group`, staging their data in `engine`.
  SnapshotReceipt(storage::Engine* engine, GroupId group) : engine_(engine), group_(group) {}

  // A chunk of a stream from `from` (a Raft id). Returns true when it completed a stream that
  // is now the received snapshot (replacing an older one); false otherwise (more to come, or
  // the chunk or its stream was discarded).
  bool OnChunk(NodeId from, const transportpb::SnapshotChunk& chunk);

  bool has_received() const { return received_.has_value(); }
  // REQUIRES: has_received(). Hands the received snapshot over (to be stepped into Raft).
  ReceivedSnapshot TakeReceived();

 private:
  storage::Engine* const engine_;
  const GroupId group_;
  // The stream being received (chunks from receiving_from_ only); replaced by a new seq 0.
  std::unique_ptr<storage::SnapshotReceiver> receiving_;
  NodeId receiving_from_;
  // A complete snapshot and its MsgSnap, waiting for the node's install slot (stepped on Tick
  // or after a Ready); a newer complete one replaces it.
  std::optional<ReceivedSnapshot> received_;
};

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_SNAPSHOT_RECEIPT_H_
