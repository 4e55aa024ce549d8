#include "replica/watch_hub.h"

#include <algorithm>

namespace ringkv::replica {
namespace {

constexpr std::chrono::milliseconds kMinProgressInterval{100};
constexpr std::chrono::milliseconds kProgressScan{50};

kvpb::Response WatchError(kvpb::ErrorCode code, const std::string& msg) {
  kvpb::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_definite(true);
  r.mutable_error()->set_message(msg);
  return r;
}

}  // namespace

WatchHub::WatchHub(GroupId group, WatchOptions options, const storage::ChangeHistory* history,
                   Index applied)
    : group_(group), options_(options), history_(history), applied_(applied) {}

kvpb::Response WatchHub::Compacted(Index wanted) const {
  kvpb::Response r = WatchError(
      kvpb::COMPACTED, "shard " + std::to_string(group_.value()) + ": version " +
                           std::to_string(wanted.value()) +
                           " is compacted, resume from " +
                           std::to_string(history_->first_index().value()));
  r.mutable_error()->set_resume_version(history_->first_index().value());
  return r;
}

bool WatchHub::Matches(const Watch& w, const std::string& key) const {
  if (w.range_end.empty()) return key == w.key;
  if (key < w.key) return false;
  return (w.range_end.size() == 1 && w.range_end[0] == '\0') || key < w.range_end;
}

void WatchHub::Add(const kvpb::WatchRequest& req, std::shared_ptr<WatchStream> stream,
                   Clock::time_point now) {
  const WatchId id{stream->connection_id(), stream->request_id()};
  if (req.key().empty() && req.range_end().empty()) {
    stream->SendFinal(WatchError(kvpb::INVALID_ARGUMENT, "watch of an empty key"));
    return;
  }
  if (!req.range_end().empty() && !(req.range_end() == std::string(1, '\0')) &&
      req.range_end() <= req.key()) {
    stream->SendFinal(WatchError(kvpb::INVALID_ARGUMENT, "watch range end is not after its start"));
    return;
  }
  if (watches_.count(id) > 0) {
    stream->SendFinal(WatchError(kvpb::INVALID_ARGUMENT,
                                    "request id already names a watch on this connection"));
    return;
  }
  if (watches_.size() >= options_.max_watches) {
    kvpb::Response busy = WatchError(
        kvpb::BUSY, "too many watches on shard " + std::to_string(group_.value()) + " (limit " +
                        std::to_string(options_.max_watches) + ")");
    busy.mutable_error()->set_retry_after_ms(1000);
    stream->SendFinal(busy);
    return;
  }
  const Index start = req.start_version() == 0 ? applied_ + 1 : Index(req.start_version());
  if (start < history_->first_index()) {
    stream->SendFinal(Compacted(start));
    return;
  }
  Watch w;
  w.stream = std::move(stream);
  w.key = req.key();
  w.range_end = req.range_end();
  w.next = start;
  w.synced = start > applied_;
  w.last_sent = now;
  w.progress_interval = req.progress_interval_ms() == 0
                            ? options_.progress_interval
                            : std::max(kMinProgressInterval,
                                       std::chrono::milliseconds(req.progress_interval_ms()));
  kvpb::Response created;
  created.mutable_watch()->set_created(true);
  created.mutable_watch()->set_start_version(start.value());
  if (w.stream->Send(created) != WatchStream::SendResult::kOk) {
    End(w, nullptr);
    return;
  }
  auto [it, inserted] = watches_.emplace(id, std::move(w));
  if (!it->second.synced && !CatchUp(it->second, now)) {
    watches_.erase(it);
  } else if (!it->second.synced) {
    any_catching_up_ = true;
  }
}

void WatchHub::Cancel(uint64_t connection_id, uint64_t request_id) {
  watches_.erase(WatchId{connection_id, request_id});
}

void WatchHub::CancelConnection(uint64_t connection_id) {
  auto it = watches_.lower_bound(WatchId{connection_id, 0});
  while (it != watches_.end() && it->first.first == connection_id) it = watches_.erase(it);
}

void WatchHub::EndAll(const kvpb::Response& error) {
  for (auto& [id, w] : watches_) End(w, &error);
  watches_.clear();
}

void WatchHub::End(Watch& w, const kvpb::Response* error) {
  if (error != nullptr) w.stream->SendFinal(*error);
}

bool WatchHub::Deliver(Watch& w, const std::vector<storage::IndexedChanges>& changes, Index upto,
                       Clock::time_point now) {
  kvpb::Response resp;
  kvpb::WatchResponse* out = resp.mutable_watch();
  for (const storage::IndexedChanges& c : changes) {
    if (c.index < w.next || c.index > upto) continue;
    for (const kvpb::WatchEvent& e : c.events) {
      if (Matches(w, e.key())) *out->add_events() = e;
    }
  }
  if (out->events_size() == 0) {
    w.next = std::max(w.next, upto + 1);
    return true;
  }
  out->set_progress_version(upto.value());
  switch (w.stream->Send(resp)) {
    case WatchStream::SendResult::kOk:
      w.next = std::max(w.next, upto + 1);
      w.last_sent = now;
      return true;
    case WatchStream::SendResult::kSlow: {
      kvpb::Response cancel = WatchError(
          kvpb::CANCELED, "watch canceled: the client is not reading its events fast enough "
                          "(its connection holds too much unread data); resume from version " +
                              std::to_string(w.next.value()));
      cancel.mutable_error()->set_resume_version(w.next.value());
      End(w, &cancel);
      return false;
    }
    case WatchStream::SendResult::kClosed:
      return false;
  }
  return false;
}

bool WatchHub::CatchUp(Watch& w, Clock::time_point now) {
  if (w.next < history_->first_index()) {
    kvpb::Response r = Compacted(w.next);
    End(w, &r);
    return false;
  }
  Result<std::vector<storage::IndexedChanges>> read =
      history_->Read(w.next, applied_, options_.catch_up_batch);
  if (!read.ok()) {
    kvpb::Response r = WatchError(kvpb::INTERNAL, "reading the change history of shard " +
                                                         std::to_string(group_.value()) + ": " +
                                                         read.status().ToString());
    r.mutable_error()->set_definite(false);
    End(w, &r);
    return false;
  }
  // Read stops after whole indexes once the batch is full: everything up to the last index read
  // is covered; when it stopped early, only that far.
  size_t events = 0;
  for (const auto& c : *read) events += c.events.size();
  const bool complete = events < options_.catch_up_batch || read->empty();
  const Index upto = complete ? applied_ : read->back().index;
  if (!Deliver(w, *read, upto, now)) return false;
  w.synced = complete;
  return true;
}

void WatchHub::OnApplied(const std::vector<storage::IndexedChanges>& changes, Index applied,
                         Clock::time_point now) {
  applied_ = applied;
  for (auto it = watches_.begin(); it != watches_.end();) {
    Watch& w = it->second;
    // A watch still catching up reads these changes from the history later.
    if (w.synced && !Deliver(w, changes, applied, now)) {
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
}

void WatchHub::Tick(Clock::time_point now) {
  if (!any_catching_up_ && now < next_progress_scan_) return;
  next_progress_scan_ = now + kProgressScan;
  any_catching_up_ = false;
  for (auto it = watches_.begin(); it != watches_.end();) {
    Watch& w = it->second;
    bool alive = true;
    if (!w.synced) {
      alive = CatchUp(w, now);
    } else if (now - w.last_sent >= w.progress_interval && w.next <= applied_ + 1) {
      // Every change up to next - 1 was delivered (or did not match).
      kvpb::Response progress;
      progress.mutable_watch()->set_progress_version(w.next.value() - 1);
      switch (w.stream->Send(progress)) {
        case WatchStream::SendResult::kOk: w.last_sent = now; break;
        case WatchStream::SendResult::kSlow: break;  // nothing new to say: try next tick
        case WatchStream::SendResult::kClosed: alive = false; break;
      }
    }
    if (alive && !w.synced) any_catching_up_ = true;
    it = alive ? std::next(it) : watches_.erase(it);
  }
}

}  // namespace ringkv::replica
