// Ready: everything the Raft core asks its driver to do after a batch of Tick/Step/Propose
// calls (etcd raft's Ready). The driver handles one Ready at a time, in this order:
//
//   1. Send `messages` at once: they do not depend on this Ready's persistence (the leader's
//      AppendEntries go out while its own append is in flight, Raft thesis 10.2.1).
//   2. Make `snapshot`, `entries` and `hard_state` durable (one synced write).
//   3. Only then send `messages_after_persist`: these promise durability (append and vote
//      responses).
//   4. Apply `snapshot` (if any) and then `committed_entries` to the state machine.
//   5. Call RawNode::Advance().
//
// The leader counts itself toward a quorum only in Advance(), i.e. once its append is durable.
//
// Thread-safety: a plain value.
#ifndef RINGKV_RAFT_READY_H_
#define RINGKV_RAFT_READY_H_

#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "proto/raft.pb.h"

namespace ringkv::raft {

enum class StateRole { kFollower, kPreCandidate, kCandidate, kLeader };

const char* StateRoleName(StateRole role);

// Volatile state: who leads and what this node is. Not persisted.
struct SoftState {
  NodeId lead;
  StateRole role = StateRole::kFollower;
  bool operator==(const SoftState&) const = default;
};

// The answer to a ReadIndex request: reads issued with `request_ctx` are linearizable once the
// state machine has applied `index`.
struct ReadState {
  Index index;
  std::string request_ctx;
};

struct Ready {
  // Set when lead or role changed since the last Ready.
  std::optional<SoftState> soft_state;
  // Set when term, vote or commit changed; must be persisted.
  std::optional<raftpb::HardState> hard_state;
  std::vector<ReadState> read_states;
  // To append to stable storage (truncating any conflicting suffix there).
  std::vector<raftpb::Entry> entries;
  // A snapshot to persist and apply.
  std::optional<raftpb::Snapshot> snapshot;
  // Committed entries to apply, in order; all are durable once step 2 is done.
  std::vector<raftpb::Entry> committed_entries;
  // May be sent before persistence.
  std::vector<raftpb::Message> messages;
  // Must be sent only after entries/hard_state/snapshot are durable.
  std::vector<raftpb::Message> messages_after_persist;
  // True when entries or hard_state (term or vote) changed, so the write needs fsync.
  bool must_sync = false;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_READY_H_
