// MemoryStorage: a LogStorage kept in memory (etcd raft's MemoryStorage). Used by tests, the
// deterministic simulation and the core benchmark; the server uses replica::LogAdapter instead.
// The driver appends what each Ready asks with Append/SetHardState/ApplySnapshot, and compacts
// with CreateSnapshot + Compact.
//
// Thread-safety: not thread-safe; used from the thread that drives the RawNode.
#ifndef RINGKV_RAFT_MEMORY_STORAGE_H_
#define RINGKV_RAFT_MEMORY_STORAGE_H_

#include <string>
#include <vector>

#include "raft/log_storage.h"

namespace ringkv::raft {

class MemoryStorage final : public LogStorage {
 public:
  // An empty log whose dummy entry is at index 0, term 0.
  MemoryStorage();

  Result<InitialState> GetInitialState() const override;
  Result<std::vector<raftpb::Entry>> Entries(Index lo, Index hi,
                                             uint64_t max_bytes) const override;
  Result<Term> TermOf(Index i) const override;
  Result<Index> LastIndex() const override;
  Result<Index> FirstIndex() const override;
  Result<raftpb::Snapshot> GetSnapshot() const override;

  void SetHardState(const raftpb::HardState& hs) { hard_state_ = hs; }
  const raftpb::HardState& hard_state() const { return hard_state_; }

  // Sets the membership reported by GetInitialState (for bootstrapping a fresh group).
  void SetConfState(const raftpb::ConfState& cs) { snapshot_.mutable_metadata()->mutable_conf_state()->CopyFrom(cs); }

  // Replaces the log with the snapshot. kFailedPrecondition if it is older than the current one.
  Status ApplySnapshot(const raftpb::Snapshot& snap);

  // Records a snapshot at index i (REQUIRES: i <= last index) with the given membership and data.
  // kFailedPrecondition if i is not newer than the current snapshot.
  Result<raftpb::Snapshot> CreateSnapshot(Index i, const raftpb::ConfState* cs, std::string data);

  // Discards entries up to and including compact_index. kNotFound if already compacted.
  // REQUIRES: compact_index <= last index.
  Status Compact(Index compact_index);

  // Appends entries, truncating any conflicting suffix. Entries must be contiguous; entries
  // that are already compacted are ignored.
  Status Append(const std::vector<raftpb::Entry>& entries);

 private:
  Index FirstIndexInternal() const { return Index(ents_[0].index() + 1); }
  Index LastIndexInternal() const { return Index(ents_[0].index() + ents_.size() - 1); }

  raftpb::HardState hard_state_;
  raftpb::Snapshot snapshot_;
  // ents_[0] is a dummy entry holding the index and term of the last compacted entry.
  std::vector<raftpb::Entry> ents_;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_MEMORY_STORAGE_H_
