// Replica: the apply path — committed entries applied in memory into one batch, the batch's
// write (possibly stalled by a full disk) and what follows it, and log compaction (see
// replica.h). Split from replica.cc by concern.
#include <algorithm>

#include "common/failpoint.h"
#include "common/status_macros.h"
#include "replica/applier.h"
#include "replica/replica.h"
#include "replica/replica_metrics.h"

namespace ringkv::replica {

Status Replica::RetryStalledApply(Clock::time_point now) {
  if (!apply_stalled() || now < pending_apply_->next_try) return Status::OK();
  pending_apply_->next_try = now + options_.apply_retry_interval;
  // RocksDB refuses every write after one failed for space until its background error is
  // cleared; Resume fails the same way while the disk is still full.
  if (!engine_->Resume().ok()) return Status::OK();
  Result<uint64_t> ticket = engine_->WriteUnlogged({&pending_apply_->batch});
  if (ticket.status().code() == StatusCode::kResourceExhausted) return Status::OK();
  RETURN_IF_ERROR(ticket.status());
  group_logger_->Log(raft::LogLevel::kWarning,
                     "disk space is back: the stalled apply write went through");
  CompleteApply(now, *ticket);
  return Status::OK();
}

storage::WriteBatch Replica::TakeApplyBatch() { return std::move(pending_apply_->batch); }

Status Replica::ApplyWritten(Result<uint64_t> written, storage::WriteBatch batch) {
  pending_apply_->in_flight = false;
  if (written.status().code() == StatusCode::kResourceExhausted) {
    // The disk is full. Nothing of the batch is stored (RocksDB refuses writes after a flush
    // failed for space; the apply write has no WAL append of its own to fail) while
    // our in-memory state already includes it, so the same batch is written again later
    // rather than stopping the node (RetryStalledApply). Watchers hear of the changes only
    // once they are written: a reader told of a change must find it.
    group_logger_->Log(raft::LogLevel::kError,
                       "disk full: an apply write failed (" + written.status().ToString() +
                           "); retrying until space is freed (this shard's writes stall)");
    pending_apply_->batch = std::move(batch);
    pending_apply_->next_try = env_->Now() + options_.apply_retry_interval;
    return Status::OK();
  }
  RETURN_IF_ERROR(written.status());
  CompleteApply(env_->Now(), *written);
  return Status::OK();
}

Index Replica::DurableApplied() const {
  if (!undurable_applies_.empty()) {
    const uint64_t durable = engine_->DurableTicket();
    while (!undurable_applies_.empty() && undurable_applies_.front().first <= durable) {
      // max: a snapshot installed since may have moved it past older applies.
      durable_applied_ = std::max(durable_applied_, undurable_applies_.front().second);
      undurable_applies_.pop_front();
    }
  }
  return durable_applied_;
}

void Replica::CompleteApply(Clock::time_point now, uint64_t ticket) {
  PendingApply done = std::move(*pending_apply_);
  pending_apply_.reset();
  undurable_applies_.emplace_back(ticket, done.last);
  watch_hub_.OnApplied(done.changes, done.last, now);
  for (auto& [reply, resp] : done.replies) reply(std::move(resp));
  raw_->Advance();
  ServeReadyReads();
  MaybeStepPendingSnapshot();  // one may have completed while the apply write was out
}

Status Replica::ApplyEntries(const std::vector<raftpb::Entry>& entries) {
  if (entries.empty()) return Status::OK();
  storage::WriteBatch batch;
  const Clock::time_point now = env_->Now();
  Applier applier(&kv_, &batch, &leases_, now);
  std::vector<std::pair<Reply, kvpb::Response>> replies;
  const bool ack_before_apply = failpoint::Injected(kBugAckBeforeApply);
  for (const raftpb::Entry& e : entries) {
    Index idx(e.index());
    if (options_.observer != nullptr) options_.observer->OnApplied(options_.group, options_.self, e);
    kvpb::Response resp;
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
      raftpb::ConfChange cc;
      if (!cc.ParseFromString(e.data())) {
        return Status::Corruption("group " + std::to_string(options_.group.value()) +
                                  ": undecodable conf change at index " + std::to_string(e.index()));
      }
      raftpb::ConfState cs = raw_->ApplyConfChange(cc);
      log_.SetConfState(&batch, cs);
      if (!ConfContains(cs, options_.self)) removed_at_ = idx;
    } else if (!e.data().empty()) {
      kvpb::Command cmd;
      if (!cmd.ParseFromString(e.data())) {
        return Status::Corruption("group " + std::to_string(options_.group.value()) +
                                  ": undecodable command at index " + std::to_string(e.index()));
      }
      if (ack_before_apply) {
        // Injected bug: the write is answered now, as if it took effect, before it applies.
        std::vector<std::pair<Reply, kvpb::Response>> now_replies;
        proposals_.Decide(idx, Term(e.term()), AssumedSuccessForTesting(cmd, idx), &now_replies);
        for (auto& [reply, r] : now_replies) reply(std::move(r));
      }
      // Injected bug: no deduplication, so a retried write applies twice.
      if (failpoint::Injected(kBugForgetSessions)) cmd.set_client_id(0);
      ASSIGN_OR_RETURN(resp, applier.Apply(cmd, idx));
    }
    proposals_.Decide(idx, Term(e.term()), resp, &replies);
  }
  const raftpb::Entry& last = entries.back();
  std::vector<storage::IndexedChanges> changes = applier.TakeChanges();
  for (const storage::IndexedChanges& c : changes) history_.Append(&batch, c);
  kv_.SetApplyState(&batch, storage::ApplyState{Index(last.index()), Term(last.term())});
  // Unlogged, and written by FinishReady's caller: the log is durable, so a lost apply write
  // is simply replayed after a crash. Answers and watchers wait until it is written: a client
  // told of a change must find it. The log compaction it allows goes into a later log write
  // (CollectReady), once a flush made this write durable.
  pending_apply_ = PendingApply{std::move(batch), std::move(replies), std::move(changes),
                                Index(last.index()), /*in_flight=*/true, Clock::time_point()};
  return Status::OK();
}

Status Replica::MaybeCompact(storage::WriteBatch* batch) {
  const Index applied = kv_.applied().applied_index;
  const Index truncated = log_.truncated_index();
  const uint64_t kept = applied - truncated;
  const bool by_count = kept > options_.compact_threshold;
  const bool by_bytes = options_.compact_log_bytes > 0 &&
                        log_.BytesThrough(applied) > options_.compact_log_bytes;
  if (!by_count && !by_bytes) return Status::OK();
  // Keep the newest compact_keep applied entries for slow followers, and when over the byte
  // budget at most what fits half of it.
  Index to = applied - std::min(kept, options_.compact_keep);
  if (by_bytes) to = std::max(to, log_.CompactionPointKeeping(applied, options_.compact_log_bytes / 2));
  const Index durable = DurableApplied();
  if (to > durable) {
    // Those entries' apply writes wait in the data CF's memtable: a crash would need them.
    // Ask for a flush rather than wait for the memtable to fill: a log kept past its limits
    // costs more per write (its map and the Raft core's cache grow; about 10% of the CPU at
    // 1 shard, docs/benchmarks.md §10i). The engine runs one flush at a time.
    env_->RequestApplyFlush(engine_);
    to = durable;
  }
  if (to <= truncated) return Status::OK();
  ASSIGN_OR_RETURN(Term term, log_.TermAt(to));
  RETURN_IF_ERROR(log_.Compact(batch, to, term));
  adapter_.CacheCompact(to);
  return Status::OK();
}

Result<bool> Replica::CompactLogKeeping(storage::WriteBatch* batch, uint64_t keep_bytes) {
  const Index applied = DurableApplied();  // a stalled or unflushed apply is not on disk
  const Index truncated = log_.truncated_index();
  if (applied <= truncated) return false;
  Index to = std::max(log_.CompactionPointKeeping(applied, keep_bytes),
                      applied - std::min(applied - truncated, options_.compact_keep));
  if (to <= truncated) return false;
  ASSIGN_OR_RETURN(Term term, log_.TermAt(to));
  RETURN_IF_ERROR(log_.Compact(batch, to, term));
  adapter_.CacheCompact(to);
  return true;
}

Status Replica::CompactNow() {
  if (pending_apply_) {
    return Status::Unavailable("group " + std::to_string(options_.group.value()) +
                               ": an apply write is not on disk yet (writing, or waiting for "
                               "disk space); nothing is compacted");
  }
  // The apply writes wait in the data CF's memtable: flush them first (this blocks the loop
  // for the flush, an admin command's price), then everything applied is durable.
  RETURN_IF_ERROR(engine_->FlushUnlogged(/*wait=*/true));
  Index applied = DurableApplied();
  if (applied <= log_.truncated_index()) return Status::OK();
  ASSIGN_OR_RETURN(Term term, log_.TermAt(applied));
  storage::WriteBatch batch;
  RETURN_IF_ERROR(log_.Compact(&batch, applied, term));
  adapter_.CacheCompact(applied);
  return engine_->Write(batch, /*sync=*/true);
}

}  // namespace ringkv::replica
