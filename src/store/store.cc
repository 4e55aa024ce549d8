#include "store/store.h"

#include <glog/logging.h>

#include <boost/asio/post.hpp>
#include <future>
#include <set>

#include "common/crc32c.h"
#include "proto/kv_request_key.h"
#include "proto/storage.pb.h"
#include "ring/shard_map.h"
#include "storage/meta_store.h"
#include "storage/raft_log_store.h"
#include "storage/snapshot.h"
#include "store/placement.h"
#include "store/store_metrics.h"
#include "store/tombstone_rule.h"

namespace ringkv::store {
namespace {

// Routes the pure Raft core's log lines to glog. Debug lines only at --v=1.
class GlogRaftLogger final : public raft::Logger {
 public:
  void Log(raft::LogLevel level, std::string_view msg) override {
    switch (level) {
      case raft::LogLevel::kDebug: VLOG(1) << msg; break;
      case raft::LogLevel::kInfo: LOG(INFO) << msg; break;
      case raft::LogLevel::kWarning: LOG(WARNING) << msg; break;
      case raft::LogLevel::kError: LOG(ERROR) << msg; break;
    }
  }
};

kvpb::Response Error(kvpb::ErrorCode code, bool definite, const std::string& msg) {
  kvpb::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_definite(definite);
  r.mutable_error()->set_message(msg);
  return r;
}

}  // namespace

const char* MemberStateName(MemberView::State s) {
  switch (s) {
    case MemberView::State::kAlive: return "alive";
    case MemberView::State::kSuspect: return "suspect";
    case MemberView::State::kDead: return "dead";
    case MemberView::State::kLeft: return "left";
  }
  return "unknown";
}

Store::Store(StoreOptions options, storage::Engine* engine, StoreTransport* transport)
    : options_(std::move(options)),
      engine_(engine),
      transport_(transport),
      logger_(std::make_unique<GlogRaftLogger>()),
      tick_timer_(std::make_unique<boost::asio::steady_timer>(loop_)),
      placement_timer_(std::make_unique<boost::asio::steady_timer>(loop_)),
      backup_cursors_(std::make_unique<BackupCursors>(engine, loop_)),
      log_budget_(options_.raft_log_node_max_bytes) {
  Result<ring::HashRing> r = ring::HashRing::Create(options_.ring);
  if (r.ok()) {
    ring_ = std::move(r).value();
  } else {
    LOG(ERROR) << "invalid ring config " << options_.ring.ToString() << ": " << r.status();
  }
}

Store::~Store() { Stop(); }

ringkv::Status Store::AddReplica(GroupId group, const raftpb::ConfState* bootstrap,
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
  Result<std::unique_ptr<replica::Replica>> r = replica::Replica::Open(engine_, ro, this, bootstrap);
  if (!r.ok()) return r.status();
  replicas_[group] = std::move(r).value();
  return ringkv::Status::OK();
}

ringkv::Status Store::OpenExistingReplicas() {
  Result<std::vector<GroupId>> groups = storage::ListGroups(*engine_);
  if (!groups.ok()) return groups.status();
  for (GroupId g : *groups) {
    if (replicas_.count(g) > 0) continue;
    ringkv::Status s = AddReplica(g, nullptr);
    if (!s.ok()) return s;
  }
  return ringkv::Status::OK();
}

replica::Replica* Store::CreateReplica(GroupId group, const raftpb::ConfState* bootstrap,
                                       std::optional<NodeId> new_raft_id) {
  ringkv::Status s = AddReplica(group, bootstrap, new_raft_id);
  if (!s.ok()) {
    LOG(ERROR) << "group " << group << ": cannot create replica: " << s;
    return nullptr;
  }
  replica::Replica* r = FindReplica(group);
  LOG(INFO) << "group " << group << ": replica created on node " << options_.node_id
            << " (replica " << ReplicaIdString(r->id()) << ")";
  return r;
}

bool Store::TombstoneRefuses(GroupId g, NodeId raft_id, std::optional<Index> snapshot_index) {
  Result<std::optional<storage::MetaStore::Tombstone>> tomb =
      storage::MetaStore(engine_).GetTombstone(g);
  if (!tomb.ok()) return true;
  if (!tomb->has_value()) return false;
  return TombstoneForbids(**tomb, raft_id, snapshot_index);
}

void Store::MaybeCreateReplicaFor(const raftpb::Message& m) {
  // Only the group's leader creates replicas elsewhere, by replicating to a member it added;
  // votes and responses never create one (a stale message must not revive a removed replica).
  if (m.type() != raftpb::MSG_APP && m.type() != raftpb::MSG_HEARTBEAT) return;
  GroupId g(m.group_id());
  if (ring_ && (g.value() == 0 || g.value() > ring_->num_shards())) return;
  // After a removal (a tombstone) only a newer replica id, from a conf change that added this
  // node back, creates one. It starts empty, with no data and no configuration, and answers
  // the leader so that it sends the snapshot that initializes it (OnSnapshotChunk).
  if (TombstoneRefuses(g, NodeId(m.to()), std::nullopt)) return;
  CreateReplica(g, nullptr, NodeId(m.to()));
}

bool Store::ReplaceStaleReplica(replica::Replica* r, NodeId newer) {
  // A removed leader keeps leading until it has handed leadership over (raft core); a write in
  // flight may hold its log entries (see HandleRemovalNotice). Either way: later, on a
  // retransmission.
  if (r->is_leader() || write_in_flight_) return false;
  const GroupId g = r->group();
  LOG(INFO) << "group " << g << ": replica " << ReplicaIdString(r->id())
            << " on this node is stale (the group's leader replicates to replica "
            << ReplicaIdString(newer) << " here: this node was removed and added back); "
            << "deleting it and leaving a tombstone";
  storage::WriteBatch b;
  storage::MetaStore(engine_).RemoveReplica(&b, g, r->applied(), r->id());
  ringkv::Status s = engine_->Write(b, /*sync=*/true);
  if (!s.ok()) FailStop(s, "deleting a stale replica");
  replicas_.erase(g);
  return true;
}

void Store::SendRemovalNotice(replica::Replica* r, NodeId to) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_REPLICA_REMOVED);
  m.set_to(to.value());
  m.set_from(r->id().value());
  m.set_term(r->term().value());
  m.set_index(r->applied().value());
  m.set_group_id(r->group().value());
  transport_->Send(std::move(m));
}

void Store::HandleRemovalNotice(const raftpb::Message& m) {
  const GroupId g(m.group_id());
  replica::Replica* r = FindReplica(g);
  // Addressed to the replica that was removed: a newer replica of this node is not concerned.
  if (r == nullptr || r->is_leader() || r->id() != NodeId(m.to())) return;
  // Safe only if we have not applied past the notice: a replica re-added later has applied
  // the entry that re-added it, which is beyond any notice about its earlier removal.
  if (r->applied() >= Index(m.index())) return;
  LOG(INFO) << "group " << m.group_id() << ": node " << m.from()
            << " reports this replica was removed; deleting it";
  if (write_in_flight_) {
    // Deleting now would race the in-flight write, which may hold this replica's log entries
    // (they would land after the delete and corrupt a later replica of the group) and whose
    // completion still uses the replica.
    PendingNotice& n = pending_removal_notices_[g];
    n.replica = r->id();
    n.at = std::max(n.at, Index(m.index()));
    return;
  }
  DeleteReplicaForNotice(r, Index(m.index()));
}

void Store::DeleteReplicaForNotice(replica::Replica* r, Index notice_index) {
  const GroupId g = r->group();
  storage::WriteBatch b;
  storage::MetaStore(engine_).RemoveReplica(&b, g, notice_index, r->id());
  ringkv::Status s = engine_->Write(b, /*sync=*/true);
  if (!s.ok()) FailStop(s, "deleting a removed replica");
  replicas_.erase(g);
}

void Store::DestroyRemovedReplicas() {
  std::map<GroupId, PendingNotice> notices;
  notices.swap(pending_removal_notices_);
  for (const auto& [g, n] : notices) {
    replica::Replica* r = FindReplica(g);
    // Re-check: the replica may have been replaced, or applied past the notice, meanwhile.
    if (r != nullptr && r->id() == n.replica && !r->is_leader() && r->applied() < n.at) {
      DeleteReplicaForNotice(r, n.at);
    }
  }
  for (auto it = replicas_.begin(); it != replicas_.end();) {
    std::optional<Index> at = it->second->removed_at();
    // A removed leader keeps leading until it has handed leadership over (raft core).
    if (!at || it->second->is_leader()) {
      ++it;
      continue;
    }
    LOG(INFO) << "group " << it->first << ": this replica was removed at index " << *at
              << "; deleting its data and leaving a tombstone";
    storage::WriteBatch b;
    storage::MetaStore(engine_).RemoveReplica(&b, it->first, *at, it->second->id());
    ringkv::Status s = engine_->Write(b, /*sync=*/true);
    if (!s.ok()) FailStop(s, "deleting a removed replica");
    it = replicas_.erase(it);
  }
}

void Store::SetClientAddress(NodeId node, std::string address) {
  boost::asio::post(loop_, [this, node, address = std::move(address)]() mutable {
    client_addresses_[node] = std::move(address);
  });
}

void Store::Start() {
  if (running_.exchange(true)) return;
  started_at_ = std::chrono::steady_clock::now();
  storage_worker_.Start();
  snapshot_worker_.Start();
  tick_timer_->expires_after(options_.tick);
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) OnTick();
  });
  if (options_.placement_interval.count() > 0) {
    placement_timer_->expires_after(options_.placement_interval);
    placement_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (!ec) OnPlacementTick();
    });
  }
  loop_thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(loop_);
    loop_.run();
  });
}

void Store::Stop() {
  if (!running_.exchange(false)) return;
  boost::asio::post(loop_, [this] {
    tick_timer_->cancel();
    placement_timer_->cancel();
    loop_.stop();
  });
  if (loop_thread_.joinable()) loop_thread_.join();
  snapshot_worker_.Stop();
  storage_worker_.Stop();
}

void Store::OnTick() {
  if (!running_) return;
  auto now = replica::Clock::now();
  for (auto& [g, r] : replicas_) {
    r->Tick();
    r->ExpireRequests(now);
    ringkv::Status s = r->RetryStalledApply(now);
    if (!s.ok()) FailStop(s, "applying committed entries");
  }
  ScheduleCycle();
  tick_timer_->expires_after(options_.tick);
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) OnTick();
  });
}

void Store::ScheduleCycle() {
  if (cycle_scheduled_) return;
  cycle_scheduled_ = true;
  boost::asio::post(loop_, [this] {
    cycle_scheduled_ = false;
    RunCycle();
  });
}

void Store::RunCycle() {
  if (write_in_flight_) {
    // The next cycle starts when the sync completes; meanwhile messages that need no
    // durability go out now, so heartbeats never wait for the disk.
    for (auto& [g, r] : replicas_) r->FlushMessages();
    return;
  }
  const auto collect_start = std::chrono::steady_clock::now();
  auto batch = std::make_shared<storage::WriteBatch>();
  bool sync = false;
  for (auto& [g, r] : replicas_) {
    if (!r->HasReady()) continue;
    Result<bool> got = r->CollectReady(batch.get(), &sync);
    if (!got.ok()) FailStop(got.status(), "collecting a Ready");
    if (*got) in_flight_.push_back(r.get());
    NodeId lead = r->lead();
    auto& last = last_leader_[g];
    if (lead != last) {
      // The first elections after start are summed up in one line below (a node hosts tens
      // of shards); every later change is a line of its own.
      if (all_led_once_ || VLOG_IS_ON(1)) {
        LOG(INFO) << "group " << g << ": leader is now "
                  << (lead == kNoNode ? std::string("unknown")
                                      : "node " + std::to_string(NodeOfReplica(lead).value()))
                  << " (term " << r->term() << ")";
      }
      last = lead;
      CountLeaderChange();
    }
  }
  if (!all_led_once_ && !replicas_.empty()) {
    size_t led = 0, leads_here = 0;
    for (auto& [g, r] : replicas_) {
      led += r->lead() != kNoNode ? 1 : 0;
      leads_here += r->lead() == r->id() ? 1 : 0;
    }
    if (led == replicas_.size()) {
      all_led_once_ = true;
      LOG(INFO) << "node " << options_.node_id << ": all " << led
                << " shard replicas here have a leader (" << leads_here << " led here)";
    }
  }
  auto collect_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - collect_start).count();
  if (collect_ms > 100) {
    LOG(WARNING) << "slow loop turn: collecting " << in_flight_.size() << " Readys took "
                 << collect_ms << " ms (snapshot install or slow disk?)";
  }
  // The node's Raft log budget: its compactions join this write.
  Result<bool> budget = log_budget_.MaybeCompact(replicas_, batch.get());
  if (!budget.ok()) FailStop(budget.status(), "compacting Raft logs to the node's budget");
  if (in_flight_.empty() && !*budget) return;
  write_in_flight_ = true;
  if (batch->Empty()) {
    OnBatchWritten(ringkv::Status::OK());
    return;
  }
  // Injected bug (kvd_buggy only): acknowledge before the log is durable.
  if (options_.replica.test_bug == replica::TestBug::kAckBeforeSync) sync = false;
  const size_t groups = in_flight_.size();
  storage_worker_.Post([this, batch, sync, groups] {
    const auto start = std::chrono::steady_clock::now();
    ringkv::Status s = WriteLogBatch(*batch, sync);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    ObserveLogWrite(took.count(), groups, batch->ByteSize(), sync);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    // Durations, not whole milliseconds: a threshold of 0 logs every write.
    if (took > options_.slow_sync) {
      LOG(WARNING) << "slow fdatasync: a Raft log write of " << groups << " groups ("
                   << batch->ByteSize() << " bytes) took " << ms << " ms (over "
                   << options_.slow_sync.count() << " ms; a slow or overloaded disk)";
    }
    boost::asio::post(loop_, [this, s] { OnBatchWritten(s); });
  });
}

ringkv::Status Store::WriteLogBatch(const storage::WriteBatch& batch, bool sync) {
  ringkv::Status s = engine_->Write(batch, sync);
  // A full disk: nothing of this write is durable (RocksDB failed the WAL append), so it is
  // retried as it is once space is back, instead of stopping the node. Meanwhile the loop
  // keeps serving reads and heartbeats; the NOSPACE alarm (server/space_guard.h) normally
  // stops writes long before this point.
  for (int attempt = 0; s.code() == StatusCode::kResourceExhausted && running_; ++attempt) {
    if (attempt == 0) {
      LOG(ERROR) << "disk full: a Raft log write failed (" << s.ToString()
                 << "); retrying every 500 ms until space is freed (writes stall, reads go on)";
    }
    // Pacing of the retry, not synchronization: nothing signals that space was freed.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (!engine_->Resume().ok()) continue;
    s = engine_->Write(batch, sync);
    if (s.ok()) LOG(WARNING) << "disk space is back: the Raft log write went through";
  }
  return s;
}

void Store::OnBatchWritten(const ringkv::Status& s) {
  // Style tier 3: a failed write on the Raft log path leaves the log state unknown; stop and
  // recover from disk on restart.
  if (!s.ok()) FailStop(s, "syncing the Raft log");
  apply_started_ = std::chrono::steady_clock::now();
  // Committed entries are applied in memory here, on the loop thread; their writes (unsynced,
  // one per group) go to the storage worker, so the loop keeps sending heartbeats and taking
  // requests meanwhile instead of waiting on RocksDB. The turn (and the next Ready of every
  // group) ends when they are on disk.
  auto jobs = std::make_shared<std::vector<ApplyWriteJob>>();
  for (replica::Replica* r : in_flight_) {
    ringkv::Status st = r->FinishReady(replica::Replica::ApplyWrite::kLeaveToCaller);
    if (!st.ok()) FailStop(st, "applying committed entries");
    if (r->apply_to_write()) jobs->push_back(ApplyWriteJob{r, r->TakeApplyBatch(), {}});
  }
  if (jobs->empty()) {
    FinishTurn();
    return;
  }
  storage_worker_.Post([this, jobs] {
    for (ApplyWriteJob& j : *jobs) j.written = engine_->Write(j.batch, /*sync=*/false);
    boost::asio::post(loop_, [this, jobs] { OnApplyWritten(*jobs); });
  });
}

void Store::OnApplyWritten(std::vector<ApplyWriteJob>& jobs) {
  // Replicas in a turn are never deleted before its end (write_in_flight_ defers that).
  for (ApplyWriteJob& j : jobs) {
    ringkv::Status st = j.replica->ApplyWritten(std::move(j.written), std::move(j.batch));
    if (!st.ok()) FailStop(st, "writing applied entries");
  }
  FinishTurn();
}

void Store::FinishTurn() {
  write_in_flight_ = false;
  const size_t groups = in_flight_.size();
  in_flight_.clear();
  const std::chrono::duration<double> apply_took = std::chrono::steady_clock::now() - apply_started_;
  ObserveApply(apply_took.count());
  const auto apply_ms = std::chrono::duration_cast<std::chrono::milliseconds>(apply_took).count();
  if (apply_took > options_.slow_apply) {
    LOG(WARNING) << "slow apply: " << groups << " groups took " << apply_ms << " ms (over "
                 << options_.slow_apply.count() << " ms)";
  }
  std::vector<std::function<void()>> deferred;
  deferred.swap(after_turn_);
  for (auto& f : deferred) f();
  DestroyRemovedReplicas();
  RunCycle();
}

void Store::FailStop(const ringkv::Status& s, const char* what) {
  LOG(FATAL) << "storage failure while " << what << ": " << s.ToString()
             << "; stopping so that nothing wrong is served (restart recovers from disk)";
}

replica::Replica* Store::FindReplica(GroupId group) {
  auto it = replicas_.find(group);
  return it == replicas_.end() ? nullptr : it->second.get();
}

void Store::OnRaftMessages(NodeId from, std::vector<raftpb::Message> msgs) {
  boost::asio::post(loop_, [this, from, msgs = std::move(msgs)]() mutable {
    for (raftpb::Message& m : msgs) {
      if (m.type() == raftpb::MSG_REPLICA_REMOVED) {
        HandleRemovalNotice(m);
        continue;
      }
      const NodeId to(m.to());
      if (NodeOfReplica(to) != options_.node_id || NodeOfReplica(NodeId(m.from())) != from) {
        continue;  // misaddressed, or claiming a sender on another node
      }
      replica::Replica* r = FindReplica(GroupId(m.group_id()));
      if (r != nullptr && r->id() != to) {
        // For an older replica of this group here: it was removed, the message is stale.
        if (to < r->id()) continue;
        // For a newer one: the group removed ours and added this node back, and a leader
        // replicates to the new replica. Ours missed its removal; it goes.
        if (m.type() != raftpb::MSG_APP && m.type() != raftpb::MSG_HEARTBEAT) continue;
        if (!ReplaceStaleReplica(r, to)) continue;
        r = nullptr;
      }
      if (r == nullptr) {
        MaybeCreateReplicaFor(m);
        r = FindReplica(GroupId(m.group_id()));
        if (r == nullptr) continue;
      }
      if (r->is_leader() && !replica::ConfContains(r->conf_state(), NodeId(m.from())) &&
          m.term() <= r->term().value()) {
        // A replica we removed is still talking (it missed its removal): tell it. With replica
        // ids this includes an old replica of a node that is a member again under a new id.
        SendRemovalNotice(r, NodeId(m.from()));
        continue;
      }
      if (!r->initialized()) {
        // An empty replica, created on a leader's message and waiting for its first snapshot.
        // It never votes: it knows no configuration, and its vote could elect a candidate
        // whose configuration is stale.
        // Placement promotes a learner only once it has acknowledged entries, so a real voter
        // is never empty. A heartbeat's commit is the leader's view of the old replica's
        // match; the empty log has none of it.
        if (m.type() == raftpb::MSG_VOTE || m.type() == raftpb::MSG_PRE_VOTE) continue;
        if (m.type() == raftpb::MSG_HEARTBEAT) m.set_commit(0);
      }
      if (m.type() == raftpb::MSG_TIMEOUT_NOW) {
        transfer_received_at_[GroupId(m.group_id())] = std::chrono::steady_clock::now();
      }
      r->Step(std::move(m));
    }
    ScheduleCycle();
  });
}

void Store::OnSnapshotChunk(NodeId from, transportpb::SnapshotChunk chunk) {
  boost::asio::post(loop_, [this, from, chunk = std::move(chunk)] {
    GroupId g(chunk.group_id());
    if (!ring_ || g.value() == 0 || g.value() > ring_->num_shards()) return;
    // Chunks from before replica ids carry no target: the node id.
    const NodeId to = chunk.to_replica() != 0 ? NodeId(chunk.to_replica()) : options_.node_id;
    if (NodeOfReplica(to) != options_.node_id) return;
    replica::Replica* r = FindReplica(g);
    if (r != nullptr && r->id() != to) {
      // As in OnRaftMessages: for an older replica, stale; for a newer one, ours goes.
      if (to < r->id() || !ReplaceStaleReplica(r, to)) return;
      r = nullptr;
    }
    if (r == nullptr || !r->initialized()) {
      // A snapshot that would (re)create this replica: if one was removed here before, only
      // a newer replica id, and a snapshot taken after the removal, may bring it back (it
      // holds the configuration that added this node again).
      if (TombstoneRefuses(g, to, Index(chunk.snapshot_index()))) return;
      storage::MetaStore meta(engine_);
      if (chunk.seq() == 0) {
        storage::WriteBatch b;
        meta.ClearTombstone(&b, g);
        if (!engine_->Write(b, true).ok()) return;
      }
      if (r == nullptr && chunk.seq() == 0) r = CreateReplica(g, nullptr, to);
    }
    if (r != nullptr) r->OnSnapshotChunk(from, chunk);
    ScheduleCycle();
  });
}

void Store::OnUnreachable(NodeId peer) {
  boost::asio::post(loop_, [this, peer] {
    for (auto& [g, r] : replicas_) r->ReportUnreachableNode(peer);
  });
}

void Store::SendRaft(raftpb::Message m) {
  // A full or unreachable peer queue drops the message; Raft retransmits.
  transport_->Send(std::move(m));
}

void Store::SendSnapshot(GroupId group, raftpb::Message msg) {
  const NodeId to(msg.to());  // the replica's Raft id
  const NodeId to_node = NodeOfReplica(to);
  Result<std::unique_ptr<storage::SnapshotSender>> created =
      storage::SnapshotSender::Create(engine_, group, options_.snapshot);
  if (!created.ok()) {
    LOG(WARNING) << "group " << group << ": cannot snapshot for node " << to_node << ": "
                 << created.status();
    if (auto* r = FindReplica(group)) r->ReportSnapshot(to, /*failure=*/true);
    return;
  }
  std::shared_ptr<storage::SnapshotSender> sender = std::move(created).value();
  *msg.mutable_snapshot()->mutable_metadata() = sender->metadata();
  LOG(INFO) << "group " << group << ": streaming snapshot at index " << sender->metadata().index()
            << " to node " << to_node
            << (ReplicaEpoch(to) != 0 ? " (replica " + ReplicaIdString(to) + ")" : "");
  snapshot_worker_.Post([this, group, to, to_node, sender, msg = std::move(msg)] {
    bool failed = false;
    while (!sender->done() && running_) {
      Result<storagepb::SnapshotChunk> sc = sender->NextChunk();
      if (!sc.ok()) {
        LOG(WARNING) << "group " << group << ": snapshot read failed: " << sc.status();
        failed = true;
        break;
      }
      transportpb::SnapshotChunk chunk;
      chunk.set_group_id(group.value());
      chunk.set_snapshot_index(sender->metadata().index());
      chunk.set_snapshot_term(sender->metadata().term());
      chunk.set_seq(sc->seq());
      chunk.set_last(sc->last());
      chunk.set_data(sc->SerializeAsString());
      chunk.set_crc(crc32c::Value(chunk.data()));
      chunk.set_to_replica(to.value());
      if (sc->last()) *chunk.mutable_message() = msg;
      if (!transport_->SendSnapshotChunk(to_node, std::move(chunk))) {
        failed = true;
        break;
      }
    }
    boost::asio::post(loop_, [this, group, to, failed] {
      if (auto* r = FindReplica(group)) r->ReportSnapshot(to, failed);
      ScheduleCycle();
    });
  });
}

void Store::HandleRequest(kvpb::Request req, ResponseCallback reply,
                          std::chrono::steady_clock::time_point received) {
  boost::asio::post(loop_, [this, req = std::move(req), reply = std::move(reply),
                            received]() mutable {
    Dispatch(req, std::move(reply), received);
    ScheduleCycle();
  });
}

void Store::Dispatch(const kvpb::Request& req, ResponseCallback reply,
                     std::chrono::steady_clock::time_point received) {
  uint64_t request_id = req.request_id();
  NodeId self = options_.node_id;
  if (req.has_status()) {
    kvpb::Response resp;
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    *resp.mutable_status() = GetNodeStatus(req.status().with_digests());
    reply(std::move(resp));
    return;
  }
  if (req.has_admin() && req.admin().op_case() == kvpb::AdminRequest::kDecommission) {
    kvpb::Response resp;
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    if (on_decommission_request_) {
      on_decommission_request_();
      resp.mutable_admin()->set_message("node " + std::to_string(self.value()) +
                                        " is decommissioning: its replicas move away, then it leaves");
    } else {
      resp.mutable_error()->set_code(kvpb::UNAVAILABLE);
      resp.mutable_error()->set_definite(true);
      resp.mutable_error()->set_message("decommissioning needs gossip membership (--join)");
    }
    reply(std::move(resp));
    return;
  }
  const auto timeout = req.timeout_ms() != 0 ? std::chrono::milliseconds(req.timeout_ms())
                                             : options_.default_request_timeout;
  const auto deadline = received + timeout;
  const auto now = replica::Clock::now();
  if (now >= deadline && !req.has_admin()) {
    // Its client has given up on this attempt: executing it now would be work for nobody
    // (under overload, such work is what starves the requests that can still succeed).
    kvpb::Response resp =
        Error(kvpb::BUSY, true,
              "too many requests: waited " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     now - received)
                                     .count()) +
                  " ms in node " + std::to_string(self.value()) +
                  "'s queue, past its deadline; not executed");
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    reply(std::move(resp));
    return;
  }
  kvpb::Response route_error;
  std::optional<GroupId> routed = RouteKey(req, &route_error);
  if (!routed) {
    route_error.set_request_id(request_id);
    route_error.set_served_by(self.value());
    reply(std::move(route_error));
    return;
  }
  GroupId group = *routed;
  replica::Replica* r = FindReplica(group);
  auto wrapped = [this, request_id, self, group, reply = std::move(reply)](kvpb::Response resp) {
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    resp.set_group_id(group.value());
    if (resp.has_error() && resp.error().leader_hint() != 0) {
      auto it = client_addresses_.find(NodeId(resp.error().leader_hint()));
      if (it != client_addresses_.end()) resp.mutable_error()->set_leader_address(it->second);
    }
    reply(std::move(resp));
  };
  if (req.has_backup_read()) {
    backup_cursors_->Handle(req, r, deadline, std::move(wrapped));
    return;
  }
  if (r == nullptr) {
    wrapped(Error(kvpb::WRONG_SHARD, true,
                  "node " + std::to_string(self.value()) + " has no replica of group " +
                      std::to_string(group.value())));
    return;
  }
  if (req.has_admin()) {
    HandleAdmin(req, r, std::move(wrapped));
    return;
  }
  r->HandleRequest(req, std::move(wrapped), deadline);
}

std::optional<GroupId> Store::RouteKey(const kvpb::Request& req, kvpb::Response* error) {
  auto fail = [&](kvpb::ErrorCode code, const std::string& msg) {
    error->mutable_error()->set_code(code);
    error->mutable_error()->set_definite(true);
    error->mutable_error()->set_message(msg);
    return std::nullopt;
  };
  GroupId group(req.group_id());
  const std::string* key = kvpb::RequestKey(req);
  if (!ring_) return fail(kvpb::UNAVAILABLE, "this node has no ring configuration yet");
  if (req.has_txn()) return RouteTxn(req, error);
  if (uint64_t lease = kvpb::RequestLease(req); lease != 0) {
    GroupId owner(kvpb::LeaseShardOf(lease));
    if (owner.value() == 0 || owner.value() > ring_->num_shards() ||
        (group.value() != 0 && group != owner)) {
      return fail(kvpb::NOT_FOUND, "lease " + std::to_string(lease) + " names no shard " +
                                       "of this cluster (or not shard " +
                                       std::to_string(group.value()) + ")");
    }
    return owner;
  }
  if (key != nullptr) {
    GroupId owner = ring_->ShardForKey(*key);
    if (group.value() != 0 && group != owner) {
      // The client's ring disagrees with ours: it must refresh, never write to the wrong shard.
      return fail(kvpb::WRONG_SHARD, "key belongs to shard " + std::to_string(owner.value()) +
                                         ", not " + std::to_string(group.value()));
    }
    return owner;
  }
  if (group.value() == 0) {
    if (ring_->num_shards() == 1) return GroupId(1);
    return fail(kvpb::INVALID_ARGUMENT,
                "this request needs a group_id (scans and admin requests are per shard)");
  }
  return group;
}

void Store::SetMembership(std::vector<MemberView> members) {
  boost::asio::post(loop_, [this, members = std::move(members)]() mutable {
    members_.clear();
    for (MemberView& m : members) {
      if (!m.client_addr.empty()) client_addresses_[m.id] = m.client_addr;
      members_[m.id] = std::move(m);
    }
  });
}

void Store::SetDecommissioning(std::function<void()> on_drained) {
  boost::asio::post(loop_, [this, on_drained = std::move(on_drained)]() mutable {
    if (!decommissioning_) LOG(INFO) << "node " << options_.node_id << " is decommissioning";
    decommissioning_ = true;
    on_drained_ = std::move(on_drained);
  });
}

std::vector<NodeId> Store::LiveNodes(std::chrono::steady_clock::time_point now) {
  std::set<NodeId> live;
  std::set<NodeId> local_members;
  for (auto& [g, r] : replicas_) {
    const raftpb::ConfState& cs = r->conf_state();
    for (auto* set : {&cs.voters(), &cs.learners()}) {
      for (uint64_t id : *set) local_members.insert(NodeOfReplica(NodeId(id)));
    }
  }
  for (const auto& [id, m] : members_) {
    if (m.state == MemberView::State::kLeft || m.decommissioning) {
      alive_since_.erase(id);
      continue;
    }
    if (m.state == MemberView::State::kAlive || m.state == MemberView::State::kSuspect) {
      dead_since_.erase(id);
      auto since = alive_since_.try_emplace(id, now).first->second;
      // Current members count at once; newcomers only once stable (no churn from flapping).
      if (local_members.count(id) > 0 || now - since >= options_.stability_delay) live.insert(id);
    } else {
      alive_since_.erase(id);
      auto since = dead_since_.try_emplace(id, now).first->second;
      if (now - since < options_.dead_node_timeout) live.insert(id);
    }
  }
  // A member gossip has not told us about is not known to be dead.
  for (NodeId id : local_members) {
    if (members_.count(id) == 0) live.insert(id);
  }
  if (decommissioning_) {
    live.erase(options_.node_id);
  } else {
    live.insert(options_.node_id);
  }
  return std::vector<NodeId>(live.begin(), live.end());
}

void Store::OnPlacementTick() {
  if (!running_) return;
  auto now = std::chrono::steady_clock::now();
  if (ring_ && !members_.empty() && now - started_at_ >= options_.stability_delay) {
    std::vector<NodeId> live = LiveNodes(now);
    Result<ring::ShardMap> map = ring::ShardMap::Compute(options_.ring, live);
    for (auto it = transfer_received_at_.begin(); it != transfer_received_at_.end();) {
      it = now - it->second >= options_.transferred_leader_hold ? transfer_received_at_.erase(it)
                                                                : std::next(it);
    }
    if (map.ok()) {
      for (auto& [g, r] : replicas_) {
        if (!r->is_leader()) continue;
        // A leadership transferred here (by an operator, or by this balancer) stays a while.
        const bool hold_leader = transfer_received_at_.count(g) > 0;
        raft::RaftStatus st = r->GetStatus();
        // Placement speaks of nodes; the configuration holds replica ids.
        GroupView v;
        v.self = options_.node_id;
        v.conf = replica::ConfByNode(st.conf_state);
        v.last_index = st.last_index;
        for (const auto& [id, pr] : st.progress) v.match[NodeOfReplica(id)] = pr.match;
        PlacementStep step = NextPlacementStep(v, map->Replicas(g), options_.ring.replication_factor,
                                               options_.catch_up_lag,
                                               /*balance_leaders=*/!hold_leader);
        if (step.kind == PlacementStep::Kind::kNone) continue;
        // A node added gets a new replica id: its epoch is the leader's next log index, above
        // any earlier replica of that node in this group (which was removed before, at a lower
        // index). Other steps name the node's current replica.
        std::optional<NodeId> raft_id =
            step.kind == PlacementStep::Kind::kAddLearner
                ? std::optional<NodeId>(MakeReplicaId(step.node, st.last_index.value() + 1))
                : replica::ReplicaOnNode(st.conf_state, step.node);
        if (!raft_id) continue;
        if (step.kind == PlacementStep::Kind::kTransferLeader) {
          VLOG(1) << "group " << g << ": placement: " << step.ToString();
          r->TransferLeader(*raft_id);
          continue;
        }
        raftpb::ConfChange cc;
        raftpb::ConfChangeSingle* c = cc.add_changes();
        c->set_node_id(raft_id->value());
        c->set_type(step.kind == PlacementStep::Kind::kAddLearner ? raftpb::CONF_ADD_LEARNER_NODE
                    : step.kind == PlacementStep::Kind::kPromote  ? raftpb::CONF_ADD_NODE
                                                                  : raftpb::CONF_REMOVE_NODE);
        ringkv::Status s = r->ProposeConfChange(cc);
        if (s.ok()) {
          LOG(INFO) << "group " << g << ": placement: " << step.ToString() << " (replica "
                    << ReplicaIdString(*raft_id) << ")";
        } else {
          VLOG(1) << "group " << g << ": placement step " << step.ToString() << " deferred: " << s;
        }
      }
    }
  }
  if (decommissioning_ && replicas_.empty() && on_drained_) {
    LOG(INFO) << "node " << options_.node_id << " holds no replicas: decommission complete";
    auto f = std::move(on_drained_);
    on_drained_ = nullptr;
    f();
  }
  ScheduleCycle();
  placement_timer_->expires_after(options_.placement_interval);
  placement_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) OnPlacementTick();
  });
}

void Store::HandleAdmin(const kvpb::Request& req, replica::Replica* r, ResponseCallback reply) {
  kvpb::Response resp;
  const kvpb::AdminRequest& a = req.admin();
  if (a.op_case() == kvpb::AdminRequest::kTransferLeaderTo) {
    std::optional<NodeId> to =
        replica::ReplicaOnNode(r->conf_state(), NodeId(a.transfer_leader_to()));
    if (!to) {
      reply(Error(kvpb::INVALID_ARGUMENT, true,
                  "node " + std::to_string(a.transfer_leader_to()) + " holds no replica of group " +
                      std::to_string(r->group().value())));
      return;
    }
    r->TransferLeader(*to);
    resp.mutable_admin()->set_message("leadership transfer of group " +
                                      std::to_string(r->group().value()) + " to node " +
                                      std::to_string(a.transfer_leader_to()) + " requested");
  } else if (a.op_case() == kvpb::AdminRequest::kSnapshot) {
    if (write_in_flight_) {
      // The turn's writes may compact this group's log too: compact after they land.
      after_turn_.push_back([this, req, g = r->group(), reply = std::move(reply)]() mutable {
        if (replica::Replica* now = FindReplica(g)) {
          HandleAdmin(req, now, std::move(reply));
        } else {
          reply(Error(kvpb::UNAVAILABLE, true,
                      "group " + std::to_string(g.value()) + " left this node"));
        }
      });
      return;
    }
    ringkv::Status s = r->CompactNow();
    if (!s.ok()) {
      resp = Error(kvpb::INTERNAL, true, s.ToString());
    } else {
      resp.mutable_admin()->set_message("group " + std::to_string(r->group().value()) +
                                        ": log compacted to the applied index");
    }
  } else {
    resp = Error(kvpb::INVALID_ARGUMENT, true, "unknown admin operation");
  }
  reply(std::move(resp));
}

kvpb::NodeStatus Store::GetNodeStatus(bool with_digests) {
  auto fill = [this, with_digests] {
    kvpb::NodeStatus st;
    st.set_node_id(options_.node_id.value());
    auto it = client_addresses_.find(options_.node_id);
    if (it != client_addresses_.end()) st.set_client_address(it->second);
    st.set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started_at_)
                         .count());
    for (auto& [g, r] : replicas_) {
      kvpb::GroupStatus* gs = st.add_groups();
      *gs = r->GroupStatusProto();
      if (!with_digests) continue;
      Result<storage::StateDigest> d = r->Digest();
      if (!d.ok()) {
        LOG(WARNING) << "group " << g << ": state digest failed: " << d.status();
        continue;
      }
      gs->set_has_digest(true);
      gs->set_digest(d->hash);
      gs->set_digest_applied(d->applied.applied_index.value());
    }
    if (ring_) st.set_ring_config(options_.ring.Encode());
    st.set_raft_log_node_max_bytes(options_.raft_log_node_max_bytes);
    st.set_decommissioning(decommissioning_);
    if (members_.empty()) {
      for (auto& [id, addr] : client_addresses_) {
        st.add_member_ids(id.value());
        st.add_member_client_addresses(addr);
        st.add_member_states("static");
        st.add_member_decommissioning(false);
      }
    } else {
      for (auto& [id, m] : members_) {
        st.add_member_ids(id.value());
        st.add_member_client_addresses(m.client_addr);
        st.add_member_states(MemberStateName(m.state));
        st.add_member_decommissioning(m.decommissioning);
      }
    }
    return st;
  };
  if (loop_thread_.get_id() == std::this_thread::get_id() || !running_) return fill();
  std::promise<kvpb::NodeStatus> p;
  auto f = p.get_future();
  boost::asio::post(loop_, [&] { p.set_value(fill()); });
  return f.get();
}

bool Store::AllGroupsHaveLeader() {
  kvpb::NodeStatus st = GetNodeStatus();
  for (const auto& g : st.groups()) {
    if (g.leader() == 0) return false;
  }
  return st.groups_size() > 0;
}

}  // namespace ringkv::store
