// SimNode: one simulated Raft node. It owns the node's durable state (a MemoryStorage plus the
// durable applied index), its volatile state (the RawNode, the state machine, a Ready in
// flight) and it is the driver that follows ready.h's contract:
//   1. `messages` are sent when the Ready is taken;
//   2. persistence completes later, at a seeded delay chosen by the host (CompletePersist),
//      so there is a window in which a crash loses the Ready;
//   3. only then `messages_after_persist` are sent,
//   4. the snapshot and committed entries are applied, and
//   5. Advance() is called.
// Crash() drops everything volatile; Start() rebuilds the state machine from the durable
// snapshot plus the committed log up to the durable applied index, and creates the RawNode
// with Config::applied set to that index. Applying a conf change entry records the new
// ConfState durably by taking a storage snapshot at that index, so that the durable ConfState
// always matches the durable applied index.
//
// Thread-safety: not thread-safe; owned by one Cluster.
#ifndef RINGKV_TESTS_RAFT_SIM_SIM_NODE_H_
#define RINGKV_TESTS_RAFT_SIM_SIM_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/ids.h"
#include "common/status.h"
#include "proto/raft.pb.h"
#include "raft/config.h"
#include "raft/logger.h"
#include "raft/memory_storage.h"
#include "raft/raw_node.h"
#include "raft/ready.h"
#include "raft/sim/kv_state_machine.h"

namespace ringkv::raft::sim {

// What a SimNode needs from the simulation around it.
class NodeHost {
 public:
  virtual ~NodeHost() = default;
  // Hands a message to the network (the sender is m.from()).
  virtual void Send(raftpb::Message m) = 0;
  // Arranges for CompletePersist(incarnation) to be called later.
  virtual void SchedulePersist(NodeId id, uint64_t incarnation, bool must_sync) = 0;
  // Whether a durable snapshot is applied in a step of its own, after a delay in which the
  // node may crash (kvd installs the state machine after the Raft write). If it returns true,
  // the host arranges for CompleteApply(incarnation) to be called later.
  virtual bool ScheduleSnapshotApply(NodeId id, uint64_t incarnation) = 0;
  // Observers for the invariant checker and the clients.
  virtual void OnPersisted(NodeId id, const Ready& rd) = 0;
  virtual void OnApplied(NodeId id, const raftpb::Entry& e) = 0;
  virtual void OnSnapshotApplied(NodeId id, const raftpb::Snapshot& snap) = 0;
  virtual void OnSnapshotCreated(NodeId id, Index index, const std::string& data) = 0;
  virtual void OnReadState(NodeId id, const ReadState& rs) = 0;
  virtual void OnConfChangeApplied(NodeId id, Index index, const raftpb::ConfState& cs) = 0;
  // A storage or driver error that the real system would treat as fatal.
  virtual void OnFatal(NodeId id, const std::string& what) = 0;
  // What the core logs. A kError is a core panic, about to abort the process.
  virtual void OnRaftLog(NodeId id, LogLevel level, std::string_view message) = 0;
  // With NodeParams::quiesce: whether `observer`'s failure detector calls `peer` up.
  virtual bool PeerLive(NodeId observer, NodeId peer) { return true; }
};

struct NodeParams {
  int election_tick = 15;
  int heartbeat_tick = 5;
  uint64_t max_size_per_msg = 1 << 20;
  int max_inflight_msgs = 256;
  bool check_quorum = true;
  bool pre_vote = true;
  ReadOnlyOption read_only_option = ReadOnlyOption::kSafe;
  uint64_t seed = 0;
  // Quiescence (Config::quiesce), with the host's failure detector (NodeHost::PeerLive).
  bool quiesce = false;
  // Coalesced heartbeats (Config::driver_heartbeats): the cluster beats every node's groups
  // at the same moment, every heartbeat_tick ticks (Cluster::TickAll).
  bool driver_heartbeats = false;
};

class SimNode {
 public:
  SimNode(NodeId id, const NodeParams& params, NodeHost* host);
  SimNode(const SimNode&) = delete;
  SimNode& operator=(const SimNode&) = delete;

  // Creates the RawNode from the durable state (also after a crash).
  Status Start();
  // Loses all volatile state: the RawNode, the state machine and a Ready not yet persisted.
  void Crash();

  // Handles a Ready if one is available and none is in flight.
  void MaybeHandleReady();
  // The persistence of the Ready in flight completed. Ignored if `incarnation` is stale.
  void CompletePersist(uint64_t incarnation);
  // The apply step of a durable Ready that holds a snapshot (ScheduleSnapshotApply): applies
  // it and its committed entries, then Advance. Ignored if `incarnation` is stale.
  void CompleteApply(uint64_t incarnation);
  // Takes a storage snapshot at the applied index and compacts the log up to
  // applied - keep. No-op if the snapshot would not be newer.
  void Compact(uint64_t keep);

  NodeId id() const { return id_; }
  bool up() const { return raw_ != nullptr; }
  // REQUIRES: up().
  RawNode& raw() { return *raw_; }
  const RawNode& raw() const { return *raw_; }
  MemoryStorage& storage() { return storage_; }
  const MemoryStorage& storage() const { return storage_; }
  const KvStateMachine& sm() const { return sm_; }
  const raftpb::ConfState& conf_state() const { return conf_state_; }
  uint64_t incarnation() const { return incarnation_; }
  bool persist_in_flight() const { return in_flight_.has_value() || applying_.has_value(); }
  // Whether this node is a member (voter, outgoing voter or learner) of its applied config.
  bool IsMember() const;
  bool IsVoter() const;

 private:
  void Apply(const Ready& rd);
  void ApplyConfChangeEntry(const raftpb::Entry& e);

  const NodeId id_;
  const NodeParams params_;
  NodeHost* const host_;

  // Durable state: survives Crash().
  MemoryStorage storage_;
  // The index up to which the state machine had applied, recorded with each apply (a real
  // system writes it with the state machine). Entries up to it are committed and durable.
  Index durable_applied_;

  // Volatile state.
  std::unique_ptr<RawNode> raw_;
  KvStateMachine sm_;
  // The membership as of sm_.applied().
  raftpb::ConfState conf_state_;
  std::optional<Ready> in_flight_;
  // A durable Ready holding a snapshot, waiting for its apply step (CompleteApply).
  std::optional<Ready> applying_;
  // Forwards the core's log lines to the host.
  class HostLogger final : public Logger {
   public:
    explicit HostLogger(SimNode* n) : n_(n) {}
    void Log(LogLevel level, std::string_view message) override {
      n_->host_->OnRaftLog(n_->id_, level, message);
    }

   private:
    SimNode* n_;
  };
  HostLogger logger_{this};
  SoftState soft_;
  // Bumped by Crash(), so stale persistence completions are ignored.
  uint64_t incarnation_ = 0;
};

}  // namespace ringkv::raft::sim

#endif  // RINGKV_TESTS_RAFT_SIM_SIM_NODE_H_
