#include "raft/raw_node.h"

#include <limits>

#include "raft/raft.h"

namespace ringkv::raft {
namespace {

// Events that only the local driver may create; a peer sending one is misbehaving.
bool IsLocalMsg(raftpb::MessageType t) {
  return t == raftpb::MSG_HUP || t == raftpb::MSG_BEAT || t == raftpb::MSG_UNREACHABLE ||
         t == raftpb::MSG_SNAP_STATUS || t == raftpb::MSG_CHECK_QUORUM || t == raftpb::MSG_PROP;
}

bool IsResponseMsg(raftpb::MessageType t) {
  return t == raftpb::MSG_APP_RESP || t == raftpb::MSG_VOTE_RESP ||
         t == raftpb::MSG_HEARTBEAT_RESP || t == raftpb::MSG_READ_INDEX_RESP ||
         t == raftpb::MSG_PRE_VOTE_RESP;
}

bool SameHardState(const raftpb::HardState& a, const raftpb::HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() && a.commit() == b.commit();
}

}  // namespace

RawNode::RawNode(std::unique_ptr<Raft> raft) : raft_(std::move(raft)) {
  prev_soft_ = raft_->soft_state();
  prev_hard_ = raft_->hard_state();
}

RawNode::~RawNode() = default;

Result<std::unique_ptr<RawNode>> RawNode::Create(const Config& config) {
  Result<std::unique_ptr<Raft>> r = Raft::Create(config);
  if (!r.ok()) return r.status();
  return std::unique_ptr<RawNode>(new RawNode(std::move(r).value()));
}

void RawNode::Tick(bool may_quiesce) { raft_->Tick(may_quiesce); }
void RawNode::Heartbeat() { raft_->DriverHeartbeat(); }
void RawNode::VoidLease() { raft_->VoidLease(); }

bool RawNode::quiesced() const { return raft_->quiesced(); }

void RawNode::Wake() {
  if (raft_->quiesced()) raft_->Unquiesce();
}

Index RawNode::QuorumKnownCommit() const { return raft_->QuorumKnownCommit(); }

Index RawNode::pending_conf_index() const { return raft_->pending_conf_index(); }

void RawNode::SetPeerLiveness(std::function<bool(NodeId)> live) {
  raft_->SetPeerLiveness(std::move(live));
}

void RawNode::LivenessChanged() { raft_->LivenessChanged(); }

void RawNode::Campaign() {
  raftpb::Message m;
  m.set_type(raftpb::MSG_HUP);
  raft_->Step(std::move(m)).IgnoreError();  // local events do not fail
}

Result<EntryId> RawNode::Propose(std::string data) {
  return raft_->Propose(std::move(data), raftpb::ENTRY_NORMAL);
}

Result<EntryId> RawNode::ProposeConfChange(const raftpb::ConfChange& cc) {
  return raft_->Propose(cc.SerializeAsString(), raftpb::ENTRY_CONF_CHANGE);
}

raftpb::ConfState RawNode::ApplyConfChange(const raftpb::ConfChange& cc) {
  return raft_->ApplyConfChange(cc);
}

Status RawNode::Step(raftpb::Message m) {
  if (IsLocalMsg(m.type())) {
    return Status::InvalidArgument("raft: cannot step local message type " +
                                   std::to_string(m.type()) + " from a peer");
  }
  if (IsResponseMsg(m.type()) &&
      raft_->tracker().progress.find(NodeId(m.from())) == raft_->tracker().progress.end()) {
    return Status::OK();  // a response from a peer that is no longer a member: ignore
  }
  return raft_->Step(std::move(m));
}

Status RawNode::ReadIndex(std::string request_ctx) { return raft_->ReadIndex(std::move(request_ctx)); }

void RawNode::TransferLeader(NodeId transferee) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_TRANSFER_LEADER);
  m.set_from(transferee.value());
  raft_->Step(std::move(m)).IgnoreError();  // no leader: nothing to transfer
}

void RawNode::ReportUnreachable(NodeId id) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_UNREACHABLE);
  m.set_from(id.value());
  raft_->Step(std::move(m)).IgnoreError();  // local events do not fail
}

void RawNode::ReportSnapshot(NodeId id, bool failure) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_SNAP_STATUS);
  m.set_from(id.value());
  m.set_reject(failure);
  raft_->Step(std::move(m)).IgnoreError();  // local events do not fail
}

std::vector<raftpb::Message> RawNode::TakeMessages() {
  raft_->FlushProposals();
  std::vector<raftpb::Message> out;
  out.swap(raft_->msgs());
  return out;
}

bool RawNode::HasReady() const {
  if (ready_outstanding_) return false;
  const Raft& r = *raft_;
  if (!(r.soft_state() == prev_soft_)) return true;
  if (!SameHardState(r.hard_state(), prev_hard_)) return true;
  if (r.raft_log().HasPendingSnapshot()) return true;
  if (!const_cast<Raft&>(r).msgs().empty() || !const_cast<Raft&>(r).msgs_after_append().empty()) {
    return true;
  }
  if (!r.raft_log().UnstableEntries().empty()) return true;
  if (r.raft_log().HasNextCommittedEntries()) return true;
  if (!const_cast<Raft&>(r).read_states().empty()) return true;
  return false;
}

Ready RawNode::GetReady() {
  raft_->FlushProposals();
  Ready rd;
  RaftLog& log = raft_->raft_log();
  rd.entries = log.UnstableEntries();
  rd.committed_entries = log.NextCommittedEntries();
  SoftState ss = raft_->soft_state();
  if (!(ss == prev_soft_)) {
    rd.soft_state = ss;
    prev_soft_ = ss;
  }
  raftpb::HardState hs = raft_->hard_state();
  if (!SameHardState(hs, prev_hard_)) {
    rd.must_sync = hs.term() != prev_hard_.term() || hs.vote() != prev_hard_.vote();
    rd.hard_state = hs;
    prev_hard_ = hs;
  }
  pending_hard_commit_.reset();
  if (rd.hard_state) pending_hard_commit_ = Index(rd.hard_state->commit());
  if (log.UnstableSnapshot()) rd.snapshot = *log.UnstableSnapshot();
  rd.read_states.swap(raft_->read_states());
  rd.messages.swap(raft_->msgs());
  self_msgs_.clear();
  for (raftpb::Message& m : raft_->msgs_after_append()) {
    if (m.to() == raft_->id().value()) {
      self_msgs_.push_back(std::move(m));
    } else {
      rd.messages_after_persist.push_back(std::move(m));
    }
  }
  raft_->msgs_after_append().clear();
  rd.must_sync = rd.must_sync || !rd.entries.empty() || rd.snapshot.has_value();

  pending_stable_index_ = Index(0);
  if (!rd.entries.empty()) {
    pending_stable_index_ = Index(rd.entries.back().index());
    pending_stable_term_ = Term(rd.entries.back().term());
  }
  pending_snapshot_ = rd.snapshot.has_value();
  if (pending_snapshot_) pending_snapshot_index_ = Index(rd.snapshot->metadata().index());
  pending_applied_ = Index(0);
  pending_applied_bytes_ = 0;
  if (!rd.committed_entries.empty()) {
    pending_applied_ = Index(rd.committed_entries.back().index());
    log.AcceptApplying(pending_applied_);
    for (const auto& e : rd.committed_entries) pending_applied_bytes_ += e.data().size();
  }
  ready_outstanding_ = true;
  return rd;
}

void RawNode::Advance() {
  if (!ready_outstanding_) return;
  ready_outstanding_ = false;
  RaftLog& log = raft_->raft_log();
  if (pending_snapshot_) {
    log.StableSnapTo(pending_snapshot_index_);
    raft_->AppliedTo(pending_snapshot_index_, 0);
  }
  if (pending_stable_index_.value() != 0) log.StableTo(pending_stable_index_, pending_stable_term_);
  if (pending_applied_.value() != 0) raft_->AppliedTo(pending_applied_, pending_applied_bytes_);
  if (pending_hard_commit_) raft_->CommitPersisted(*pending_hard_commit_);
  // Responses to ourselves that promised durability (our own append ack, our own vote) take
  // effect now that the Ready is durable.
  std::vector<raftpb::Message> self;
  self.swap(self_msgs_);
  for (raftpb::Message& m : self) raft_->Step(std::move(m)).IgnoreError();  // self acks never fail
}

RaftStatus RawNode::GetStatus() const { return raft_->GetStatus(); }
NodeId RawNode::id() const { return raft_->id(); }
NodeId RawNode::lead() const { return raft_->lead(); }
StateRole RawNode::role() const { return raft_->state(); }
Term RawNode::term() const { return raft_->term(); }
Index RawNode::committed() const { return raft_->raft_log().committed(); }
Index RawNode::applied() const { return raft_->raft_log().applied(); }

Result<std::vector<raftpb::Entry>> RawNode::LogEntriesForTesting(Index lo, Index hi) const {
  return raft_->raft_log().Slice(lo, hi, std::numeric_limits<uint64_t>::max());
}
Index RawNode::FirstIndexForTesting() const { return raft_->raft_log().FirstIndex(); }
Index RawNode::LastIndexForTesting() const { return raft_->raft_log().LastIndex(); }

}  // namespace ringkv::raft
