#include "server/cluster_view.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ring/hash_ring.h"

namespace ringkv::server {
namespace {

// The gossip membership as the first answering node with one reports it.
void FillMembers(const std::vector<NodeAnswer>& answers, ClusterView* v) {
  std::map<uint64_t, MemberInfo> members;
  for (const auto& a : answers) {
    if (!a.status) continue;
    const kvpb::NodeStatus& st = *a.status;
    if (!members.empty()) break;
    for (int i = 0; i < st.member_ids_size(); ++i) {
      MemberInfo& m = members[st.member_ids(i)];
      m.node = st.member_ids(i);
      if (i < st.member_client_addresses_size()) m.client_address = st.member_client_addresses(i);
      if (i < st.member_states_size()) m.state = st.member_states(i);
      m.decommissioning = i < st.member_decommissioning_size() && st.member_decommissioning(i);
    }
  }
  for (const auto& a : answers) {
    if (!a.status) {
      // Match an unreachable endpoint to a member by its client address.
      for (auto& [id, m] : members) {
        if (m.client_address == a.endpoint) m.error = a.error;
      }
      continue;
    }
    const kvpb::NodeStatus& st = *a.status;
    MemberInfo& m = members[st.node_id()];
    m.node = st.node_id();
    if (m.client_address.empty()) m.client_address = st.client_address();
    if (m.state.empty()) m.state = "static";
    m.admin_address = st.admin_address();
    m.reachable = true;
    m.error.clear();
    m.version = st.version();
    m.uptime_ms = st.uptime_ms();
    m.decommissioning = m.decommissioning || st.decommissioning();
    m.alarms.assign(st.alarms().begin(), st.alarms().end());
  }
  for (auto& [id, m] : members) {
    if (!m.reachable && m.error.empty()) m.error = "not asked or no answer";
    v->members.push_back(m);
  }
}

}  // namespace

ClusterView BuildClusterView(const std::vector<NodeAnswer>& answers) {
  ClusterView v;
  FillMembers(answers, &v);

  std::optional<ring::HashRing> ring;
  for (const auto& a : answers) {
    if (!a.status || a.status->ring_config().empty()) continue;
    auto cfg = ring::RingConfig::Decode(a.status->ring_config());
    if (!cfg.ok()) continue;
    auto r = ring::HashRing::Create(*cfg);
    if (!r.ok()) continue;
    ring = std::move(r).value();
    v.num_shards = cfg->num_shards;
    v.replication = cfg->replication_factor;
    break;
  }

  // Best report per shard: the leader's at the highest term, else the highest term.
  struct Best {
    const kvpb::GroupStatus* gs = nullptr;
    uint64_t reporter = 0;
    bool claims = false;
  };
  std::map<uint64_t, Best> best;
  // shard -> node -> that node's own report
  std::map<uint64_t, std::map<uint64_t, const kvpb::GroupStatus*>> own;
  for (const auto& a : answers) {
    if (!a.status) continue;
    for (const auto& gs : a.status->groups()) {
      own[gs.group_id()][a.status->node_id()] = &gs;
      Best& b = best[gs.group_id()];
      bool claims = gs.role() == "leader";
      bool better = b.gs == nullptr || (claims && (!b.claims || gs.term() > b.gs->term())) ||
                    (!claims && !b.claims && gs.term() > b.gs->term());
      if (better) b = {&gs, a.status->node_id(), claims};
    }
  }
  if (ring) {
    for (uint32_t s = 1; s <= ring->num_shards(); ++s) best.try_emplace(s);
  }

  std::map<uint64_t, std::pair<int, int>> counts;  // node -> replicas, leaders
  for (const auto& [shard, b] : best) {
    ShardView sv;
    sv.shard = shard;
    if (ring) {
      auto range = ring->RangeOfShard(GroupId(shard));
      if (range.ok()) {
        sv.token_first = range->first;
        sv.token_last = range->last;
      }
    }
    if (b.gs != nullptr) {
      const kvpb::GroupStatus& gs = *b.gs;
      sv.leader = b.claims ? b.reporter : gs.leader();
      sv.leader_reported = b.claims;
      sv.term = gs.term();
      sv.commit = gs.commit();
      sv.applied = gs.applied();
      sv.last_index = gs.last_index();
      sv.log_bytes = gs.log_bytes();
      sv.log_entry_bytes = gs.log_entry_bytes();
      sv.data_bytes = gs.data_bytes();
      std::vector<std::pair<uint64_t, bool>> nodes;
      for (uint64_t n : gs.voters()) nodes.push_back({n, true});
      for (uint64_t n : gs.learners()) nodes.push_back({n, false});
      for (const auto& [node, voter] : nodes) {
        ReplicaView rv;
        rv.node = node;
        rv.voter = voter;
        rv.role = voter ? "unknown" : "learner";
        for (int i = 0; i < gs.members_size() && i < gs.match_size(); ++i) {
          if (gs.members(i) == node) rv.match = gs.match(i);
        }
        auto mine = own[shard].find(node);
        if (mine != own[shard].end()) {
          rv.role = mine->second->role();
          rv.applied = mine->second->applied();
          if (sv.last_index >= mine->second->last_index()) {
            rv.lag = sv.last_index - std::min(sv.last_index, mine->second->applied());
          } else {
            rv.lag = 0;
          }
        } else if (b.claims) {
          rv.lag = sv.last_index - std::min(sv.last_index, rv.match);
        }
        if (rv.lag) sv.max_lag = std::max(sv.max_lag, *rv.lag);
        counts[node].first++;
        sv.replicas.push_back(rv);
      }
    }
    if (sv.leader == 0) ++v.leaderless;
    else counts[sv.leader].second++;
    v.shards.push_back(std::move(sv));
  }
  for (auto& m : v.members) {
    m.replicas = counts[m.node].first;
    m.leaders = counts[m.node].second;
  }
  return v;
}

std::string ClusterViewJson(const ClusterView& v, int indent) {
  using nlohmann::json;
  json members = json::array();
  for (const auto& m : v.members) {
    json jm = {{"node_id", m.node},
               {"client_address", m.client_address},
               {"admin_address", m.admin_address},
               {"state", m.state},
               {"decommissioning", m.decommissioning},
               {"reachable", m.reachable},
               {"version", m.version},
               {"uptime_ms", m.uptime_ms},
               {"replicas", m.replicas},
               {"leaders", m.leaders},
               {"alarms", m.alarms}};
    if (!m.error.empty()) jm["error"] = m.error;
    members.push_back(jm);
  }
  json shards = json::array();
  for (const auto& s : v.shards) {
    json reps = json::array();
    for (const auto& r : s.replicas) {
      json jr = {{"node_id", r.node}, {"role", r.role}, {"voter", r.voter},
                 {"applied", r.applied}, {"match", r.match}};
      jr["lag"] = r.lag ? json(*r.lag) : json(nullptr);
      reps.push_back(jr);
    }
    // Tokens as strings: JSON numbers lose precision above 2^53 in JavaScript.
    shards.push_back({{"shard_id", s.shard},
                      {"leader", s.leader},
                      {"leader_reported", s.leader_reported},
                      {"term", s.term},
                      {"commit", s.commit},
                      {"applied", s.applied},
                      {"last_index", s.last_index},
                      {"token_first", std::to_string(s.token_first)},
                      {"token_last", std::to_string(s.token_last)},
                      {"range_fraction_start", static_cast<double>(s.token_first) / 18446744073709551616.0},
                      {"range_fraction_end", (static_cast<double>(s.token_last) + 1) / 18446744073709551616.0},
                      {"max_lag", s.max_lag},
                      {"log_bytes", s.log_bytes},
                      {"log_entry_bytes", s.log_entry_bytes},
                      {"data_bytes", s.data_bytes},
                      {"replicas", reps}});
  }
  json out = {{"num_shards", v.num_shards},
              {"replication", v.replication},
              {"leaderless_shards", v.leaderless},
              {"members", members},
              {"shards", shards}};
  return out.dump(indent);
}

}  // namespace ringkv::server
