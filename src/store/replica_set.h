// ReplicaSet: the replicas of this node and their lifecycle. It opens them (at start, on a
// leader's message or on a snapshot for a new replica), routes each peer's Raft message to the
// replica it is for, and deletes them when they are removed from their group, leaving a
// tombstone (storage::MetaStore) so that a stale message cannot revive them. Removal notices
// (MSG_REPLICA_REMOVED) are sent to removed replicas that still talk or ask
// (MSG_REPLICA_REMOVAL_CHECK), and acted on when one names a replica here.
//
// A replica that applied its own removal is not deleted at once: until the leader says that a
// quorum of the new configuration knows the removal is committed, it may be the only live
// replica that knows, and the others, still in the old configuration, may need its vote (and
// the commit index its vote answers carry) to elect a leader (docs/architecture.md,
// Membership rule 9). Meanwhile it answers votes and asks the voters every heartbeat interval.
//
// A replica is never deleted while a turn's writes are out (TurnPipeline): they may hold its log
// entries, and their completion still uses it. Notices arriving meanwhile wait for the turn's
// end (DestroyRemoved).
//
// Thread-safety: store loop thread only (Add and OpenExisting also before the loop starts).
#ifndef RINGKV_STORE_REPLICA_SET_H_
#define RINGKV_STORE_REPLICA_SET_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "proto/raft.pb.h"
#include "replica/replica.h"
#include "ring/hash_ring.h"
#include "storage/engine.h"
#include "store/store_options.h"

namespace ringkv::store {

// Bug point (common/failpoint.h; tests and kvd_buggy only): the bug 6715317 and 937ae7e fixed,
// found by the Jepsen member nemesis. A removal notice that arrives while a turn's writes are
// out deletes the replica at once instead of after they land: the write's log and apply
// entries of the deleted replica land after the delete, and a later replica of the group
// finds a log without its truncated state. (The replica object is kept until the turn ends:
// the old code's use-after-free is not re-injected.)
inline constexpr std::string_view kBugNoticeDuringWrite = "bug.store.notice_during_write";

class ReplicaSet {
 public:
  using Map = std::map<GroupId, std::unique_ptr<replica::Replica>>;

  // None is owned; all must outlive this. `env` is handed to every replica (the store); `ring`
  // is the store's (unset when its configuration is invalid); `write_in_flight` tells whether a
  // turn's writes are out (TurnPipeline::write_in_flight).
  ReplicaSet(const StoreOptions& options, storage::Engine* engine, StoreTransport* transport,
             replica::ReplicaEnv* env, const std::optional<ring::HashRing>& ring,
             std::function<bool()> write_in_flight);

  // Opens this node's replica of `group`, bootstrapping it with `bootstrap` if new. Its Raft
  // id: `new_raft_id` for a replica created on a leader's message or snapshot (stored first),
  // else the stored one, else the node id (bootstrap configuration). Errors: storage.
  ringkv::Status Add(GroupId group, const raftpb::ConfState* bootstrap,
                     std::optional<NodeId> new_raft_id = std::nullopt);
  // Reopens every replica whose state is on disk (at the node's start), each starting a
  // pre-vote at once with quiescence (Replica::CampaignAfterRestart).
  ringkv::Status OpenExisting();
  // As Add, logging the creation; null (and an ERROR line) when it fails.
  replica::Replica* Create(GroupId group, const raftpb::ConfState* bootstrap,
                           std::optional<NodeId> new_raft_id);

  // The replica of `group` (null if none), for a caller that may change it: the group is
  // marked touched (MarkTouched), so the next loop turn visits it.
  replica::Replica* Find(GroupId group);
  // The same without marking it: for the loop turn's own visits, and for callers that only
  // read it.
  replica::Replica* Peek(GroupId group) const;
  // Every replica, for walks that change nothing a loop turn must see (status, placement's
  // reading of configurations, cancelling a closed connection's watches). A walk that may
  // change replicas uses ForEachTouching.
  const Map& all() const { return replicas_; }
  // Calls `f(group, replica)` for every replica and marks each touched: for rare node-wide
  // events (a liveness change), which may wake every group.
  template <typename F>
  void ForEachTouching(F&& f) {
    for (auto& [g, r] : replicas_) {
      f(g, *r);
      MarkTouched(g);
    }
  }
  size_t size() const { return replicas_.size(); }
  bool empty() const { return replicas_.empty(); }

  // The replicas the store ticks: every one that is awake or has requests of its own waiting
  // (Replica::NeedsTicks). A quiesced replica leaves it (Store::OnTick) and comes back when
  // something wakes it (MarkTicking), so an idle node's tick costs nothing per sleeping group.
  // May name groups deleted since (the store drops them).
  const std::set<GroupId>& ticking() const { return ticking_; }
  void MarkTicking(GroupId group) { ticking_.insert(group); }
  void StopTicking(GroupId group) { ticking_.erase(group); }

  // Touched replicas (issue 13, idle cost): the groups something may have changed since the
  // last loop turn collected them, i.e. the only ones that may have a Ready, need ticks again,
  // or take a new placement step. Every way into a replica marks it: Find (requests, peer
  // messages through Route, ticks, snapshot chunks and reports, admin), Add (a new replica),
  // ForEachTouching, and the loop turn itself for the replicas whose Ready it finished
  // (TurnPipeline) and those placement or the log budget changed. A loop turn visits these
  // and no others, so an idle node's turn costs nothing per sleeping group. A way into a
  // replica that does not mark it would leave its Ready uncollected: a stalled group (the
  // node simulation's liveness checks catch it). May name groups deleted since.
  // A mark is on the write path (every request and peer message): a flag per group and a list
  // per reader, so marking is a hash lookup and at most two appends, and allocates nothing once
  // the group has been marked before (std::sets allocated a node per group and turn).
  void MarkTouched(GroupId group) {
    uint8_t& marks = marks_[group];
    if ((marks & kTurnMark) == 0) touched_.push_back(group);
    if ((marks & kPlacementMark) == 0) placement_touched_.push_back(group);
    marks = kTurnMark | kPlacementMark;
  }
  // The loop turn's groups, each once, in ascending GroupId order (the order the turn visits
  // them in, as it did when they were a std::set: the node simulation's runs per seed stay
  // the same): read while a turn's writes are out (TurnPipeline flushes their messages),
  // taken (and emptied) by the turn that collects their Readies. TakeTouched replaces
  // `*groups` (its capacity reused).
  const std::vector<GroupId>& touched();
  void TakeTouched(std::vector<GroupId>* groups);
  // Placement's groups: the same marks, taken by each placement round (PlacementDriver), in
  // ascending order.
  std::vector<GroupId> TakeTouchedForPlacement();

  // Routes one Raft message `from` a peer node: acts on a removal notice, drops a misaddressed
  // or stale message, replaces a stale replica or creates a new one for a leader's message,
  // answers a removed replica that still talks with a notice, and keeps an empty replica from
  // voting. Returns the replica that must step `m` (which may have been adjusted), or null when
  // the message is consumed or dropped.
  replica::Replica* Route(NodeId from, raftpb::Message& m);

  // Whether this node's tombstone of `g` forbids creating replica `raft_id` (from a snapshot
  // at `snapshot_index`): the id is not newer than the removed replica's, or the snapshot is
  // not newer than the removal.
  bool TombstoneRefuses(GroupId g, NodeId raft_id, std::optional<Index> snapshot_index);
  // Deletes `r`, which a leader's message for the newer replica `newer` of this node showed
  // to be removed from its group, leaving a tombstone. False when it cannot go now (it leads,
  // or a write is in flight): the caller drops the message, and Raft retransmits.
  bool ReplaceStale(replica::Replica* r, NodeId newer);
  // At a turn's end: deletes the replicas that removal notices named meanwhile, and lists
  // those of `candidates` (the turn's replicas and those visited since the last call: the only
  // ones that can have applied their own removal since) that applied their own removal, to
  // ask the leader whether they may go (PollRemoved). A removed leader first hands leadership
  // over, and is checked again at every call.
  // `candidates` may repeat groups and is left sorted, without repeats.
  // REQUIRES: no turn's writes in flight.
  void DestroyRemoved(std::vector<GroupId>* candidates);
  // Every store tick: each replica that applied its own removal and waits asks the voters of
  // its configuration (MSG_REPLICA_REMOVAL_CHECK) whether it may go, every heartbeat interval.
  void PollRemoved();
  // Test-only: how many replicas here applied their own removal and wait for the leader.
  size_t RemovedWaitingForTesting() const { return removed_waiting_.size(); }

 private:
  void MaybeCreateFor(const raftpb::Message& m);
  void HandleRemovalNotice(const raftpb::Message& m);
  // A leader's answer to MSG_REPLICA_REMOVAL_CHECK: the notice, once a quorum of its
  // configuration knows the log is committed up to the asker's removal. A follower passes
  // the check on to the leader it knows (the asker's configuration may not include it).
  void HandleRemovalCheck(NodeId from, const raftpb::Message& m);
  // Deletes `r` (data, log) and leaves a tombstone at `notice_index`.
  // REQUIRES: no group-commit write in flight.
  void DeleteForNotice(replica::Replica* r, Index notice_index);
  void SendRemovalNotice(replica::Replica* r, NodeId to);

  const StoreOptions& options_;
  storage::Engine* const engine_;
  StoreTransport* const transport_;
  replica::ReplicaEnv* const env_;
  const std::optional<ring::HashRing>& ring_;
  const std::function<bool()> write_in_flight_;

  // Removes `g`'s replica and marks it touched (the touched lists' users skip missing groups).
  void Erase(GroupId g);
  // Clears `mark` of each of `groups` (just taken), and sorts them.
  void Unmark(std::vector<GroupId>& groups, uint8_t mark);

  Map replicas_;
  std::set<GroupId> ticking_;
  // See MarkTouched: per group, which of the two lists holds it (a group without a replica
  // leaves once neither does); the loop turn's and placement's lists of the same marks.
  static constexpr uint8_t kTurnMark = 1;
  static constexpr uint8_t kPlacementMark = 2;
  std::unordered_map<GroupId, uint8_t> marks_;
  std::vector<GroupId> touched_;
  std::vector<GroupId> placement_touched_;
  // Replicas that applied their own removal while leading (DestroyRemoved re-checks them).
  std::set<GroupId> removed_leaders_;
  // Replicas that applied their own removal and wait for the leader's notice (PollRemoved):
  // ticks until the next check.
  std::map<GroupId, int> removed_waiting_;
  // Removal notices accepted while a group-commit write was in flight: the replica may be in
  // that write (its entries and its pointer in the turn), so it is deleted only after the
  // write lands (DestroyRemoved).
  struct PendingNotice {
    NodeId replica;  // the replica id the notice named
    Index at;
  };
  std::map<GroupId, PendingNotice> pending_removal_notices_;
  // Only with the bug point kBugNoticeDuringWrite: replicas deleted while a write was out,
  // kept alive (not in use) until the turn ends.
  std::vector<std::unique_ptr<replica::Replica>> parked_;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_REPLICA_SET_H_
