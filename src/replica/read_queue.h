// ReadQueue: the linearizable reads waiting on a replica (and lease keep-alives and
// time-to-live queries, which must know they ask the current leader). Reads arriving in one
// loop turn are queued and then share one ReadIndex round (one request context); each such
// batch waits for its ReadState, then for the applied index to reach the read index, and is
// then served. The replica drives it: it issues the ReadIndex and serves the reads.
//
// Thread-safety: not thread-safe; the replica's (store loop) thread only.
#ifndef RINGKV_REPLICA_READ_QUEUE_H_
#define RINGKV_REPLICA_READ_QUEUE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "raft/ready.h"
#include "replica/replies.h"

namespace ringkv::replica {

struct PendingRead {
  kvpb::Request req;
  Reply reply;
  Clock::time_point deadline;
};

class ReadQueue {
 public:
  // Queues `r` for the next ReadIndex round.
  void Queue(PendingRead r) { queued_.push_back(std::move(r)); }
  bool has_queued() const { return !queued_.empty(); }
  // No read waits here, queued or batched.
  bool empty() const { return queued_.empty() && batches_.empty(); }
  // The reads queued since the last call, for one ReadIndex round (none queued afterwards).
  std::vector<PendingRead> TakeQueued();
  // A request context no round used before (to pass to RawNode::ReadIndex).
  std::string NextContext();
  // `reads` wait for the ReadState of the round with context `ctx`.
  void AddBatch(const std::string& ctx, std::vector<PendingRead> reads);
  // A round's ReadState arrived: its batch (if still waiting) now waits for apply to reach
  // `rs.index`.
  void OnReadState(const raft::ReadState& rs);
  // Calls `serve` on every read whose read index is at or below `applied`, and forgets them.
  void ServeReady(Index applied, const std::function<void(const PendingRead&)>& serve);
  // Answers every waiting read, batched or queued, with `resp` (leadership was lost).
  void FailAll(const kvpb::Response& resp);
  // Answers TIMEOUT to the batched reads whose deadline is not after `now`.
  void Expire(Clock::time_point now);

 private:
  struct ReadBatch {
    std::vector<PendingRead> reads;
    std::optional<Index> read_index;  // set once the ReadState arrives
  };
  // Linearizable reads not yet sent for a read index (issued once per loop turn).
  std::vector<PendingRead> queued_;
  // Read batches by request context, waiting for their ReadState or for apply to catch up.
  std::map<std::string, ReadBatch> batches_;
  uint64_t next_ctx_ = 1;
};

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_READ_QUEUE_H_
