// Replica: opening, the Raft input (peer messages, ticks) and the Ready pipeline (see
// replica.h). Client requests are in replica_requests.cc, the apply path in replica_apply.cc,
// snapshot receipt and install in replica_snapshot.cc, leases and watches in replica_lease.cc.
#include "replica/replica.h"

#include <set>

#include "common/status_macros.h"
#include "replica/replica_metrics.h"

namespace ringkv::replica {

Replica::Replica(storage::Engine* engine, ReplicaOptions options, ReplicaEnv* env)
    : engine_(engine),
      options_(std::move(options)),
      env_(env),
      log_(engine, options_.group),
      kv_(engine, options_.group, options_.kv),
      history_(engine, options_.group, options_.history),
      leases_(engine, options_.group),
      watch_hub_(options_.group, options_.watch, &history_, Index(0)),
      adapter_(&log_, &kv_, options_.entry_cache_bytes),
      receipt_(engine, options_.group) {}

Replica::~Replica() {
  // Watch streams outlive the replica (they belong to client connections): tell them it ends.
  watch_hub_.EndAll(ErrorResponse(kvpb::UNAVAILABLE, true,
                                  "group " + std::to_string(options_.group.value()) +
                                      ": replica closed on this node",
                                  /*retry_after_ms=*/100));
}

std::optional<NodeId> ReplicaOnNode(const raftpb::ConfState& cs, NodeId node) {
  for (auto* set : {&cs.voters(), &cs.learners(), &cs.voters_outgoing(), &cs.learners_next()}) {
    for (uint64_t m : *set) {
      if (NodeOfReplica(NodeId(m)) == node) return NodeId(m);
    }
  }
  return std::nullopt;
}

raftpb::ConfState ConfByNode(const raftpb::ConfState& cs) {
  raftpb::ConfState out = cs;
  for (auto* set : {out.mutable_voters(), out.mutable_learners(), out.mutable_voters_outgoing(),
                    out.mutable_learners_next()}) {
    for (uint64_t& m : *set) m = NodeOfReplica(NodeId(m)).value();
  }
  return out;
}

void Replica::ReportUnreachableNode(NodeId node) {
  const raftpb::ConfState& cs = conf_state();
  std::set<uint64_t> ids;
  for (auto* set : {&cs.voters(), &cs.learners(), &cs.voters_outgoing(), &cs.learners_next()}) {
    for (uint64_t m : *set) {
      if (NodeOfReplica(NodeId(m)) == node) ids.insert(m);
    }
  }
  for (uint64_t id : ids) raw_->ReportUnreachable(NodeId(id));
}

Result<std::unique_ptr<Replica>> Replica::Open(storage::Engine* engine, ReplicaOptions options,
                                               ReplicaEnv* env,
                                               const raftpb::ConfState* bootstrap_conf) {
  RegisterReplicaMetrics();
  std::unique_ptr<Replica> r(new Replica(engine, std::move(options), env));
  RETURN_IF_ERROR(r->log_.Load());
  RETURN_IF_ERROR(r->kv_.Load());
  RETURN_IF_ERROR(r->log_.RaiseCommitToApplied(r->kv_.applied().applied_index));
  const raftpb::ConfState& cs = r->log_.conf_state();
  bool has_members = cs.voters_size() > 0 || cs.learners_size() > 0;
  if (!has_members && bootstrap_conf != nullptr && r->log_.LastIndex().value() == 0) {
    // A brand-new group: every initial member starts from the same state at index 5, as if a
    // snapshot of the empty state machine had been installed (TiKV's RAFT_INIT_LOG_INDEX).
    // Because the log "starts" after index 5, a replica added later (empty log) can only be
    // caught up by a snapshot, which carries the membership; it never replays the log from a
    // membership it does not know.
    constexpr uint64_t kInitIndex = 5;
    raftpb::SnapshotMetadata meta;
    meta.set_index(kInitIndex);
    meta.set_term(kInitIndex);
    *meta.mutable_conf_state() = *bootstrap_conf;
    storage::WriteBatch b;
    raftpb::HardState hs;
    hs.set_term(kInitIndex);
    hs.set_commit(kInitIndex);
    r->log_.ApplySnapshotMeta(&b, meta, hs);
    r->kv_.SetApplyState(&b, storage::ApplyState{Index(kInitIndex), Term(kInitIndex)});
    // Nothing changed before: a watch from any version finds the whole history.
    r->history_.StartEmpty(&b);
    RETURN_IF_ERROR(engine->Write(b, /*sync=*/true));
  }
  RETURN_IF_ERROR(r->LoadDerivedState());
  r->durable_applied_ = r->kv_.applied().applied_index;  // what is on disk is durable
  if (r->initialized() && !ConfContains(r->conf_state(), r->options_.self)) {
    // It applied its own removal before the node stopped, and was not deleted yet (the store
    // keeps it until the leader says a quorum knows the removal is committed): still removed.
    r->removed_at_ = r->kv_.applied().applied_index;
  }
  raft::Config c;
  c.id = r->options_.self;
  c.storage = &r->adapter_;
  c.applied = r->kv_.applied().applied_index;
  c.election_tick = r->options_.election_tick;
  c.heartbeat_tick = r->options_.heartbeat_tick;
  c.pre_vote = r->options_.pre_vote;
  c.check_quorum = r->options_.check_quorum;
  c.max_size_per_msg = r->options_.max_size_per_msg;
  c.max_inflight_bytes = r->options_.max_inflight_bytes;
  c.max_committed_size_per_ready = r->options_.max_committed_size_per_ready;
  c.seed = r->options_.seed ^ r->options_.group.value();
  c.quiesce = r->options_.quiesce;
  c.driver_heartbeats = r->options_.coalesced_heartbeats;
  if (r->options_.lease_reads) c.read_only_option = raft::ReadOnlyOption::kLeaseBased;
  // Raft's own lines name the shard (many groups share one log).
  r->group_logger_ = std::make_unique<GroupLogger>(env->raft_logger(), r->options_.group);
  c.logger = r->group_logger_.get();
  ASSIGN_OR_RETURN(r->raw_, raft::RawNode::Create(c));
  if (r->options_.quiesce) {
    ReplicaEnv* e = env;
    r->raw_->SetPeerLiveness([e](NodeId raft_id) { return e->NodeLive(NodeOfReplica(raft_id)); });
  }
  return r;
}

void Replica::Step(raftpb::Message m) {
  // A MsgSnap outside a chunk stream carries no data: Raft would restore a state this node
  // does not have (issue 10; the raft_message fuzz target found it too). Snapshots are
  // stepped only by MaybeStepPendingSnapshot.
  if (m.type() == raftpb::MSG_SNAP) return;
  if (Status bad = CheckPeerMessage(m); !bad.ok()) {
    if (dropped_peer_messages_++ % 100 == 0) {  // the first and every 100th
      env_->raft_logger()->Log(
          raft::LogLevel::kWarning,
          "group " + std::to_string(options_.group.value()) + ": dropped " +
              raftpb::MessageType_Name(m.type()) + " from replica " + std::to_string(m.from()) +
              ": " + std::string(bad.message()) + " (" +
              std::to_string(dropped_peer_messages_) + " dropped so far)");
    }
    return;
  }
  Status s = raw_->Step(std::move(m));
  // A peer sending a local-only message type is misbehaving; the message is dropped.
  if (!s.ok()) s.IgnoreError();
}

// The Raft core stops the node when a message breaks what a correct leader guarantees (Raft
// assumes non-Byzantine peers, as etcd's does). The cheap checks of such guarantees happen
// here, so a buggy or hostile peer's message is dropped instead (found by the raft_message
// fuzz target: a heartbeat committing past our log stopped the node).
Status Replica::CheckPeerMessage(const raftpb::Message& m) const {
  if (m.from() == 0 || NodeOfReplica(NodeId(m.from())) == NodeOfReplica(options_.self)) {
    // The store already refuses these (the transport's peer is never this node); the core
    // would answer itself and stop.
    return Status::InvalidArgument("message from this node or from no one");
  }
  if (m.type() == raftpb::MSG_HEARTBEAT && m.commit() > raw_->GetStatus().last_index.value()) {
    // A leader sends min(our match, its commit), never more than we have.
    return Status::InvalidArgument("heartbeat commits index " + std::to_string(m.commit()) +
                                   " beyond our last index");
  }
  if ((m.type() == raftpb::MSG_VOTE || m.type() == raftpb::MSG_PRE_VOTE) && m.term() == 0) {
    // A candidate campaigns for a term after its own; term 0 marks local messages.
    return Status::InvalidArgument("vote request without a term");
  }
  if (m.type() == raftpb::MSG_APP) {
    for (int i = 0; i < m.entries_size(); ++i) {
      const raftpb::Entry& e = m.entries(i);
      if (e.index() != m.index() + 1 + static_cast<uint64_t>(i) || e.term() > m.term() ||
          (i > 0 && e.term() < m.entries(i - 1).term()) || (i == 0 && e.term() < m.log_term())) {
        return Status::InvalidArgument("entries are not a contiguous run after index " +
                                       std::to_string(m.index()) + " with terms in order");
      }
    }
  }
  return Status::OK();
}

bool Replica::HasTickedWork() const {
  // Leases expire by the leader's ticks (ExpireLeases); watches get progress notices by them.
  return !proposals_.empty() || !reads_.empty() || pending_apply_ || ready_ || stepped_ ||
         holds_install_slot_ || receipt_.has_received() ||
         (leases_.leading() && leases_.size() > 0) || watch_hub_.size() > 0;
}

bool Replica::NeedsTicks() const { return !raw_->quiesced() || HasTickedWork(); }

void Replica::CampaignAfterRestart() {
  if (!options_.quiesce || !options_.pre_vote) return;
  raw_->Campaign();  // a learner or a replica outside its configuration does not campaign
}

void Replica::VoidLeaseIfTicksLag(Clock::time_point now) {
  // The lease is half an election timeout of ticks after a quorum's acknowledgement
  // (Raft::LeaseValid); followers refuse other candidates for a whole election timeout of
  // their own ticks, which never run faster than real time. While no gap between two ticks
  // exceeds a tick and a half, the lease (7 ticks by default) lasts at most 105 ms of real
  // time plus a tick of granularity, leaving a third of the followers' 150 ms for the
  // acknowledgement's delay. A longer gap (a paused process, a stalled loop) voids it: a new
  // leader may have been elected meanwhile (docs/architecture.md, Reads, condition 6).
  if (!options_.lease_reads || !last_tick_at_) return;
  if (now - *last_tick_at_ > options_.tick * 3 / 2) raw_->VoidLease();
}

void Replica::Tick(bool heartbeat_due) {
  const Clock::time_point now = env_->Now();
  if (options_.lease_reads) {
    VoidLeaseIfTicksLag(now);
    last_tick_at_ = now;
  }
  // Quiesce only with a failure detector, and with nothing of our own in flight.
  const bool may_quiesce = env_->LivenessKnown() && !HasTickedWork();
  if (pending_apply_) {
    // The store collects no Ready from us until the apply write is on disk: heartbeats (and
    // their responses) leave here, or followers would elect another leader and a follower
    // would look dead.
    raw_->Tick(may_quiesce);
    if (heartbeat_due) raw_->Heartbeat();
    FlushMessages();
    return;
  }
  MaybeStepPendingSnapshot();
  raw_->Tick(may_quiesce);
  if (heartbeat_due) raw_->Heartbeat();
  if (leases_.leading()) ExpireLeases(now);
  watch_hub_.Tick(now);
}

void Replica::ExpireRequests(Clock::time_point now) {
  proposals_.Expire(now);
  reads_.Expire(now);
}

void Replica::FlushMessages() {
  for (raftpb::Message& m : raw_->TakeMessages()) {
    m.set_group_id(options_.group.value());
    if (m.type() == raftpb::MSG_SNAP) {
      env_->SendSnapshot(options_.group, std::move(m));
    } else {
      env_->SendRaft(std::move(m));
    }
  }
}

bool Replica::HasReady() const {
  if (pending_apply_) return false;  // the last Ready is not Advance()d yet
  return reads_.has_queued() || raw_->HasReady();
}

Result<bool> Replica::CollectReady(storage::WriteBatch* batch, bool* sync) {
  IssueReadIndex();
  if (!raw_->HasReady()) return false;
  ready_ = raw_->GetReady();
  raft::Ready& rd = *ready_;
  if (rd.soft_state) {
    bool leader = rd.soft_state->role == raft::StateRole::kLeader;
    if (was_leader_ && !leader) FailReadsNotLeader();
    if (leader != was_leader_) OnLeadershipChange(leader);
    was_leader_ = leader;
    if (leader && options_.observer != nullptr) {
      options_.observer->OnLeader(options_.group, raw_->term(), options_.self);
    }
  }
  for (raftpb::Message& m : rd.messages) {
    m.set_group_id(options_.group.value());
    if (m.type() == raftpb::MSG_SNAP) {
      env_->SendSnapshot(options_.group, std::move(m));
    } else {
      env_->SendRaft(std::move(m));
    }
  }
  rd.messages.clear();
  if (rd.snapshot) {
    // The hard state goes into the install's atomic write (with commit = the snapshot index),
    // so no crash can leave it behind the log it describes; the batch below writes it in
    // full with the entries it covers.
    Status s = InstallSnapshot(*rd.snapshot, rd.hard_state ? *rd.hard_state : log_.hard_state());
    ReleaseInstallSlot();
    RETURN_IF_ERROR(s);
  } else {
    if (stepped_) {
      // Raft did not restore the snapshot we stepped (it had caught up meanwhile).
      stepped_.reset();
      ReleaseInstallSlot();
    }
    // Not beside an install: the install rewrites the log at once, and a compaction in this
    // batch, written after it, would move the truncated state back.
    RETURN_IF_ERROR(MaybeCompact(batch));
  }
  if (!rd.entries.empty()) {
    RETURN_IF_ERROR(log_.Append(batch, rd.entries));
    adapter_.CacheAppend(rd.entries);
    *sync = true;
  }
  if (rd.hard_state) {
    log_.SetHardState(batch, *rd.hard_state);
    *sync = *sync || rd.must_sync;
  }
  return true;
}

Status Replica::FinishReady(ApplyWrite mode) {
  if (!ready_) return Status::OK();
  raft::Ready rd = std::move(*ready_);
  ready_.reset();
  for (raftpb::Message& m : rd.messages_after_persist) {
    m.set_group_id(options_.group.value());
    env_->SendRaft(std::move(m));
  }
  for (const raft::ReadState& rs : rd.read_states) reads_.OnReadState(rs);
  RETURN_IF_ERROR(ApplyEntries(rd.committed_entries));
  if (pending_apply_) {
    // The Ready completes once the apply batch is on disk (ApplyWritten).
    if (mode == ApplyWrite::kLeaveToCaller) return Status::OK();
    storage::WriteBatch batch = TakeApplyBatch();
    Result<uint64_t> written = engine_->WriteUnlogged({&batch});
    return ApplyWritten(std::move(written), std::move(batch));
  }
  raw_->Advance();
  ServeReadyReads();
  MaybeStepPendingSnapshot();  // one may have completed while this Ready was out
  return Status::OK();
}

kvpb::GroupStatus Replica::GroupStatusProto() const {
  raft::RaftStatus st = raw_->GetStatus();
  kvpb::GroupStatus g;
  g.set_group_id(options_.group.value());
  g.set_role(raft::StateRoleName(st.soft_state.role));
  g.set_term(st.hard_state.term());
  g.set_leader(NodeOfReplica(st.soft_state.lead).value());
  g.set_commit(st.hard_state.commit());
  g.set_applied(st.applied.value());
  g.set_last_index(st.last_index.value());
  g.set_pending_proposals(proposals_.size());
  g.set_log_entry_bytes(log_.LogBytes());
  g.set_quiesced(raw_->quiesced());
  for (uint64_t v : st.conf_state.voters()) g.add_voters(NodeOfReplica(NodeId(v)).value());
  for (uint64_t l : st.conf_state.learners()) g.add_learners(NodeOfReplica(NodeId(l)).value());
  for (const auto& [id, pr] : st.progress) {
    g.add_members(NodeOfReplica(id).value());
    g.add_match(pr.match.value());
  }
  return g;
}

}  // namespace ringkv::replica
