#include "store/backup_cursors.h"

#include <glog/logging.h>

#include <algorithm>
#include <random>

#include "storage/data_pages.h"

namespace ringkv::store {
namespace {

kvpb::Response ErrorReply(kvpb::ErrorCode code, const std::string& msg, uint32_t retry_after_ms = 0) {
  kvpb::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_definite(true);
  r.mutable_error()->set_message(msg);
  r.mutable_error()->set_retry_after_ms(retry_after_ms);
  return r;
}

}  // namespace

BackupCursors::BackupCursors(storage::Engine* engine, NodeEnv& env, Options options)
    : engine_(engine),
      options_(options),
      clock_(env.clock()),
      sweep_timer_(env.loop().NewTimer()),
      next_id_(std::random_device{}()) {
  next_id_ = (next_id_ << 32) | 1;
}

BackupCursors::~BackupCursors() { sweep_timer_->Cancel(); }

void BackupCursors::Handle(const kvpb::Request& req, replica::Replica* r,
                           replica::Clock::time_point deadline, Reply reply) {
  const kvpb::BackupReadRequest& b = req.backup_read();
  const GroupId group(req.group_id());
  if (b.cursor() != 0) {
    auto it = cursors_.find(b.cursor());
    if (it == cursors_.end() || it->second.group != group) {
      reply(ErrorReply(kvpb::UNAVAILABLE,
                       "backup cursor " + std::to_string(b.cursor()) + " of shard " +
                           std::to_string(group.value()) +
                           " is not open on this node (released after " +
                           std::to_string(options_.idle_timeout.count() / 1000) +
                           " s idle, or the node restarted); read the shard again"));
      return;
    }
    if (b.release()) {
      cursors_.erase(it);
      reply(kvpb::Response());
      return;
    }
    ServePage(b.cursor(), b, std::move(reply));
    return;
  }
  if (r == nullptr) {
    reply(ErrorReply(kvpb::WRONG_SHARD,
                     "this node has no replica of shard " + std::to_string(group.value())));
    return;
  }
  if (cursors_.size() >= options_.max_cursors) {
    reply(ErrorReply(kvpb::BUSY,
                     "too many backup reads open on this node (" +
                         std::to_string(cursors_.size()) + "); retry later",
                     /*retry_after_ms=*/1000));
    return;
  }
  // The replica answers a backup read as a linearizable read barrier: an empty OK once it
  // confirmed its leadership and applied the read index, else NOT_LEADER / NO_LEADER / TIMEOUT.
  // It answers on the loop thread, so the snapshot below is taken between two applies.
  kvpb::Request barrier = req;
  barrier.set_consistency(kvpb::LINEARIZABLE);
  r->HandleRequest(barrier,
                   [this, group, b, reply = std::move(reply)](kvpb::Response resp) mutable {
                     if (resp.has_error() && resp.error().code() != kvpb::OK) {
                       reply(std::move(resp));
                       return;
                     }
                     OpenAndServe(group, b, std::move(reply));
                   },
                   deadline);
}

void BackupCursors::OpenAndServe(GroupId group, const kvpb::BackupReadRequest& req, Reply reply) {
  Cursor c;
  c.group = group;
  c.snapshot = engine_->GetSnapshot();
  Result<storage::ApplyState> applied = storage::ReadApplyStateAt(*engine_, group, *c.snapshot);
  if (!applied.ok()) {
    reply(ErrorReply(kvpb::INTERNAL, "shard " + std::to_string(group.value()) +
                                         ": reading the apply state failed: " +
                                         applied.status().ToString()));
    return;
  }
  c.applied = *applied;
  c.last_used = clock_.Now();
  const uint64_t id = next_id_++;
  cursors_.emplace(id, std::move(c));
  VLOG(1) << "shard " << group << ": backup cursor " << id << " opened at applied index "
          << applied->applied_index;
  ScheduleSweep();
  ServePage(id, req, std::move(reply));
}

void BackupCursors::ServePage(uint64_t id, const kvpb::BackupReadRequest& req, Reply reply) {
  Cursor& c = cursors_.at(id);
  c.last_used = clock_.Now();
  const size_t max_bytes =
      req.max_bytes() == 0 ? options_.default_page_bytes
                           : std::min<size_t>(req.max_bytes(), options_.max_page_bytes);
  Result<storage::DataPage> page =
      storage::ReadDataPage(*engine_, c.group, *c.snapshot, req.start_after(), max_bytes);
  if (!page.ok()) {
    const std::string why = page.status().ToString();
    cursors_.erase(id);
    reply(ErrorReply(kvpb::INTERNAL, "shard " + std::to_string(c.group.value()) +
                                         ": backup read failed: " + why));
    return;
  }
  kvpb::Response resp;
  kvpb::BackupReadResponse* out = resp.mutable_backup_read();
  out->set_cursor(id);
  out->set_applied_index(c.applied.applied_index.value());
  out->set_applied_term(c.applied.applied_term.value());
  for (storage::KvPair& p : page->kvs) {
    kvpb::KeyValue* kv = out->add_kvs();
    kv->set_key(std::move(p.key));
    kv->set_value(std::move(p.value.value));
    kv->set_version(p.value.version.value());
  }
  out->set_done(page->done);
  if (page->done) cursors_.erase(id);
  reply(std::move(resp));
}

void BackupCursors::ScheduleSweep() {
  if (sweep_scheduled_) return;
  sweep_scheduled_ = true;
  // Cancelled (never run) when the store goes away.
  sweep_timer_->RunAfter(options_.idle_timeout / 4 + std::chrono::milliseconds(1), [this] {
    sweep_scheduled_ = false;
    Sweep();
  });
}

void BackupCursors::Sweep() {
  const auto now = clock_.Now();
  for (auto it = cursors_.begin(); it != cursors_.end();) {
    if (now - it->second.last_used >= options_.idle_timeout) {
      LOG(INFO) << "shard " << it->second.group << ": backup cursor " << it->first
                << " released after " << options_.idle_timeout.count() / 1000 << " s unused";
      it = cursors_.erase(it);
    } else {
      ++it;
    }
  }
  if (!cursors_.empty()) ScheduleSweep();
}

}  // namespace ringkv::store
