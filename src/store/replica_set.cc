#include "store/replica_set.h"

#include <glog/logging.h>

#include <algorithm>
#include <vector>

#include "common/failpoint.h"
#include "storage/meta_store.h"
#include "storage/raft_log_store.h"
#include "store/fail_stop.h"
#include "store/placement.h"
#include "store/tombstone_rule.h"

namespace ringkv::store {

ReplicaSet::ReplicaSet(const StoreOptions& options, storage::Engine* engine,
                       StoreTransport* transport, replica::ReplicaEnv* env,
                       const std::optional<ring::HashRing>& ring,
                       std::function<bool()> write_in_flight)
    : options_(options),
      engine_(engine),
      transport_(transport),
      env_(env),
      ring_(ring),
      write_in_flight_(std::move(write_in_flight)) {}

ringkv::Status ReplicaSet::Add(GroupId group, const raftpb::ConfState* bootstrap,
                               std::optional<NodeId> new_raft_id) {
  replica::ReplicaOptions ro = options_.replica;
  ro.group = group;
  ro.self = options_.node_id;
  ro.tick = options_.tick;
  if (new_raft_id) {
    // Stored before the replica is used, so it keeps this id when its state lands on disk.
    storage::WriteBatch b;
    storage::PutReplicaId(&b, group, *new_raft_id);
    ringkv::Status s = engine_->Write(b, /*sync=*/true);
    if (!s.ok()) return s;
    ro.self = *new_raft_id;
  } else {
    Result<std::optional<NodeId>> stored = storage::GetReplicaId(*engine_, group);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) ro.self = **stored;
  }
  Result<std::unique_ptr<replica::Replica>> r = replica::Replica::Open(engine_, ro, env_, bootstrap);
  if (!r.ok()) return r.status();
  replicas_[group] = std::move(r).value();
  ticking_.insert(group);  // a new replica is awake
  MarkTouched(group);
  return ringkv::Status::OK();
}

ringkv::Status ReplicaSet::OpenExisting() {
  Result<std::vector<GroupId>> groups = storage::ListGroups(*engine_);
  if (!groups.ok()) return groups.status();
  for (GroupId g : *groups) {
    if (replicas_.count(g) > 0) continue;
    ringkv::Status s = Add(g, nullptr);
    if (!s.ok()) return s;
    // The node restarted: wake the group's sleeping replicas now (Replica::CampaignAfterRestart).
    replicas_.at(g)->CampaignAfterRestart();
  }
  return ringkv::Status::OK();
}

replica::Replica* ReplicaSet::Create(GroupId group, const raftpb::ConfState* bootstrap,
                                     std::optional<NodeId> new_raft_id) {
  ringkv::Status s = Add(group, bootstrap, new_raft_id);
  if (!s.ok()) {
    LOG(ERROR) << "group " << group << ": cannot create replica: " << s;
    return nullptr;
  }
  replica::Replica* r = Find(group);
  LOG(INFO) << "group " << group << ": replica created on node " << options_.node_id
            << " (replica " << ReplicaIdString(r->id()) << ")";
  return r;
}

replica::Replica* ReplicaSet::Find(GroupId group) {
  replica::Replica* r = Peek(group);
  if (r != nullptr) MarkTouched(group);
  return r;
}

replica::Replica* ReplicaSet::Peek(GroupId group) const {
  auto it = replicas_.find(group);
  return it == replicas_.end() ? nullptr : it->second.get();
}

const std::vector<GroupId>& ReplicaSet::touched() {
  std::sort(touched_.begin(), touched_.end());  // marks never repeat a group
  return touched_;
}

void ReplicaSet::TakeTouched(std::vector<GroupId>* groups) {
  groups->clear();
  groups->swap(touched_);
  Unmark(*groups, kTurnMark);
}

std::vector<GroupId> ReplicaSet::TakeTouchedForPlacement() {
  std::vector<GroupId> groups = std::exchange(placement_touched_, {});
  Unmark(groups, kPlacementMark);
  return groups;
}

void ReplicaSet::Unmark(std::vector<GroupId>& groups, uint8_t mark) {
  for (GroupId g : groups) {
    auto it = marks_.find(g);
    it->second &= static_cast<uint8_t>(~mark);
    if (it->second == 0 && !replicas_.contains(g)) marks_.erase(it);  // deleted: its flag goes
  }
  std::sort(groups.begin(), groups.end());
}

void ReplicaSet::Erase(GroupId g) {
  replicas_.erase(g);
  removed_leaders_.erase(g);
  removed_waiting_.erase(g);
  MarkTouched(g);  // placement recounts the nodes in local configurations
}

replica::Replica* ReplicaSet::Route(NodeId from, raftpb::Message& m) {
  if (m.type() == raftpb::MSG_REPLICA_REMOVED) {
    HandleRemovalNotice(m);
    return nullptr;
  }
  if (m.type() == raftpb::MSG_REPLICA_REMOVAL_CHECK) {
    HandleRemovalCheck(from, m);
    return nullptr;
  }
  const NodeId to(m.to());
  if (NodeOfReplica(to) != options_.node_id || NodeOfReplica(NodeId(m.from())) != from) {
    return nullptr;  // misaddressed, or claiming a sender on another node
  }
  replica::Replica* r = Find(GroupId(m.group_id()));
  if (r != nullptr && r->id() != to) {
    // For an older replica of this group here: it was removed, the message is stale.
    if (to < r->id()) return nullptr;
    // For a newer one: the group removed ours and added this node back, and a leader
    // replicates to the new replica. Ours missed its removal; it goes.
    if (m.type() != raftpb::MSG_APP && m.type() != raftpb::MSG_HEARTBEAT) return nullptr;
    if (!ReplaceStale(r, to)) return nullptr;
    r = nullptr;
  }
  if (r == nullptr) {
    MaybeCreateFor(m);
    r = Find(GroupId(m.group_id()));
    if (r == nullptr) return nullptr;
  }
  if (r->is_leader() && !replica::ConfContains(r->conf_state(), NodeId(m.from())) &&
      m.term() <= r->term().value()) {
    // A replica we removed is still talking (it missed its removal): tell it. With replica
    // ids this includes an old replica of a node that is a member again under a new id.
    // Only once a quorum of our configuration knows every conf change we applied (the
    // removal among them) is committed: until then the group may need its vote (rule 9 of
    // Membership in docs/architecture.md). It keeps talking, so it hears again.
    if (r->QuorumKnowsCommitted(r->pending_conf_index())) {
      SendRemovalNotice(r, NodeId(m.from()));
    } else {
      MarkTicking(r->group());  // woken, if it slept: its heartbeats refresh the answers
    }
    return nullptr;
  }
  if (!r->initialized()) {
    // An empty replica, created on a leader's message and waiting for its first snapshot.
    // It never votes: it knows no configuration, and its vote could elect a candidate
    // whose configuration is stale.
    // Placement promotes a learner only once it has acknowledged entries, so a real voter
    // is never empty. A heartbeat's commit is the leader's view of the old replica's
    // match; the empty log has none of it.
    if (m.type() == raftpb::MSG_VOTE || m.type() == raftpb::MSG_PRE_VOTE) return nullptr;
    if (m.type() == raftpb::MSG_HEARTBEAT) m.set_commit(0);
  }
  return r;
}

bool ReplicaSet::TombstoneRefuses(GroupId g, NodeId raft_id, std::optional<Index> snapshot_index) {
  Result<std::optional<storage::MetaStore::Tombstone>> tomb =
      storage::MetaStore(engine_).GetTombstone(g);
  if (!tomb.ok()) return true;
  if (!tomb->has_value()) return false;
  return TombstoneForbids(**tomb, raft_id, snapshot_index);
}

void ReplicaSet::MaybeCreateFor(const raftpb::Message& m) {
  // Only the group's leader creates replicas elsewhere, by replicating to a member it added;
  // votes and responses never create one (a stale message must not revive a removed replica).
  if (m.type() != raftpb::MSG_APP && m.type() != raftpb::MSG_HEARTBEAT) return;
  GroupId g(m.group_id());
  if (ring_ && (g.value() == 0 || g.value() > ring_->num_shards())) return;
  // After a removal (a tombstone) only a newer replica id, from a conf change that added this
  // node back, creates one. It starts empty, with no data and no configuration, and answers
  // the leader so that it sends the snapshot that initializes it (SnapshotStreams::OnChunk).
  if (TombstoneRefuses(g, NodeId(m.to()), std::nullopt)) return;
  if (failpoint::Injected(kBugReaddOldAcks)) {
    Result<std::optional<storage::MetaStore::Tombstone>> tomb =
        storage::MetaStore(engine_).GetTombstone(g);
    if (!tomb.ok() || tomb->has_value()) return;  // the old rule: any tombstone refuses
  }
  Create(g, nullptr, NodeId(m.to()));
}

bool ReplicaSet::ReplaceStale(replica::Replica* r, NodeId newer) {
  // A removed leader keeps leading until it has handed leadership over (raft core); a write in
  // flight may hold its log entries (see HandleRemovalNotice). Either way: later, on a
  // retransmission.
  if (r->is_leader() || write_in_flight_()) return false;
  const GroupId g = r->group();
  LOG(INFO) << "group " << g << ": replica " << ReplicaIdString(r->id())
            << " on this node is stale (the group's leader replicates to replica "
            << ReplicaIdString(newer) << " here: this node was removed and added back); "
            << "deleting it and leaving a tombstone";
  storage::WriteBatch b;
  storage::MetaStore(engine_).RemoveReplica(&b, g, r->applied(), r->id());
  ringkv::Status s = engine_->Write(b, /*sync=*/true);
  if (!s.ok()) FailStop(s, "deleting a stale replica");
  Erase(g);
  return true;
}

void ReplicaSet::SendRemovalNotice(replica::Replica* r, NodeId to) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_REPLICA_REMOVED);
  m.set_to(to.value());
  m.set_from(r->id().value());
  m.set_term(r->term().value());
  m.set_index(r->applied().value());
  m.set_group_id(r->group().value());
  transport_->Send(std::move(m));
}

void ReplicaSet::HandleRemovalNotice(const raftpb::Message& m) {
  const GroupId g(m.group_id());
  replica::Replica* r = Find(g);
  // Addressed to the replica that was removed: a newer replica of this node is not concerned.
  if (r == nullptr || r->is_leader() || r->id() != NodeId(m.to())) return;
  // A replica that applied its own removal waits for this notice. Another goes only if it has
  // not applied past the notice: a replica re-added later has applied the entry that re-added
  // it, which is beyond any notice about its earlier removal.
  if (!r->removed_at() && r->applied() >= Index(m.index())) return;
  LOG(INFO) << "group " << m.group_id() << ": node " << m.from()
            << " reports this replica was removed; deleting it";
  if (write_in_flight_() && failpoint::Injected(kBugNoticeDuringWrite)) {
    // The old behaviour: delete now. The replica object is parked until the turn ends (the
    // write's completion still calls it, which was a use-after-free then); its entries in
    // the write land after the delete, as they did.
    parked_.push_back(std::move(replicas_.at(g)));
    DeleteForNotice(r, Index(m.index()));
    return;
  }
  if (write_in_flight_()) {
    // Deleting now would race the in-flight write, which may hold this replica's log entries
    // (they would land after the delete and corrupt a later replica of the group) and whose
    // completion still uses the replica.
    PendingNotice& n = pending_removal_notices_[g];
    n.replica = r->id();
    n.at = std::max(n.at, Index(m.index()));
    return;
  }
  DeleteForNotice(r, Index(m.index()));
}

void ReplicaSet::DeleteForNotice(replica::Replica* r, Index notice_index) {
  const GroupId g = r->group();
  // Never below the removal this replica applied (the tombstone refuses snapshots up to it).
  std::optional<Index> removed = r->removed_at();
  if (removed && *removed > notice_index) notice_index = *removed;
  storage::WriteBatch b;
  storage::MetaStore(engine_).RemoveReplica(&b, g, notice_index, r->id());
  ringkv::Status s = engine_->Write(b, /*sync=*/true);
  if (!s.ok()) FailStop(s, "deleting a removed replica");
  Erase(g);
}

void ReplicaSet::DestroyRemoved(std::vector<GroupId>* candidates) {
  parked_.clear();
  std::map<GroupId, PendingNotice> notices;
  notices.swap(pending_removal_notices_);
  for (const auto& [g, n] : notices) {
    replica::Replica* r = Peek(g);
    // Re-check: the replica may have been replaced, or applied past the notice, meanwhile.
    if (r != nullptr && r->id() == n.replica && !r->is_leader() &&
        (r->removed_at() || r->applied() < n.at)) {
      DeleteForNotice(r, n.at);
    }
  }
  // removed_at() is set only by an apply (the turn's replicas, or a stalled apply retried by
  // a tick, which touches the replica: it is visited since): no other replica can have it.
  std::vector<GroupId>& check = *candidates;
  check.insert(check.end(), removed_leaders_.begin(), removed_leaders_.end());
  removed_leaders_.clear();
  std::sort(check.begin(), check.end());
  check.erase(std::unique(check.begin(), check.end()), check.end());
  for (GroupId g : check) {
    replica::Replica* r = Peek(g);
    if (r == nullptr) continue;
    std::optional<Index> at = r->removed_at();
    if (!at) continue;
    // A removed leader keeps leading until it has handed leadership over (raft core).
    if (r->is_leader()) {
      removed_leaders_.insert(g);
      continue;
    }
    // Not deleted yet: until a quorum of the new configuration knows the removal is
    // committed, this replica may be the only live one that knows (rule 9 of Membership).
    if (removed_waiting_.emplace(g, 0).second) {
      LOG(INFO) << "group " << g << ": this replica was removed at index " << *at
                << "; it stays until the leader says the new configuration knows";
    }
  }
}

void ReplicaSet::PollRemoved() {
  for (auto it = removed_waiting_.begin(); it != removed_waiting_.end();) {
    replica::Replica* r = Peek(it->first);
    if (r == nullptr) {
      it = removed_waiting_.erase(it);
      continue;
    }
    std::optional<Index> at = r->removed_at();
    if (!at || r->is_leader() || it->second-- > 0) {
      ++it;
      continue;
    }
    it->second = std::max(options_.replica.heartbeat_tick, 1) - 1;
    // Every voter (the leader among them, whichever it is): the leader answers.
    const raftpb::ConfState& cs = r->conf_state();
    std::set<uint64_t> voters(cs.voters().begin(), cs.voters().end());
    voters.insert(cs.voters_outgoing().begin(), cs.voters_outgoing().end());
    for (uint64_t v : voters) {
      if (NodeId(v) == r->id()) continue;
      raftpb::Message m;
      m.set_type(raftpb::MSG_REPLICA_REMOVAL_CHECK);
      m.set_to(v);
      m.set_from(r->id().value());
      m.set_term(r->term().value());
      m.set_index(at->value());
      m.set_group_id(it->first.value());
      transport_->Send(std::move(m));
    }
    ++it;
  }
}

void ReplicaSet::HandleRemovalCheck(NodeId from, const raftpb::Message& m) {
  // A check a voter passed on (`reject` set, below) comes from the voter's node.
  const bool passed_on = m.reject();
  if (!passed_on && NodeOfReplica(NodeId(m.from())) != from) return;
  const GroupId g(m.group_id());
  replica::Replica* r = Peek(g);
  if (r == nullptr || r->id() != NodeId(m.to())) return;
  // Not applied here yet: the asker is still a member for us (it asks again).
  if (replica::ConfContains(r->conf_state(), NodeId(m.from()))) return;
  if (!r->is_leader()) {
    // The asker asks the voters of the configuration it applied. The group may have replaced
    // more members since, and be led by none of them (decommissioning several nodes at once):
    // a voter that knows its leader passes the question on, once, and the leader answers the
    // asker directly. Without this the removed replica, and its node's decommission, waited
    // forever.
    const NodeId lead = r->lead();
    if (passed_on || lead == NodeId(0) || lead == r->id()) return;
    raftpb::Message ask = m;
    ask.set_to(lead.value());
    ask.set_reject(true);
    transport_->Send(std::move(ask));
    return;
  }
  if (r->QuorumKnowsCommitted(Index(m.index()))) {
    SendRemovalNotice(r, NodeId(m.from()));
    return;
  }
  // A quiesced leader was woken: its heartbeats' answers tell what its followers know.
  MarkTouched(g);
  MarkTicking(g);
}

}  // namespace ringkv::store
