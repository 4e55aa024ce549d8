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
    s.out << json{{"nodes", jnodes}, {"groups", jgroups}}.dump(2) << "\n";
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

}  // namespace ringkv::kvctl
