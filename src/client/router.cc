#include "client/router.h"

#include <algorithm>

namespace ringkv::client {

Router::Router(std::vector<std::string> endpoints) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& e : endpoints) AddEndpointLocked(e);
}

GroupId Router::GroupFor(std::string_view key) const {
  std::lock_guard<std::mutex> l(mu_);
  return ring_ ? ring_->ShardForKey(key) : GroupId(0);
}

GroupId Router::GroupForRange(std::string_view start, std::string_view end) const {
  if (end.empty() || end == std::string_view("\0", 1)) return GroupId(0);
  // Every key k with start <= k < end starts with the common prefix of start and end.
  size_t n = 0;
  while (n < start.size() && n < end.size() && start[n] == end[n]) ++n;
  std::lock_guard<std::mutex> l(mu_);
  if (!ring_) return GroupId(0);
  return ring_->ShardForPrefix(start.substr(0, n)).value_or(GroupId(0));
}

void Router::SetRing(ring::HashRing ring) {
  std::lock_guard<std::mutex> l(mu_);
  ring_ = std::move(ring);
}

uint32_t Router::num_groups() const {
  std::lock_guard<std::mutex> l(mu_);
  return ring_ ? ring_->num_shards() : 0;
}

std::string Router::LeaderFor(GroupId group) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = leaders_.find(group);
  return it == leaders_.end() ? std::string() : it->second;
}

void Router::SetLeader(GroupId group, const std::string& address) {
  if (address.empty()) return;
  std::lock_guard<std::mutex> l(mu_);
  leaders_[group] = address;
  AddEndpointLocked(address);
}

void Router::ForgetLeader(GroupId group, const std::string& address) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = leaders_.find(group);
  if (it != leaders_.end() && it->second == address) leaders_.erase(it);
}

std::string Router::NextEndpoint(const std::string& current) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = std::find(endpoints_.begin(), endpoints_.end(), current);
  if (it == endpoints_.end() || ++it == endpoints_.end()) return endpoints_.front();
  return *it;
}

std::vector<std::string> Router::Endpoints() const {
  std::lock_guard<std::mutex> l(mu_);
  return endpoints_;
}

size_t Router::endpoint_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return endpoints_.size();
}

void Router::AddEndpointLocked(const std::string& address) {
  if (std::find(endpoints_.begin(), endpoints_.end(), address) == endpoints_.end()) {
    endpoints_.push_back(address);
  }
}

}  // namespace ringkv::client
