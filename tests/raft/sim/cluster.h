// Cluster: a simulated Raft cluster on a virtual clock. It owns the nodes (SimNode), the
// network (SimNetwork), the invariant checker and the clients, and runs one event at a time
// from a priority queue ordered by (virtual time, sequence number): message deliveries,
// persistence completions, crashes, restarts and the periodic tick. Everything is decided by
// one seeded Random, so a run is a pure function of its seed. Invariants are checked after
// every step (one event = one step).
//
// Clients: Write() proposes a unique value; it is acknowledged only when the proposing node
// applies the entry at the returned EntryId. Read() issues a ReadIndex; it completes when the
// node has applied the read index, and must observe every write acknowledged before it began.
//
// Thread-safety: not thread-safe; single-threaded by design (determinism).
#ifndef RINGKV_TESTS_RAFT_SIM_CLUSTER_H_
#define RINGKV_TESTS_RAFT_SIM_CLUSTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/random.h"
#include "common/result.h"
#include "proto/raft.pb.h"
#include "raft/sim/invariants.h"
#include "raft/sim/sim_network.h"
#include "raft/sim/sim_node.h"
#include "raft/sim/trace.h"

namespace ringkv::raft::sim {

// Thrown when a Raft core panics inside a Cluster (every Cluster installs the core's test-only
// panic handler, raft/panic.h): the core is fail-stop, so the run of the seed ends there. The
// checker has already recorded the panic as the seed's violation (OnRaftLog).
class CorePanic : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Initial members start from a snapshot at this index and term (see the constructor).
inline constexpr uint64_t kBootstrapIndex = 5;
inline constexpr uint64_t kBootstrapTerm = 1;

struct ClusterOptions {
  uint64_t seed = 1;
  int num_nodes = 3;  // initial voters, ids 1..num_nodes
  NodeParams node_params;
  int64_t tick_ms = 10;
  // Persistence of a Ready that must sync completes after a delay in this range.
  int64_t persist_min_ms = 0;
  int64_t persist_max_ms = 5;
  // When true, a durable snapshot is applied in a separate step up to persist_max_ms later,
  // and the crash-in-persistence-window fault also hits between the two (the install of a
  // snapshot is not one atomic step in kvd). Off in the standard profile, whose seeds keep
  // their runs.
  bool split_snapshot_apply = false;
  // When false, nodes only tick through Tick() (scenario tests drive time by hand).
  bool auto_tick = true;
  // With node_params.quiesce: the failure detector (NodeHost::PeerLive). An observer calls a
  // peer down once the peer has been crashed, or a link between them blocked either way, for
  // this long (checked every tick); up again at once when it is reachable.
  int64_t detect_ms = 200;
  size_t trace_capacity = 400;  // events kept for the report
  // Called for each initial member after the bootstrap snapshot is in its storage and before
  // it starts (scenario tests preload logs and hard states here).
  std::function<void(NodeId, MemoryStorage&)> prepare_storage;
};

struct ClusterStats {
  uint64_t writes_proposed = 0;
  uint64_t writes_acked = 0;
  uint64_t reads_completed = 0;
  uint64_t crashes = 0;
  uint64_t snapshots_sent = 0;
  uint64_t conf_changes_applied = 0;
  uint64_t quiesces = 0;  // times a leader quiesced its group
};

class Cluster : public NodeHost {
 public:
  explicit Cluster(const ClusterOptions& options);
  ~Cluster() override;

  // --- Time. ---
  int64_t now_ms() const { return now_ms_; }
  uint64_t steps() const { return steps_; }
  // Processes events with time <= until_ms (ticking every tick_ms when auto_tick), one step
  // at a time; stops early on a violation. Returns !failed().
  bool RunUntil(int64_t until_ms);
  bool RunFor(int64_t ms) { return RunUntil(now_ms_ + ms); }
  // Processes pending deliveries and persistence (no ticks) until none remain or max_steps.
  bool Stabilize(uint64_t max_steps = 100000);
  // Ticks every up node once (scenario tests).
  void TickAll();
  // Called at the start of every tick, before nodes tick (the chaos controller).
  void set_on_tick(std::function<void()> f) { on_tick_ = std::move(f); }

  // --- Nodes. ---
  SimNode& node(NodeId id) { return *nodes_.at(id); }
  bool has_node(NodeId id) const { return nodes_.count(id) > 0; }
  std::vector<NodeId> node_ids() const;
  std::vector<NodeId> up_node_ids() const;
  // The id AddNode() will use next.
  NodeId next_node_id() const { return NodeId(next_node_id_); }
  // A fresh node with an empty log and no membership (to be added by a conf change).
  NodeId AddNode();
  void Crash(NodeId id);
  void Restart(NodeId id);
  // Schedules a crash at `at_ms` (before anything else scheduled at that time) and, if
  // downtime_ms >= 0, a restart after it. Cancelled by CancelScheduledFaults().
  void ScheduleCrash(NodeId id, int64_t at_ms, int64_t downtime_ms);
  void CancelScheduledFaults() { ++fault_epoch_; }
  // The up node that believes it leads with the highest term, or 0.
  NodeId Leader() const;
  // Calls f on the node (if up), then handles its Ready and checks invariants.
  void WithNode(NodeId id, const std::function<void(RawNode&)>& f, bool log_may_change = false);

  // --- Network. ---
  SimNetwork& network() { return network_; }
  // Drops every message queued for delivery whose (from, to, type) matches.
  void DropPending(const std::function<bool(const raftpb::Message&)>& match);
  // Delivers (now) the queued messages that match, in queue order; others stay queued.
  void DeliverPending(const std::function<bool(const raftpb::Message&)>& match);
  size_t pending_messages() const;
  // Scenario control: messages matching `f` are dropped when they would be delivered.
  void set_drop_filter(std::function<bool(const raftpb::Message&)> f) {
    drop_filter_ = std::move(f);
  }
  // Whether the crash-in-persistence-window fault is armed: when a node takes a Ready that must
  // sync, with this probability it crashes before the write completes (restarting after a
  // short downtime).
  void set_window_crash_probability(double p) { window_crash_p_ = p; }

  // --- Clients. ---
  // Proposes a write of a unique value to `key` at `at`, retrying once at the hinted leader on
  // kNotLeader. Returns the write id, or the error of the last attempt.
  Result<uint64_t> Write(NodeId at, const std::string& key);
  // Starts a linearizable read of `key` at `at`. Returns the read id or the ReadIndex error.
  Result<uint64_t> Read(NodeId at, const std::string& key);
  Result<EntryId> ProposeConfChange(NodeId at, const raftpb::ConfChange& cc);
  bool WriteAcked(uint64_t write_id) const { return acked_writes_.count(write_id) > 0; }
  // The value a completed read returned (the write id), or nullopt if it did not complete.
  std::optional<KvValue> ReadResult(uint64_t read_id) const;
  // Drops reads that have waited longer than `older_than_ms` (they never answer).
  void ExpireReads(int64_t older_than_ms);

  // --- Checking. ---
  InvariantChecker& checker() { return checker_; }
  bool failed() const { return checker_.failed(); }
  // Seed, violation and the trace of the last events.
  std::string Report() const;
  void Note(NodeId node, std::string text);
  const ClusterStats& stats() const { return stats_; }
  Random& rng() { return rng_; }
  const ClusterOptions& options() const { return options_; }

  // NodeHost.
  void Send(raftpb::Message m) override;
  void SchedulePersist(NodeId id, uint64_t incarnation, bool must_sync) override;
  bool ScheduleSnapshotApply(NodeId id, uint64_t incarnation) override;
  void OnPersisted(NodeId id, const Ready& rd) override;
  void OnApplied(NodeId id, const raftpb::Entry& e) override;
  void OnSnapshotApplied(NodeId id, const raftpb::Snapshot& snap) override;
  void OnSnapshotCreated(NodeId id, Index index, const std::string& data) override;
  void OnReadState(NodeId id, const ReadState& rs) override;
  void OnConfChangeApplied(NodeId id, Index index, const raftpb::ConfState& cs) override;
  void OnFatal(NodeId id, const std::string& what) override;
  void OnRaftLog(NodeId id, LogLevel level, std::string_view message) override;
  bool PeerLive(NodeId observer, NodeId peer) override;

 private:
  enum class EventKind { kDeliver, kPersist, kApply, kCrash, kRestart };
  struct Event {
    int64_t time = 0;
    uint64_t seq = 0;
    EventKind kind = EventKind::kDeliver;
    NodeId node;
    uint64_t incarnation = 0;  // kPersist: the node's incarnation; kCrash/kRestart: epoch
    bool dropped = false;      // kDeliver: lost in the network
    int64_t downtime = -1;     // kCrash
    std::shared_ptr<raftpb::Message> msg;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };
  struct PendingWrite {
    EntryId id;
    uint64_t write_id = 0;
    std::string key;
  };
  struct PendingRead {
    NodeId node;
    uint64_t incarnation = 0;
    std::string key;
    Index required;  // the highest version acknowledged on `key` when the read began
    int64_t invoked_ms = 0;
    bool has_index = false;
    Index read_index;
  };

  void Push(Event e);
  void Process(Event e);
  void Deliver(const Event& e);
  // After an event on `id`: handle its Ready, trace role/commit changes, check invariants.
  void AfterEvent(NodeId id, bool log_may_change);
  void TryCompleteReads(NodeId id);
  void TraceMsg(TraceKind kind, const raftpb::Message& m, bool by_partition = false);
  void AddTrace(TraceEvent e);
  void ReportSnapshotStatus(const raftpb::Message& m, bool failure);
  // With quiescence: updates the failure detector's view each tick and tells every node whose
  // view changed (RawNode::LivenessChanged).
  void UpdateDetector();

  const ClusterOptions options_;
  Random rng_;
  SimNetwork network_;
  InvariantChecker checker_;
  Trace trace_;
  std::map<NodeId, std::unique_ptr<SimNode>> nodes_;
  uint64_t next_node_id_ = 1;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  uint64_t seq_ = 0;
  int64_t now_ms_ = 0;
  int64_t next_tick_ms_ = 0;
  // TickAll calls so far: the rhythm of driver heartbeats.
  uint64_t ticks_ = 0;
  uint64_t steps_ = 0;
  uint64_t fault_epoch_ = 0;
  double window_crash_p_ = 0;
  std::function<void()> on_tick_;
  std::function<bool(const raftpb::Message&)> drop_filter_;
  // The failure detector: since when `observer` could not reach `peer`, and whom it calls down.
  std::map<std::pair<NodeId, NodeId>, int64_t> unreachable_since_;
  std::set<std::pair<NodeId, NodeId>> down_;

  // Observed per-node volatile state, for the trace.
  struct Observed {
    StateRole role = StateRole::kFollower;
    Term term;
    NodeId lead;
    Index commit;
  };
  std::map<NodeId, Observed> observed_;

  uint64_t next_write_id_ = 0;
  uint64_t next_read_id_ = 0;
  std::map<NodeId, std::vector<PendingWrite>> pending_writes_;
  std::set<uint64_t> acked_writes_;
  std::map<std::string, Index> max_acked_version_;
  std::map<uint64_t, PendingRead> pending_reads_;
  std::map<uint64_t, KvValue> read_results_;
  ClusterStats stats_;
};

}  // namespace ringkv::raft::sim

#endif  // RINGKV_TESTS_RAFT_SIM_CLUSTER_H_
