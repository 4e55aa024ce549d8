#include "client/session_pool.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

namespace ringkv::client {

SessionPool::Sources SessionPool::DefaultSources() {
  Sources s;
  s.random_id = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  };
  s.now_ms = [] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  };
  return s;
}

SessionPool::SessionPool(size_t max_span, Sources sources)
    : max_span_(std::max<size_t>(1, max_span)), sources_(std::move(sources)) {}

bool SessionPool::HasRoom(const Session& s) const {
  return !s.expired && s.next_sequence - s.FirstIncomplete() < max_span_;
}

uint64_t SessionPool::NewSession() {
  uint64_t id = 0;
  while (id == 0 || sessions_.count(id) != 0) id = sources_.random_id();  // 0 = "no session"
  Session s;
  s.started_ms = std::max(sources_.now_ms(), min_started_ms_ + 1);
  sessions_.emplace(id, std::move(s));
  return id;
}

WriteSession SessionPool::Acquire() {
  auto it = sessions_.find(current_);
  if (it == sessions_.end() || !HasRoom(it->second)) {
    it = std::find_if(sessions_.begin(), sessions_.end(),
                      [this](const auto& e) { return HasRoom(e.second); });
    if (it == sessions_.end()) it = sessions_.find(NewSession());
    current_ = it->first;
  }
  Session& s = it->second;
  const uint64_t seq = s.next_sequence++;
  s.in_flight.insert(seq);
  return WriteSession{it->first, seq};
}

void SessionPool::Complete(const WriteSession& w) {
  auto it = sessions_.find(w.client_id);
  if (it == sessions_.end()) return;
  it->second.in_flight.erase(w.sequence);
  if (it->second.expired && it->second.in_flight.empty()) sessions_.erase(it);
}

uint64_t SessionPool::FirstIncomplete(uint64_t client_id) const {
  auto it = sessions_.find(client_id);
  return it == sessions_.end() ? 0 : it->second.FirstIncomplete();
}

uint64_t SessionPool::StartedMs(uint64_t client_id) const {
  auto it = sessions_.find(client_id);
  return it == sessions_.end() ? 0 : it->second.started_ms;
}

void SessionPool::Expire(uint64_t client_id, uint64_t expired_through_ms) {
  min_started_ms_ = std::max(min_started_ms_, expired_through_ms);
  auto it = sessions_.find(client_id);
  if (it == sessions_.end()) return;
  it->second.expired = true;
  if (current_ == client_id) current_ = 0;
}

size_t SessionPool::in_flight() const {
  size_t n = 0;
  for (const auto& [id, s] : sessions_) n += s.in_flight.size();
  return n;
}

}  // namespace ringkv::client
