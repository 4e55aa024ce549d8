#include "client/watcher.h"

#include <algorithm>

#include "client/convert.h"
#include "client/error_policy.h"

namespace ringkv::client {
namespace {

constexpr int kMaxWatchRedirectsInRow = 3;

}  // namespace

Watcher::Watcher(ClientCore* core, uint64_t id, std::string key, std::string range_end,
                 const WatchOptions& options, std::vector<GroupId> shards, OnUpdate on_update,
                 OnEnd on_end)
    : core_(core),
      id_(id),
      key_(std::move(key)),
      range_end_(std::move(range_end)),
      progress_interval_(options.progress_interval),
      on_update_(std::move(on_update)),
      on_end_(std::move(on_end)) {
  for (GroupId g : shards) {
    Shard s;
    s.group = g;
    auto it = options.start_versions.find(static_cast<uint32_t>(g.value()));
    s.next = it != options.start_versions.end() ? it->second : options.from_version;
    s.backoff = std::make_unique<Backoff>(core_->options.initial_backoff,
                                          core_->options.max_backoff, core_->rng.Next());
    s.timer = std::make_unique<boost::asio::steady_timer>(core_->io);
    shards_.push_back(std::move(s));
  }
  std::lock_guard<std::mutex> l(mu_);
  for (const Shard& s : shards_) positions_[static_cast<uint32_t>(s.group.value())] = s.next;
}

std::map<uint32_t, uint64_t> Watcher::Positions() const {
  std::lock_guard<std::mutex> l(mu_);
  return positions_;
}

void Watcher::SetNext(size_t i, uint64_t next) {
  Shard& s = shards_[i];
  if (next <= s.next) return;
  s.next = next;
  std::lock_guard<std::mutex> l(mu_);
  positions_[static_cast<uint32_t>(s.group.value())] = next;
}

void Watcher::Start() {
  for (size_t i = 0; i < shards_.size(); ++i) Open(i);
}

void Watcher::Open(size_t i) {
  if (done_) return;
  Shard& s = shards_[i];
  if (s.endpoint.empty()) s.endpoint = core_->router.LeaderFor(s.group);
  if (s.endpoint.empty()) s.endpoint = core_->router.NextEndpoint("");
  kvpb::Request req;
  req.set_group_id(s.group.value());
  kvpb::WatchRequest* w = req.mutable_watch();
  w->set_key(key_);
  w->set_range_end(range_end_);
  w->set_start_version(s.next);
  w->set_progress_interval_ms(static_cast<uint32_t>(progress_interval_.count()));
  s.channel = core_->ChannelFor(s.endpoint);
  std::weak_ptr<Watcher> weak = weak_from_this();
  // The id is known only once OpenStream returns; callbacks compare it to drop a stale stream.
  auto id_holder = std::make_shared<uint64_t>(0);
  s.stream_id = s.channel->OpenStream(
      std::move(req),
      [weak, i, id_holder](kvpb::Response resp) {
        if (auto self = weak.lock()) self->OnMessage(i, *id_holder, std::move(resp));
      },
      [weak, i, id_holder](const Status& why) {
        if (auto self = weak.lock()) self->OnStreamEnd(i, *id_holder, why);
      });
  *id_holder = s.stream_id;
}

void Watcher::CloseStream(size_t i) {
  Shard& s = shards_[i];
  if (s.stream_id == 0 || !s.channel) return;
  kvpb::Request cancel;
  cancel.set_group_id(s.group.value());
  cancel.mutable_watch_cancel()->set_watch_id(s.stream_id);
  s.channel->CloseStream(s.stream_id, cancel);
  s.stream_id = 0;
}

void Watcher::Reopen(size_t i, std::chrono::milliseconds delay, std::string endpoint) {
  CloseStream(i);
  Shard& s = shards_[i];
  s.endpoint = std::move(endpoint);
  if (delay.count() == 0) {
    Open(i);
    return;
  }
  std::weak_ptr<Watcher> weak = weak_from_this();
  s.timer->expires_after(delay);
  s.timer->async_wait([weak, i](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->Open(i);
  });
}

void Watcher::OnMessage(size_t i, uint64_t stream_id, kvpb::Response resp) {
  Shard& s = shards_[i];
  if (done_ || stream_id != s.stream_id) return;
  // A shard watched without knowing the ring learns its id from the server's answer.
  const uint32_t shard = static_cast<uint32_t>(
      s.group.value() != 0 ? s.group.value() : resp.group_id());
  if (resp.has_error() && resp.error().code() != kvpb::OK) {
    const kvpb::Error& e = resp.error();
    WatchEnd end;
    end.shard = shard;
    end.resume_version = e.resume_version();
    switch (e.code()) {
      case kvpb::COMPACTED:
        end.status = Status::FailedPrecondition(DescribeError(e));
        Finish(end);
        return;
      case kvpb::CANCELED:
        end.status = Status::ResourceExhausted(DescribeError(e));
        Finish(end);
        return;
      case kvpb::INVALID_ARGUMENT:
        end.status = Status::InvalidArgument(DescribeError(e));
        Finish(end);
        return;
      case kvpb::PERMISSION_DENIED:  // definite: every node applies the same rules
        end.status = Status::PermissionDenied(DescribeError(e));
        Finish(end);
        return;
      case kvpb::NOT_LEADER:
        core_->router.ForgetLeader(s.group, s.endpoint);
        if (!e.leader_address().empty() && s.redirects_in_row < kMaxWatchRedirectsInRow) {
          ++s.redirects_in_row;
          core_->router.SetLeader(s.group, e.leader_address());
          Reopen(i, std::chrono::milliseconds(0), e.leader_address());
          return;
        }
        break;
      default:
        core_->router.ForgetLeader(s.group, s.endpoint);
        break;
    }
    s.redirects_in_row = 0;
    Reopen(i, s.backoff->Next(std::chrono::milliseconds(e.retry_after_ms())),
           core_->router.NextEndpoint(s.endpoint));
    return;
  }
  if (!resp.has_watch()) return;  // not ours to understand; the next message may be
  const kvpb::WatchResponse& w = resp.watch();
  if (w.created()) {
    s.redirects_in_row = 0;
    s.backoff = std::make_unique<Backoff>(core_->options.initial_backoff,
                                          core_->options.max_backoff, core_->rng.Next());
    if (s.group.value() != 0) core_->router.SetLeader(s.group, s.endpoint);
  }
  Deliver(i, w, shard);
}

void Watcher::Deliver(size_t i, const kvpb::WatchResponse& w, uint32_t shard) {
  Shard& s = shards_[i];
  WatchUpdate u;
  u.shard = shard;
  if (w.created()) {
    u.created = true;
    u.start_version = w.start_version();
    if (s.next == 0) SetNext(i, w.start_version());
  }
  uint64_t last = 0;
  for (const kvpb::WatchEvent& e : w.events()) {
    if (e.version() < s.next) continue;  // already delivered before a resume
    u.events.push_back(FromProto(e, shard));
    last = std::max(last, e.version());
  }
  if (w.progress_version() != 0 && w.progress_version() + 1 >= s.next) {
    u.progress_version = w.progress_version();
  }
  if (last != 0) SetNext(i, last + 1);
  if (u.progress_version != 0) SetNext(i, u.progress_version + 1);
  if (!u.created && u.events.empty() && u.progress_version == 0) return;
  if (on_update_) on_update_(u);
}

void Watcher::OnStreamEnd(size_t i, uint64_t stream_id, const Status& why) {
  Shard& s = shards_[i];
  if (done_ || stream_id != s.stream_id) return;
  s.stream_id = 0;  // the channel already forgot it
  core_->router.ForgetLeader(s.group, s.endpoint);
  s.redirects_in_row = 0;
  Reopen(i, s.backoff->Next(), core_->router.NextEndpoint(s.endpoint));
}

void Watcher::Finish(const WatchEnd& end) {
  if (done_) return;
  done_ = true;
  for (size_t i = 0; i < shards_.size(); ++i) {
    CloseStream(i);
    shards_[i].timer->cancel();
  }
  auto keep = shared_from_this();  // erasing below may drop the last other owner
  core_->watchers.erase(id_);
  OnEnd cb = std::move(on_end_);
  if (cb) cb(end);
}

void Watcher::Cancel() {
  if (done_) return;
  done_ = true;
  for (size_t i = 0; i < shards_.size(); ++i) {
    CloseStream(i);
    shards_[i].timer->cancel();
  }
  auto keep = shared_from_this();
  core_->watchers.erase(id_);
}

void Watcher::Abort(const Status& why) {
  WatchEnd end;
  end.status = why;
  Finish(end);
}

}  // namespace ringkv::client
