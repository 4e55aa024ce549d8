#include "replica/replica.h"

#include <glog/logging.h>

#include <algorithm>
#include <set>

#include "common/coding.h"
#include "common/status_macros.h"
#include "proto/storage.pb.h"
#include "storage/data_pages.h"
#include "replica/applier.h"
#include "replica/txn.h"
#include "replica/replica_metrics.h"

namespace ringkv::replica {
namespace {

kvpb::Response ErrorResponse(kvpb::ErrorCode code, bool definite, const std::string& msg,
                             uint32_t retry_after_ms = 0) {
  kvpb::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_definite(definite);
  r.mutable_error()->set_message(msg);
  r.mutable_error()->set_retry_after_ms(retry_after_ms);
  return r;
}

bool IsWrite(const kvpb::Request& req) {
  return req.has_put() || req.has_delete_() || req.has_cas() || req.has_append() ||
         req.has_txn() || req.has_lease_grant() || req.has_lease_revoke();
}

// Reads served once a ReadIndex confirmed leadership (lease keep-alive and time-to-live must
// know they ask the current leader, whatever consistency the request names).
bool IsLeaseRead(const kvpb::Request& req) {
  return req.has_lease_keep_alive() || req.has_lease_ttl();
}

}  // namespace

Replica::Replica(storage::Engine* engine, ReplicaOptions options, ReplicaEnv* env)
    : engine_(engine),
      options_(std::move(options)),
      env_(env),
      log_(engine, options_.group),
      kv_(engine, options_.group, options_.kv),
      history_(engine, options_.group, options_.history),
      leases_(engine, options_.group),
      watch_hub_(options_.group, options_.watch, &history_, Index(0)),
      adapter_(&log_, &kv_, options_.entry_cache_bytes) {}

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
  // Raft's own lines name the shard (many groups share one log).
  r->group_logger_ = std::make_unique<GroupLogger>(env->raft_logger(), r->options_.group);
  c.logger = r->group_logger_.get();
  ASSIGN_OR_RETURN(r->raw_, raft::RawNode::Create(c));
  return r;
}

kvpb::Response Replica::NotLeaderResponse() const {
  NodeId lead = raw_->lead();
  if (lead != kNoNode && lead != options_.self) {
    kvpb::Response r = ErrorResponse(kvpb::NOT_LEADER, true,
                                     "node " + std::to_string(NodeOfReplica(options_.self).value()) +
                                         " is not the leader of group " +
                                         std::to_string(options_.group.value()));
    r.mutable_error()->set_leader_hint(NodeOfReplica(lead).value());
    return r;
  }
  return ErrorResponse(kvpb::NO_LEADER, true,
                       "group " + std::to_string(options_.group.value()) +
                           " has no leader (election in progress)",
                       /*retry_after_ms=*/50);
}

std::optional<kvpb::Response> Replica::ValidateWrite(const kvpb::Request& req) const {
  if (req.has_txn()) {
    TxnLimits limits{options_.max_key_bytes, options_.max_value_bytes, options_.max_txn_ops};
    if (auto err = ValidateTxn(req.txn(), limits)) {
      return ErrorResponse(kvpb::INVALID_ARGUMENT, true, *err);
    }
    for (const auto* branch : {&req.txn().success(), &req.txn().failure()}) {
      for (const kvpb::TxnOp& op : *branch) {
        if (op.has_put()) {
          if (auto err = ValidateLeaseShard(op.put().lease())) return err;
        }
      }
    }
    return std::nullopt;
  }
  if (req.has_lease_grant()) {
    const uint64_t ttl = req.lease_grant().ttl_ms();
    if (ttl < static_cast<uint64_t>(options_.min_lease_ttl.count()) ||
        ttl > static_cast<uint64_t>(options_.max_lease_ttl.count())) {
      return ErrorResponse(kvpb::INVALID_ARGUMENT, true,
                           "lease TTL of " + std::to_string(ttl) + " ms is outside [" +
                               std::to_string(options_.min_lease_ttl.count()) + ", " +
                               std::to_string(options_.max_lease_ttl.count()) + "] ms");
    }
    return std::nullopt;
  }
  if (req.has_lease_revoke()) return ValidateLeaseShard(req.lease_revoke().lease_id());
  const std::string* key = nullptr;
  size_t value_bytes = 0;
  if (req.has_put()) {
    key = &req.put().key();
    value_bytes = req.put().value().size();
    if (auto err = ValidateLeaseShard(req.put().lease())) return err;
  } else if (req.has_delete_()) {
    key = &req.delete_().key();
  } else if (req.has_cas()) {
    key = &req.cas().key();
    value_bytes = std::max(req.cas().new_value().size(), req.cas().expected_value().size());
    if (auto err = ValidateLeaseShard(req.cas().lease())) return err;
  } else if (req.has_append()) {
    key = &req.append().key();
    value_bytes = req.append().suffix().size();
  }
  if (key->empty()) return ErrorResponse(kvpb::INVALID_ARGUMENT, true, "empty key");
  if (key->size() > options_.max_key_bytes) {
    return ErrorResponse(kvpb::INVALID_ARGUMENT, true,
                         "key of " + std::to_string(key->size()) + " bytes exceeds --max_key_bytes=" +
                             std::to_string(options_.max_key_bytes));
  }
  if (value_bytes > options_.max_value_bytes) {
    return ErrorResponse(kvpb::INVALID_ARGUMENT, true,
                         "value of " + std::to_string(value_bytes) +
                             " bytes exceeds --max_value_bytes=" +
                             std::to_string(options_.max_value_bytes));
  }
  return std::nullopt;
}

std::optional<kvpb::Response> Replica::ValidateLeaseShard(uint64_t lease) const {
  if (lease == 0 || LeaseGroup(lease) == options_.group) return std::nullopt;
  return ErrorResponse(kvpb::INVALID_ARGUMENT, true,
                       "lease " + LeaseIdString(lease) + " lives on shard " +
                           std::to_string(LeaseGroup(lease).value()) + ", this key on shard " +
                           std::to_string(options_.group.value()) +
                           ": attach a lease only to keys of its shard (grant it with one of "
                           "them as its shard key, or give the keys a common hash tag {...})");
}

void Replica::HandleRequest(const kvpb::Request& req, Reply reply, Clock::time_point deadline) {
  if (IsWrite(req)) {
    HandleWrite(req, std::move(reply), deadline);
    return;
  }
  if (!req.has_get() && !req.has_scan() && !IsLeaseRead(req) && !req.has_backup_read()) {
    reply(ErrorResponse(kvpb::INVALID_ARGUMENT, true, "unknown request type"));
    return;
  }
  PendingRead r{req, std::move(reply), deadline};
  // A backup read is only a linearizable barrier here (store/backup_cursors.h reads the data).
  if (!IsLeaseRead(req) &&
      ((req.consistency() == kvpb::SERIALIZABLE && !req.has_backup_read()) ||
       options_.test_bug == TestBug::kStaleReads)) {
    ServeRead(r);
    return;
  }
  if (raw_->role() != raft::StateRole::kLeader) {
    r.reply(NotLeaderResponse());
    return;
  }
  queued_reads_.push_back(std::move(r));
}

void Replica::HandleWrite(const kvpb::Request& req, Reply reply, Clock::time_point deadline) {
  if (auto err = ValidateWrite(req)) {
    reply(*err);
    return;
  }
  if (proposals_.size() >= options_.max_pending_proposals) {
    reply(ErrorResponse(kvpb::BUSY, true,
                        "too many requests: " + std::to_string(proposals_.size()) +
                            " writes pending in group " + std::to_string(options_.group.value()),
                        /*retry_after_ms=*/20));
    return;
  }
  kvpb::Command cmd;
  cmd.set_client_id(req.client_id());
  cmd.set_sequence(req.sequence());
  cmd.set_first_incomplete(req.first_incomplete());
  cmd.set_session_started_ms(req.session_started_ms());
  if (req.has_put()) *cmd.mutable_put() = req.put();
  if (req.has_delete_()) *cmd.mutable_delete_() = req.delete_();
  if (req.has_cas()) *cmd.mutable_cas() = req.cas();
  if (req.has_append()) *cmd.mutable_append() = req.append();
  if (req.has_txn()) *cmd.mutable_txn() = req.txn();
  if (req.has_lease_grant()) *cmd.mutable_lease_grant() = req.lease_grant();
  if (req.has_lease_revoke()) {
    *cmd.mutable_lease_revoke() = req.lease_revoke();
    cmd.mutable_lease_revoke()->set_expired(false);
  }
  Result<raft::EntryId> id = raw_->Propose(cmd.SerializeAsString());
  if (!id.ok()) {
    const Status& s = id.status();
    if (raw_->role() == raft::StateRole::kLeader) CountProposalFailed(ProposalFailure::kDropped);
    if (s.IsNotLeader() || s.IsUnavailable()) {
      reply(NotLeaderResponse());
    } else if (s.code() == StatusCode::kResourceExhausted) {
      reply(ErrorResponse(kvpb::BUSY, true,
                          "too many requests: group " + std::to_string(options_.group.value()) +
                              ": " + std::string(s.message()),
                          20));
    } else {
      reply(ErrorResponse(kvpb::UNAVAILABLE, true, s.ToString(), 50));
    }
    return;
  }
  if (options_.test_bug == TestBug::kAckBeforeCommit) {
    // Injected bug: claim success before the write is committed.
    kvpb::Response ok;
    if (req.has_put()) ok.mutable_put()->set_version(id->index.value());
    if (req.has_delete_()) ok.mutable_delete_()->set_deleted(true);
    if (req.has_cas()) ok.mutable_cas()->set_succeeded(true);
    if (req.has_append()) ok.mutable_append()->set_version(id->index.value());
    reply(std::move(ok));
    return;
  }
  auto [it, inserted] = proposals_.try_emplace(id->index, PendingWrite{id->term, reply, deadline});
  if (!inserted) {
    // An older proposal of ours at this index was overwritten by a newer leader: it can never
    // commit.
    CountProposalFailed(ProposalFailure::kSuperseded);
    it->second.reply(ErrorResponse(kvpb::NOT_LEADER, true, "proposal superseded by a new leader"));
    it->second = PendingWrite{id->term, std::move(reply), deadline};
  }
}

void Replica::ServeRead(const PendingRead& r) {
  kvpb::Response resp;
  if (IsLeaseRead(r.req)) {
    r.reply(ServeLeaseRead(r.req));
    return;
  }
  if (r.req.has_backup_read()) {
    // The barrier passed: the state applied now includes every write acknowledged before the
    // read began. The caller reads it (BackupCursors).
    r.reply(std::move(resp));
    return;
  }
  if (r.req.has_get()) {
    Result<std::optional<storage::VersionedValue>> v = kv_.Get(r.req.get().key());
    if (!v.ok()) {
      r.reply(ErrorResponse(kvpb::INTERNAL, true, v.status().ToString()));
      return;
    }
    kvpb::GetResponse* g = resp.mutable_get();
    g->set_found(v->has_value());
    if (v->has_value()) {
      g->mutable_kv()->set_key(r.req.get().key());
      g->mutable_kv()->set_value((*v)->value);
      g->mutable_kv()->set_version((*v)->version.value());
      g->mutable_kv()->set_lease((*v)->lease);
    }
  } else {
    const kvpb::ScanRequest& s = r.req.scan();
    size_t limit = s.limit() == 0 ? options_.max_scan_limit
                                  : std::min<size_t>(s.limit(), options_.max_scan_limit);
    // The pairs and the revision they are at come from one snapshot: a serializable scan may
    // run while this group's apply write is out (the in-memory applied index is then ahead
    // of the data), and a watch started from the revision must miss and repeat nothing.
    std::unique_ptr<storage::ReadSnapshot> snap = engine_->GetSnapshot();
    Result<std::vector<storage::KvPair>> kvs = kv_.Scan(s.start(), s.end(), limit, snap.get());
    Result<storage::ApplyState> at = storage::ReadApplyStateAt(*engine_, options_.group, *snap);
    if (!kvs.ok() || !at.ok()) {
      r.reply(ErrorResponse(kvpb::INTERNAL, true,
                            (kvs.ok() ? at.status() : kvs.status()).ToString()));
      return;
    }
    kvpb::ScanResponse* out = resp.mutable_scan();
    out->set_revision(at->applied_index.value());
    for (const storage::KvPair& p : *kvs) {
      kvpb::KeyValue* kv = out->add_kvs();
      kv->set_key(p.key);
      if (!s.keys_only()) kv->set_value(p.value.value);
      kv->set_version(p.value.version.value());
      kv->set_lease(p.value.lease);
    }
    out->set_more(kvs->size() == limit);
  }
  r.reply(std::move(resp));
}

void Replica::IssueReadIndex() {
  if (queued_reads_.empty()) return;
  std::vector<PendingRead> reads;
  reads.swap(queued_reads_);
  if (raw_->role() != raft::StateRole::kLeader) {
    for (auto& r : reads) r.reply(NotLeaderResponse());
    return;
  }
  std::string ctx;
  PutFixed64BE(&ctx, next_read_ctx_++);
  Status s = raw_->ReadIndex(ctx);
  if (!s.ok()) {
    for (auto& r : reads) r.reply(NotLeaderResponse());
    return;
  }
  read_batches_[ctx].reads = std::move(reads);
}

void Replica::ServeReadyReads() {
  Index applied = raw_->applied();
  for (auto it = read_batches_.begin(); it != read_batches_.end();) {
    if (it->second.read_index && *it->second.read_index <= applied) {
      for (const PendingRead& r : it->second.reads) ServeRead(r);
      it = read_batches_.erase(it);
    } else {
      ++it;
    }
  }
}

void Replica::FailReadsNotLeader() {
  kvpb::Response resp = NotLeaderResponse();
  for (auto& [ctx, batch] : read_batches_) {
    for (auto& r : batch.reads) r.reply(resp);
  }
  read_batches_.clear();
  for (auto& r : queued_reads_) r.reply(resp);
  queued_reads_.clear();
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

void Replica::Tick() {
  if (pending_apply_) {
    // The store collects no Ready from us until the apply write is on disk: heartbeats (and
    // their responses) leave here, or followers would elect another leader and a follower
    // would look dead.
    raw_->Tick();
    FlushMessages();
    return;
  }
  MaybeStepPendingSnapshot();
  raw_->Tick();
  const Clock::time_point now = Clock::now();
  if (leases_.leading()) ExpireLeases(now);
  watch_hub_.Tick(now);
}

Status Replica::RetryStalledApply(Clock::time_point now) {
  if (!apply_stalled() || now < pending_apply_->next_try) return Status::OK();
  pending_apply_->next_try = now + options_.apply_retry_interval;
  // RocksDB refuses every write after one failed for space until its background error is
  // cleared; Resume fails the same way while the disk is still full.
  if (!engine_->Resume().ok()) return Status::OK();
  Status s = engine_->Write(pending_apply_->batch, /*sync=*/false);
  if (s.code() == StatusCode::kResourceExhausted) return Status::OK();
  RETURN_IF_ERROR(s);
  group_logger_->Log(raft::LogLevel::kWarning,
                     "disk space is back: the stalled apply write went through");
  CompleteApply(now);
  return Status::OK();
}

storage::WriteBatch Replica::TakeApplyBatch() { return std::move(pending_apply_->batch); }

Status Replica::ApplyWritten(Status written, storage::WriteBatch batch) {
  pending_apply_->in_flight = false;
  if (written.code() == StatusCode::kResourceExhausted) {
    // The disk is full. Nothing of the batch is stored (RocksDB failed its WAL append) while
    // our in-memory state already includes it, so the same batch is written again later
    // rather than stopping the node (RetryStalledApply). Watchers hear of the changes only
    // once they are written: a reader told of a change must find it.
    group_logger_->Log(raft::LogLevel::kError,
                       "disk full: an apply write failed (" + written.ToString() +
                           "); retrying until space is freed (this shard's writes stall)");
    pending_apply_->batch = std::move(batch);
    pending_apply_->next_try = Clock::now() + options_.apply_retry_interval;
    return Status::OK();
  }
  RETURN_IF_ERROR(written);
  CompleteApply(Clock::now());
  return Status::OK();
}

void Replica::CompleteApply(Clock::time_point now) {
  PendingApply done = std::move(*pending_apply_);
  pending_apply_.reset();
  watch_hub_.OnApplied(done.changes, done.last, now);
  for (auto& [reply, resp] : done.replies) reply(std::move(resp));
  raw_->Advance();
  ServeReadyReads();
  MaybeStepPendingSnapshot();  // one may have completed while the apply write was out
}

void Replica::MaybeStepPendingSnapshot() {
  // One snapshot in Raft's hands at a time, and never while a Ready is out: the next Ready
  // then tells whether Raft restored it (ready.h), and the install happens before anything
  // else of this group is written.
  // Nor while an apply write is out or waits for disk space: its Ready is not Advance()d yet.
  if (!received_ || stepped_ || ready_ || pending_apply_ || holds_install_slot_) return;
  if (!env_->TryReserveSnapshotInstall()) return;
  holds_install_slot_ = true;
  ReceivedSnapshot r = std::move(*received_);
  received_.reset();
  stepped_ = std::move(r.data);
  Status s = raw_->Step(std::move(r.msg));
  if (!s.ok() || !raw_->HasReady()) {
    // Ignored outright (a stale term): there is nothing to install.
    s.IgnoreError();  // a MsgSnap is never a local-only message
    stepped_.reset();
    ReleaseInstallSlot();
  }
}

void Replica::ReleaseInstallSlot() {
  if (!holds_install_slot_) return;
  holds_install_slot_ = false;
  env_->ReleaseSnapshotInstall();
}

void Replica::ExpireRequests(Clock::time_point now) {
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (it->second.deadline <= now) {
      CountProposalFailed(ProposalFailure::kTimeout);
      it->second.reply(ErrorResponse(kvpb::TIMEOUT, false,
                                     "write not applied before its deadline; it may still be"));
      it = proposals_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = read_batches_.begin(); it != read_batches_.end();) {
    auto& reads = it->second.reads;
    reads.erase(std::remove_if(reads.begin(), reads.end(),
                               [&](const PendingRead& r) {
                                 if (r.deadline > now) return false;
                                 r.reply(ErrorResponse(kvpb::TIMEOUT, true, "read timed out"));
                                 return true;
                               }),
                reads.end());
    it = reads.empty() ? read_batches_.erase(it) : std::next(it);
  }
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
  return !queued_reads_.empty() || raw_->HasReady();
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
  } else if (stepped_) {
    // Raft did not restore the snapshot we stepped (it had caught up meanwhile).
    stepped_.reset();
    ReleaseInstallSlot();
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
  for (const raft::ReadState& rs : rd.read_states) {
    auto it = read_batches_.find(rs.request_ctx);
    if (it != read_batches_.end()) it->second.read_index = rs.index;
  }
  RETURN_IF_ERROR(ApplyEntries(rd.committed_entries));
  if (pending_apply_) {
    // The Ready completes once the apply batch is on disk (ApplyWritten).
    if (mode == ApplyWrite::kLeaveToCaller) return Status::OK();
    storage::WriteBatch batch = TakeApplyBatch();
    Status written = engine_->Write(batch, /*sync=*/false);
    return ApplyWritten(std::move(written), std::move(batch));
  }
  raw_->Advance();
  ServeReadyReads();
  MaybeStepPendingSnapshot();  // one may have completed while this Ready was out
  return Status::OK();
}

Status Replica::ApplyEntries(const std::vector<raftpb::Entry>& entries) {
  if (entries.empty()) return Status::OK();
  storage::WriteBatch batch;
  const Clock::time_point now = Clock::now();
  Applier applier(&kv_, &batch, &leases_, now,
                  options_.test_bug == TestBug::kOneAnswerSessions);
  std::vector<std::pair<Reply, kvpb::Response>> replies;
  for (const raftpb::Entry& e : entries) {
    Index idx(e.index());
    kvpb::Response resp;
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
      raftpb::ConfChange cc;
      if (!cc.ParseFromString(e.data())) {
        return Status::Corruption("group " + std::to_string(options_.group.value()) +
                                  ": undecodable conf change at index " + std::to_string(e.index()));
      }
      raftpb::ConfState cs = raw_->ApplyConfChange(cc);
      log_.SetConfState(&batch, cs);
      if (!ConfContains(cs, options_.self)) removed_at_ = idx;
    } else if (!e.data().empty()) {
      kvpb::Command cmd;
      if (!cmd.ParseFromString(e.data())) {
        return Status::Corruption("group " + std::to_string(options_.group.value()) +
                                  ": undecodable command at index " + std::to_string(e.index()));
      }
      // Injected bug: no deduplication, so a retried write applies twice.
      if (options_.test_bug == TestBug::kForgetSessions) cmd.set_client_id(0);
      ASSIGN_OR_RETURN(resp, applier.Apply(cmd, idx));
    }
    // Every proposal at or below this index is now decided: ours if the term matches, else
    // another leader's entry won the slot.
    while (!proposals_.empty() && proposals_.begin()->first <= idx) {
      auto node = proposals_.extract(proposals_.begin());
      PendingWrite& p = node.mapped();
      if (node.key() == idx && p.term == Term(e.term())) {
        replies.emplace_back(std::move(p.reply), resp);
      } else {
        CountProposalFailed(ProposalFailure::kSuperseded);
        replies.emplace_back(std::move(p.reply),
                             ErrorResponse(kvpb::NOT_LEADER, true,
                                           "proposal superseded by a new leader's entry"));
      }
    }
  }
  const raftpb::Entry& last = entries.back();
  std::vector<storage::IndexedChanges> changes = applier.TakeChanges();
  for (const storage::IndexedChanges& c : changes) history_.Append(&batch, c);
  kv_.SetApplyState(&batch, storage::ApplyState{Index(last.index()), Term(last.term())});
  RETURN_IF_ERROR(MaybeCompact(&batch));
  // Unsynced, and written by FinishReady's caller: the log is durable, so a lost apply write
  // is simply replayed after a crash. Answers and watchers wait until it is written: a client
  // told of a change must find it.
  pending_apply_ = PendingApply{std::move(batch), std::move(replies), std::move(changes),
                                Index(last.index()), /*in_flight=*/true, Clock::time_point()};
  return Status::OK();
}

Status Replica::MaybeCompact(storage::WriteBatch* batch) {
  const Index applied = kv_.applied().applied_index;
  const Index truncated = log_.truncated_index();
  const uint64_t kept = applied - truncated;
  const bool by_count = kept > options_.compact_threshold;
  const bool by_bytes = options_.compact_log_bytes > 0 &&
                        log_.BytesThrough(applied) > options_.compact_log_bytes;
  if (!by_count && !by_bytes) return Status::OK();
  // Keep the newest compact_keep applied entries for slow followers, and when over the byte
  // budget at most what fits half of it.
  Index to = applied - std::min(kept, options_.compact_keep);
  if (by_bytes) to = std::max(to, log_.CompactionPointKeeping(applied, options_.compact_log_bytes / 2));
  if (to <= truncated) return Status::OK();
  ASSIGN_OR_RETURN(Term term, log_.TermAt(to));
  RETURN_IF_ERROR(log_.Compact(batch, to, term));
  adapter_.CacheCompact(to);
  return Status::OK();
}

Result<bool> Replica::CompactLogKeeping(storage::WriteBatch* batch, uint64_t keep_bytes) {
  if (pending_apply_) return false;  // its applied index is not on disk yet
  const Index applied = kv_.applied().applied_index;
  const Index truncated = log_.truncated_index();
  if (applied <= truncated) return false;
  Index to = std::max(log_.CompactionPointKeeping(applied, keep_bytes),
                      applied - std::min(applied - truncated, options_.compact_keep));
  if (to <= truncated) return false;
  ASSIGN_OR_RETURN(Term term, log_.TermAt(to));
  RETURN_IF_ERROR(log_.Compact(batch, to, term));
  adapter_.CacheCompact(to);
  return true;
}

Status Replica::CompactNow() {
  if (pending_apply_) {
    return Status::Unavailable("group " + std::to_string(options_.group.value()) +
                               ": an apply write is not on disk yet (writing, or waiting for "
                               "disk space); nothing is compacted");
  }
  Index applied = kv_.applied().applied_index;
  if (applied <= log_.truncated_index()) return Status::OK();
  ASSIGN_OR_RETURN(Term term, log_.TermAt(applied));
  storage::WriteBatch batch;
  RETURN_IF_ERROR(log_.Compact(&batch, applied, term));
  adapter_.CacheCompact(applied);
  return engine_->Write(batch, /*sync=*/true);
}

namespace {

bool SameMetadata(const raftpb::SnapshotMetadata& a, const raftpb::SnapshotMetadata& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

std::string DescribeSnapshot(const raftpb::SnapshotMetadata& m) {
  return "snapshot at index " + std::to_string(m.index()) + " term " + std::to_string(m.term());
}

}  // namespace

Status Replica::InstallSnapshot(const raftpb::Snapshot& snap, const raftpb::HardState& hs) {
  // Raft restores only a MsgSnap stepped by MaybeStepPendingSnapshot, with stepped_ holding
  // exactly its data; anything else is a bug here, and fail-stop is the answer.
  if (!stepped_ || !SameMetadata(stepped_->metadata(), snap.metadata())) {
    return Status::FailedPrecondition(
        "group " + std::to_string(options_.group.value()) + ": Raft restored " +
        DescribeSnapshot(snap.metadata()) + " but the data held is " +
        (stepped_ ? DescribeSnapshot(stepped_->metadata()) : std::string("none")));
  }
  std::unique_ptr<storage::SnapshotReceiver> data = std::move(stepped_);
  RETURN_IF_ERROR(data->Install(hs));
  data.reset();
  adapter_.CacheReset();
  RETURN_IF_ERROR(log_.Load());
  RETURN_IF_ERROR(kv_.Load());
  // Only a follower installs snapshots and only the leader serves watches; end any anyway.
  EndWatches();
  RETURN_IF_ERROR(LoadDerivedState());
  if (was_leader_) leases_.Promote(Clock::now(), LeaseExtension());
  Index idx(snap.metadata().index());
  // Writes we proposed that the snapshot covers: we cannot tell whether they won their slot.
  while (!proposals_.empty() && proposals_.begin()->first <= idx) {
    auto node = proposals_.extract(proposals_.begin());
    CountProposalFailed(ProposalFailure::kUnknownOutcome);
    node.mapped().reply(ErrorResponse(kvpb::UNKNOWN_OUTCOME, false,
                                      "replica caught up by snapshot; write outcome unknown"));
  }
  return Status::OK();
}

void Replica::OnSnapshotChunk(NodeId from, const transportpb::SnapshotChunk& chunk) {
  storagepb::SnapshotChunk sc;
  if (!sc.ParseFromString(chunk.data())) return;  // corrupt chunk: the sender retries later
  if (sc.seq() == 0) {
    receiving_.reset();
    Result<std::unique_ptr<storage::SnapshotReceiver>> r =
        storage::SnapshotReceiver::Create(engine_, options_.group, sc.metadata());
    if (!r.ok()) return;  // stale: we are past it
    receiving_ = std::move(r).value();
    receiving_from_ = from;
  }
  if (!receiving_ || receiving_from_ != from) return;
  Status s = receiving_->AddChunk(sc);
  if (!s.ok()) {
    // Damaged, out of order or of another snapshot: this stream is lost; the leader's next
    // attempt starts over.
    receiving_.reset();
    return;
  }
  if (!receiving_->complete()) return;
  std::unique_ptr<storage::SnapshotReceiver> done = std::move(receiving_);
  if (!chunk.has_message() || chunk.message().type() != raftpb::MSG_SNAP ||
      !SameMetadata(chunk.message().snapshot().metadata(), done->metadata())) {
    LOG(WARNING) << "group " << options_.group << ": discarding received "
                 << DescribeSnapshot(done->metadata()) << " from node " << NodeOfReplica(from)
                 << ": its last chunk carries no MsgSnap describing it";
    return;
  }
  received_ = ReceivedSnapshot{std::move(done), chunk.message()};
  MaybeStepPendingSnapshot();
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
  for (uint64_t v : st.conf_state.voters()) g.add_voters(NodeOfReplica(NodeId(v)).value());
  for (uint64_t l : st.conf_state.learners()) g.add_learners(NodeOfReplica(NodeId(l)).value());
  for (const auto& [id, pr] : st.progress) {
    g.add_members(NodeOfReplica(id).value());
    g.add_match(pr.match.value());
  }
  return g;
}

}  // namespace ringkv::replica
