#include "raft/sim/sim_node.h"

#include <algorithm>
#include <utility>

namespace ringkv::raft::sim {
namespace {

bool Contains(const google::protobuf::RepeatedField<uint64_t>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id.value()) != ids.end();
}

}  // namespace

SimNode::SimNode(NodeId id, const NodeParams& params, NodeHost* host)
    : id_(id), params_(params), host_(host) {}

bool SimNode::IsVoter() const {
  return Contains(conf_state_.voters(), id_) || Contains(conf_state_.voters_outgoing(), id_);
}

bool SimNode::IsMember() const { return IsVoter() || Contains(conf_state_.learners(), id_); }

Status SimNode::Start() {
  Result<raftpb::Snapshot> snap = storage_.GetSnapshot();
  if (!snap.ok()) return snap.status();
  Result<KvStateMachine> sm = KvStateMachine::Deserialize(snap->data());
  if (!sm.ok()) return sm.status();
  sm_ = std::move(*sm);
  const Index snap_index(snap->metadata().index());
  conf_state_ = snap->metadata().conf_state();
  Result<InitialState> init = storage_.GetInitialState();
  if (!init.ok()) return init.status();
  conf_state_ = init->conf_state;
  if (durable_applied_ < snap_index) durable_applied_ = snap_index;

  // Replay the committed log (snapshot, durable applied] into the state machine. Conf changes
  // in that range are already in the durable ConfState (each one took a snapshot).
  Result<Index> last = storage_.LastIndex();
  if (!last.ok()) return last.status();
  const Index hi = std::min(durable_applied_, *last);
  if (hi > snap_index) {
    Result<std::vector<raftpb::Entry>> ents = storage_.Entries(snap_index + 1, hi + 1, UINT64_MAX);
    if (!ents.ok()) return ents.status();
    for (const raftpb::Entry& e : *ents) {
      sm_.Apply(e);
      host_->OnApplied(id_, e);
    }
  }
  durable_applied_ = std::max(sm_.applied(), snap_index);

  Config c;
  c.id = id_;
  c.election_tick = params_.election_tick;
  c.heartbeat_tick = params_.heartbeat_tick;
  c.storage = &storage_;
  c.applied = durable_applied_;
  c.max_size_per_msg = params_.max_size_per_msg;
  c.max_inflight_msgs = params_.max_inflight_msgs;
  c.check_quorum = params_.check_quorum;
  c.pre_vote = params_.pre_vote;
  c.read_only_option = params_.read_only_option;
  c.quiesce = params_.quiesce;
  c.driver_heartbeats = params_.driver_heartbeats;
  c.seed = params_.seed * 1000003 + incarnation_;
  c.logger = &logger_;
  Result<std::unique_ptr<RawNode>> raw = RawNode::Create(c);
  if (!raw.ok()) return raw.status();
  raw_ = std::move(*raw);
  if (params_.quiesce) {
    raw_->SetPeerLiveness([this](NodeId peer) { return host_->PeerLive(id_, peer); });
  }
  soft_ = SoftState{};
  return Status::OK();
}

void SimNode::Crash() {
  raw_.reset();
  in_flight_.reset();
  applying_.reset();
  sm_ = KvStateMachine();
  conf_state_.Clear();
  soft_ = SoftState{};
  ++incarnation_;
}

void SimNode::MaybeHandleReady() {
  if (!up() || in_flight_.has_value() || applying_.has_value() || !raw_->HasReady()) return;
  Ready rd = raw_->GetReady();
  if (rd.soft_state.has_value() && !(*rd.soft_state == soft_)) {
    soft_ = *rd.soft_state;
  }
  // Role changes are reported from the RawNode directly (see Cluster), so nothing is missed
  // between Readies; the soft state here is kept for the driver's own bookkeeping.
  for (raftpb::Message& m : rd.messages) host_->Send(std::move(m));
  rd.messages.clear();
  for (const ReadState& rs : rd.read_states) host_->OnReadState(id_, rs);
  const bool must_sync = rd.must_sync;
  in_flight_ = std::move(rd);
  host_->SchedulePersist(id_, incarnation_, must_sync);
}

void SimNode::CompletePersist(uint64_t incarnation) {
  if (incarnation != incarnation_ || !up() || !in_flight_.has_value()) return;
  Ready rd = std::move(*in_flight_);
  in_flight_.reset();

  // Step 2: make the snapshot, entries and hard state durable (one write).
  if (rd.snapshot.has_value()) {
    Status s = storage_.ApplySnapshot(*rd.snapshot);
    if (!s.ok()) host_->OnFatal(id_, "ApplySnapshot: " + s.ToString());
  }
  if (!rd.entries.empty()) {
    Status s = storage_.Append(rd.entries);
    if (!s.ok()) host_->OnFatal(id_, "Append: " + s.ToString());
  }
  if (rd.hard_state.has_value()) storage_.SetHardState(*rd.hard_state);
  host_->OnPersisted(id_, rd);

  // Step 3: the messages that promise durability.
  for (raftpb::Message& m : rd.messages_after_persist) host_->Send(std::move(m));
  rd.messages_after_persist.clear();

  if (rd.snapshot.has_value() && host_->ScheduleSnapshotApply(id_, incarnation_)) {
    // Steps 4 and 5 come later; a crash before them restarts from the durable snapshot.
    applying_ = std::move(rd);
    return;
  }
  // Step 4: apply.
  Apply(rd);

  // Step 5.
  raw_->Advance();
  MaybeHandleReady();
}

void SimNode::CompleteApply(uint64_t incarnation) {
  if (incarnation != incarnation_ || !up() || !applying_.has_value()) return;
  Ready rd = std::move(*applying_);
  applying_.reset();
  Apply(rd);
  raw_->Advance();
  MaybeHandleReady();
}

void SimNode::Apply(const Ready& rd) {
  if (rd.snapshot.has_value() && rd.snapshot->metadata().index() > sm_.applied().value()) {
    Result<KvStateMachine> sm = KvStateMachine::Deserialize(rd.snapshot->data());
    if (!sm.ok()) {
      host_->OnFatal(id_, "bad snapshot data: " + sm.status().ToString());
    } else {
      sm_ = std::move(*sm);
      conf_state_ = rd.snapshot->metadata().conf_state();
      host_->OnSnapshotApplied(id_, *rd.snapshot);
    }
    durable_applied_ = Index(rd.snapshot->metadata().index());
  }
  for (const raftpb::Entry& e : rd.committed_entries) {
    if (e.index() <= sm_.applied().value()) {
      host_->OnFatal(id_, "committed entry " + std::to_string(e.index()) +
                              " handed out again (applied " +
                              std::to_string(sm_.applied().value()) + ")");
      continue;
    }
    if (e.index() != sm_.applied().value() + 1) {
      host_->OnFatal(id_, "committed entries skip from " + std::to_string(sm_.applied().value()) +
                              " to " + std::to_string(e.index()));
    }
    sm_.Apply(e);
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) ApplyConfChangeEntry(e);
    durable_applied_ = sm_.applied();
    host_->OnApplied(id_, e);
  }
}

void SimNode::ApplyConfChangeEntry(const raftpb::Entry& e) {
  raftpb::ConfChange cc;
  if (!cc.ParseFromString(e.data())) {
    host_->OnFatal(id_, "unparsable conf change at index " + std::to_string(e.index()));
    return;
  }
  conf_state_ = raw_->ApplyConfChange(cc);
  // Persist the new membership together with the applied index: a snapshot at this index.
  Result<raftpb::Snapshot> snap =
      storage_.CreateSnapshot(Index(e.index()), &conf_state_, sm_.Serialize());
  if (!snap.ok()) {
    host_->OnFatal(id_, "CreateSnapshot at conf change: " + snap.status().ToString());
  } else {
    host_->OnSnapshotCreated(id_, Index(e.index()), snap->data());
  }
  host_->OnConfChangeApplied(id_, Index(e.index()), conf_state_);
}

void SimNode::Compact(uint64_t keep) {
  if (!up()) return;
  const Index applied = sm_.applied();
  Result<raftpb::Snapshot> cur = storage_.GetSnapshot();
  if (!cur.ok() || applied.value() <= cur->metadata().index()) return;
  Result<raftpb::Snapshot> snap = storage_.CreateSnapshot(applied, &conf_state_, sm_.Serialize());
  if (!snap.ok()) return;
  host_->OnSnapshotCreated(id_, applied, snap->data());
  Result<Index> first = storage_.FirstIndex();
  if (!first.ok() || applied.value() < keep) return;
  const Index compact_to = applied - keep;
  if (compact_to >= *first) {
    Status s = storage_.Compact(compact_to);
    if (!s.ok()) host_->OnFatal(id_, "Compact: " + s.ToString());
  }
}

}  // namespace ringkv::raft::sim
