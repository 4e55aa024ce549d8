// Replica: snapshot receipt and install — stepping a received snapshot into Raft when the
// node's install slot is free, and installing the data Raft restores (see replica.h and
// snapshot_receipt.h). Split from replica.cc by concern.
#include <algorithm>

#include "common/status_macros.h"
#include "replica/replica.h"
#include "replica/replica_metrics.h"

namespace ringkv::replica {

void Replica::MaybeStepPendingSnapshot() {
  // One snapshot in Raft's hands at a time, and never while a Ready is out: the next Ready
  // then tells whether Raft restored it (ready.h), and the install happens before anything
  // else of this group is written.
  // Nor while an apply write is out or waits for disk space: its Ready is not Advance()d yet.
  if (!receipt_.has_received() || stepped_ || ready_ || pending_apply_ || holds_install_slot_) {
    return;
  }
  if (!env_->TryReserveSnapshotInstall()) return;
  holds_install_slot_ = true;
  SnapshotReceipt::ReceivedSnapshot r = receipt_.TakeReceived();
  stepped_ = std::move(r.data);
  Status s = raw_->Step(std::move(r.msg));
  if (!s.ok() || !raw_->HasReady()) {
    // Ignored outright (a stale term): there is nothing to install.
    s.IgnoreError();  // a MsgSnap is never a local-only message
    stepped_.reset();
    ReleaseInstallSlot();
  }
}

void Replica::ReleaseInstallSlot() {
  if (!holds_install_slot_) return;
  holds_install_slot_ = false;
  env_->ReleaseSnapshotInstall();
}

Status Replica::InstallSnapshot(const raftpb::Snapshot& snap, const raftpb::HardState& hs) {
  // Raft restores only a MsgSnap stepped by MaybeStepPendingSnapshot, with stepped_ holding
  // exactly its data; anything else is a bug here, and fail-stop is the answer.
  if (!stepped_ || !SameSnapshotMetadata(stepped_->metadata(), snap.metadata())) {
    return Status::FailedPrecondition(
        "group " + std::to_string(options_.group.value()) + ": Raft restored " +
        DescribeSnapshot(snap.metadata()) + " but the data held is " +
        (stepped_ ? DescribeSnapshot(stepped_->metadata()) : std::string("none")));
  }
  std::unique_ptr<storage::SnapshotReceiver> data = std::move(stepped_);
  RETURN_IF_ERROR(data->Install(hs));
  data.reset();
  adapter_.CacheReset();
  RETURN_IF_ERROR(log_.Load());
  RETURN_IF_ERROR(kv_.Load());
  // The install was ingested, so it is durable (engine.h).
  durable_applied_ = std::max(durable_applied_, kv_.applied().applied_index);
  // Only a follower installs snapshots and only the leader serves watches; end any anyway.
  EndWatches();
  RETURN_IF_ERROR(LoadDerivedState());
  if (was_leader_) leases_.Promote(env_->Now(), LeaseExtension());
  Index idx(snap.metadata().index());
  proposals_.FailCoveredBySnapshot(idx);
  return Status::OK();
}

void Replica::OnSnapshotChunk(NodeId from, const transportpb::SnapshotChunk& chunk) {
  if (receipt_.OnChunk(from, chunk)) MaybeStepPendingSnapshot();
}

}  // namespace ringkv::replica
