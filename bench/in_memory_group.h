// InMemoryGroup: a small synchronous driver for benchmarking the pure Raft core. It owns the
// RawNodes of one group (voters 1..n, each over its own MemoryStorage), handles every Ready per
// the contract in raft/ready.h (send `messages`, persist, send `messages_after_persist`, apply,
// Advance) and delivers messages in memory in FIFO order. There is no network, disk or clock,
// so what it measures is the CPU of the core plus this minimal driver.
//
// Thread-safety: not thread-safe; one benchmark thread drives it.
#ifndef RINGKV_BENCH_IN_MEMORY_GROUP_H_
#define RINGKV_BENCH_IN_MEMORY_GROUP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "proto/raft.pb.h"
#include "raft/memory_storage.h"
#include "raft/raw_node.h"

namespace ringkv::bench {

class InMemoryGroup {
 public:
  // Creates voters 1..n with the default raft::Config (election_tick 15, heartbeat_tick 5,
  // PreVote and CheckQuorum on); node seeds are derived from `seed`. REQUIRES: n >= 1.
  static Result<std::unique_ptr<InMemoryGroup>> Create(int n, uint64_t seed);

  // Makes node 1 campaign and runs the group until it is quiet. kUnavailable if node 1 is not
  // the leader afterwards.
  Status ElectFirst();

  int size() const { return static_cast<int>(nodes_.size()); }
  // REQUIRES: 1 <= id <= size().
  raft::RawNode& node(int id) { return *nodes_[id - 1].raw; }

  // Ticks every node once (does not handle the Readys; call Stabilize).
  void TickAll();

  // Handles Readys and delivers messages until no node has anything left to do. Returns the
  // number of messages delivered.
  uint64_t Stabilize();

  // Number of non-empty normal entries node `id` has applied.
  uint64_t applied_entries(int id) const { return nodes_[id - 1].applied_entries; }

  // Compacts each node's storage up to its applied index once more than `threshold` entries
  // are above the compaction point, so long runs keep memory bounded.
  void MaybeCompact(uint64_t threshold);

 private:
  struct Node {
    std::unique_ptr<raft::MemoryStorage> storage;
    std::unique_ptr<raft::RawNode> raw;
    uint64_t applied_entries = 0;
    uint64_t applied_bytes = 0;  // keeps apply from being optimized away
  };

  InMemoryGroup() = default;
  // Handles one Ready of `n` if it has one; returns whether it did.
  bool HandleReady(Node& n);
  void Send(std::vector<raftpb::Message>& msgs);

  std::vector<Node> nodes_;
  std::vector<raftpb::Message> queue_;
  std::vector<raftpb::Message> delivering_;
};

}  // namespace ringkv::bench

#endif  // RINGKV_BENCH_IN_MEMORY_GROUP_H_
