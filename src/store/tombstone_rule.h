// The rule that keeps a removed replica removed: whether this node's tombstone of a group
// forbids creating the replica `raft_id` (from a snapshot at `snapshot_index`, when known).
// A pure function, so its cases are unit-tested; Store::TombstoneRefuses reads the tombstone
// and applies it.
//
// Thread-safety: a pure function.
#ifndef RINGKV_STORE_TOMBSTONE_RULE_H_
#define RINGKV_STORE_TOMBSTONE_RULE_H_

#include <optional>

#include "common/ids.h"
#include "storage/meta_store.h"

namespace ringkv::store {

// True when `t` forbids replica `raft_id`:
// - a tombstone with a replica id refuses that replica and older ones (only a leader that still
//   counts the removed replica sends to it). A newer id alone proves a later re-add, and a
//   leader streams a snapshot to it only once it applied that re-add, so the tombstone's index
//   is no bound then: after a removal notice it is the notifying leader's applied index, which
//   can be past the re-add (comparing refused the re-added replica's snapshots until the group
//   wrote again; found by integ_multiraft_heal_test);
// - a tombstone from before replica ids (no replica) refuses a snapshot not newer than the
//   removal, which cannot hold the configuration that added this node back.
inline bool TombstoneForbids(const storage::MetaStore::Tombstone& t, NodeId raft_id,
                             std::optional<Index> snapshot_index) {
  if (t.replica != kNoNode) return raft_id <= t.replica;
  return snapshot_index.has_value() && *snapshot_index <= t.removed_at;
}

}  // namespace ringkv::store

#endif  // RINGKV_STORE_TOMBSTONE_RULE_H_
