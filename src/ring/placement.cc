#include "ring/placement.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "ring/hashing.h"

namespace ringkv::ring {
namespace {

bool Contains(const std::vector<uint32_t>& v, uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Node indices ordered by the shard's rendezvous preference: score descending, then node id.
std::vector<uint32_t> Preference(GroupId shard, const std::vector<NodeId>& nodes, uint64_t seed) {
  std::vector<std::pair<uint64_t, uint32_t>> scored;
  scored.reserve(nodes.size());
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    scored.emplace_back(PlacementScore(shard, nodes[i], seed), i);
  }
  // Indices follow node id order, so ascending index breaks score ties by node id.
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<uint32_t> order;
  order.reserve(scored.size());
  for (const auto& [score, index] : scored) order.push_back(index);
  return order;
}

// Exact capacities summing to `total`: the first (total mod N) nodes by NodeRank get one more.
std::vector<uint64_t> Capacities(uint64_t total, const std::vector<NodeId>& nodes, uint64_t seed) {
  const uint64_t n = nodes.size();
  std::vector<std::pair<uint64_t, uint32_t>> ranked;
  for (uint32_t i = 0; i < n; ++i) ranked.emplace_back(NodeRank(nodes[i], seed), i);
  std::sort(ranked.begin(), ranked.end());
  std::vector<uint64_t> cap(n, total / n);
  for (uint64_t k = 0; k < total % n; ++k) ++cap[ranked[k].second];
  return cap;
}

// Shard `s` (0-based) lacks replicas and every node it lacks is full. Takes its favourite full
// node m from the earliest shard t < s that holds m but not f (the favourite non-full node), gives
// t's slot to f, and adds m to s. Returns false if no such swap exists, which the invariant
// "loads <= capacities, sum of capacities = R*S" rules out (see shard_map.h).
bool RepairShard(uint32_t s, const std::vector<uint32_t>& pref, const std::vector<uint64_t>& cap,
                 std::vector<uint64_t>* load, Placement* out) {
  std::vector<uint32_t>& mine = (*out)[s];
  auto m = std::find_if(pref.begin(), pref.end(), [&](uint32_t n) { return !Contains(mine, n); });
  auto f = std::find_if(pref.begin(), pref.end(), [&](uint32_t n) { return (*load)[n] < cap[n]; });
  if (m == pref.end() || f == pref.end()) return false;
  for (uint32_t t = 0; t < s; ++t) {
    std::vector<uint32_t>& theirs = (*out)[t];
    auto slot = std::find(theirs.begin(), theirs.end(), *m);
    if (slot == theirs.end() || Contains(theirs, *f)) continue;
    *slot = *f;
    ++(*load)[*f];
    mine.push_back(*m);
    return true;
  }
  return false;
}

}  // namespace

Placement PlaceReplicas(const RingConfig& config, const std::vector<NodeId>& nodes) {
  const uint32_t num_shards = config.num_shards;
  const size_t r = std::min<size_t>(config.replication_factor, nodes.size());
  const std::vector<uint64_t> cap = Capacities(uint64_t{num_shards} * r, nodes, config.hash_seed);
  std::vector<uint64_t> load(nodes.size(), 0);
  Placement out(num_shards);
  std::vector<std::vector<uint32_t>> prefs(num_shards);
  for (uint32_t s = 0; s < num_shards; ++s) {
    prefs[s] = Preference(GroupId(s + 1), nodes, config.hash_seed);
    for (uint32_t n : prefs[s]) {
      if (out[s].size() == r) break;
      if (load[n] < cap[n]) {
        out[s].push_back(n);
        ++load[n];
      }
    }
    while (out[s].size() < r) {
      if (!RepairShard(s, prefs[s], cap, &load, &out)) {
        // Unreachable by the argument in shard_map.h; stay correct (distinct replicas) at the
        // cost of balance rather than fail.
        for (uint32_t n : prefs[s]) {
          if (!Contains(out[s], n)) {
            out[s].push_back(n);
            ++load[n];
            break;
          }
        }
      }
    }
  }
  // Repairs append out of order; restore each shard's rendezvous order.
  for (uint32_t s = 0; s < num_shards; ++s) {
    std::vector<uint32_t> ordered;
    for (uint32_t n : prefs[s]) {
      if (Contains(out[s], n)) ordered.push_back(n);
    }
    out[s] = std::move(ordered);
  }
  return out;
}

namespace {

// Capacity-bounded bipartite matching of shards to one of their replicas (Kuhn's augmenting
// paths; each search visits a node at most once, so recursion depth is at most N).
class LeaderMatcher {
 public:
  LeaderMatcher(uint32_t num_nodes, const Placement& placement)
      : placement_(placement), leader_(placement.size(), kUnmatched), led_(num_nodes) {}

  // Matches every unmatched shard it can while no node leads more than `cap` shards.
  void Run(uint64_t cap) {
    cap_ = cap;
    for (uint32_t s = 0; s < placement_.size(); ++s) {
      if (leader_[s] != kUnmatched || placement_[s].empty()) continue;
      std::vector<char> visited(led_.size(), 0);
      Augment(s, &visited);
    }
  }

  // The matched node of shard s, or the shard's first replica if it is unmatched.
  uint32_t LeaderOf(uint32_t s) const {
    return leader_[s] != kUnmatched ? leader_[s] : placement_[s].front();
  }

 private:
  static constexpr uint32_t kUnmatched = ~0u;

  bool Augment(uint32_t s, std::vector<char>* visited) {
    for (uint32_t n : placement_[s]) {
      if (!(*visited)[n] && led_[n].size() < cap_) {
        led_[n].push_back(s);
        leader_[s] = n;
        return true;
      }
    }
    for (uint32_t n : placement_[s]) {
      if ((*visited)[n]) continue;
      (*visited)[n] = 1;
      // led_[n] is not modified by the recursion: n is visited, so it is neither a free target
      // nor re-entered.
      for (size_t j = 0; j < led_[n].size(); ++j) {
        if (Augment(led_[n][j], visited)) {
          led_[n][j] = s;
          leader_[s] = n;
          return true;
        }
      }
    }
    return false;
  }

  const Placement& placement_;
  std::vector<uint32_t> leader_;            // [shard] -> node index or kUnmatched
  std::vector<std::vector<uint32_t>> led_;  // [node] -> shards it leads; size <= cap_
  uint64_t cap_ = 0;
};

}  // namespace

void AssignLeaders(uint32_t num_nodes, Placement* placement) {
  if (num_nodes == 0) return;
  const uint64_t shards = placement->size();
  LeaderMatcher matcher(num_nodes, *placement);
  // Filling every node to the floor first keeps the minimum up; the second pass places the rest.
  if (shards / num_nodes > 0) matcher.Run(shards / num_nodes);
  matcher.Run((shards + num_nodes - 1) / num_nodes);
  for (uint32_t s = 0; s < placement->size(); ++s) {
    std::vector<uint32_t>& replicas = (*placement)[s];
    if (replicas.empty()) continue;
    auto it = std::find(replicas.begin(), replicas.end(), matcher.LeaderOf(s));
    std::rotate(replicas.begin(), it, it + 1);
  }
}

}  // namespace ringkv::ring
