// Trace: a fixed-size ring buffer of the simulation's most recent events (deliveries, drops,
// crashes, restarts, role changes, commits, client operations), printed when an invariant
// fails so that a failing seed reads as a story. Events are stored as small structs and only
// formatted when dumped, so tracing every step stays cheap.
//
// Thread-safety: not thread-safe; owned by one Cluster.
#ifndef RINGKV_TESTS_RAFT_SIM_TRACE_H_
#define RINGKV_TESTS_RAFT_SIM_TRACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/raft.pb.h"

namespace ringkv::raft::sim {

enum class TraceKind : uint8_t {
  kSend,     // a = message type, peer = to
  kDeliver,  // node received a message from peer
  kDrop,     // message from node to peer dropped (b = 1 when by partition)
  kCrash,
  kRestart,     // a = durable commit
  kRole,        // a = role (StateRole), b = term, peer = leader
  kCommit,      // a = old commit, b = new commit
  kPersist,     // a = entries persisted, b = last entry index, c = hard state commit
  kPropose,     // a = index, b = term, c = write id (0 when rejected)
  kConfChange,  // a = index; text = change
  kRead,        // a = read id, b = read index, c = version read
  kPartition,   // text = description
  kHeal,
  kTransfer,         // peer = transferee
  kCompact,          // a = snapshot index
  kSnapshotApplied,  // a = snapshot index
  kNote,             // free text
};

struct TraceEvent {
  int64_t time_ms = 0;
  uint64_t step = 0;
  TraceKind kind = TraceKind::kNote;
  uint64_t node = 0;
  uint64_t peer = 0;
  // For messages: the message's header fields.
  raftpb::MessageType msg_type = raftpb::MSG_HUP;
  uint64_t term = 0, log_term = 0, index = 0, commit = 0, entries = 0;
  bool reject = false;
  uint64_t a = 0, b = 0, c = 0;
  std::string text;
};

class Trace {
 public:
  explicit Trace(size_t capacity) : capacity_(capacity) { ring_.reserve(capacity); }

  void Add(TraceEvent e);
  // The events, oldest first, one line each.
  std::string Dump() const;
  static std::string Format(const TraceEvent& e);

 private:
  size_t capacity_;
  size_t next_ = 0;  // where the next event goes once the ring is full
  std::vector<TraceEvent> ring_;
};

}  // namespace ringkv::raft::sim

#endif  // RINGKV_TESTS_RAFT_SIM_TRACE_H_
