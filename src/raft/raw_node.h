// RawNode: the public, sans-IO interface of one Raft node (etcd raft's RawNode). No threads,
// sockets, clocks or disk: time enters by Tick(), input by Step()/Propose()/..., output leaves as
// a Ready (see ready.h for the driver's contract), and Advance() acknowledges it.
//
// Proposals: only the leader accepts them. A follower rejects with kNotLeader carrying the
// leader hint, and a node that knows no leader rejects with kUnavailable; both are definite
// (the proposal will never be applied). The driver (store/) forwards client requests to the
// leader at its own level, where it can answer the client; see docs/architecture.md.
//
// Thread-safety: not thread-safe. One thread (the store loop, or the simulation) drives it.
#ifndef RINGKV_RAFT_RAW_NODE_H_
#define RINGKV_RAFT_RAW_NODE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/status.h"
#include "proto/raft.pb.h"
#include "raft/config.h"
#include "raft/raft_status.h"
#include "raft/ready.h"

namespace ringkv::raft {

class Raft;

// Where a proposal landed in the log. It is committed iff the entry committed at `index` has
// this `term`; if an entry of another term commits there, the proposal definitely failed.
struct EntryId {
  Index index;
  Term term;
  bool operator==(const EntryId&) const = default;
};

class RawNode {
 public:
  // Creates a node from config and the state in config.storage. A fresh group is bootstrapped
  // by giving the storage a ConfState (MemoryStorage::SetConfState, or the replica adapter)
  // before Create. kInvalidArgument on a bad config; storage errors are returned as they are.
  static Result<std::unique_ptr<RawNode>> Create(const Config& config);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  // Advances logical time by one tick: election timeouts, heartbeats, CheckQuorum, and (with
  // Config::quiesce) the leader's quiescence, which `may_quiesce` = false holds off (the driver
  // has requests of its own in flight). A quiesced node ignores ticks.
  void Tick(bool may_quiesce = true);
  // With Config::driver_heartbeats: a leader (awake) sends its periodic heartbeats now, those
  // an append did not make redundant. Does nothing on a follower, a candidate or a quiesced
  // leader, and without driver_heartbeats.
  void Heartbeat();
  // With ReadOnlyOption::kLeaseBased: the driver saw more real time pass than its ticks
  // counted (the process was paused or its loop stalled), so the acknowledgements so far prove
  // nothing about now: no lease until a quorum acknowledges again. Without it, a leader paused
  // longer than an election timeout would wake up with a lease counted in ticks that never
  // came, and serve reads a new leader may have overtaken.
  void VoidLease();

  // Quiescence (Config::quiesce; docs/architecture.md). True while the node sleeps: the driver
  // need not tick it until it wakes, which any proposal, read, campaign, transfer or peer
  // message does (except the quiesce heartbeat itself), as do these two calls.
  bool quiesced() const;
  // Wakes a quiesced node (nothing otherwise): a leader heartbeats again, and its followers'
  // answers refresh what it knows of them (QuorumKnownCommit).
  void Wake();
  // Raft::QuorumKnownCommit and Raft::pending_conf_index.
  Index QuorumKnownCommit() const;
  Index pending_conf_index() const;
  // The driver's failure detector: whether the peer with Raft id `id` is up. Null: all are.
  // Not owned state; `live` is called during Tick, Step and LivenessChanged.
  void SetPeerLiveness(std::function<bool(NodeId)> live);
  // The answers of the liveness function changed: a quiesced follower whose leader is down
  // wakes (and elects once its election timer runs out); a quiesced leader wakes when a
  // follower it did not wait for is up again but behind.
  void LivenessChanged();

  // Starts an election now (as if the election timeout elapsed).
  void Campaign();

  // Proposes data for the log. Returns where it landed. Errors (all definite):
  //   kNotLeader         this node is a follower; leader_hint() names the leader.
  //   kUnavailable       no leader is known, or a leadership transfer is in progress.
  //   kResourceExhausted the uncommitted tail is over max_uncommitted_entries_size.
  Result<EntryId> Propose(std::string data);

  // Proposes a membership change (joint consensus when it has several changes or asks for a
  // joint transition). Same errors as Propose, plus kFailedPrecondition while another change
  // is pending or when the change is invalid.
  Result<EntryId> ProposeConfChange(const raftpb::ConfChange& cc);

  // Applies a committed conf change entry to the membership; returns the new ConfState, which
  // the driver persists with the apply state. REQUIRES: called when the entry is applied.
  raftpb::ConfState ApplyConfChange(const raftpb::ConfChange& cc);

  // Feeds a message from a peer. Local-only types (hup, beat, ...) are rejected with
  // kInvalidArgument; responses from peers not in the configuration are ignored.
  Status Step(raftpb::Message m);

  // Requests a linearizable read point; the answer arrives as a ReadState in a later Ready
  // carrying `request_ctx`. Errors: kUnavailable when no leader is known. A follower forwards
  // the request to the leader. Requests are dropped (never answered) if leadership is lost;
  // the driver times them out.
  Status ReadIndex(std::string request_ctx);

  // Asks the leader to transfer leadership to `transferee` (Raft thesis 3.10).
  void TransferLeader(NodeId transferee);

  // Tells the core a peer could not be reached / a snapshot send finished.
  void ReportUnreachable(NodeId id);
  void ReportSnapshot(NodeId id, bool failure);

  // Drains the messages that need no persistence (ready.h step 1) outside the Ready cycle, so a
  // driver whose last Ready is still being persisted can send heartbeats, their responses and
  // the leader's appends without waiting for the disk (etcd's async storage writes idea).
  // Messages that promise durability stay for messages_after_persist.
  std::vector<raftpb::Message> TakeMessages();

  bool HasReady() const;
  // REQUIRES: the previous Ready was Advance()d.
  Ready GetReady();
  // Acknowledges that the last Ready was handled in full (persisted, sent, applied).
  void Advance();

  RaftStatus GetStatus() const;
  NodeId id() const;
  NodeId lead() const;
  StateRole role() const;
  Term term() const;
  Index committed() const;
  Index applied() const;

  // Test-only: this node's log (stable and unstable parts) in [lo, hi), so the simulation's
  // invariant checker can compare logs. kNotFound below the compacted prefix.
  Result<std::vector<raftpb::Entry>> LogEntriesForTesting(Index lo, Index hi) const;
  // Test-only: first index still in the log (stable or unstable) and last index.
  Index FirstIndexForTesting() const;
  Index LastIndexForTesting() const;

 private:
  explicit RawNode(std::unique_ptr<Raft> raft);
  bool ready_outstanding_ = false;
  std::unique_ptr<Raft> raft_;
  SoftState prev_soft_;
  raftpb::HardState prev_hard_;
  // What the last Ready handed out, acknowledged by Advance().
  Index pending_stable_index_;
  Term pending_stable_term_;
  Index pending_applied_;
  uint64_t pending_applied_bytes_ = 0;
  bool pending_snapshot_ = false;
  Index pending_snapshot_index_;
  // The commit index of the outstanding Ready's hard state, if it has one.
  std::optional<Index> pending_hard_commit_;
  // Self-addressed responses of the last Ready, stepped in Advance().
  std::vector<raftpb::Message> self_msgs_;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_RAW_NODE_H_
