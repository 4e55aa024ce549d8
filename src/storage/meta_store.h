// MetaStore: node-level metadata in the meta CF — node id, cluster id, the incarnation id of the
// data directory, the ring configuration bytes, and tombstones of replicas removed from this node.
//
// The incarnation id is a random 64-bit value created the first time a data directory is
// initialized. A node restarted with a wiped directory gets a new one, so peers that remember the
// old incarnation can tell that its Raft state (votes, log) is gone.
//
// Thread-safety: not thread-safe; used by the store's loop thread.
#ifndef RINGKV_STORAGE_META_STORE_H_
#define RINGKV_STORAGE_META_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/ids.h"
#include "common/result.h"
#include "common/status.h"
#include "storage/engine.h"
#include "storage/write_batch.h"

namespace ringkv::storage {

class MetaStore {
 public:
  // `engine` is not owned and must outlive this.
  explicit MetaStore(Engine* engine);

  // Returns the directory's incarnation id, creating (and syncing) a random non-zero one when
  // the directory has none yet.
  Result<uint64_t> InitIncarnationId();
  // nullopt before InitIncarnationId ran on this directory.
  Result<std::optional<uint64_t>> IncarnationId() const;

  // Node and cluster ids are set once: setting a different value than the stored one fails with
  // FailedPrecondition (a data dir never changes identity). Writes are synced.
  Status SetNodeId(NodeId id);
  Result<std::optional<NodeId>> GetNodeId() const;
  Status SetClusterId(uint64_t id);
  Result<std::optional<uint64_t>> GetClusterId() const;

  // Opaque ring configuration (owned by ring/); replaced on every set. Synced.
  Status SetRingConfig(std::string_view bytes);
  Result<std::optional<std::string>> GetRingConfig() const;

  // Records that this node's replica `raft_id` of `group` was removed by the conf change at
  // `conf_index` (or found stale at that applied index), and deletes all of the group's raft
  // and data records, in `batch` (atomic).
  void RemoveReplica(WriteBatch* batch, GroupId group, Index conf_index, NodeId raft_id);
  struct Tombstone {
    Index removed_at;
    NodeId replica;  // kNoNode in tombstones written before replica ids
  };
  // The group's tombstone, nullopt if none.
  Result<std::optional<Tombstone>> GetTombstone(GroupId group) const;
  // Every tombstone, by group.
  Result<std::map<GroupId, Index>> ListTombstones() const;
  // Deletes the tombstone (the node is added to the group again by a later conf change).
  void ClearTombstone(WriteBatch* batch, GroupId group);

  // The data-dir incarnation id first seen for a peer node (see server/node.cc), nullopt if
  // none yet. Setting is once-only (FailedPrecondition for a different value) and synced.
  Result<std::optional<uint64_t>> GetPeerIncarnation(NodeId peer) const;
  Status SetPeerIncarnation(NodeId peer, uint64_t incarnation);

 private:
  Result<std::optional<uint64_t>> GetU64(const std::string& key) const;
  Status SetOnceU64(const std::string& key, uint64_t value, const char* what);

  Engine* const engine_;
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_META_STORE_H_
