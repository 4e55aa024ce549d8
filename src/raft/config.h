// Config: the parameters of one Raft node (one replica of one group).
//
// Thread-safety: a plain value, read once by RawNode::Create.
#ifndef RINGKV_RAFT_CONFIG_H_
#define RINGKV_RAFT_CONFIG_H_

#include <cstdint>

#include "common/ids.h"
#include "common/status.h"

namespace ringkv::raft {

class LogStorage;
class Logger;

enum class ReadOnlyOption {
  // ReadIndex confirms leadership with a round of heartbeats acknowledged by a quorum before
  // serving (Raft thesis 6.4). Always safe.
  kSafe,
  // The leader serves reads while its lease holds (it heard from a quorum within the election
  // timeout). Requires check_quorum, and assumes clock drift is bounded (thesis 6.4.1).
  kLeaseBased,
};

struct Config {
  // This node's id. REQUIRES: non-zero.
  NodeId id;

  // Ticks between elections. A follower that hears no leader for a randomized timeout in
  // [election_tick, 2 * election_tick) ticks campaigns. Default: 15 ticks (150-300 ms at 10 ms).
  int election_tick = 15;

  // Ticks between leader heartbeats. REQUIRES: < election_tick. Default: 5 ticks (50 ms).
  int heartbeat_tick = 5;

  // Where the log, hard state and snapshot are read from. Not owned; must outlive the node.
  // The caller appends to it what each Ready asks to persist.
  LogStorage* storage = nullptr;

  // The last index the state machine applied before a restart; entries up to it are not
  // returned as committed again. Default: 0 (fresh node).
  Index applied{0};

  // Byte limit of entries per AppendEntries message (at least one entry is always sent).
  // Default: 1 MiB.
  uint64_t max_size_per_msg = 1 << 20;

  // Byte limit of committed entries returned by one Ready. Default: 16 MiB.
  uint64_t max_committed_size_per_ready = 16 << 20;

  // Byte limit of the leader's uncommitted log tail; proposals beyond it are rejected with
  // kResourceExhausted (back-pressure). 0 = no limit. Default: 64 MiB.
  uint64_t max_uncommitted_entries_size = 64 << 20;

  // Maximum number of in-flight AppendEntries messages per follower in the replicate state.
  // Default: 256.
  int max_inflight_msgs = 256;

  // Byte limit of in-flight AppendEntries per follower. 0 = no limit. Default: 32 MiB.
  uint64_t max_inflight_bytes = 32 << 20;

  // A leader that has not heard from a quorum within an election timeout steps down.
  // Default: on.
  bool check_quorum = true;

  // Run a pre-vote round before incrementing the term (thesis 9.6), so a partitioned node that
  // rejoins does not disrupt the cluster. Default: on.
  bool pre_vote = true;

  ReadOnlyOption read_only_option = ReadOnlyOption::kSafe;

  // Quiescence (docs/architecture.md): a leader whose group has been idle for
  // quiesce_after_ticks ticks (nothing to replicate, commit or apply, no read, transfer or conf
  // change pending, every live follower caught up) tells its followers and stops ticking; they
  // stop too. Any proposal, read or message wakes a node. The driver must then tell the core
  // which peers are down (RawNode::SetPeerLiveness): a quiesced follower wakes when its
  // leader's node goes down, and elects. Without a liveness source, leave it off. Default: off.
  bool quiesce = false;
  int quiesce_after_ticks = 6;

  // Coalesced heartbeats (issue 13): the driver, not the tick, decides when a leader's periodic
  // heartbeats go. It calls RawNode::Heartbeat() on every group it leads at the same moment,
  // once every heartbeat_tick ticks, so the heartbeats of all its groups, and their answers,
  // leave in one loop turn and one frame per peer instead of up to heartbeat_tick turns, each
  // group at its own phase. Ticks still count the election timeout and CheckQuorum. The driver
  // must call Heartbeat at least every heartbeat_tick ticks while it ticks the node. Default:
  // off (each group heartbeats on its own heartbeat_tick).
  bool driver_heartbeats = false;

  // Seed of this node's randomness (election timeout jitter). Different nodes should have
  // different seeds; the simulation derives them from its run seed.
  uint64_t seed = 0;

  // Not owned; null means discard logs.
  Logger* logger = nullptr;

  // Returns kInvalidArgument naming the offending field.
  Status Validate() const;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_CONFIG_H_
