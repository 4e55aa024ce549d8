#include "replica/log_adapter.h"

namespace ringkv::replica {

Result<raft::InitialState> LogAdapter::GetInitialState() const {
  return raft::InitialState{log_->hard_state(), log_->conf_state()};
}

Result<std::vector<raftpb::Entry>> LogAdapter::Entries(Index lo, Index hi,
                                                       uint64_t max_bytes) const {
  if (lo <= log_->truncated_index()) return raft::CompactedError();
  if (hi > log_->LastIndex() + 1) return raft::UnavailableError();
  return log_->Entries(lo, hi, max_bytes);
}

Result<Term> LogAdapter::TermOf(Index i) const {
  if (i < log_->truncated_index()) return raft::CompactedError();
  if (i == log_->truncated_index()) return log_->truncated_term();
  if (i > log_->LastIndex()) return raft::UnavailableError();
  return log_->TermAt(i);
}

Result<Index> LogAdapter::LastIndex() const { return log_->LastIndex(); }
Result<Index> LogAdapter::FirstIndex() const { return log_->FirstIndex(); }

Result<raftpb::Snapshot> LogAdapter::GetSnapshot() const {
  raftpb::Snapshot snap;
  const storage::ApplyState& applied = kv_->applied();
  if (applied.applied_index.value() == 0) {
    // Nothing applied yet (a fresh group): the only "snapshot" is the empty initial state.
    snap.mutable_metadata()->set_index(log_->truncated_index().value());
    snap.mutable_metadata()->set_term(log_->truncated_term().value());
  } else {
    snap.mutable_metadata()->set_index(applied.applied_index.value());
    snap.mutable_metadata()->set_term(applied.applied_term.value());
  }
  *snap.mutable_metadata()->mutable_conf_state() = log_->conf_state();
  if (snap.metadata().index() == 0) return Status::Unavailable("no snapshot before first apply");
  return snap;
}

}  // namespace ringkv::replica
