#include "raft/sim/trace.h"

#include <sstream>

#include "raft/ready.h"

namespace ringkv::raft::sim {
namespace {

const char* MsgName(raftpb::MessageType t) {
  switch (t) {
    case raftpb::MSG_HUP:
      return "Hup";
    case raftpb::MSG_BEAT:
      return "Beat";
    case raftpb::MSG_PROP:
      return "Prop";
    case raftpb::MSG_APP:
      return "App";
    case raftpb::MSG_APP_RESP:
      return "AppResp";
    case raftpb::MSG_VOTE:
      return "Vote";
    case raftpb::MSG_VOTE_RESP:
      return "VoteResp";
    case raftpb::MSG_SNAP:
      return "Snap";
    case raftpb::MSG_HEARTBEAT:
      return "Heartbeat";
    case raftpb::MSG_HEARTBEAT_RESP:
      return "HeartbeatResp";
    case raftpb::MSG_UNREACHABLE:
      return "Unreachable";
    case raftpb::MSG_SNAP_STATUS:
      return "SnapStatus";
    case raftpb::MSG_CHECK_QUORUM:
      return "CheckQuorum";
    case raftpb::MSG_TRANSFER_LEADER:
      return "TransferLeader";
    case raftpb::MSG_TIMEOUT_NOW:
      return "TimeoutNow";
    case raftpb::MSG_READ_INDEX:
      return "ReadIndex";
    case raftpb::MSG_READ_INDEX_RESP:
      return "ReadIndexResp";
    case raftpb::MSG_PRE_VOTE:
      return "PreVote";
    case raftpb::MSG_PRE_VOTE_RESP:
      return "PreVoteResp";
    default:
      return "?";
  }
}

void FormatMsg(std::ostringstream& os, const TraceEvent& e) {
  os << MsgName(e.msg_type) << " term=" << e.term << " logterm=" << e.log_term
     << " index=" << e.index << " commit=" << e.commit << " ents=" << e.entries;
  if (e.reject) os << " REJECT";
}

}  // namespace

void Trace::Add(TraceEvent e) {
  if (capacity_ == 0) return;
  if (ring_.size() < capacity_) {
    ring_.push_back(std::move(e));
  } else {
    ring_[next_] = std::move(e);
    next_ = (next_ + 1) % capacity_;
  }
}

std::string Trace::Format(const TraceEvent& e) {
  std::ostringstream os;
  os << "[t=" << e.time_ms << "ms step=" << e.step << "] ";
  switch (e.kind) {
    case TraceKind::kSend:
      os << "n" << e.node << " -> n" << e.peer << " send ";
      FormatMsg(os, e);
      break;
    case TraceKind::kDeliver:
      os << "n" << e.node << " <- n" << e.peer << " recv ";
      FormatMsg(os, e);
      break;
    case TraceKind::kDrop:
      os << "n" << e.node << " -> n" << e.peer << " DROP" << (e.b ? " (partition) " : " ");
      FormatMsg(os, e);
      break;
    case TraceKind::kCrash:
      os << "n" << e.node << " CRASH";
      break;
    case TraceKind::kRestart:
      os << "n" << e.node << " restart (durable term=" << e.b << " vote=" << e.c
         << " commit=" << e.a << ")";
      break;
    case TraceKind::kRole:
      os << "n" << e.node << " becomes " << StateRoleName(static_cast<StateRole>(e.a))
         << " term=" << e.b << " lead=n" << e.peer;
      break;
    case TraceKind::kCommit:
      os << "n" << e.node << " commit " << e.a << " -> " << e.b << " (term " << e.c << ")";
      break;
    case TraceKind::kPersist:
      os << "n" << e.node << " persisted " << e.a << " entries (last=" << e.b
         << ") hs.commit=" << e.c << " " << e.text;
      break;
    case TraceKind::kPropose:
      os << "n" << e.node << " propose write w" << e.c << " -> ";
      if (e.a == 0) {
        os << "rejected " << e.text;
      } else {
        os << "index=" << e.a << " term=" << e.b;
      }
      break;
    case TraceKind::kConfChange:
      os << "n" << e.node << " conf change " << e.text << " index=" << e.a;
      break;
    case TraceKind::kRead:
      os << "n" << e.node << " read r" << e.a << " " << e.text << " read_index=" << e.b
         << " version=" << e.c;
      break;
    case TraceKind::kPartition:
      os << "PARTITION " << e.text;
      break;
    case TraceKind::kHeal:
      os << "HEAL " << e.text;
      break;
    case TraceKind::kTransfer:
      os << "n" << e.node << " transfer leadership to n" << e.peer;
      break;
    case TraceKind::kCompact:
      os << "n" << e.node << " compacted log, snapshot at " << e.a;
      break;
    case TraceKind::kSnapshotApplied:
      os << "n" << e.node << " applied snapshot index=" << e.a << " term=" << e.b;
      break;
    case TraceKind::kNote:
      if (e.node != 0) os << "n" << e.node << " ";
      os << e.text;
      break;
  }
  return os.str();
}

std::string Trace::Dump() const {
  std::string out;
  const size_t n = ring_.size();
  const size_t start = n < capacity_ ? 0 : next_;
  for (size_t i = 0; i < n; ++i) {
    out += Format(ring_[(start + i) % n]);
    out += '\n';
  }
  return out;
}

}  // namespace ringkv::raft::sim
