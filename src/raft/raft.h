// Raft: the consensus state machine of one node (etcd raft's `raft` struct). Internal to the
// raft module; the public interface is RawNode. Roles and their message handling follow the
// Raft paper and thesis; section numbers are cited where a rule comes from.
//
// Outputs accumulate in msgs_ (may be sent at once) and msgs_after_append_ (sent, or stepped
// locally when addressed to self, only after the current Ready is durable).
//
// Thread-safety: not thread-safe; driven by one RawNode.
#ifndef RINGKV_RAFT_RAFT_H_
#define RINGKV_RAFT_RAFT_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/random.h"
#include "common/result.h"
#include "proto/raft.pb.h"
#include "raft/config.h"
#include "raft/logger.h"
#include "raft/raft_log.h"
#include "raft/raft_status.h"
#include "raft/raw_node.h"
#include "raft/read_only.h"
#include "raft/ready.h"
#include "raft/tracker.h"

namespace ringkv::raft {

// Bug points (common/failpoint.h): classic Raft bugs that the simulation's teeth tests re-inject
// (tests/raft/sim bug_catch_test) to prove it catches them. Asking costs one relaxed atomic load
// while nothing is injected, so the core stays pure and deterministic.
// A vote response leaves before the vote is durable: a node that crashes and restarts can vote
// twice in one term (election safety).
inline constexpr std::string_view kBugVoteBeforePersist = "bug.raft.vote_before_persist";
// The leader answers a ReadIndex with its commit index without confirming its leadership with
// a quorum: a deposed leader serves stale reads.
inline constexpr std::string_view kBugReadIndexNoQuorum = "bug.raft.read_index_no_quorum";
// A quiesced follower ignores the failure detector's word that its leader is down: it sleeps
// on, and a group whose quiesced leader died never elects (until a client or peer wakes it).
inline constexpr std::string_view kBugQuiesceIgnoresDeadLeader =
    "bug.raft.quiesce_ignores_dead_leader";

enum class CampaignType { kPreElection, kElection, kTransfer };

class Raft {
 public:
  // Loads hard state and membership from config.storage. Errors as RawNode::Create.
  static Result<std::unique_ptr<Raft>> Create(const Config& config);

  // All peer messages and local events enter here. Errors are for the caller of a local
  // request; peer messages never fail.
  Status Step(raftpb::Message m);
  // `may_quiesce`: the driver has nothing pending either (see MaybeQuiesce).
  void Tick(bool may_quiesce = true);
  // Config::driver_heartbeats: the driver's heartbeat moment (RawNode::Heartbeat).
  void DriverHeartbeat();
  // RawNode::VoidLease.
  void VoidLease() { lease_floor_tick_ = ticks_; }
  Result<EntryId> Propose(std::string data, raftpb::EntryType type);
  Status ReadIndex(std::string ctx);
  raftpb::ConfState ApplyConfChange(const raftpb::ConfChange& cc);
  // Sends the appends for proposals made since the last call (see Propose).
  void FlushProposals() {
    if (proposals_unsent_ && state_ == StateRole::kLeader) BcastAppend();
    proposals_unsent_ = false;
  }
  // The state machine applied up to index (driver's Advance).
  void AppliedTo(Index index, uint64_t applied_payload_bytes);

  NodeId id() const { return id_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId lead() const { return lead_; }
  StateRole state() const { return state_; }
  SoftState soft_state() const { return {lead_, state_}; }
  raftpb::HardState hard_state() const;
  RaftLog& raft_log() { return raft_log_; }
  const RaftLog& raft_log() const { return raft_log_; }
  const ProgressTracker& tracker() const { return trk_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  RaftStatus GetStatus() const;

  // Quiescence (raft_quiesce.cc; docs/architecture.md). A quiesced node is not ticked by its
  // driver (Tick does nothing) and wakes on any proposal, read or message except the quiesce
  // heartbeat that put it to sleep.
  bool quiesced() const { return quiesced_; }
  void Unquiesce();

  // Leader only (0 otherwise): the highest index that a quorum of the voters knows is
  // committed, by the commit indexes their append and heartbeat responses reported (ours
  // counts as our durable commit index; theirs are durable too, see Send). The store deletes
  // a removed replica only once this covers its removal (docs/architecture.md, Membership
  // rule 9).
  Index QuorumKnownCommit() const;
  // The driver persisted a hard state with commit index `commit` (RawNode::Advance).
  void CommitPersisted(Index commit) { durable_commit_ = std::max(durable_commit_, commit); }
  // The index of the last conf change this leader proposed, or its last index when it was
  // elected (rule 1 of Membership): every conf change it must apply is at or below it.
  Index pending_conf_index() const { return pending_conf_index_; }
  // Which peers (Raft ids) are up, as the driver's failure detector sees them; null: all. Only
  // live followers must be caught up for a leader to quiesce, and a quiesced follower wakes
  // when its leader is not live. Call LivenessChanged when the answers change.
  void SetPeerLiveness(std::function<bool(NodeId)> live) { peer_live_ = std::move(live); }
  void LivenessChanged();

  std::vector<raftpb::Message>& msgs() { return msgs_; }
  std::vector<raftpb::Message>& msgs_after_append() { return msgs_after_append_; }
  std::vector<ReadState>& read_states() { return read_states_; }

 private:
  explicit Raft(const Config& c);

  // Roles (Raft §5.2, thesis 9.6 for pre-candidate).
  void BecomeFollower(Term term, NodeId lead);
  void BecomeCandidate();
  void BecomePreCandidate();
  void BecomeLeader();
  void Reset(Term term);
  void Hup(CampaignType t);
  void Campaign(CampaignType t);
  bool Promotable() const;
  bool HasUnappliedConfChanges() const;
  // Raises the commit index to one a peer reported in vote traffic, when our log matches it.
  void MaybeLearnCommit(const raftpb::Message& m);

  void TickElection();
  void TickHeartbeat();
  // Leader, each tick: quiesces once the group has been idle for quiesce_after_ticks_ ticks.
  void MaybeQuiesce(bool may_quiesce);
  bool QuiesceConditionsHold() const;
  // Follower: whether the quiesce heartbeat `m` (already committed) finds this node agreeing.
  bool FollowerMayQuiesce(const raftpb::Message& m) const;
  bool PeerLive(NodeId id) const { return !peer_live_ || peer_live_(id); }
  // Whether the voters the failure detector calls live (with this node) form a quorum.
  bool LiveQuorum() const;
  // A late answer to a heartbeat or append from before quiescing, from a caught-up follower:
  // it changes nothing, so it must not wake the leader (or every sleep would end at once).
  bool IsNoNewsForQuiescedLeader(const raftpb::Message& m) const;
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  void ResetRandomizedElectionTimeout();

  // Per-role handlers; the common term checks happen in Step first.
  Status StepLeader(raftpb::Message& m);
  Status StepCandidate(raftpb::Message& m);
  Status StepFollower(raftpb::Message& m);
  void StepLeaderResponse(raftpb::Message& m, Progress& pr);
  void HandleAppendEntries(const raftpb::Message& m);
  void HandleHeartbeat(const raftpb::Message& m);
  void HandleSnapshot(const raftpb::Message& m);
  bool Restore(const raftpb::Snapshot& s);

  // Leader side of replication.
  bool AppendEntry(std::vector<raftpb::Entry>& es);
  void SendAppend(NodeId to) { MaybeSendAppend(to, true); }
  bool MaybeSendAppend(NodeId to, bool send_if_empty);
  bool MaybeSendSnapshot(NodeId to, Progress& pr);
  void SendHeartbeat(NodeId to, const std::string& ctx);
  void BcastAppend();
  void BcastHeartbeat();
  // A periodic heartbeat to `pr`'s follower would tell it nothing an append just did.
  bool HeartbeatIsRedundant(const Progress& pr) const;
  bool MaybeCommit();
  void SendTimeoutNow(NodeId to);
  // Whether the transfer to a transferee with progress `pr` can finish now (TimeoutNow): it
  // has the whole log, and this leader has applied every conf change in it, so the commit that
  // TimeoutNow carries covers them and the transferee campaigns in this configuration.
  bool TransfereeReady(const Progress& pr) const {
    return pr.match == raft_log_.LastIndex() && raft_log_.applied() >= pending_conf_index_;
  }
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }
  bool CommittedEntryInCurrentTerm() const;
  // A leader that is no longer a voter hands leadership to the most caught-up voter.
  void MaybeTransferAfterRemoval();
  // Lease reads (thesis 6.4.1): whether a quorum acknowledged us recently enough.
  bool LeaseValid() const;
  void HandleReadIndexAsLeader(const raftpb::Message& m);
  void ReleasePendingReadIndexMessages();
  // Answers a confirmed read: locally (ReadState) or to the follower that forwarded it.
  void RespondToReadIndex(const raftpb::Message& req, Index read_index);

  raftpb::ConfState SwitchToConfig(TrackerConfig cfg, ProgressMap prs);
  bool IncreaseUncommittedSize(const std::vector<raftpb::Entry>& es);
  void ReduceUncommittedSize(uint64_t bytes);

  void Send(raftpb::Message m);
  void Log(LogLevel level, const std::string& msg) const;

  // This node. Never changes.
  NodeId id_;
  // Latest term seen (Raft figure 2 currentTerm). Persisted; only increases.
  Term term_;
  // Candidate voted for in term_ (figure 2 votedFor), 0 if none. Persisted before any
  // response that depends on it leaves (see ready.h).
  NodeId vote_;
  std::vector<ReadState> read_states_;
  RaftLog raft_log_;
  uint64_t max_msg_size_;
  uint64_t max_uncommitted_size_;
  // Membership and, on the leader, every member's Progress.
  ProgressTracker trk_;
  StateRole state_ = StateRole::kFollower;
  // True when this node is a learner: it never campaigns.
  bool is_learner_ = false;
  std::vector<raftpb::Message> msgs_;
  std::vector<raftpb::Message> msgs_after_append_;
  // The leader of term_ as far as this node knows; 0 if unknown.
  NodeId lead_;
  // Target of an ongoing leadership transfer (leader only); 0 if none. Proposals are refused
  // while it is set (thesis 3.10).
  NodeId lead_transferee_;
  // Set once this leader sent TimeoutNow in its term: the transferee campaigns with votes that
  // ignore the leader lease, so this leader's lease is void for the rest of its term and every
  // read takes a heartbeat round (#11, seeds 19225 and 53607). Cleared by Reset.
  bool lease_given_away_ = false;
  // VoidLease: acknowledgements up to this tick give no lease (the driver saw real time pass
  // that its ticks did not count).
  uint64_t lease_floor_tick_ = 0;
  // Index of the latest conf change proposed by this leader; a new one is refused until the
  // log is applied past it (only one change in flight, thesis 4.1).
  Index pending_conf_index_;
  // Payload bytes of the leader's uncommitted tail (back-pressure).
  uint64_t uncommitted_size_ = 0;
  ReadOnly read_only_;
  ReadOnlyOption read_only_option_;
  // Ticks since the last election timeout reset (follower/candidate) or CheckQuorum (leader).
  int election_elapsed_ = 0;
  // Ticks since this node started (monotone); timestamps the followers' acknowledgements.
  uint64_t ticks_ = 0;
  // This node started from a durable term (a restart, not a fresh member). Set by Create.
  bool restarted_ = false;
  // The commit index of the last hard state the driver persisted (CommitPersisted): what this
  // node would still know after a crash. Heartbeat responses report it, not the commit index
  // in memory (Send). Never above the commit index, which only grows.
  Index durable_commit_;
  int heartbeat_elapsed_ = 0;
  bool check_quorum_;
  bool pre_vote_;
  int heartbeat_timeout_;
  int election_timeout_;
  // Config::driver_heartbeats: TickHeartbeat leaves periodic heartbeats to DriverHeartbeat.
  const bool driver_heartbeats_;
  const bool quiesce_enabled_;
  const int quiesce_after_ticks_;
  // Quiescence state: asleep, and the leader's count of consecutive idle ticks.
  bool quiesced_ = false;
  // The message being stepped woke this follower (or candidate): answers carry Message.woke.
  bool woken_by_step_ = false;
  int idle_ticks_ = 0;
  std::function<bool(NodeId)> peer_live_;
  // Uniform in [election_timeout_, 2 * election_timeout_), redrawn on every Reset.
  int randomized_election_timeout_ = 0;
  Random rand_;
  // Proposals were appended since the last FlushProposals.
  bool proposals_unsent_ = false;
  // ReadIndex requests that arrived before this leader committed an entry of its term.
  std::vector<raftpb::Message> pending_read_index_messages_;
  Logger* logger_;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_RAFT_H_
