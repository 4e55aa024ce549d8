// cluster status: every endpoint's NodeStatus, and each group's leader by node id.
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "client/admin.h"
#include "commands.h"
#include "errors.h"
#include "format.h"

namespace ringkv::kvctl {
namespace {

using nlohmann::json;

struct NodeAnswer {
  std::string endpoint;
  Result<kvpb::NodeStatus> status;
};

// The leader of each group by node id: reported by the member claiming leadership at the highest
// term, else the leader field reported with the highest term; 0 when nobody knows one.
std::map<uint64_t, std::pair<uint64_t, uint64_t>> Leaders(const std::vector<NodeAnswer>& nodes) {
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> best;  // group -> (term, leader)
  auto consider = [&](uint64_t group, uint64_t term, uint64_t leader, bool claims) {
    auto& b = best[group];
    if (leader == 0) return;
    if (term > b.first || (term == b.first && (claims || b.second == 0))) b = {term, leader};
  };
  for (const auto& n : nodes) {
    if (!n.status.ok()) continue;
    for (const auto& gs : n.status->groups()) {
      const bool claims = gs.role() == "leader";
      consider(gs.group_id(), gs.term(), claims ? n.status->node_id() : gs.leader(), claims);
    }
  }
  return best;
}

struct ShardRow {
  uint64_t group = 0, leader = 0, term = 0, applied = 0, commit = 0;
  std::vector<uint64_t> voters, learners;
};

// One row per shard, as reported by its leader (the member claiming leadership at the highest
// term); shards without a reachable leader show the best knowledge of any member.
std::map<uint64_t, ShardRow> Shards(const std::vector<NodeAnswer>& nodes) {
  std::map<uint64_t, ShardRow> out;
  for (const auto& n : nodes) {
    if (!n.status.ok()) continue;
    for (const auto& gs : n.status->groups()) {
      ShardRow& r = out[gs.group_id()];
      bool claims = gs.role() == "leader";
      if (r.group != 0 && !(claims && gs.term() >= r.term)) continue;
      r.group = gs.group_id();
      r.leader = claims ? n.status->node_id() : gs.leader();
      r.term = gs.term();
      r.applied = gs.applied();
      r.commit = gs.commit();
      r.voters.assign(gs.voters().begin(), gs.voters().end());
      r.learners.assign(gs.learners().begin(), gs.learners().end());
    }
  }
  return out;
}

std::string JoinIds(const std::vector<uint64_t>& ids) {
  std::string s;
  for (uint64_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s.empty() ? "-" : s;
}

// The gossip membership as the first reachable node sees it (empty for a static cluster).
const kvpb::NodeStatus* MembershipSource(const std::vector<NodeAnswer>& nodes) {
  for (const auto& n : nodes) {
    if (n.status.ok() && n.status->member_states_size() > 0 &&
        n.status->member_states(0) != "static") {
      return &*n.status;
    }
  }
  return nullptr;
}

}  // namespace

int RunClusterStatus(client::Client& c, const GlobalOptions& g, Streams& s) {
  std::vector<NodeAnswer> nodes;
  int unreachable = 0;
  for (const auto& ep : g.endpoints) {
    nodes.push_back({ep, client::NodeStatus(c, ep, g.command_timeout)});
    if (!nodes.back().status.ok()) ++unreachable;
  }
  const auto leaders = Leaders(nodes);

  if (g.format == OutputFormat::kJson) {
    json jnodes = json::array();
    for (const auto& n : nodes) {
      json jn{{"endpoint", n.endpoint}};
      if (!n.status.ok()) {
        jn["error"] = std::string(n.status.status().message());
        jnodes.push_back(jn);
        continue;
      }
      const auto& st = *n.status;
      jn["node_id"] = st.node_id();
      jn["client_address"] = st.client_address();
      jn["peer_address"] = st.peer_address();
      jn["version"] = st.version();
      jn["uptime_ms"] = st.uptime_ms();
      json jg = json::array();
      for (const auto& gs : st.groups()) {
        jg.push_back({{"group_id", gs.group_id()}, {"role", gs.role()}, {"term", gs.term()},
                      {"leader", gs.leader()}, {"commit", gs.commit()},
                      {"applied", gs.applied()}, {"last_index", gs.last_index()},
                      {"voters", std::vector<uint64_t>(gs.voters().begin(), gs.voters().end())}});
      }
      jn["groups"] = jg;
      jnodes.push_back(jn);
    }
    json jgroups = json::array();
    for (const auto& [group, tl] : leaders) {
      jgroups.push_back({{"group_id", group}, {"leader", tl.second}, {"term", tl.first}});
    }
    json out{{"nodes", jnodes}, {"groups", jgroups}};
    const auto shards = Shards(nodes);
    std::map<uint64_t, std::pair<int, int>> counts;  // node -> (replicas, leaders)
    json jshards = json::array();
    for (const auto& [id, r] : shards) {
      jshards.push_back({{"group_id", id}, {"leader", r.leader}, {"term", r.term},
                         {"applied", r.applied}, {"voters", r.voters}, {"learners", r.learners}});
      for (uint64_t v : r.voters) counts[v].first++;
      for (uint64_t l : r.learners) counts[l].first++;
      if (r.leader != 0) counts[r.leader].second++;
    }
    out["shards"] = jshards;
    json jcounts = json::array();
    for (const auto& [id, c] : counts) {
      jcounts.push_back({{"node_id", id}, {"replicas", c.first}, {"leaders", c.second}});
    }
    out["node_counts"] = jcounts;
    json jmembers = json::array();
    if (const kvpb::NodeStatus* m = MembershipSource(nodes)) {
      for (int i = 0; i < m->member_ids_size(); ++i) {
        jmembers.push_back({{"node_id", m->member_ids(i)},
                            {"client_address", m->member_client_addresses(i)},
                            {"state", m->member_states(i)},
                            {"decommissioning", i < m->member_decommissioning_size() &&
                                                    m->member_decommissioning(i)}});
      }
    }
    out["members"] = jmembers;
    s.out << out.dump(2) << "\n";
  } else if (const kvpb::NodeStatus* m = MembershipSource(nodes)) {
    // A sharded cluster: members (gossip), shards (replicas, leader), per-node counts.
    const auto shards = Shards(nodes);
    std::map<uint64_t, std::pair<int, int>> counts;
    std::vector<std::vector<std::string>> shard_rows;
    for (const auto& [id, r] : shards) {
      shard_rows.push_back({std::to_string(id), std::to_string(r.leader), std::to_string(r.term),
                            std::to_string(r.applied), JoinIds(r.voters), JoinIds(r.learners)});
      for (uint64_t v : r.voters) counts[v].first++;
      for (uint64_t l : r.learners) counts[l].first++;
      if (r.leader != 0) counts[r.leader].second++;
    }
    std::vector<std::vector<std::string>> member_rows;
    for (int i = 0; i < m->member_ids_size(); ++i) {
      bool dec = i < m->member_decommissioning_size() && m->member_decommissioning(i);
      auto c = counts[m->member_ids(i)];
      member_rows.push_back({std::to_string(m->member_ids(i)), m->member_client_addresses(i),
                             m->member_states(i) + (dec ? " (decommissioning)" : ""),
                             std::to_string(c.first), std::to_string(c.second)});
    }
    s.out << "MEMBERS\n"
          << RenderTable({"NODE", "CLIENT ADDRESS", "STATE", "REPLICAS", "LEADERS"}, member_rows)
          << "SHARDS\n"
          << RenderTable({"SHARD", "LEADER", "TERM", "APPLIED", "VOTERS", "LEARNERS"}, shard_rows);
  } else {
    const std::vector<std::string> header = {"ENDPOINT", "NODE", "GROUP", "ROLE",
                                             "TERM",     "LEADER", "COMMIT", "APPLIED"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : nodes) {
      if (!n.status.ok()) {
        rows.push_back({n.endpoint, "-", "-", "unreachable", "-", "-", "-", "-"});
        continue;
      }
      const auto& st = *n.status;
      if (st.groups_size() == 0) {
        rows.push_back({n.endpoint, std::to_string(st.node_id()), "-", "-", "-", "-", "-", "-"});
      }
      for (const auto& gs : st.groups()) {
        rows.push_back({n.endpoint, std::to_string(st.node_id()), std::to_string(gs.group_id()),
                        gs.role(), std::to_string(gs.term()), std::to_string(gs.leader()),
                        std::to_string(gs.commit()), std::to_string(gs.applied())});
      }
    }
    if (g.format == OutputFormat::kTable) {
      s.out << RenderTable(header, rows);
    } else {
      for (const auto& r : rows) {
        std::string line;
        for (const auto& cell : r) line += (line.empty() ? "" : ", ") + cell;
        s.out << line << "\n";
      }
    }
  }
  for (const auto& n : nodes) {
    if (n.status.ok()) continue;
    s.err << "Error: " << n.endpoint << ": " << n.status.status().message()
          << ". Try: check that kvd runs there (tools/launch_cluster.sh status)\n";
  }
  if (unreachable == 0) return kExitOk;
  return kExitUnavailable;
}

int RunNodeDecommission(client::Client& c, const GlobalOptions& g, uint64_t node_id, Streams& s) {
  // Find the node's client address in any reachable member's view of the membership.
  std::string address;
  std::string last_error;
  for (const auto& ep : g.endpoints) {
    auto st = client::NodeStatus(c, ep, g.command_timeout);
    if (!st.ok()) {
      last_error = std::string(st.status().message());
      continue;
    }
    if (st->node_id() == node_id) address = ep;
    for (int i = 0; address.empty() && i < st->member_ids_size(); ++i) {
      if (st->member_ids(i) == node_id) address = st->member_client_addresses(i);
    }
    if (!address.empty()) break;
  }
  if (address.empty()) {
    s.err << "Error: node " << node_id << " is not a member known to the endpoints: "
          << (last_error.empty() ? "no member list names it" : last_error)
          << ". Try: kvctl cluster status to list members\n";
    return kExitUnavailable;
  }
  auto r = client::Decommission(c, address, g.command_timeout);
  if (!r.ok()) {
    s.err << "Error: cannot decommission node " << node_id << " at " << address << ": "
          << r.status().message() << ". Try: kvctl cluster status\n";
    return ExitCodeFor(r.status());
  }
  s.out << *r << "\nWatch progress with: kvctl cluster status (its REPLICAS count drops to 0, "
        << "then its STATE becomes left)\n";
  return kExitOk;
}

}  // namespace ringkv::kvctl
