// ProposalTable: the writes this replica proposed, by log index, until each is decided —
// applied (answered with its result), superseded by another leader's entry at its index
// (definite NOT_LEADER), jumped over by a snapshot (UNKNOWN_OUTCOME), or past its deadline
// (TIMEOUT, indefinite). Every failure is counted (replica_metrics.h).
//
// Thread-safety: not thread-safe; the replica's (store loop) thread only.
#ifndef RINGKV_REPLICA_PROPOSAL_TABLE_H_
#define RINGKV_REPLICA_PROPOSAL_TABLE_H_

#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "raft/raw_node.h"
#include "replica/replies.h"

namespace ringkv::replica {

class ProposalTable {
 public:
  // Writes waiting (the replica refuses new ones beyond its limit).
  size_t size() const { return proposals_.size(); }
  bool empty() const { return proposals_.empty(); }

  // Records the write proposed as entry `id`, answered by `reply`. An older proposal of ours
  // at the same index was overwritten by a newer leader: it is answered NOT_LEADER now.
  void Add(raft::EntryId id, Reply reply, Clock::time_point deadline);

  // The entry at `index` of `term` was applied with answer `resp`: every proposal at or below
  // `index` is decided, and its reply and answer are added to `replies` (sent by the caller
  // once the apply is on disk).
  void Decide(Index index, Term term, const kvpb::Response& resp,
              std::vector<std::pair<Reply, kvpb::Response>>* replies);

  // A snapshot up to `index` was installed: the proposals it covers get UNKNOWN_OUTCOME now.
  void FailCoveredBySnapshot(Index index);

  // Answers TIMEOUT to the proposals whose deadline is not after `now`.
  void Expire(Clock::time_point now);

 private:
  struct PendingWrite {
    Term term;
    Reply reply;
    Clock::time_point deadline;
  };
  // By log index; an entry leaves when decided or expired.
  std::map<Index, PendingWrite> proposals_;
};

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_PROPOSAL_TABLE_H_
