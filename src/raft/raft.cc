// Raft: construction, the term rules common to every role, elections and role changes.
// Leader-side replication is in raft_leader.cc; follower/candidate handling in
// raft_follower.cc; proposals and read requests in raft_proposals.cc; applying configuration
// changes in raft_conf_change.cc.
#include "raft/raft.h"

#include <algorithm>

#include "common/failpoint.h"
#include "common/status_macros.h"
#include "raft/confchange.h"
#include "raft/panic.h"

namespace ringkv::raft {
namespace {

NullLogger g_null_logger;

bool IsVoteMsg(raftpb::MessageType t) {
  return t == raftpb::MSG_VOTE || t == raftpb::MSG_VOTE_RESP || t == raftpb::MSG_PRE_VOTE ||
         t == raftpb::MSG_PRE_VOTE_RESP;
}

raftpb::MessageType VoteRespType(raftpb::MessageType t) {
  return t == raftpb::MSG_VOTE ? raftpb::MSG_VOTE_RESP : raftpb::MSG_PRE_VOTE_RESP;
}

constexpr char kCampaignTransfer[] = "CampaignTransfer";

}  // namespace

const char* StateRoleName(StateRole role) {
  switch (role) {
    case StateRole::kFollower: return "follower";
    case StateRole::kPreCandidate: return "pre-candidate";
    case StateRole::kCandidate: return "candidate";
    case StateRole::kLeader: return "leader";
  }
  return "unknown";
}

Status Config::Validate() const {
  if (id == kNoNode) return Status::InvalidArgument("raft config: id must not be 0");
  if (heartbeat_tick <= 0) return Status::InvalidArgument("raft config: heartbeat_tick must be > 0");
  if (election_tick <= heartbeat_tick) {
    return Status::InvalidArgument("raft config: election_tick must be > heartbeat_tick");
  }
  if (storage == nullptr) return Status::InvalidArgument("raft config: storage must not be null");
  if (max_inflight_msgs <= 0) {
    return Status::InvalidArgument("raft config: max_inflight_msgs must be > 0");
  }
  if (max_inflight_bytes != 0 && max_inflight_bytes < max_size_per_msg) {
    return Status::InvalidArgument("raft config: max_inflight_bytes must be >= max_size_per_msg");
  }
  if (quiesce && quiesce_after_ticks <= 0) {
    return Status::InvalidArgument("raft config: quiesce_after_ticks must be > 0");
  }
  if (read_only_option == ReadOnlyOption::kLeaseBased && !check_quorum) {
    return Status::InvalidArgument("raft config: lease-based reads require check_quorum");
  }
  return Status::OK();
}

Raft::Raft(const Config& c)
    : id_(c.id),
      raft_log_(c.storage, c.logger ? c.logger : &g_null_logger, c.max_committed_size_per_ready),
      max_msg_size_(c.max_size_per_msg),
      max_uncommitted_size_(c.max_uncommitted_entries_size),
      trk_(c.max_inflight_msgs, c.max_inflight_bytes),
      read_only_option_(c.read_only_option),
      check_quorum_(c.check_quorum),
      pre_vote_(c.pre_vote),
      heartbeat_timeout_(c.heartbeat_tick),
      election_timeout_(c.election_tick),
      driver_heartbeats_(c.driver_heartbeats),
      quiesce_enabled_(c.quiesce),
      quiesce_after_ticks_(c.quiesce_after_ticks),
      rand_(c.seed ^ (c.id.value() * 0x9E3779B97F4A7C15ull)),
      logger_(c.logger ? c.logger : &g_null_logger) {}

Result<std::unique_ptr<Raft>> Raft::Create(const Config& c) {
  RETURN_IF_ERROR(c.Validate());
  Result<InitialState> init = c.storage->GetInitialState();
  if (!init.ok()) return init.status();
  std::unique_ptr<Raft> r(new Raft(c));
  Result<ConfAndProgress> cfg = RestoreConfig(r->trk_, r->raft_log_.LastIndex(), init->conf_state);
  if (!cfg.ok()) return cfg.status();
  r->SwitchToConfig(std::move(cfg->first), std::move(cfg->second));

  const raftpb::HardState& hs = init->hard_state;
  if (hs.term() != 0 || hs.vote() != 0 || hs.commit() != 0) {
    Index commit(hs.commit());
    if (commit < r->raft_log_.committed() || commit > r->raft_log_.LastIndex()) {
      return Status::Corruption("raft: hard state commit " + Str(hs.commit()) + " is out of range [" +
                                Str(r->raft_log_.committed().value()) + ", " +
                                Str(r->raft_log_.LastIndex().value()) + "]");
    }
    r->raft_log_.CommitTo(commit);
    r->durable_commit_ = commit;
    r->term_ = Term(hs.term());
    r->vote_ = NodeId(hs.vote());
  }
  // A node that restarts may have acknowledged a leader just before (see Step's boot lease).
  r->restarted_ = hs.term() != 0;
  if (c.applied.value() > 0) {
    if (c.applied > r->raft_log_.committed()) {
      return Status::InvalidArgument("raft: applied index is beyond the committed index");
    }
    r->raft_log_.AppliedTo(std::max(c.applied, r->raft_log_.applied()));
  }
  r->BecomeFollower(r->term_, kNoNode);
  r->Log(LogLevel::kDebug, "newRaft term=" + Str(r->term_.value()) + " commit=" +
                              Str(r->raft_log_.committed().value()) + " applied=" +
                              Str(r->raft_log_.applied().value()) + " last=" +
                              Str(r->raft_log_.LastIndex().value()));
  return r;
}

raftpb::HardState Raft::hard_state() const {
  raftpb::HardState hs;
  hs.set_term(term_.value());
  hs.set_vote(vote_.value());
  hs.set_commit(raft_log_.committed().value());
  return hs;
}

void Raft::Log(LogLevel level, const std::string& msg) const {
  logger_->Log(level, "raft " + Str(id_.value()) + " [term " + Str(term_.value()) + "] " + msg);
}

void Raft::Send(raftpb::Message m) {
  if (m.from() == 0) m.set_from(id_.value());
  auto t = m.type();
  if (IsVoteMsg(t)) {
    if (m.term() == 0) Panic(logger_, "vote message sent without a term");
    m.set_commit(raft_log_.committed().value());
    m.set_commit_term(raft_log_.ZeroTermOf(raft_log_.committed()).value());
  } else if (t != raftpb::MSG_READ_INDEX) {
    // Forwarded read requests carry no term; everything else carries ours.
    m.set_term(term_.value());
  }
  if (t == raftpb::MSG_APP_RESP || t == raftpb::MSG_HEARTBEAT_RESP) {
    // Our commit index, for the leader's Progress::acked_commit (QuorumKnownCommit): the store
    // deletes a removed replica only once a quorum of the new configuration knows the removal
    // is committed (docs/architecture.md, Membership rule 9). Only a commit index on disk
    // counts: a node that crashed after answering must still know it. An append response
    // leaves after the Ready that persists our current commit index (msgs_after_append); a
    // heartbeat response leaves at once, before the Ready that persists the commit index the
    // heartbeat just taught us, so it reports the last one persisted.
    m.set_commit((t == raftpb::MSG_APP_RESP ? raft_log_.committed() : durable_commit_).value());
  }
  if (woken_by_step_ && (t == raftpb::MSG_APP_RESP || t == raftpb::MSG_HEARTBEAT_RESP)) {
    m.set_woke(true);
  }
  bool after_persist = t == raftpb::MSG_APP_RESP || t == raftpb::MSG_VOTE_RESP ||
                       t == raftpb::MSG_PRE_VOTE_RESP;
  if (t == raftpb::MSG_VOTE_RESP && m.to() != id_.value() &&
      failpoint::Injected(kBugVoteBeforePersist)) {
    after_persist = false;  // the injected bug: the vote leaves before it is durable
  }
  if (after_persist) {
    msgs_after_append_.push_back(std::move(m));
  } else {
    if (m.to() == id_.value()) Panic(logger_, "message should not be self-addressed when sending");
    msgs_.push_back(std::move(m));
  }
}

Status Raft::Step(raftpb::Message m) {
  // Any message wakes a quiesced node (a proposal, a read, a peer's traffic), except the quiesce
  // heartbeat that puts a follower to sleep and a transport report that a peer is unreachable.
  if (quiesced_ && !(m.type() == raftpb::MSG_HEARTBEAT && m.quiesce()) &&
      m.type() != raftpb::MSG_UNREACHABLE && !IsNoNewsForQuiescedLeader(m)) {
    Unquiesce();
    // Its answers say so (Message.woke): the leader may be asleep, and would take a plain
    // acknowledgement as no news.
    woken_by_step_ = state_ != StateRole::kLeader;
  }
  struct ClearWoken {
    bool* woken;
    ~ClearWoken() { *woken = false; }
  } clear_woken{&woken_by_step_};
  Term mterm(m.term());
  if (IsVoteMsg(m.type())) MaybeLearnCommit(m);
  if (mterm.value() == 0) {
    // Local message.
  } else if (mterm > term_) {
    if (m.type() == raftpb::MSG_VOTE || m.type() == raftpb::MSG_PRE_VOTE) {
      bool force = m.context() == kCampaignTransfer;
      // A follower that heard from its leader within the election timeout is in that
      // leader's lease (Raft thesis 4.2.3: this is what stops removed servers, which never
      // learn of their removal, from disrupting the cluster by campaigning in their stale
      // configuration; membership seed 27729 of #11 livelocked without it when CheckQuorum was
      // off). A leader honours its own lease only with CheckQuorum: without it, a leader that
      // lost its majority would never step down, and ignoring candidates would keep it so.
      bool in_lease = lead_ != kNoNode && election_elapsed_ < election_timeout_ &&
                      (check_quorum_ || state_ != StateRole::kLeader);
      // With lease reads, a node that just started may have acknowledged a leader before it
      // crashed, renewing that leader's lease: it honours the lease of that (now unknown)
      // leader for an election timeout after it starts (#11).
      bool boot_lease = restarted_ && check_quorum_ &&
                        read_only_option_ == ReadOnlyOption::kLeaseBased &&
                        ticks_ < static_cast<uint64_t>(election_timeout_);
      // Raft §6 (disruptive servers): within the minimum election timeout of hearing from a
      // leader, neither update the term nor grant the vote.
      if (!force && (in_lease || boot_lease)) return Status::OK();
    }
    if (m.type() == raftpb::MSG_PRE_VOTE) {
      // Never change our term in response to a PreVote.
    } else if (m.type() == raftpb::MSG_PRE_VOTE_RESP && !m.reject()) {
      // A granted pre-vote carries the future term we asked for; the term changes only once
      // a quorum grants it.
    } else {
      if (m.type() == raftpb::MSG_APP || m.type() == raftpb::MSG_HEARTBEAT ||
          m.type() == raftpb::MSG_SNAP) {
        BecomeFollower(mterm, NodeId(m.from()));
      } else {
        BecomeFollower(mterm, kNoNode);
      }
    }
  } else if (mterm < term_) {
    if (m.type() == raftpb::MSG_HEARTBEAT || m.type() == raftpb::MSG_APP) {
      // A stale leader (e.g. after a partition heals): tell it our term so it steps down;
      // without this a node with a higher term from pre-vote could never rejoin. etcd does this
      // only with CheckQuorum or PreVote, relying otherwise on followers taking the higher term
      // from vote requests; but followers here honour their leader's lease also without
      // CheckQuorum (Step above), so a stale leader that keeps heartbeating them (a removed
      // leader no new leader sends to) would hold them in its lease forever (membership seed
      // 47526 of #11).
      raftpb::Message resp;
      resp.set_to(m.from());
      resp.set_type(raftpb::MSG_APP_RESP);
      Send(std::move(resp));
    } else if (m.type() == raftpb::MSG_PRE_VOTE || m.type() == raftpb::MSG_VOTE) {
      // Raft §5.1: a request with a stale term is rejected with our term, so the candidate
      // catches up. Ignoring it (as etcd does for votes) can livelock: a node in a stale
      // configuration that can never win kept raising its term by campaigning among its own
      // voters, while the one candidate that could win, behind in terms, never heard of them
      // (membership seed 76 of #11).
      raftpb::Message resp;
      resp.set_to(m.from());
      resp.set_term(term_.value());
      resp.set_type(VoteRespType(m.type()));
      resp.set_reject(true);
      Send(std::move(resp));
    }
    return Status::OK();
  }

  switch (m.type()) {
    case raftpb::MSG_HUP:
      Hup(pre_vote_ ? CampaignType::kPreElection : CampaignType::kElection);
      return Status::OK();
    case raftpb::MSG_VOTE:
    case raftpb::MSG_PRE_VOTE: {
      NodeId from(m.from());
      // Raft §5.2/§5.4: grant if we already voted for this candidate, or have not voted and
      // know no leader in this term, or it is a pre-vote for a future term; and the
      // candidate's log is at least as up to date as ours.
      bool can_vote = vote_ == from || (vote_ == kNoNode && lead_ == kNoNode) ||
                      (m.type() == raftpb::MSG_PRE_VOTE && mterm > term_);
      raftpb::Message resp;
      resp.set_to(m.from());
      resp.set_type(VoteRespType(m.type()));
      if (can_vote && raft_log_.IsUpToDate(Index(m.index()), Term(m.log_term()))) {
        resp.set_term(m.term());
        if (m.type() == raftpb::MSG_VOTE) {
          election_elapsed_ = 0;
          vote_ = from;
        }
      } else {
        resp.set_term(term_.value());
        resp.set_reject(true);
      }
      Send(std::move(resp));
      return Status::OK();
    }
    default:
      break;
  }
  switch (state_) {
    case StateRole::kLeader: return StepLeader(m);
    case StateRole::kCandidate:
    case StateRole::kPreCandidate: return StepCandidate(m);
    case StateRole::kFollower: return StepFollower(m);
  }
  return Status::OK();
}

void Raft::MaybeLearnCommit(const raftpb::Message& m) {
  // Commitment is a fact about the log, not about terms or roles: if a peer reports index i
  // (of term t) committed and our entry at i has term t, Log Matching (Raft §5.3) makes our log
  // up to i equal to the peer's, so it is committed here too. Without a leader this is the only
  // way a node that restarted with a stale durable commit index (and so a stale, possibly joint,
  // configuration) learns that the configuration moved on: in seed 19470 such a node held the
  // most up-to-date log but, still joint, needed the vote of a removed member whose log was
  // longer still, and no node could ever win an election (#11). A leader commits only by
  // counting its own term's replicas (§5.4.2) and ignores this.
  if (state_ == StateRole::kLeader || m.commit_term() == 0) return;
  Index commit(m.commit());
  if (commit > raft_log_.committed() && raft_log_.MatchTerm(commit, Term(m.commit_term()))) {
    raft_log_.CommitTo(commit);
  }
}

void Raft::Tick(bool may_quiesce) {
  // A quiesced node's driver does not tick it; one that does anyway changes nothing.
  if (quiesced_) return;
  ++ticks_;
  if (state_ == StateRole::kLeader) {
    TickHeartbeat();
    if (state_ == StateRole::kLeader) MaybeQuiesce(may_quiesce);
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    raftpb::Message m;
    m.set_type(raftpb::MSG_HUP);
    m.set_from(id_.value());
    Step(std::move(m)).IgnoreError();  // local events do not fail
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      raftpb::Message m;
      m.set_type(raftpb::MSG_CHECK_QUORUM);
      m.set_from(id_.value());
      Step(std::move(m)).IgnoreError();  // local events do not fail
    }
    // A transfer that did not finish within an election timeout is abandoned (thesis 3.10).
    if (state_ == StateRole::kLeader && lead_transferee_ != kNoNode) AbortLeaderTransfer();
  }
  if (state_ != StateRole::kLeader) return;
  MaybeTransferAfterRemoval();
  if (!driver_heartbeats_ && heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    BcastHeartbeat();
  }
}

void Raft::DriverHeartbeat() {
  // A sleeping leader sends nothing (its quiesce heartbeat told the followers not to expect
  // any); the driver does not tick it either.
  if (!driver_heartbeats_ || quiesced_ || state_ != StateRole::kLeader) return;
  heartbeat_elapsed_ = 0;
  BcastHeartbeat();
}

void Raft::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      election_timeout_ + static_cast<int>(rand_.Uniform(static_cast<uint64_t>(election_timeout_)));
}

void Raft::Reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  // A role or term change ends quiescence (the new role decides afresh).
  quiesced_ = false;
  idle_ticks_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  lease_given_away_ = false;
  trk_.ResetVotes();
  Index next = raft_log_.LastIndex() + 1;
  for (auto& [id, pr] : trk_.progress) {
    bool learner = pr.is_learner;
    pr = trk_.MakeProgress(next, learner);
    // Our own entries count only once durable: match is raised by the self-ack stepped in
    // Advance (thesis 10.2.1), so it starts at 0 here.
  }
  pending_conf_index_ = Index(0);
  uncommitted_size_ = 0;
  read_only_ = ReadOnly();
  pending_read_index_messages_.clear();
}

void Raft::BecomeFollower(Term term, NodeId lead) {
  Reset(term);
  lead_ = lead;
  if (state_ != StateRole::kFollower) {
    Log(LogLevel::kDebug, std::string("became follower (was ") + StateRoleName(state_) + ")");
  }
  state_ = StateRole::kFollower;
}

void Raft::BecomeCandidate() {
  if (state_ == StateRole::kLeader) Panic(logger_, "invalid transition [leader -> candidate]");
  Reset(term_ + 1);
  vote_ = id_;
  state_ = StateRole::kCandidate;
  Log(LogLevel::kDebug, "became candidate");
}

void Raft::BecomePreCandidate() {
  if (state_ == StateRole::kLeader) Panic(logger_, "invalid transition [leader -> pre-candidate]");
  // Pre-candidacy changes neither the term nor the vote (thesis 9.6).
  trk_.ResetVotes();
  lead_ = kNoNode;
  state_ = StateRole::kPreCandidate;
  Log(LogLevel::kDebug, "became pre-candidate");
}

void Raft::BecomeLeader() {
  if (state_ == StateRole::kFollower) Panic(logger_, "invalid transition [follower -> leader]");
  Reset(term_);
  lead_ = id_;
  state_ = StateRole::kLeader;
  auto self = trk_.progress.find(id_);
  if (self != trk_.progress.end()) {
    self->second.BecomeReplicate();
    self->second.recent_active = true;
  }
  // Conservatively treat every unapplied entry as a possible conf change.
  pending_conf_index_ = raft_log_.LastIndex();
  // Raft §8: a no-op entry of the new term lets the leader commit earlier entries (figure 8).
  std::vector<raftpb::Entry> empty(1);
  if (!AppendEntry(empty)) Panic(logger_, "empty entry was dropped");
  // The no-op does not count against the uncommitted size.
  uncommitted_size_ = 0;
  Log(LogLevel::kDebug, "became leader at last index " + Str(raft_log_.LastIndex().value()));
}

bool Raft::Promotable() const {
  auto it = trk_.progress.find(id_);
  return it != trk_.progress.end() && !it->second.is_learner && !raft_log_.HasPendingSnapshot();
}

bool Raft::HasUnappliedConfChanges() const {
  if (raft_log_.applied() >= raft_log_.committed()) return false;
  Index lo = std::max(raft_log_.applied() + 1, raft_log_.FirstIndex());
  Index hi = raft_log_.committed() + 1;
  while (lo < hi) {
    Result<std::vector<raftpb::Entry>> ents = raft_log_.Slice(lo, hi, 1 << 20);
    if (!ents.ok()) Panic(logger_, "error scanning unapplied entries: " + ents.status().ToString());
    for (const raftpb::Entry& e : *ents) {
      if (e.type() == raftpb::ENTRY_CONF_CHANGE) return true;
    }
    if (ents->empty()) break;
    lo = Index(ents->back().index() + 1);
  }
  return false;
}

void Raft::Hup(CampaignType t) {
  if (state_ == StateRole::kLeader) return;
  if (!Promotable()) return;
  // A node must not campaign while a committed conf change is unapplied: it could count votes
  // under the wrong configuration.
  if (HasUnappliedConfChanges()) {
    Log(LogLevel::kWarning, "cannot campaign: pending configuration changes to apply");
    return;
  }
  Campaign(t);
}

void Raft::Campaign(CampaignType t) {
  Term term;
  raftpb::MessageType vote_msg;
  if (t == CampaignType::kPreElection) {
    BecomePreCandidate();
    vote_msg = raftpb::MSG_PRE_VOTE;
    term = term_ + 1;  // the term we would campaign in; ours is unchanged
  } else {
    BecomeCandidate();
    vote_msg = raftpb::MSG_VOTE;
    term = term_;
  }
  for (NodeId id : trk_.VoterNodes()) {
    raftpb::Message m;
    m.set_to(id.value());
    m.set_term(term.value());
    if (id == id_) {
      // Our own vote counts once it is durable: the response is stepped in Advance.
      m.set_type(VoteRespType(vote_msg));
      Send(std::move(m));
      continue;
    }
    m.set_type(vote_msg);
    m.set_index(raft_log_.LastIndex().value());
    m.set_log_term(raft_log_.LastTerm().value());
    if (t == CampaignType::kTransfer) m.set_context(kCampaignTransfer);
    Send(std::move(m));
  }
}

}  // namespace ringkv::raft
