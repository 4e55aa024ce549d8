// ReadOnly: the leader's pending ReadIndex requests (Raft thesis 6.4, etcd raft's readOnly).
// A request records the commit index at arrival and becomes answerable once a quorum has
// acknowledged a heartbeat carrying its context, which proves the leader was still leader
// when the request arrived. A quorum for one request also confirms every earlier one, so many
// reads share one round of heartbeats.
//
// Thread-safety: not thread-safe; owned by Raft.
#ifndef RINGKV_RAFT_READ_ONLY_H_
#define RINGKV_RAFT_READ_ONLY_H_

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/ids.h"
#include "proto/raft.pb.h"

namespace ringkv::raft {

struct ReadIndexStatus {
  raftpb::Message req;  // the request (from = requester; 0 for a local read)
  Index index;          // the commit index when it arrived
  std::map<NodeId, bool> acks;
};

class ReadOnly {
 public:
  // Queues a request with context m.context(); duplicates of a pending context are ignored.
  void AddRequest(Index index, const raftpb::Message& m);
  // Records a heartbeat ack for `ctx`; returns the acks so far, or nullptr if unknown.
  const std::map<NodeId, bool>* RecvAck(NodeId id, const std::string& ctx);
  // Pops and returns every request up to and including the one with `ctx`.
  std::vector<ReadIndexStatus> Advance(const std::string& ctx);
  // The context of the newest pending request ("" if none): heartbeats carry it.
  std::string LastPendingRequestCtx() const;
  size_t pending() const { return queue_.size(); }

 private:
  std::map<std::string, ReadIndexStatus> pending_;
  std::deque<std::string> queue_;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_READ_ONLY_H_
