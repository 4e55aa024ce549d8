#include "storage/meta_store.h"

#include <glog/logging.h>

#include <random>

#include "common/coding.h"
#include "common/status_macros.h"
#include "proto/storage.pb.h"
#include "storage/keys.h"
#include "storage/proto_io.h"

namespace ringkv::storage {

MetaStore::MetaStore(Engine* engine) : engine_(engine) {}

Result<std::optional<uint64_t>> MetaStore::GetU64(const std::string& key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> payload, engine_->Get(Cf::kMeta, key));
  if (!payload) return std::optional<uint64_t>();
  if (payload->size() != 8) return Status::Corruption("bad u64 record at key " + EscapeKey(key));
  return std::optional<uint64_t>(DecodeFixed64BE(payload->data()));
}

Status MetaStore::SetOnceU64(const std::string& key, uint64_t value, const char* what) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> current, GetU64(key));
  if (current) {
    if (*current == value) return Status::OK();
    return Status::FailedPrecondition(std::string(what) + " already set to " +
                                      std::to_string(*current));
  }
  std::string payload;
  PutFixed64BE(&payload, value);
  WriteBatch batch;
  batch.Put(Cf::kMeta, key, payload);
  return engine_->Write(batch, /*sync=*/true);
}

Result<uint64_t> MetaStore::InitIncarnationId() {
  ASSIGN_OR_RETURN(std::optional<uint64_t> current, GetU64(IncarnationIdKey()));
  if (current) return *current;
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0) id = (uint64_t{rd()} << 32) ^ rd();
  RETURN_IF_ERROR(SetOnceU64(IncarnationIdKey(), id, "incarnation id"));
  LOG(INFO) << "new data directory: incarnation id " << id;
  return id;
}

Result<std::optional<uint64_t>> MetaStore::IncarnationId() const {
  return GetU64(IncarnationIdKey());
}

Status MetaStore::SetNodeId(NodeId id) { return SetOnceU64(NodeIdKey(), id.value(), "node id"); }

Result<std::optional<NodeId>> MetaStore::GetNodeId() const {
  ASSIGN_OR_RETURN(std::optional<uint64_t> v, GetU64(NodeIdKey()));
  if (!v) return std::optional<NodeId>();
  return std::optional<NodeId>(NodeId(*v));
}

Status MetaStore::SetClusterId(uint64_t id) { return SetOnceU64(ClusterIdKey(), id, "cluster id"); }

Result<std::optional<uint64_t>> MetaStore::GetClusterId() const { return GetU64(ClusterIdKey()); }

Status MetaStore::SetRingConfig(std::string_view bytes) {
  WriteBatch batch;
  batch.Put(Cf::kMeta, RingConfigKey(), bytes);
  return engine_->Write(batch, /*sync=*/true);
}

Result<std::optional<std::string>> MetaStore::GetRingConfig() const {
  return engine_->Get(Cf::kMeta, RingConfigKey());
}

void MetaStore::RemoveReplica(WriteBatch* batch, GroupId group, Index conf_index,
                              NodeId raft_id) {
  batch->DeleteRange(Cf::kRaft, RaftGroupRange(group));
  batch->DeleteRange(Cf::kData, DataGroupRange(group));
  storagepb::Tombstone t;
  t.set_removed_at_conf_index(conf_index.value());
  t.set_removed_replica_id(raft_id.value());
  PutProto(batch, Cf::kMeta, TombstoneKey(group), t);
}

Result<std::optional<MetaStore::Tombstone>> MetaStore::GetTombstone(GroupId group) const {
  storagepb::Tombstone t;
  ASSIGN_OR_RETURN(bool found, ReadProto(*engine_, Cf::kMeta, TombstoneKey(group), &t));
  if (!found) return std::optional<Tombstone>();
  return std::optional<Tombstone>(
      Tombstone{Index(t.removed_at_conf_index()), NodeId(t.removed_replica_id())});
}

Result<std::map<GroupId, Index>> MetaStore::ListTombstones() const {
  std::map<GroupId, Index> out;
  std::unique_ptr<Iterator> it = engine_->NewIterator(Cf::kMeta, TombstoneRange());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<GroupId> group = DecodeMetaGroupKey(it->key());
    if (!group) return Status::Corruption("malformed tombstone key " + EscapeKey(it->key()));
    storagepb::Tombstone t;
    RETURN_IF_ERROR(ParseRecordProto(it->key(), it->value(), &t));
    out[*group] = Index(t.removed_at_conf_index());
  }
  RETURN_IF_ERROR(it->status());
  return out;
}

void MetaStore::ClearTombstone(WriteBatch* batch, GroupId group) {
  batch->Delete(Cf::kMeta, TombstoneKey(group));
}

Result<std::optional<uint64_t>> MetaStore::GetPeerIncarnation(NodeId peer) const {
  return GetU64(PeerIncarnationKey(peer));
}

Status MetaStore::SetPeerIncarnation(NodeId peer, uint64_t incarnation) {
  return SetOnceU64(PeerIncarnationKey(peer), incarnation, "peer incarnation");
}

}  // namespace ringkv::storage
