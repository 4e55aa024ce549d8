#include "store/turn_pipeline.h"

#include <glog/logging.h>

#include <memory>
#include <string>
#include <utility>

#include "common/failpoint.h"
#include "store/fail_stop.h"
#include "store/store_metrics.h"

namespace ringkv::store {

TurnPipeline::TurnPipeline(const StoreOptions& options, storage::Engine* engine,
                           NodeEnv& env, const std::atomic<bool>& running, ReplicaSet& replicas,
                           TurnSink& sink)
    : options_(options),
      engine_(engine),
      clock_(env.clock()),
      loop_(env.loop()),
      storage_worker_(env.storage_worker()),
      running_(running),
      replicas_(replicas),
      sink_(sink),
      log_budget_(options.raft_log_node_max_bytes) {}

void TurnPipeline::ScheduleCycle() {
  if (cycle_scheduled_) return;
  cycle_scheduled_ = true;
  loop_.Post([this] {
    cycle_scheduled_ = false;
    RunCycle();
  });
}

void TurnPipeline::RunCycle() {
  // A turn whose writes the loop made itself ends inside this call (FinishTurn), which then
  // schedules the next turn rather than nesting it: a long run of such turns (a backlog applied
  // in small bounded steps) must not grow the stack.
  in_run_cycle_ = true;
  struct Leave {
    bool* flag;
    ~Leave() { *flag = false; }
  } leave{&in_run_cycle_};
  TurnOutput out;
  collecting_ = &out;  // the replicas' messages land in `out` (Capture) until Execute
  // Only the touched replicas (ReplicaSet::MarkTouched): nothing reached the others since
  // their last visit, so they have no Ready, no message and no reason to wake.
  if (write_in_flight_) {
    // The next cycle starts when the sync completes; meanwhile messages that need no
    // durability go out now, so heartbeats never wait for the disk. The touched list stays
    // for that cycle, which collects their Readies.
    const std::vector<GroupId>& touched = replicas_.touched();
    // By index: nothing here marks a replica, but a mark would append to the list.
    for (size_t i = 0; i < touched.size(); ++i) {
      const GroupId g = touched[i];
      replica::Replica* r = replicas_.Peek(g);
      if (r == nullptr) continue;  // deleted since
      visited_.push_back(g);
      ++replica_visits_;
      r->FlushMessages();
      if (r->NeedsTicks()) replicas_.MarkTicking(g);  // woken by a request (quiescence)
    }
    Execute(std::move(out));
    return;
  }
  const auto collect_start = clock_.Now();
  out.log_batch = std::make_shared<storage::WriteBatch>();
  // The list's buffer is reused turn after turn (a member, moved out while in use).
  std::vector<GroupId> groups = std::move(turn_groups_);
  replicas_.TakeTouched(&groups);
  for (GroupId g : groups) {
    replica::Replica* r = replicas_.Peek(g);
    if (r == nullptr) continue;  // deleted since
    visited_.push_back(g);
    ++replica_visits_;
    // Whatever woke a quiesced replica since the last turn (a request, placement, a snapshot)
    // scheduled this turn: from here the store ticks it again.
    if (r->NeedsTicks()) replicas_.MarkTicking(g);
    if (!r->HasReady()) continue;
    Result<bool> got = r->CollectReady(out.log_batch.get(), &out.sync);
    if (!got.ok()) FailStop(got.status(), "collecting a Ready");
    if (*got) in_flight_.push_back(r);
    NodeId lead = r->lead();
    auto& last = last_leader_[g];
    if (lead != last) {
      groups_led_ += (lead != kNoNode ? 1 : 0) - (last != kNoNode ? 1 : 0);
      // The first elections after start are summed up in one line below (a node hosts tens
      // of shards); every later change is a line of its own.
      if (all_led_once_ || VLOG_IS_ON(1)) {
        LOG(INFO) << "group " << g << ": leader is now "
                  << (lead == kNoNode ? std::string("unknown")
                                      : "node " + std::to_string(NodeOfReplica(lead).value()))
                  << " (term " << r->term() << ")";
      }
      last = lead;
      CountLeaderChange();
    }
  }
  groups.clear();
  turn_groups_ = std::move(groups);
  // groups_led_ counts the groups whose last seen leader is known (deleted ones included), so
  // the walk that confirms it runs only once it reaches the number of replicas.
  if (!all_led_once_ && !replicas_.empty() && groups_led_ >= replicas_.size()) {
    size_t led = 0, leads_here = 0;
    for (auto& [g, r] : replicas_.all()) {
      led += r->lead() != kNoNode ? 1 : 0;
      leads_here += r->lead() == r->id() ? 1 : 0;
    }
    if (led == replicas_.size()) {
      all_led_once_ = true;
      LOG(INFO) << "node " << options_.node_id << ": all " << led
                << " shard replicas here have a leader (" << leads_here << " led here)";
    }
  }
  auto collect_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      clock_.Now() - collect_start).count();
  if (collect_ms > 100) {
    LOG(WARNING) << "slow loop turn: collecting " << in_flight_.size() << " Readys took "
                 << collect_ms << " ms (snapshot install or slow disk?)";
  }
  // The node's Raft log budget: its compactions join this write. Logs grow only by a Ready,
  // so the budget is checked in a turn that collected one, or while the last check found the
  // node over it (LogBudget::MaybeCompact); an idle turn does not sum every group's log.
  bool compacted = false;
  if (!in_flight_.empty() || log_budget_.over()) {
    Result<bool> budget = log_budget_.MaybeCompact(
        replicas_.all(), out.log_batch.get(), [this](GroupId g) { replicas_.MarkTouched(g); });
    if (!budget.ok()) FailStop(budget.status(), "compacting Raft logs to the node's budget");
    compacted = *budget;
    if (log_budget_.wants_flush()) RequestApplyFlush();
  }
  if (in_flight_.empty() && !compacted) {
    out.log_batch.reset();  // nothing to write: the turn is its messages
  } else {
    write_in_flight_ = true;
    // Injected bug (tests and kvd_buggy only): acknowledge before the log is durable.
    if (failpoint::Injected(kBugAckBeforeSync)) out.sync = false;
  }
  Execute(std::move(out));
}

void TurnPipeline::RequestApplyFlush() {
  if (flush_posted_) return;  // one request in the worker's queue is enough
  flush_posted_ = true;
  // Off the loop (a flush request switches memtables, waiting for the write in progress); the
  // engine ignores it while its last flush runs. A failure (a full disk) surfaces at the next
  // write.
  storage_worker_.Post([this] {
    ringkv::Status s = engine_->FlushUnlogged(/*wait=*/false);
    if (!s.ok()) LOG(WARNING) << "flushing the applied state: " << s;
    loop_.Post([this] { flush_posted_ = false; });
  });
}

bool TurnPipeline::Capture(raftpb::Message& m) {
  if (collecting_ == nullptr) return false;
  const NodeId peer = NodeOfReplica(NodeId(m.to()));
  collecting_->messages[peer].push_back(std::move(m));
  return true;
}

bool TurnPipeline::CaptureSnapshot(GroupId group, raftpb::Message& m) {
  if (collecting_ == nullptr) return false;
  collecting_->snapshots.emplace_back(group, std::move(m));
  return true;
}

void TurnPipeline::SendOutput(TurnOutput& out) {
  collecting_ = nullptr;
  for (auto& [peer, messages] : out.messages) sink_.SendToPeer(peer, std::move(messages));
  for (auto& [group, msg] : out.snapshots) sink_.StreamSnapshot(group, std::move(msg));
}

void TurnPipeline::Execute(TurnOutput out) {
  SendOutput(out);
  if (out.log_batch == nullptr) return;
  if (out.log_batch->Empty()) {
    OnBatchWritten(ringkv::Status::OK());
    return;
  }
  if (!out.sync) {
    const storage::WriteDomains d = storage::DomainsOf({out.log_batch.get()});
    if (d.log && !d.rest && !d.log_deletes) {
      WriteLogOnLoop(std::move(out.log_batch));
      return;
    }
  }
  PostLogWrite(std::move(out.log_batch), out.sync, in_flight_.size(), /*resume_first=*/false);
}

void TurnPipeline::WriteLogOnLoop(std::shared_ptr<storage::WriteBatch> batch) {
  // A turn that needs no sync (hard states whose commit index alone moved: a leader learning
  // that its entries are replicated) writes a few records into the page cache: here, on the
  // loop, instead of a trip to the storage worker and back, which at one write in flight is a
  // sizeable part of its latency (two thread wake-ups). Only a log-only write without deletes
  // qualifies: anything else may sync RocksDB first (split_engine.h).
  const auto start = clock_.Now();
  ringkv::Status s = engine_->Write(*batch, /*sync=*/false);
  if (s.code() == StatusCode::kResourceExhausted) {
    OnLogWriteFull(std::move(batch), /*sync=*/false, in_flight_.size(), s);
    return;
  }
  const std::chrono::duration<double> took = clock_.Now() - start;
  ObserveLogWrite(took.count(), in_flight_.size(), batch->ByteSize(), /*synced=*/false);
  OnBatchWritten(s);
}

void TurnPipeline::PostLogWrite(std::shared_ptr<storage::WriteBatch> batch, bool sync,
                                size_t groups, bool resume_first) {
  storage_worker_.Post([this, batch, sync, groups, resume_first] {
    const auto start = clock_.Now();
    // After a full disk, RocksDB refuses every write until Resume() finds room again.
    ringkv::Status s = resume_first ? engine_->Resume() : ringkv::Status::OK();
    if (s.ok()) s = engine_->Write(*batch, sync);
    if (s.code() == StatusCode::kResourceExhausted) {
      loop_.Post([this, batch, sync, groups, s] { OnLogWriteFull(batch, sync, groups, s); });
      return;
    }
    const std::chrono::duration<double> took = clock_.Now() - start;
    ObserveLogWrite(took.count(), groups, batch->ByteSize(), sync);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    // Durations, not whole milliseconds: a threshold of 0 logs every write.
    if (took > options_.slow_sync) {
      LOG(WARNING) << "slow fdatasync: a Raft log write of " << groups << " groups ("
                   << batch->ByteSize() << " bytes) took " << ms << " ms (over "
                   << options_.slow_sync.count() << " ms; a slow or overloaded disk)";
    }
    loop_.Post([this, s] { OnBatchWritten(s); });
  });
}

void TurnPipeline::OnLogWriteFull(std::shared_ptr<storage::WriteBatch> batch, bool sync,
                                  size_t groups, const ringkv::Status& s) {
  // A full disk: nothing of this write is durable (RocksDB failed the WAL append), so it is
  // retried as it is once space is back, instead of stopping the node. The turn stays open
  // meanwhile: the loop keeps serving reads and heartbeats (RunCycle), and no entry is
  // acknowledged. The NOSPACE alarm (server/space_guard.h) normally stops writes long before.
  if (!running_) return;  // stopping: the turn never ends; nothing of it was acknowledged
  if (!disk_full_) {
    disk_full_ = true;
    LOG(ERROR) << "disk full: a Raft log write failed (" << s.ToString() << "); retrying every "
               << options_.replica.apply_retry_interval.count()
               << " ms until space is freed (writes stall, reads go on)";
  }
  if (disk_full_timer_ == nullptr) disk_full_timer_ = loop_.NewTimer();
  disk_full_timer_->RunAfter(options_.replica.apply_retry_interval, [this, batch, sync, groups] {
    PostLogWrite(batch, sync, groups, /*resume_first=*/true);
  });
}

void TurnPipeline::OnBatchWritten(const ringkv::Status& s) {
  // Style tier 3: a failed write on the Raft log path leaves the log state unknown; stop and
  // recover from disk on restart.
  if (!s.ok()) FailStop(s, "syncing the Raft log");
  if (disk_full_) {
    disk_full_ = false;
    LOG(WARNING) << "disk space is back: the Raft log write went through";
  }
  apply_started_ = clock_.Now();
  // Committed entries are applied in memory here, on the loop thread; their writes (unsynced,
  // every group's in ONE engine write: one WAL record and one trip through RocksDB's write
  // path however many groups applied) go to the storage worker, so the loop keeps sending
  // heartbeats and taking requests meanwhile instead of waiting on RocksDB. The turn (and the
  // next Ready of every group) ends when they are on disk.
  // The messages that waited for the sync (votes, append responses) are collected too and
  // leave per peer, one frame each, rather than one queueing (and maybe one frame) per message.
  auto jobs = std::make_shared<std::vector<ApplyWriteJob>>();
  TurnOutput after_sync;
  collecting_ = &after_sync;
  for (replica::Replica* r : in_flight_) {
    ringkv::Status st = r->FinishReady(replica::Replica::ApplyWrite::kLeaveToCaller);
    if (!st.ok()) FailStop(st, "applying committed entries");
    // Applied in memory (a configuration may have changed): placement sees it from now.
    replicas_.MarkTouched(r->group());
    if (r->apply_to_write()) jobs->push_back(ApplyWriteJob{r, r->TakeApplyBatch(), {}, 0});
  }
  SendOutput(after_sync);
  if (jobs->empty()) {
    FinishTurn();
    return;
  }
  if (WriteApplyOnLoop(*jobs)) return;
  storage_worker_.Post([this, jobs] {
    // One write for all, unlogged (the log replays a lost one; engine.h): a failure (a full
    // disk) is every group's, each retries its own batch.
    RecordApplyWrite(engine_->WriteUnlogged(BatchesOf(*jobs)), *jobs);
    loop_.Post([this, jobs] { OnApplyWritten(*jobs); });
  });
}

bool TurnPipeline::WriteApplyOnLoop(std::vector<ApplyWriteJob>& jobs) {
  // A small apply write (a few commands: light load) costs the loop a few microseconds of
  // memtable inserts, and spares the turn a trip to the storage worker and back, which is two
  // thread wake-ups (about 100 us on this project's 2-core machine at one write in flight,
  // docs/benchmarks.md §10n). Large ones stay off the loop, and so does any write that would
  // wait (for a write stall, or another writer): TryWriteUnlogged leaves those unwritten.
  size_t bytes = 0;
  for (const ApplyWriteJob& j : jobs) bytes += j.batch.ByteSize();
  if (bytes > options_.apply_on_loop_max_bytes) return false;
  Result<std::optional<uint64_t>> written = engine_->TryWriteUnlogged(BatchesOf(jobs));
  if (written.ok() && !written->has_value()) return false;  // it would wait: the worker's
  RecordApplyWrite(written.ok() ? Result<uint64_t>(**written) : Result<uint64_t>(written.status()),
                   jobs);
  OnApplyWritten(jobs);
  return true;
}

std::vector<const storage::WriteBatch*> TurnPipeline::BatchesOf(
    const std::vector<ApplyWriteJob>& jobs) {
  std::vector<const storage::WriteBatch*> batches;
  batches.reserve(jobs.size());
  for (const ApplyWriteJob& j : jobs) batches.push_back(&j.batch);
  return batches;
}

void TurnPipeline::RecordApplyWrite(const Result<uint64_t>& written,
                                    std::vector<ApplyWriteJob>& jobs) {
  for (ApplyWriteJob& j : jobs) {
    j.written = written.status();
    if (written.ok()) j.ticket = *written;
  }
}

void TurnPipeline::OnApplyWritten(std::vector<ApplyWriteJob>& jobs) {
  // Replicas in a turn are never deleted before its end (write_in_flight_ defers that).
  for (ApplyWriteJob& j : jobs) {
    Result<uint64_t> written =
        j.written.ok() ? Result<uint64_t>(j.ticket) : Result<uint64_t>(std::move(j.written));
    ringkv::Status st = j.replica->ApplyWritten(std::move(written), std::move(j.batch));
    if (!st.ok()) FailStop(st, "writing applied entries");
  }
  FinishTurn();
}

void TurnPipeline::FinishTurn() {
  write_in_flight_ = false;
  const size_t groups = in_flight_.size();
  // Their Readies are done: the next turn visits them again (Raft may have more for them, a
  // bounded apply the rest of its entries, and completing the apply served reads).
  for (replica::Replica* r : in_flight_) {
    replicas_.MarkTouched(r->group());
    visited_.push_back(r->group());
  }
  in_flight_.clear();
  const std::chrono::duration<double> apply_took = clock_.Now() - apply_started_;
  ObserveApply(apply_took.count());
  const auto apply_ms = std::chrono::duration_cast<std::chrono::milliseconds>(apply_took).count();
  if (apply_took > options_.slow_apply) {
    LOG(WARNING) << "slow apply: " << groups << " groups took " << apply_ms << " ms (over "
                 << options_.slow_apply.count() << " ms)";
  }
  std::vector<std::function<void()>> deferred;
  deferred.swap(after_turn_);
  for (auto& f : deferred) f();
  // visited_ takes the empty scratch list's buffer; the scratch list is emptied again after.
  destroy_candidates_.swap(visited_);
  replicas_.DestroyRemoved(&destroy_candidates_);
  destroy_candidates_.clear();
  if (in_run_cycle_) {
    ScheduleCycle();
  } else {
    RunCycle();
  }
}

}  // namespace ringkv::store
