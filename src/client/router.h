// Router: where the client sends a request. Two questions, kept apart so sharding stays local:
//   1. key -> group: today the client does not know the ring, so GroupFor returns group 0 ("let
//      the server route by key"); the ring-based router of the next issue replaces GroupFor (and
//      Scan fans out over GroupsFor ranges) without touching the retry logic.
//   2. group -> leader endpoint: a cache filled from successful responses (Response.group_id +
//      the endpoint that served a leader-only request) and from NOT_LEADER hints, and cleared
//      when that endpoint fails or says it is not the leader. Requests addressed to group 0 cache
//      under group 0 too (the server's answer for "whoever owns this key").
// When no leader is known, requests rotate over the endpoints (configured ones first, then
// addresses learned from hints).
//
// Thread-safety: thread-safe (a mutex; uncontended in practice, as the client calls it from its
// I/O thread, but Endpoints() may be read from any thread).
#ifndef RINGKV_CLIENT_ROUTER_H_
#define RINGKV_CLIENT_ROUTER_H_

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <optional>

#include "common/ids.h"
#include "common/thread_annotations.h"
#include "ring/hash_ring.h"

namespace ringkv::client {

class Router {
 public:
  // REQUIRES: `endpoints` non-empty.
  explicit Router(std::vector<std::string> endpoints);

  // The group owning `key` by the cluster's ring; GroupId(0) while the ring is unknown (the
  // server then routes by key).
  GroupId GroupFor(std::string_view key) const;
  // The one group every key in [start, end) lives on, when their common prefix holds a complete
  // hash tag (ring config version 2: "{user42}/" ranges); GroupId(0) when they may spread over
  // the groups or the ring is unknown. `end` "" or "\0" means no upper bound.
  GroupId GroupForRange(std::string_view start, std::string_view end) const;
  // Installs the cluster's ring (learned from a node's status at connect).
  void SetRing(ring::HashRing ring);
  // Number of shards, 0 while the ring is unknown.
  uint32_t num_groups() const;

  // The cached leader endpoint of `group`, or "" when unknown.
  std::string LeaderFor(GroupId group) const;
  // Records `address` as `group`'s leader; a new address joins the endpoint list.
  void SetLeader(GroupId group, const std::string& address);
  // Forgets `group`'s leader if it is still `address` (a failure at a stale address must not
  // erase a newer hint).
  void ForgetLeader(GroupId group, const std::string& address);

  // The endpoint after `current` in the rotation (the first one when `current` is unknown).
  std::string NextEndpoint(const std::string& current) const;
  // Configured endpoints followed by learned ones.
  std::vector<std::string> Endpoints() const;
  size_t endpoint_count() const;

 private:
  void AddEndpointLocked(const std::string& address) REQUIRES(mu_);

  // State below is protected by mu_.
  mutable std::mutex mu_;
  std::vector<std::string> endpoints_ GUARDED_BY(mu_);  // never shrinks; no duplicates
  std::unordered_map<GroupId, std::string> leaders_ GUARDED_BY(mu_);
  std::optional<ring::HashRing> ring_ GUARDED_BY(mu_);
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_ROUTER_H_
