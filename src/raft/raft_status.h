// RaftStatus: a snapshot of one node's Raft state for admin output, metrics and tests.
//
// Thread-safety: a plain value.
#ifndef RINGKV_RAFT_RAFT_STATUS_H_
#define RINGKV_RAFT_RAFT_STATUS_H_

#include <map>

#include "common/ids.h"
#include "proto/raft.pb.h"
#include "raft/ready.h"

namespace ringkv::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };
const char* ProgressStateName(ProgressState s);

struct PeerProgress {
  Index match;
  Index next;
  ProgressState state = ProgressState::kProbe;
  bool is_learner = false;
  bool recent_active = false;
};

struct RaftStatus {
  NodeId id;
  raftpb::HardState hard_state;
  SoftState soft_state;
  Index applied;
  Index last_index;
  raftpb::ConfState conf_state;
  NodeId lead_transferee;
  // Filled on the leader only.
  std::map<NodeId, PeerProgress> progress;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_RAFT_STATUS_H_
