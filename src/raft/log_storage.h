// LogStorage: the Raft core's read-only view of the durable log (etcd raft's Storage). The core
// never writes through it: the driver persists what a Ready asks and then Advance()s; the
// implementation must reflect those writes. replica/ implements it over storage::RaftLogStore;
// MemoryStorage implements it for tests and the simulation.
//
// Error contract:
//   kNotFound     the index is compacted away (below FirstIndex).
//   kUnavailable  the index is beyond LastIndex, or a snapshot is temporarily not ready.
//   other codes   a storage failure; the core treats it as fatal (fail-stop).
//
// Thread-safety: called only from the thread that drives the RawNode.
#ifndef RINGKV_RAFT_LOG_STORAGE_H_
#define RINGKV_RAFT_LOG_STORAGE_H_

#include <cstdint>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/status.h"
#include "proto/raft.pb.h"

namespace ringkv::raft {

struct InitialState {
  raftpb::HardState hard_state;
  raftpb::ConfState conf_state;
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  // The hard state and membership saved on disk.
  virtual Result<InitialState> GetInitialState() const = 0;

  // Entries in [lo, hi). Stops once their total size would exceed max_bytes, but always returns
  // at least one entry when lo < hi. REQUIRES: FirstIndex() <= lo <= hi <= LastIndex() + 1.
  virtual Result<std::vector<raftpb::Entry>> Entries(Index lo, Index hi,
                                                     uint64_t max_bytes) const = 0;

  // The term of entry i, for i in [FirstIndex() - 1, LastIndex()]; the term of FirstIndex()-1
  // is the term of the last compacted entry (or snapshot).
  virtual Result<Term> TermOf(Index i) const = 0;

  // The index of the last entry (the snapshot's index when the log is empty).
  virtual Result<Index> LastIndex() const = 0;

  // The index of the first entry still in the log (snapshot index + 1).
  virtual Result<Index> FirstIndex() const = 0;

  // The most recent snapshot. kUnavailable when it is being built; the core retries later.
  virtual Result<raftpb::Snapshot> GetSnapshot() const = 0;
};

inline Status CompactedError() {
  return Status::NotFound("raft: requested index is unavailable due to compaction");
}
inline Status UnavailableError() {
  return Status::Unavailable("raft: requested entry at index is unavailable");
}

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_LOG_STORAGE_H_
