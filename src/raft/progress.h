// Progress: the leader's view of one follower's log (etcd raft's tracker.Progress): how far it
// matches, what to send next, and the flow-control state:
//   kProbe      one message per heartbeat interval until the match point is found;
//   kReplicate  optimistic pipelining within the Inflights window;
//   kSnapshot   waiting for a snapshot to be installed; nothing else is sent.
//
// Thread-safety: not thread-safe; owned by the ProgressTracker.
#ifndef RINGKV_RAFT_PROGRESS_H_
#define RINGKV_RAFT_PROGRESS_H_

#include <string>

#include "common/ids.h"
#include "raft/inflights.h"
#include "raft/raft_status.h"

namespace ringkv::raft {

struct Progress {
  Progress(int max_inflight, uint64_t max_inflight_bytes)
      : inflights(max_inflight, max_inflight_bytes) {}

  // Highest index known replicated on the follower. Monotone within a term.
  Index match;
  // Next index to send. Invariant: match < next.
  Index next{1};
  ProgressState state = ProgressState::kProbe;
  // In kSnapshot: the index of the snapshot being sent.
  Index pending_snapshot;
  // Heard from recently (CheckQuorum resets it every election timeout).
  bool recent_active = false;
  // No more appends until an ack or a heartbeat response (probe: one probe at a time;
  // replicate: window full).
  bool msg_app_flow_paused = false;
  Inflights inflights;
  bool is_learner = false;
  // Highest commit index sent to the follower (in appends or heartbeats).
  Index sent_commit;
  // Highest commit index the follower reported in an append or heartbeat response: it knows
  // the log is committed up to here (Raft::QuorumKnownCommit).
  Index acked_commit;
  // Leader tick at which the follower last acknowledged us (append or heartbeat response).
  uint64_t last_ack_tick = 0;
  // Leader tick + 1 at which the last append went to the follower (0: none since this
  // progress began). An append resets the follower's election timer as a heartbeat does.
  uint64_t append_sent_tick = 0;

  void ResetState(ProgressState s);
  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);
  // Records that `entries` entries (total `bytes`) were just sent starting at next.
  void SentEntries(size_t entries, uint64_t bytes);
  // An ack for index n: raises match (true if it did) and next.
  bool MaybeUpdate(Index n);
  // A rejection of the append at `rejected`; `match_hint` is the follower's guess of where the
  // logs match. Returns false if the rejection is stale.
  bool MaybeDecrTo(Index rejected, Index match_hint);
  bool IsPaused() const;
  void SentCommit(Index commit) { sent_commit = commit; }
  // Whether sending `commit` could still raise the follower's commit index (etcd
  // CanBumpCommit): we have not yet sent one that covers everything it has.
  bool CanBumpCommit(Index commit) const { return commit > sent_commit && sent_commit < next - 1; }
  std::string DebugString() const;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_PROGRESS_H_
