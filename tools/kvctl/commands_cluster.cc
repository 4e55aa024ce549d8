// cluster status: every endpoint's NodeStatus, and each group's leader by node id.
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "client/admin.h"
#include "commands.h"
#include "errors.h"
#include "format.h"
#include "server/cluster_view.h"

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

std::vector<server::NodeAnswer> ToAnswers(const std::vector<NodeAnswer>& nodes) {
  std::vector<server::NodeAnswer> answers;
  for (const auto& n : nodes) {
    server::NodeAnswer a;
    a.endpoint = n.endpoint;
    if (n.status.ok()) a.status = *n.status;
    else a.error = std::string(n.status.status().message());
    answers.push_back(std::move(a));
  }
  return answers;
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
      const kvpb::AdmissionStatus& a = st.admission();
      jn["admission"] = {{"in_flight_requests", a.in_flight_requests()},
                         {"in_flight_bytes", a.in_flight_bytes()},
                         {"limit", a.limit()},
                         {"admitted_total", a.admitted_total()},
                         {"shed_total", a.shed_total()},
                         {"completions_per_s", a.completions_per_s()},
                         {"sheds_per_s", a.sheds_per_s()},
                         {"retry_after_ms", a.retry_after_ms()}};
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
    for (const auto& [id, r] : shards) {
      for (uint64_t v : r.voters) counts[v].first++;
      for (uint64_t l : r.learners) counts[l].first++;
      if (r.leader != 0) counts[r.leader].second++;
    }
    // The merged view, as the table shows it: every shard any endpoint reports (also those
    // nobody leads, as when quorum is lost) with its range, commit/applied and each replica's
    // role and lag.
    json jshards = json::array();
    for (const auto& sv : server::BuildClusterView(ToAnswers(nodes)).shards) {
      json js = ShardJson(sv);
      js["group_id"] = sv.shard;
      std::vector<uint64_t> voters, learners;
      for (const auto& r : sv.replicas) (r.voter ? voters : learners).push_back(r.node);
      js["voters"] = voters;
      js["learners"] = learners;
      jshards.push_back(std::move(js));
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
    for (const auto& [id, r] : shards) {
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
          << "SHARDS\n";
    // The merged view: every shard of the ring (also those nobody leads, as when quorum is
    // lost), with range, commit and applied, and each follower's lag.
    s.out << ShardTable(server::BuildClusterView(ToAnswers(nodes)));
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

int RunNodeDecommission(client::Client& c, const GlobalOptions& g, const DecommissionArgs& a,
                        Streams& s) {
  const uint64_t node_id = a.node_id;
  std::vector<server::NodeAnswer> answers;
  std::set<std::string> asked;
  auto ask = [&](const std::string& ep) {
    if (ep.empty() || !asked.insert(ep).second) return;
    server::NodeAnswer na;
    na.endpoint = ep;
    auto st = client::NodeStatus(c, ep, g.command_timeout);
    if (st.ok()) na.status = *st;
    else na.error = std::string(st.status().message());
    answers.push_back(std::move(na));
  };
  for (const auto& ep : g.endpoints) ask(ep);
  // Every member's view, so the pre-flight counts replicas everywhere.
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].status) continue;
    for (const auto& addr : answers[i].status->member_client_addresses()) ask(addr);
    break;
  }
  server::ClusterView v = server::BuildClusterView(answers);
  const server::MemberInfo* target = nullptr;
  size_t remaining = 0;
  for (const auto& m : v.members) {
    if (m.node == node_id) {
      target = &m;
    } else if ((m.state == "alive" || m.state == "suspect" || m.state == "static") &&
               !m.decommissioning) {
      ++remaining;
    }
  }
  if (target == nullptr) {
    s.err << "Error: node " << node_id << " is not a member known to the endpoints "
          << g.EndpointsString() << ". Try: kvctl member list\n";
    return kExitNotFound;
  }
  if (target->state == "left") {
    s.err << "Error: node " << node_id << " has already left the cluster (decommissioned). "
          << "Try: kvctl member list\n";
    return kExitPrecondition;
  }
  nlohmann::json out = {{"node_id", node_id}};
  if (target->decommissioning) {
    out["message"] = "node " + std::to_string(node_id) + " is already decommissioning: " +
                     std::to_string(target->replicas) + " replicas left to move";
  } else {
    // Pre-flight (cockroach node decommission --checks): the drain needs somewhere to go.
    if (v.replication > 0 && remaining < v.replication && !a.force) {
      s.err << "Error: decommissioning node " << node_id << " would leave " << remaining
            << " nodes for replication factor " << v.replication << ": its " << target->replicas
            << " replicas would have nowhere to move and the drain would stall. Try: add a node "
            << "first (kvctl member list), or pass --force to drain as far as it can\n";
      return kExitPrecondition;
    }
    if (target->client_address.empty()) {
      s.err << "Error: node " << node_id << " has no known client address. Try: kvctl member "
            << "list\n";
      return kExitUnavailable;
    }
    auto r = client::Decommission(c, target->client_address, g.command_timeout);
    if (!r.ok()) {
      s.err << "Error: cannot decommission node " << node_id << " at " << target->client_address
            << ": " << r.status().message() << ". Try: kvctl node status " << node_id << "\n";
      return ExitCodeFor(r.status());
    }
    out["message"] = *r;
  }
  if (g.format != OutputFormat::kJson) s.out << out["message"].get<std::string>() << "\n";
  if (!a.wait) {
    if (g.format == OutputFormat::kJson) s.out << out.dump(2) << "\n";
    else s.out << "Watch progress with: kvctl node status " << node_id << " (or --wait)\n";
    return kExitOk;
  }
  // --wait: poll until the node holds no replica and has left; a drain without progress for
  // a.stall_after is named a stall.
  int last = -1;
  auto last_progress = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<server::NodeAnswer> now;
    asked.clear();
    answers.swap(now);
    for (const auto& ep : g.endpoints) ask(ep);
    for (const auto& m : v.members) ask(m.client_address);
    server::ClusterView cur = server::BuildClusterView(answers);
    int left_to_move = -1;
    std::string state;
    for (const auto& m : cur.members) {
      if (m.node == node_id) {
        left_to_move = m.replicas;
        state = m.state;
      }
    }
    if (left_to_move != last) {
      if (g.format != OutputFormat::kJson) {
        s.out << "node " << node_id << ": " << (left_to_move < 0 ? 0 : left_to_move)
              << " replicas left to move (state " << (state.empty() ? "unknown" : state) << ")\n";
      }
      last = left_to_move;
      last_progress = std::chrono::steady_clock::now();
    }
    if (left_to_move <= 0 && (state == "left" || state.empty())) {
      out["result"] = "drained and left";
      if (g.format == OutputFormat::kJson) s.out << out.dump(2) << "\n";
      else s.out << "node " << node_id << " is drained and has left the cluster\n";
      return kExitOk;
    }
    if (std::chrono::steady_clock::now() - last_progress > a.stall_after) {
      s.err << "Error: the drain of node " << node_id << " stalled: " << left_to_move
            << " replicas left, no progress for "
            << std::chrono::duration_cast<std::chrono::seconds>(a.stall_after).count()
            << " s (are enough other nodes alive to take them? kvctl node status). Try: kvctl "
            << "shard list -w table\n";
      return kExitUnavailable;
    }
    // Polling the cluster's progress; nothing to wait on but time.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace ringkv::kvctl
