// SimCluster's leadership invariant (Options::leaderless_bound): quiescence must never leave a
// group leaderless for longer than an election plus gossip's detection time. Checked every
// Options::leadership_check of virtual time from each up node's status.
//
// What counts. A group's voters are those of the configuration of its most advanced up replica
// (highest applied index, then term: a removed replica that still campaigns may have a higher
// term, and an old configuration). A voter is able when its node is up, holds the replica,
// has room on its disk, and no link between it and another up voter of the group is blocked,
// either way. While fewer than a quorum of voters are able, nothing is counted (the group may
// rightly have no leader: a minority cannot elect). Otherwise the group is led when one up
// voter is leader (able or not: a leader whose disk is full still leads) and every able voter
// names it as its leader in its term; a stretch in which it is not led must end within the
// bound. The stretch starts again when the highest term among the able voters rises: an
// election round began (split votes can take several rounds in any Raft; what the invariant
// catches is a group that sits leaderless with nobody campaigning, as a group asleep with a
// dead leader would).
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "store/sim_cluster.h"

namespace ringkv::store::sim {

std::pair<size_t, size_t> SimCluster::QuiescedReplicas() {
  size_t all = 0, quiesced = 0;
  for (const auto& [id, ns] : UpNodeStatuses(/*digests=*/false)) {
    for (const kvpb::GroupStatus& g : ns.groups()) {
      ++all;
      quiesced += g.quiesced() ? 1 : 0;
    }
  }
  return {all, quiesced};
}

void SimCluster::CheckLeadership() {
  const auto now = scheduler_.Now();
  scheduler_.Schedule(now + options_.leadership_check, SimScheduler::kNoOwner,
                      SimScheduler::Kind::kOther, [this] { CheckLeadership(); });
  const Statuses st = UpNodeStatuses(/*digests=*/false);
  std::map<uint64_t, std::map<NodeId, const kvpb::GroupStatus*>> by_group;
  for (const auto& [id, ns] : st) {
    for (const kvpb::GroupStatus& g : ns.groups()) by_group[g.group_id()][id] = &g;
  }
  for (uint32_t gid = 1; gid <= ring_.num_shards; ++gid) {
    const GroupId group(gid);
    const auto& reps = by_group[gid];
    const kvpb::GroupStatus* ref = nullptr;
    for (const auto& [id, g] : reps) {
      if (ref == nullptr || std::make_pair(g->applied(), g->term()) >
                                std::make_pair(ref->applied(), ref->term())) {
        ref = g;
      }
    }
    bool counted = false, led = false;
    uint64_t term = 0;  // the highest term among the able voters
    if (ref != nullptr) {
      std::vector<NodeId> up, up_all;  // voters up and holding the replica (with disk room)
      for (uint64_t v : ref->voters()) {
        const NodeId n(v);
        if (!reps.contains(n)) continue;
        up_all.push_back(n);
        if (!disk_full_.contains(n)) up.push_back(n);
      }
      std::vector<NodeId> able;
      for (NodeId a : up) {
        bool cut = false;
        for (NodeId b : up) cut = cut || (a != b && (blocked_.contains({a, b}) ||
                                                     blocked_.contains({b, a})));
        if (!cut) {
          able.push_back(a);
          term = std::max(term, reps.at(a)->term());
        }
      }
      counted = able.size() >= static_cast<size_t>(ref->voters_size()) / 2 + 1;
      if (counted) {
        // The leader itself need not be able (a leader whose disk is full still leads).
        for (NodeId l : up_all) {
          const kvpb::GroupStatus* lg = reps.at(l);
          if (lg->role() != "leader") continue;
          led = led || std::all_of(able.begin(), able.end(), [&](NodeId a) {
            const kvpb::GroupStatus* ag = reps.at(a);
            return ag->leader() == l.value() && ag->term() == lg->term();
          });
        }
      }
    }
    if (!counted || led) {
      auto it = leaderless_since_.find(group);
      if (it == leaderless_since_.end()) continue;
      const auto stretch =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.since);
      if (stretch * 2 > options_.leaderless_bound) {  // long ones, for the trace
        Trace("group " + std::to_string(gid) + " had no agreed leader for " +
              std::to_string(stretch.count()) + " ms (" + (led ? "led now" : "quorum not able") +
              ")");
      }
      leaderless_since_.erase(it);
      continue;
    }
    auto [entry, fresh] = leaderless_since_.try_emplace(group, Leaderless{now, term});
    if (term > entry->second.term) entry->second = Leaderless{now, term};  // a new round
    const auto since = entry->second.since;
    const auto stretch = std::chrono::duration_cast<std::chrono::milliseconds>(now - since);
    if (stretch > max_leaderless_) {
      max_leaderless_ = stretch;
      max_leaderless_group_ = group;
    }
    if (stretch > options_.leaderless_bound &&
        stretch - options_.leadership_check <= options_.leaderless_bound) {
      invariants_->Fail("group " + std::to_string(gid) + " has had no leader its able voters " +
                        "agree on for " + std::to_string(stretch.count()) + " ms (bound " +
                        std::to_string(options_.leaderless_bound.count()) + " ms):\n" +
                        DescribeGroup(group));
    }
  }
}

}  // namespace ringkv::store::sim
