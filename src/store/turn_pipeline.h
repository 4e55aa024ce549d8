// TurnPipeline: the store loop's turn, with group commit. A turn collects the Ready of every
// touched replica (ReplicaSet::MarkTouched: the only ones that can have one; an idle node's
// turn visits no sleeping group) (messages that need no durability leave at once; the Raft-log entries and hard states
// of all groups, and the node log budget's compactions, go into ONE WriteBatch), syncs that
// batch on the storage thread while the loop keeps stepping messages and taking proposals, then
// finishes the Readies on the loop (after-persist messages, apply in memory) and writes the
// groups' apply batches, unsynced and as one engine write, on the storage thread again. The turn ends when those are on
// disk: replies and watchers go out, deferred work runs, removed replicas are deleted, and the
// next turn starts. The turn's writes, log then apply, are one unit for everything that must not
// overlap them (write_in_flight, RunAfterTurn).
//
// Thread-safety: store loop thread only; its own tasks run on the storage worker.
#ifndef RINGKV_STORE_TURN_PIPELINE_H_
#define RINGKV_STORE_TURN_PIPELINE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "replica/replica.h"
#include "storage/engine.h"
#include "storage/write_batch.h"
#include "store/log_budget.h"
#include "store/node_env.h"
#include "store/replica_set.h"
#include "store/store_options.h"
#include "store/turn_output.h"

namespace ringkv::store {

// Bug point (common/failpoint.h; tests and kvd_buggy only): the turn's Raft log write is not
// synced, so the node acknowledges (votes, appends, commits) what a crash can lose.
inline constexpr std::string_view kBugAckBeforeSync = "bug.store.ack_before_sync";

class TurnPipeline {
 public:
  // None is owned; all must outlive this. `env`'s storage worker makes the turn's writes; `running`
  // is the store's (a full disk is waited out only while it runs).
  TurnPipeline(const StoreOptions& options, storage::Engine* engine, NodeEnv& env,
               const std::atomic<bool>& running, ReplicaSet& replicas, TurnSink& sink);

  // Runs a turn soon (once, however often it is asked before it runs).
  void ScheduleCycle();
  // A turn's writes are out: from the log write's start to the end of its apply writes.
  bool write_in_flight() const { return write_in_flight_; }
  // Runs `f` at the end of the turn whose writes are out.
  // REQUIRES: write_in_flight().
  void RunAfterTurn(std::function<void()> f) { after_turn_.push_back(std::move(f)); }
  // While a turn (or the messages a log write released) is collected, a replica's outgoing
  // message (or snapshot to stream) joins its TurnOutput: true, and `m` is moved from. False
  // outside a collection: the caller sends it itself.
  bool Capture(raftpb::Message& m);
  bool CaptureSnapshot(GroupId group, raftpb::Message& m);
  // Replicas visited by loop turns since start (tests: an idle node's turns visit none).
  uint64_t replica_visits() const { return replica_visits_; }
  // Starts a flush of the data CF on the storage worker, so that applied entries become
  // durable and the log can be compacted (Replica::MaybeCompact, the node log budget).
  void RequestApplyFlush();

 private:
  // A turn: collects every touched group's Ready into one TurnOutput, then Executes it.
  void RunCycle();
  // Carries out a turn's output: messages per peer, snapshot streams, then the log write.
  void Execute(TurnOutput out);
  // Ends a collection: `out`'s messages go per peer, its snapshots to their streams.
  void SendOutput(TurnOutput& out);
  void OnBatchWritten(const ringkv::Status& s);
  // The apply writes of one turn, done by storage_worker_ after the log write (see the .cc).
  struct ApplyWriteJob {
    replica::Replica* replica;
    storage::WriteBatch batch;
    // The write's outcome and, when OK, its ticket (engine.h).
    ringkv::Status written;
    uint64_t ticket = 0;
  };
  void OnApplyWritten(std::vector<ApplyWriteJob>& jobs);
  // Writes a turn's apply batches on the loop when they are small and the engine need not
  // wait, then ends the turn (OnApplyWritten): true. False: nothing written, the caller posts
  // them to the storage worker.
  bool WriteApplyOnLoop(std::vector<ApplyWriteJob>& jobs);
  // The one engine write of a turn's apply jobs, and its outcome (status, ticket) in each job.
  static std::vector<const storage::WriteBatch*> BatchesOf(const std::vector<ApplyWriteJob>& jobs);
  static void RecordApplyWrite(const Result<uint64_t>& written, std::vector<ApplyWriteJob>& jobs);
  // The end of a turn: its log and apply writes are on disk.
  void FinishTurn();
  // The turn's group-commit write, on the storage worker; `resume_first` after a full disk.
  void PostLogWrite(std::shared_ptr<storage::WriteBatch> batch, bool sync, size_t groups,
                    bool resume_first);
  // A turn's log write that needs no sync and touches only the log, made on the loop itself.
  void WriteLogOnLoop(std::shared_ptr<storage::WriteBatch> batch);
  // The log write found the disk full: retried after a pause, the turn left open (see the .cc).
  void OnLogWriteFull(std::shared_ptr<storage::WriteBatch> batch, bool sync, size_t groups,
                      const ringkv::Status& s);

  const StoreOptions& options_;
  storage::Engine* const engine_;
  const Clock& clock_;
  LoopExecutor& loop_;
  OffLoopExecutor& storage_worker_;
  const std::atomic<bool>& running_;
  ReplicaSet& replicas_;
  TurnSink& sink_;
  // The output being collected (a turn in RunCycle, or the messages released by a log
  // write in OnBatchWritten), else null.
  TurnOutput* collecting_ = nullptr;

  // Replicas whose Ready is in the turn being written (the log batch being synced, then their
  // apply batches).
  std::vector<replica::Replica*> in_flight_;
  bool write_in_flight_ = false;
  // A RequestApplyFlush is in the storage worker's queue.
  bool flush_posted_ = false;
  std::chrono::steady_clock::time_point apply_started_;
  // Work that must not overlap a turn's writes (a log compaction asked by an admin, which
  // would race a compaction inside them), run at the turn's end.
  std::vector<std::function<void()>> after_turn_;
  bool cycle_scheduled_ = false;
  bool in_run_cycle_ = false;  // RunCycle is on the stack (see there)
  std::map<GroupId, NodeId> last_leader_;  // to log leader changes once
  // Entries of last_leader_ that name a leader (the "all led" summary's cheap pre-check).
  size_t groups_led_ = 0;
  // The replicas visited since the last turn's end (and the turn's own), with repeats: the
  // only ones that can have applied their own removal since (ReplicaSet::DestroyRemoved).
  // Lists, not sets, and their buffers kept, so a turn allocates nothing for them.
  std::vector<GroupId> visited_;
  std::vector<GroupId> destroy_candidates_;  // empty between turns
  std::vector<GroupId> turn_groups_;         // the touched groups a turn took; empty between turns
  uint64_t replica_visits_ = 0;  // see replica_visits()
  bool all_led_once_ = false;  // every hosted shard has had a leader since start (log summary)
  LogBudget log_budget_;
  bool disk_full_ = false;                     // the log write waits for space (logged once)
  std::unique_ptr<LoopTimer> disk_full_timer_;  // the pause before its next attempt
};

}  // namespace ringkv::store

#endif  // RINGKV_STORE_TURN_PIPELINE_H_
