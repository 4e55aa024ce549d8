#include "store/snapshot_streams.h"

#include <glog/logging.h>

#include <memory>
#include <string>

#include "common/crc32c.h"
#include "proto/storage.pb.h"
#include "storage/meta_store.h"
#include "storage/snapshot.h"

namespace ringkv::store {

SnapshotStreams::SnapshotStreams(const StoreOptions& options, storage::Engine* engine,
                                 StoreTransport* transport, NodeEnv& env,
                                 const std::atomic<bool>& running,
                                 const std::optional<ring::HashRing>& ring, ReplicaSet& replicas,
                                 TurnPipeline& pipeline)
    : options_(options),
      engine_(engine),
      transport_(transport),
      loop_(env.loop()),
      snapshot_worker_(env.snapshot_worker()),
      running_(running),
      ring_(ring),
      replicas_(replicas),
      pipeline_(pipeline) {}

void SnapshotStreams::Send(GroupId group, raftpb::Message msg) {
  const NodeId to(msg.to());  // the replica's Raft id
  const NodeId to_node = NodeOfReplica(to);
  Result<std::unique_ptr<storage::SnapshotSender>> created =
      storage::SnapshotSender::Create(engine_, group, options_.snapshot);
  if (!created.ok()) {
    LOG(WARNING) << "group " << group << ": cannot snapshot for node " << to_node << ": "
                 << created.status();
    if (auto* r = replicas_.Find(group)) r->ReportSnapshot(to, /*failure=*/true);
    return;
  }
  std::shared_ptr<storage::SnapshotSender> sender = std::move(created).value();
  *msg.mutable_snapshot()->mutable_metadata() = sender->metadata();
  LOG(INFO) << "group " << group << ": streaming snapshot at index " << sender->metadata().index()
            << " to node " << to_node
            << (ReplicaEpoch(to) != 0 ? " (replica " + ReplicaIdString(to) + ")" : "");
  snapshot_worker_.Post([this, group, to, to_node, sender, msg = std::move(msg)] {
    bool failed = false;
    while (!sender->done() && running_) {
      Result<storagepb::SnapshotChunk> sc = sender->NextChunk();
      if (!sc.ok()) {
        LOG(WARNING) << "group " << group << ": snapshot read failed: " << sc.status();
        failed = true;
        break;
      }
      transportpb::SnapshotChunk chunk;
      chunk.set_group_id(group.value());
      chunk.set_snapshot_index(sender->metadata().index());
      chunk.set_snapshot_term(sender->metadata().term());
      chunk.set_seq(sc->seq());
      chunk.set_last(sc->last());
      chunk.set_data(sc->SerializeAsString());
      chunk.set_crc(crc32c::Value(chunk.data()));
      chunk.set_to_replica(to.value());
      if (sc->last()) *chunk.mutable_message() = msg;
      if (!transport_->SendSnapshotChunk(to_node, std::move(chunk))) {
        failed = true;
        break;
      }
    }
    loop_.Post([this, group, to, failed] {
      if (auto* r = replicas_.Find(group)) r->ReportSnapshot(to, failed);
      pipeline_.ScheduleCycle();
    });
  });
}

void SnapshotStreams::OnChunk(NodeId from, const transportpb::SnapshotChunk& chunk) {
  GroupId g(chunk.group_id());
  if (!ring_ || g.value() == 0 || g.value() > ring_->num_shards()) return;
  // Chunks from before replica ids carry no target: the node id.
  const NodeId to = chunk.to_replica() != 0 ? NodeId(chunk.to_replica()) : options_.node_id;
  if (NodeOfReplica(to) != options_.node_id) return;
  replica::Replica* r = replicas_.Find(g);
  if (r != nullptr && r->id() != to) {
    // As in ReplicaSet::Route: for an older replica, stale; for a newer one, ours goes.
    if (to < r->id() || !replicas_.ReplaceStale(r, to)) return;
    r = nullptr;
  }
  if (r == nullptr || !r->initialized()) {
    // A snapshot that would (re)create this replica: if one was removed here before, only
    // a newer replica id, and a snapshot taken after the removal, may bring it back (it
    // holds the configuration that added this node again).
    if (replicas_.TombstoneRefuses(g, to, Index(chunk.snapshot_index()))) return;
    storage::MetaStore meta(engine_);
    if (chunk.seq() == 0) {
      storage::WriteBatch b;
      meta.ClearTombstone(&b, g);
      if (!engine_->Write(b, true).ok()) return;
    }
    if (r == nullptr && chunk.seq() == 0) r = replicas_.Create(g, nullptr, to);
  }
  if (r != nullptr) r->OnSnapshotChunk(from, chunk);
  pipeline_.ScheduleCycle();
}

}  // namespace ringkv::store
