#include "replica/snapshot_receipt.h"

#include <glog/logging.h>

#include <utility>

#include "proto/storage.pb.h"

namespace ringkv::replica {

bool SameSnapshotMetadata(const raftpb::SnapshotMetadata& a, const raftpb::SnapshotMetadata& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

std::string DescribeSnapshot(const raftpb::SnapshotMetadata& m) {
  return "snapshot at index " + std::to_string(m.index()) + " term " + std::to_string(m.term());
}

bool SnapshotReceipt::OnChunk(NodeId from, const transportpb::SnapshotChunk& chunk) {
  storagepb::SnapshotChunk sc;
  if (!sc.ParseFromString(chunk.data())) return false;  // corrupt chunk: the sender retries later
  if (sc.seq() == 0) {
    receiving_.reset();
    Result<std::unique_ptr<storage::SnapshotReceiver>> r =
        storage::SnapshotReceiver::Create(engine_, group_, sc.metadata());
    if (!r.ok()) return false;  // stale: we are past it
    receiving_ = std::move(r).value();
    receiving_from_ = from;
  }
  if (!receiving_ || receiving_from_ != from) return false;
  Status s = receiving_->AddChunk(sc);
  if (!s.ok()) {
    // Damaged, out of order or of another snapshot: this stream is lost; the leader's next
    // attempt starts over.
    receiving_.reset();
    return false;
  }
  if (!receiving_->complete()) return false;
  std::unique_ptr<storage::SnapshotReceiver> done = std::move(receiving_);
  if (!chunk.has_message() || chunk.message().type() != raftpb::MSG_SNAP ||
      !SameSnapshotMetadata(chunk.message().snapshot().metadata(), done->metadata())) {
    LOG(WARNING) << "group " << group_ << ": discarding received "
                 << DescribeSnapshot(done->metadata()) << " from node " << NodeOfReplica(from)
                 << ": its last chunk carries no MsgSnap describing it";
    return false;
  }
  received_ = ReceivedSnapshot{std::move(done), chunk.message()};
  return true;
}

SnapshotReceipt::ReceivedSnapshot SnapshotReceipt::TakeReceived() {
  ReceivedSnapshot r = std::move(*received_);
  received_.reset();
  return r;
}

}  // namespace ringkv::replica
