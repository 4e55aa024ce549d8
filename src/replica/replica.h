// Replica: one Raft group on one node — the Raft core, its persistent log, its state machine,
// and the client requests waiting on it. Owned and driven by store::Store on the store loop
// thread; it never blocks on I/O except snapshot install (and the apply write when the caller
// asks FinishReady to make it).
//
// The store runs the Ready pipeline across all its replicas (group commit):
//   CollectReady(batch)  -> GetReady; messages go out at once; entries, hard state and a log
//                           compaction are added to the node-wide batch (a snapshot is
//                           installed first)
//   (store syncs the batch once for all replicas)
//   FinishReady(kLeaveToCaller)
//                        -> after-persist messages out, committed entries applied in memory
//                           into one batch with the apply state
//   TakeApplyBatch()     -> the store writes it unlogged (engine.h) off the loop thread (one
//                           worker, in order)
//   ApplyWritten(ticket) -> watchers told, clients answered, Advance, ready reads served
// An apply write skips RocksDB's write-ahead log: a crash before a flush of the data CF loses
// it, and the node replays the entries from the Raft log. So the log is compacted only up to
// the durable applied index (DurableApplied: the newest apply whose write's ticket a flush
// covered), never the in-memory one.
// Between FinishReady and ApplyWritten the replica takes no Ready, compacts nothing and is not
// removed (the state it applied is not on disk yet), but its heartbeats still go out (Tick),
// so a slow apply write never costs the group its leader.
//
// Requests: writes (including transactions and lease grants/revokes) are proposed with the
// client's session and answered when applied here; linearizable reads (and lease keep-alives
// and time-to-live queries, which must know they ask the current leader) share one ReadIndex
// round per loop turn and are served once the applied index reaches the read index;
// serializable reads are served from local state at once. A backup read
// (kvpb.BackupReadRequest) is such a linearizable read that returns nothing: an empty OK answer
// is the barrier after which the caller reads the group's state itself. Watches are served by
// the leader (watch_hub.h) and end when it loses leadership; leases expire by the leader's
// clock (lease_table.h).
//
// Thread-safety: not thread-safe; store loop thread only.
#ifndef RINGKV_REPLICA_REPLICA_H_
#define RINGKV_REPLICA_REPLICA_H_

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "proto/kv.pb.h"
#include "proto/raft.pb.h"
#include "proto/transport.pb.h"
#include "raft/logger.h"
#include "raft/raw_node.h"
#include "replica/lease_table.h"
#include "replica/log_adapter.h"
#include "replica/proposal_table.h"
#include "replica/read_queue.h"
#include "replica/replica_observer.h"
#include "replica/replies.h"
#include "replica/snapshot_receipt.h"
#include "replica/watch_hub.h"
#include "storage/change_history.h"
#include "storage/engine.h"
#include "storage/kv_state.h"
#include "storage/raft_log_store.h"
#include "storage/snapshot.h"

namespace ringkv::replica {

// Whether Raft id `id` is a member (voter of either half, or learner) of the configuration.
inline bool ConfContains(const raftpb::ConfState& cs, NodeId id) {
  for (auto* set : {&cs.voters(), &cs.learners(), &cs.voters_outgoing()}) {
    for (uint64_t m : *set) {
      if (m == id.value()) return true;
    }
  }
  return false;
}

// The Raft id of `node`'s replica in the configuration (any role), nullopt if it has none.
// Placement never gives one node two replicas of a group, so the answer is unique.
std::optional<NodeId> ReplicaOnNode(const raftpb::ConfState& cs, NodeId node);
// The configuration with every Raft id replaced by its node id (NodeOfReplica): what status
// and placement, which speak of nodes, see.
raftpb::ConfState ConfByNode(const raftpb::ConfState& cs);

// Bug points (common/failpoint.h): known bugs that tests and kvd_buggy (--test_inject_bug)
// re-inject, so the node simulation and the Jepsen teeth prove they catch them. Never armed in
// production (kvd has no way to). applier.h declares those of the session rules.
// Serve linearizable reads locally on any replica, leader or follower, without ReadIndex.
inline constexpr std::string_view kBugStaleReads = "bug.replica.stale_reads";
// A follower serves a linearizable read from its own state instead of answering NOT_LEADER
// (the leader still confirms its leadership with ReadIndex).
inline constexpr std::string_view kBugFollowerReads = "bug.replica.follower_reads";
// Answer a write as soon as it is proposed, before it commits.
inline constexpr std::string_view kBugAckBeforeCommit = "bug.replica.ack_before_commit";
// Answer a write when it commits, before the leader applies it: the answer is the one the
// write would get if it took effect (so a CAS that fails when applied is reported as
// succeeded), and it leaves at once instead of after the apply write.
inline constexpr std::string_view kBugAckBeforeApply = "bug.replica.ack_before_apply";
// Ignore the session table: a retried write applies twice.
inline constexpr std::string_view kBugForgetSessions = "bug.replica.forget_sessions";

struct ReplicaOptions {
  GroupId group;
  // This replica's Raft id (common/ids.h: the node id, with an epoch for a replica added after
  // bootstrap).
  NodeId self;
  // Raft timing in ticks of the store's tick (default 10 ms): election 150-300 ms, heartbeat 50 ms.
  int election_tick = 15;
  int heartbeat_tick = 5;
  bool pre_vote = true;
  bool check_quorum = true;
  // Quiescence (raft::Config::quiesce): an idle group stops ticking. Its failure detection
  // comes from the node's liveness view (ReplicaEnv::NodeLive); the store turns it on only with
  // one (kvd: gossip; --quiesce). Default: off.
  bool quiesce = false;
  // Coalesced heartbeats (raft::Config::driver_heartbeats): this leader's periodic heartbeats
  // go when the store says (Tick(true)), at the same tick for every group of the node, so all
  // leave in one turn and one frame per peer. Default: off (each group on its own phase).
  bool coalesced_heartbeats = false;
  // Lease reads (raft::ReadOnlyOption::kLeaseBased, Raft thesis 6.4.1): a leader that heard
  // from a quorum within half an election timeout serves a linearizable read without a
  // heartbeat round. Assumes bounded clock drift between the nodes' tick clocks, as TiKV's
  // and CockroachDB's leases do. Default: off (every read confirms leadership, as etcd).
  bool lease_reads = false;
  uint64_t seed = 0;
  // Limits: larger keys/values are refused with INVALID_ARGUMENT. Defaults: 4 KiB, 1 MiB.
  size_t max_key_bytes = 4096;
  size_t max_value_bytes = 1 << 20;
  // Writes waiting to be applied; beyond it new writes get BUSY. Default: 10000.
  size_t max_pending_proposals = 10000;
  // Largest scan answer. Default: 10000 keys.
  size_t max_scan_limit = 10000;
  // Memory per group. A node hosts one replica per shard it serves, so these add up: the store
  // sizes them from node-wide budgets (issue #10).
  // Newest log entries kept in memory for appends and term lookups, in bytes. Default: 32 MiB
  // (kvd: --raft_entry_cache_bytes divided among the shards).
  size_t entry_cache_bytes = size_t{32} << 20;
  // Raft flow control (raft::Config). The store's loop persists and applies what every group's
  // Ready holds in one turn, and a long turn delays every group's heartbeats (under 64 KiB
  // writes, 0.6-s turns cost leaderships): these bound a turn's work.
  // Largest AppendEntries (one entry may exceed it) and bytes of AppendEntries in flight to one
  // follower. Defaults: 256 KiB, 1 MiB.
  uint64_t max_size_per_msg = uint64_t{256} << 10;
  uint64_t max_inflight_bytes = uint64_t{1} << 20;
  // Committed entries handed to one Ready, i.e. applied in one loop turn (one entry may exceed
  // it). Default: 4 MiB (kvd: --raft_max_apply_bytes divided among the shards).
  uint64_t max_committed_size_per_ready = uint64_t{4} << 20;
  // Most compares, and most operations per branch, of a transaction. Default: 128.
  size_t max_txn_ops = 128;
  // Length of the store's tick (the Raft clock), to turn ticks into time. Default: 10 ms.
  std::chrono::milliseconds tick{10};
  // Leases: shortest and longest TTL granted. Defaults: 1 s and 1 day... the shortest must exceed
  // an election timeout, or a lease could expire while its keep-alives wait for a new leader.
  std::chrono::milliseconds min_lease_ttl{1000};
  std::chrono::milliseconds max_lease_ttl{24 * 3600 * 1000};
  // The change history watches are served from (storage/change_history.h).
  storage::ChangeHistoryOptions history;
  // Watches (replica/watch_hub.h).
  WatchOptions watch;
  // Compact the log when more than this many applied entries are kept, keeping the newest
  // `compact_keep` for slow followers, and never past the durable applied index (an apply
  // write waits in the data CF's memtable for a flush; see the file comment). Defaults: 20000
  // and 5000.
  uint64_t compact_threshold = 20000;
  uint64_t compact_keep = 5000;
  // Also compact when the applied entries kept in the log exceed this many bytes (TiKV's
  // raft-log-gc-size-limit), keeping at most half of it: with large values the entry count
  // alone let one group hold over a gigabyte of log. Serialized entry bytes, exact
  // (storage::RaftLogStore::LogBytes). 0 = no byte limit. Default: 32 MiB. Over either limit,
  // with entries whose apply is not durable yet in the way, the replica asks the engine for a
  // flush.
  uint64_t compact_log_bytes = uint64_t{32} << 20;
  storage::KvStateOptions kv;
  // An apply write that failed because the disk is full is retried this often (see
  // Replica::RetryStalledApply). Default: 500 ms.
  std::chrono::milliseconds apply_retry_interval{500};
  // Tests only (the node simulation's invariant checks); not owned. Null in kvd.
  ReplicaObserver* observer = nullptr;
};

// What a replica needs from its node.
class ReplicaEnv {
 public:
  virtual ~ReplicaEnv() = default;
  // Sends a Raft message (group_id already set).
  virtual void SendRaft(raftpb::Message m) = 0;
  // Streams this group's state to `msg.to()` as snapshot chunks, the last carrying `msg`.
  virtual void SendSnapshot(GroupId group, raftpb::Message msg) = 0;
  virtual raft::Logger* raft_logger() = 0;
  // The node's clock (leases, deadlines, retries): the store's, virtual in a simulation.
  virtual Clock::time_point Now() const = 0;
  // Installing a snapshot blocks the node's loop (synced writes, SST ingestion); the node
  // allows one at a time so heartbeats of its other groups keep flowing. True = go ahead;
  // the replica must call ReleaseSnapshotInstall when done.
  virtual bool TryReserveSnapshotInstall() = 0;
  virtual void ReleaseSnapshotInstall() = 0;
  // The node's failure detector (gossip's view in kvd): whether `node` is up. A quiescent
  // group's only way to learn that its leader died.
  virtual bool NodeLive(NodeId node) const { return true; }
  // Whether NodeLive has a source yet (the store has a membership view): no leader quiesces
  // before, since nothing would wake its followers if it then died.
  virtual bool LivenessKnown() const { return false; }
  // The log's compaction is held back by apply writes no flush covered yet (engine.h): start
  // a flush of the data CF. The store does it on its storage worker, off the loop (a flush
  // request switches memtables, waiting for the write in progress). Default: at once.
  virtual void RequestApplyFlush(storage::Engine* engine) {
    Status s = engine->FlushUnlogged(/*wait=*/false);
    (void)s;  // a failure (a full disk) surfaces at the next write
  }
};

class Replica {
 public:
  // Opens (or bootstraps with `bootstrap_conf` when the group has no membership yet) the
  // group's replica. Corruption if the stored state is damaged: the group is not served.
  static Result<std::unique_ptr<Replica>> Open(storage::Engine* engine, ReplicaOptions options,
                                               ReplicaEnv* env,
                                               const raftpb::ConfState* bootstrap_conf);
  ~Replica();

  GroupId group() const { return options_.group; }
  // This replica's Raft id.
  NodeId id() const { return options_.self; }

  // Client requests. `deadline` bounds how long the request may wait here.
  // Takes the request by value: a write's operation (a put's value) moves into the command.
  void HandleRequest(kvpb::Request req, Reply reply, Clock::time_point deadline);
  // Opens the watch `req` (REQUIRES: req.has_watch()) on `stream`; only the leader serves
  // watches (others answer NOT_LEADER / NO_LEADER on the stream and end it).
  void HandleWatch(const kvpb::Request& req, std::shared_ptr<WatchStream> stream);
  void CancelWatch(uint64_t connection_id, uint64_t request_id) {
    watch_hub_.Cancel(connection_id, request_id);
  }
  void CancelConnectionWatches(uint64_t connection_id) {
    watch_hub_.CancelConnection(connection_id);
  }
  // Ends every watch (the replica is going away).
  void EndWatches();

  // Raft input.
  // A peer's Raft message. A MsgSnap is dropped: snapshots come only as chunk streams.
  void Step(raftpb::Message m);
  // `heartbeat_due`: the store's heartbeat moment (ReplicaOptions::coalesced_heartbeats).
  void Tick(bool heartbeat_due = false);
  // Quiescence. quiesced(): the group sleeps here. NeedsTicks(): the store must keep calling
  // Tick and ExpireRequests (the group is awake, or requests or an apply wait here).
  // LivenessChanged(): ReplicaEnv::NodeLive's answers changed (may wake the group).
  bool quiesced() const { return raw_->quiesced(); }
  bool NeedsTicks() const;
  void LivenessChanged() { raw_->LivenessChanged(); }
  // For a replica reopened from disk at the node's start: with quiescence and PreVote, starts
  // a pre-vote at once, which wakes the group's sleeping replicas (any message but the
  // quiesce heartbeat does). Its peers may be asleep under a leader that was this replica:
  // a restart faster than gossip's suspicion timeout is never reported to them, and they
  // would otherwise sleep until this replica's election timer ran out, which a node that
  // restarts and crashes again within 150-300 ms never lets happen (node sim seed 39342: two
  // such restarts, 1,200 ms leaderless). Harmless to a live leader: its followers, in its
  // lease, ignore the pre-vote, and it heartbeats once woken. Without quiescence nobody
  // sleeps; without PreVote a campaign would raise the term and depose a live leader.
  void CampaignAfterRestart();
  // A chunk of a snapshot stream. When the stream is complete and its MsgSnap describes the
  // received data, the MsgSnap is stepped into Raft (once the node's install slot is free);
  // a bad, stale or mismatched stream is discarded, never fatal: the leader sends again.
  void OnSnapshotChunk(NodeId from, const transportpb::SnapshotChunk& chunk);
  void ReportSnapshot(NodeId to, bool failure) { raw_->ReportSnapshot(to, failure); }
  // `node` (a node, not a Raft id) cannot be reached: the leader stops streaming to its replica.
  void ReportUnreachableNode(NodeId node);
  void TransferLeader(NodeId to) { raw_->TransferLeader(to); }
  // Compacts the log up to the applied index now (admin), forcing snapshots for laggards.
  Status CompactNow();
  // The node's log budget (store/log_budget.h): compacts applied entries into `batch`, keeping
  // the newest that fit in `keep_bytes` (and at most compact_keep of them). Returns whether it
  // compacted anything. Errors: storage reads of the log.
  Result<bool> CompactLogKeeping(storage::WriteBatch* batch, uint64_t keep_bytes);
  // Serialized bytes of the entries in the log, and of those of them applied with a durable
  // apply write (the part compaction may remove).
  uint64_t log_bytes() const { return log_.LogBytes(); }
  uint64_t applied_log_bytes() const { return log_.BytesThrough(DurableApplied()); }
  // Bytes of the entries applied but not durable yet (a flush would let compaction take them).
  uint64_t undurable_log_bytes() const {
    return log_.BytesThrough(kv_.applied().applied_index) - applied_log_bytes();
  }
  // Answers requests whose deadline passed.
  void ExpireRequests(Clock::time_point now);
  // A full disk during apply. The apply write of FinishReady that fails with ResourceExhausted
  // (ENOSPC) does not stop the node: the replica keeps the batch (its in-memory state already
  // includes it) and the answers, takes no new Ready, and this call (each tick) writes the
  // batch again every apply_retry_interval, after clearing RocksDB's background error, until it
  // lands; then the answers go out and the Ready pipeline resumes. Meanwhile heartbeats and
  // their responses still go out (Tick flushes them) and serializable reads are served from
  // what was applied before. Errors other than a full disk are returned (the store stops the
  // node, as for any failed apply).
  Status RetryStalledApply(Clock::time_point now);
  bool apply_stalled() const { return pending_apply_ && !pending_apply_->in_flight; }

  // The Ready pipeline (see the file comment). CollectReady returns false when there was
  // nothing to do. Errors are storage failures: the store stops the node (fail-stop).
  bool HasReady() const;
  // Sends, at once, messages that need no persistence (heartbeats and their responses, the
  // leader's appends) while the last Ready is still being persisted.
  void FlushMessages();
  Result<bool> CollectReady(storage::WriteBatch* batch, bool* sync);
  // kWriteNow: FinishReady writes the apply batch itself (on the calling thread) and completes
  // the Ready. kLeaveToCaller: when there is an apply batch, apply_to_write() is true afterwards
  // and the caller takes it (TakeApplyBatch), writes it unsynced, and reports with ApplyWritten;
  // the Ready completes then.
  enum class ApplyWrite { kWriteNow, kLeaveToCaller };
  Status FinishReady(ApplyWrite mode = ApplyWrite::kWriteNow);
  bool apply_to_write() const { return pending_apply_ && pending_apply_->in_flight; }
  // REQUIRES: apply_to_write(). The batch moves out; ApplyWritten gives it back.
  storage::WriteBatch TakeApplyBatch();
  // The outcome of writing the batch TakeApplyBatch returned. OK completes the Ready; a full
  // disk (ResourceExhausted) keeps the batch for RetryStalledApply; other errors are returned
  // (fail-stop, as for any failed apply). `written` holds the write's ticket (engine.h).
  Status ApplyWritten(Result<uint64_t> written, storage::WriteBatch batch);
  // The newest applied index whose apply write is durable (a flush covered its ticket): what
  // the log may be compacted up to. Loop thread.
  Index DurableApplied() const;

  raft::RaftStatus GetStatus() const { return raw_->GetStatus(); }
  // The leader's Raft id (kNoNode when unknown).
  NodeId lead() const { return raw_->lead(); }
  Term term() const { return raw_->term(); }
  bool is_leader() const { return raw_->role() == raft::StateRole::kLeader; }
  Index applied() const { return raw_->applied(); }
  const raftpb::ConfState& conf_state() const { return log_.conf_state(); }
  // False for a replica created empty on a leader's message, until its first snapshot gives it
  // a configuration.
  bool initialized() const {
    return conf_state().voters_size() > 0 || conf_state().learners_size() > 0;
  }
  // Set once this replica applied a conf change that removed it (or, after a restart, found
  // itself outside its applied configuration: then the applied index): the store then deletes
  // it and leaves a tombstone, once the group's leader says it may (ReplicaSet).
  // Not while its apply write waits for disk space (the removal is not on disk yet).
  std::optional<Index> removed_at() const {
    return pending_apply_ ? std::nullopt : removed_at_;
  }
  // Leader only: whether a quorum of the configuration knows the log is committed up to `at`
  // (Raft::QuorumKnownCommit). When not, wakes a quiesced leader so that fresh heartbeat
  // answers can tell.
  bool QuorumKnowsCommitted(Index at) {
    if (raw_->QuorumKnownCommit() >= at) return true;
    raw_->Wake();
    return false;
  }
  // Raft::pending_conf_index (leader).
  Index pending_conf_index() const { return raw_->pending_conf_index(); }
  // Proposes a membership change; errors as RawNode::ProposeConfChange.
  Status ProposeConfChange(const raftpb::ConfChange& cc) {
    return raw_->ProposeConfChange(cc).status();
  }
  // Status for clients and operators: members and leader as node ids.
  kvpb::GroupStatus GroupStatusProto() const;
  Result<storage::StateDigest> Digest() const { return kv_.Digest(); }

 private:
  Replica(storage::Engine* engine, ReplicaOptions options, ReplicaEnv* env);

  void HandleWrite(kvpb::Request req, Reply reply, Clock::time_point deadline);
  // Whether this replica has work of its own in flight that ticks drive (requests, an apply,
  // a snapshot, leases, watches): then the leader does not quiesce.
  bool HasTickedWork() const;
  // OK, or why a peer's message breaks a guarantee of a correct leader (then it is dropped).
  Status CheckPeerMessage(const raftpb::Message& m) const;
  // Lease keep-alive / time-to-live, once a ReadIndex confirmed leadership (replica_lease.cc).
  kvpb::Response ServeLeaseRead(const kvpb::Request& req);
  // Leader: proposes revokes of expired leases (replica_lease.cc).
  void ExpireLeases(Clock::time_point now);
  // Leadership changed (from CollectReady's soft state).
  void OnLeadershipChange(bool leader);
  void MaybeStepPendingSnapshot();
  void ServeRead(const PendingRead& r);
  void IssueReadIndex();
  void ServeReadyReads();
  void FailReadsNotLeader();
  Status ApplyEntries(const std::vector<raftpb::Entry>& entries);
  Status InstallSnapshot(const raftpb::Snapshot& snap, const raftpb::HardState& hs);
  void ReleaseInstallSlot();
  Status MaybeCompact(storage::WriteBatch* batch);
  kvpb::Response NotLeaderResponse() const;
  std::optional<kvpb::Response> ValidateWrite(const kvpb::Request& req) const;
  // INVALID_ARGUMENT when `lease` (0 = none) lives on another shard.
  std::optional<kvpb::Response> ValidateLeaseShard(uint64_t lease) const;
  // Loads what is kept beside the key-value state: leases and the change history.
  Status LoadDerivedState();
  // How much a new leader extends every lease: one (maximum) election timeout.
  std::chrono::milliseconds LeaseExtension() const {
    return 2 * options_.election_tick * options_.tick;
  }

  storage::Engine* const engine_;
  const ReplicaOptions options_;
  ReplicaEnv* const env_;
  storage::RaftLogStore log_;
  storage::KvState kv_;
  storage::ChangeHistory history_;
  LeaseTable leases_;
  WatchHub watch_hub_;
  LogAdapter adapter_;
  // Prefixes "group G: " to the Raft core's lines; must outlive raw_ (declared before it).
  class GroupLogger final : public raft::Logger {
   public:
    GroupLogger(raft::Logger* inner, GroupId group)
        : inner_(inner), prefix_("group " + std::to_string(group.value()) + ": ") {}
    void Log(raft::LogLevel level, std::string_view msg) override {
      if (inner_ != nullptr) inner_->Log(level, prefix_ + std::string(msg));
    }

   private:
    raft::Logger* const inner_;
    const std::string prefix_;
  };
  std::unique_ptr<GroupLogger> group_logger_;
  std::unique_ptr<raft::RawNode> raw_;

  // The Ready between CollectReady and FinishReady.
  std::optional<raft::Ready> ready_;
  // Writes proposed by this node, until applied or expired.
  ProposalTable proposals_;
  // Linearizable reads waiting for a read index or for apply to reach it.
  ReadQueue reads_;
  // Snapshot receipt (issue 10; snapshot_receipt.h): a snapshot moves receiving -> received
  // (receipt_) -> stepped_ and each slot is owned by one step, so the data Raft restores is the
  // data installed. Only a complete snapshot whose MsgSnap describes exactly its data is ever
  // stepped into Raft; anything else is discarded and Raft asks again.
  SnapshotReceipt receipt_;
  // The data of the MsgSnap stepped into Raft, until the next Ready installs it (Raft
  // restored it) or drops it (Raft did not). Set only while holds_install_slot_.
  std::unique_ptr<storage::SnapshotReceiver> stepped_;
  // This replica holds the node's install slot (released after the install or the next Ready).
  bool holds_install_slot_ = false;
  // Whether this node led the group at the last Ready (to notice lost leadership).
  bool was_leader_ = false;
  // Lease reads: when Tick last ran (real time), and the check that voids the Raft lease when
  // more real time passed than the ticks counted (a paused process, a stalled loop).
  std::optional<Clock::time_point> last_tick_at_;
  void VoidLeaseIfTicksLag(Clock::time_point now);
  std::optional<Index> removed_at_;
  // Apply writes whose tickets no flush covered yet: (ticket, last index applied), oldest
  // first; and the newest index of those a flush covered (DurableApplied refreshes both).
  mutable std::deque<std::pair<uint64_t, Index>> undurable_applies_;
  mutable Index durable_applied_;
  // Peer messages dropped by CheckPeerMessage (logged at the first and every 100th).
  uint64_t dropped_peer_messages_ = 0;
  // An apply batch not on disk yet, with the answers it holds back: being written by the store
  // (in_flight; the batch is then the store's) or waiting for disk space (see
  // RetryStalledApply). While set, the Ready it belongs to is not Advance()d.
  struct PendingApply {
    storage::WriteBatch batch;
    std::vector<std::pair<Reply, kvpb::Response>> replies;
    // The batch's changes and last index, for the watchers once it is written.
    std::vector<storage::IndexedChanges> changes;
    Index last;
    bool in_flight = true;
    Clock::time_point next_try;
  };
  std::optional<PendingApply> pending_apply_;
  // Watchers told, clients answered, Advance, ready reads served: the end of a Ready whose
  // apply batch was written, unlogged, with `ticket`.
  void CompleteApply(Clock::time_point now, uint64_t ticket);
};

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_REPLICA_H_
