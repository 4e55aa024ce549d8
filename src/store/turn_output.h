// TurnOutput: what one turn of the node's loop decided that must leave the loop, in the style
// of raft/ready.h one level up. TurnPipeline collects every group's Ready into one TurnOutput
// (the decisions), then carries it out in one place (TurnPipeline::Execute: the I/O), so a turn
// is "inputs in, one output out" and the simulation sees the same turn kvd runs.
//
// What follows the log write is not in it: messages that must wait for the sync (votes, append
// responses: each Ready's messages_after_persist), the apply batches and the client answers
// go out as the write completes (TurnPipeline::OnBatchWritten), each group's in its order.
#ifndef RINGKV_STORE_TURN_OUTPUT_H_
#define RINGKV_STORE_TURN_OUTPUT_H_

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "proto/raft.pb.h"
#include "storage/write_batch.h"

namespace ringkv::store {

struct TurnOutput {
  // Raft messages per peer node, each peer's in the order its groups produced them. They
  // leave before the log write starts: a leader's appends may go out in parallel with its own
  // sync (Raft thesis 10.2.1), heartbeats need no durability.
  std::map<NodeId, std::vector<raftpb::Message>> messages;
  // Snapshots to stream (a group's MSG_SNAP); the state is read off the loop.
  std::vector<std::pair<GroupId, raftpb::Message>> snapshots;
  // The group-commit write: every group's new entries and hard state, plus log compactions of
  // the node's budget. Null in a turn that only flushes messages (a write is still out).
  std::shared_ptr<storage::WriteBatch> log_batch;
  bool sync = false;  // some entry or vote must be durable before anything after it
};

// Where a turn's messages go (the store: its transport and snapshot streams).
class TurnSink {
 public:
  virtual ~TurnSink() = default;
  virtual void SendToPeer(NodeId peer, std::vector<raftpb::Message> messages) = 0;
  virtual void StreamSnapshot(GroupId group, raftpb::Message msg) = 0;
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_TURN_OUTPUT_H_
