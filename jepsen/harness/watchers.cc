#include "jepsen/harness/watchers.h"

#include <thread>

namespace ringkv::jepsen {

Watchers::Watchers(int count, std::string prefix,
                   std::function<std::vector<std::string>()> endpoints, uint64_t seed)
    : count_(count), prefix_(std::move(prefix)), endpoints_(std::move(endpoints)), seed_(seed) {
  std::lock_guard<std::mutex> l(mu_);
  logs_.resize(static_cast<size_t>(count_));
  for (int i = 0; i < count_; ++i) logs_[static_cast<size_t>(i)].watcher = i;
}

Watchers::~Watchers() { Stop(); }

Status Watchers::Start() {
  for (int i = 0; i < count_; ++i) {
    One w;
    w.index = i;
    client::ClientOptions o;
    o.endpoints = endpoints_();
    o.lazy_connect = true;
    o.dial_timeout = std::chrono::milliseconds(500);
    o.max_backoff = std::chrono::milliseconds(200);
    o.seed = seed_ * 131 + static_cast<uint64_t>(i) + 1;
    auto c = client::Client::Connect(o);
    if (!c.ok()) return c.status();
    w.client = std::move(*c);
    client::WatchOptions wo;
    wo.prefix = true;
    wo.from_version = 1;  // every change of every shard since the cluster started
    auto h = w.client->Watch(
        prefix_, wo,
        [this, i](const client::WatchUpdate& u) {
          std::lock_guard<std::mutex> l(mu_);
          for (const client::WatchEvent& e : u.events) {
            logs_[static_cast<size_t>(i)].events[e.key].push_back(
                WatchedEvent{e.type == client::WatchEvent::Type::kDelete, e.value, e.version,
                             e.prev_version});
          }
        },
        [this, i](const client::WatchEnd& end) {
          std::lock_guard<std::mutex> l(mu_);
          ends_.push_back("watcher " + std::to_string(i) + " (shard " + std::to_string(end.shard) +
                          "): " + end.status.ToString());
        });
    if (!h.ok()) return h.status();
    w.handle = std::move(*h);
    watchers_.push_back(std::move(w));
  }
  return Status::OK();
}

std::vector<std::string> Watchers::WaitCaughtUp(
    const std::map<std::string, uint64_t>& final_versions, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> behind;
  while (true) {
    behind.clear();
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [key, version] : final_versions) {
        if (version == 0) continue;
        for (const WatcherLog& log : logs_) {
          auto it = log.events.find(key);
          if (it == log.events.end() || it->second.empty() || it->second.back().version < version) {
            behind.push_back(key);
            break;
          }
        }
      }
      if (!ends_.empty()) return behind;  // an ended watch will not catch up
    }
    if (behind.empty() || std::chrono::steady_clock::now() >= deadline) return behind;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the recorded logs
  }
}

std::vector<WatcherLog> Watchers::Stop() {
  for (One& w : watchers_) {
    if (w.handle) w.handle->Cancel();
  }
  watchers_.clear();  // closes the clients
  std::lock_guard<std::mutex> l(mu_);
  return logs_;
}

std::vector<std::string> Watchers::Ends() const {
  std::lock_guard<std::mutex> l(mu_);
  return ends_;
}

}  // namespace ringkv::jepsen
