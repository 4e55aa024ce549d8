// Operator commands: member list, endpoint status|health, shard list|status|transfer-leader,
// alarm list|disarm, compact, node status. Each asks nodes for their status over the client
// port and merges the answers with server::BuildClusterView, the same merge the admin port's
// /status and status page use.
#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "client/admin.h"
#include "commands.h"
#include "errors.h"
#include "format.h"
#include "ring/hash_ring.h"
#include "server/cluster_view.h"

namespace ringkv::kvctl {
namespace {

using nlohmann::json;
using server::ClusterView;

server::NodeAnswer Ask(client::Client& c, const std::string& ep, std::chrono::milliseconds timeout) {
  server::NodeAnswer a;
  a.endpoint = ep;
  auto st = client::NodeStatus(c, ep, timeout);
  if (st.ok()) {
    a.status = *st;
  } else {
    a.error = std::string(st.status().message());
  }
  return a;
}

// The endpoints' answers; with `cluster`, every live member's client address as the first
// answering endpoint knows them (etcdctl's --cluster).
std::vector<server::NodeAnswer> Gather(client::Client& c, const GlobalOptions& g, bool cluster) {
  std::vector<server::NodeAnswer> out;
  std::set<std::string> asked;
  for (const auto& ep : g.endpoints) {
    if (!asked.insert(ep).second) continue;
    out.push_back(Ask(c, ep, g.command_timeout));
  }
  if (!cluster) return out;
  std::vector<std::string> more;
  for (const auto& a : out) {
    if (!a.status) continue;
    for (int i = 0; i < a.status->member_ids_size(); ++i) {
      const std::string state = i < a.status->member_states_size() ? a.status->member_states(i) : "";
      if (state == "left" || i >= a.status->member_client_addresses_size()) continue;
      more.push_back(a.status->member_client_addresses(i));
    }
    break;
  }
  for (const auto& ep : more) {
    if (!ep.empty() && asked.insert(ep).second) out.push_back(Ask(c, ep, g.command_timeout));
  }
  return out;
}

int ReportUnreachable(const std::vector<server::NodeAnswer>& answers, Streams& s) {
  int bad = 0;
  for (const auto& a : answers) {
    if (a.status) continue;
    ++bad;
    s.err << "Error: " << a.endpoint << " did not answer: " << a.error
          << ". Try: check that kvd runs there (tools/launch_cluster.sh status)\n";
  }
  return bad == 0 ? kExitOk : kExitUnavailable;
}

std::string Ids(const std::vector<server::ReplicaView>& reps, bool with_role) {
  std::string out;
  for (const auto& r : reps) {
    out += (out.empty() ? "" : ",") + std::to_string(r.node);
    if (with_role && !r.voter) out += "(learner)";
  }
  return out.empty() ? "-" : out;
}

std::string Lag(const server::ShardView& sv) {
  std::string out;
  for (const auto& r : sv.replicas) {
    if (r.node == sv.leader || !r.lag) continue;
    out += (out.empty() ? "" : ",") + std::to_string(r.node) + ":" + std::to_string(*r.lag);
  }
  return out.empty() ? "-" : out;
}

std::string HexToken(uint64_t t) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(t));
  return buf;
}

std::string Bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace

json ShardJson(const server::ShardView& sv) {
  json reps = json::array();
  for (const auto& r : sv.replicas) {
    reps.push_back({{"node_id", r.node}, {"role", r.role}, {"voter", r.voter},
                    {"applied", r.applied}, {"lag", r.lag ? json(*r.lag) : json(nullptr)}});
  }
  return {{"shard_id", sv.shard},       {"leader", sv.leader},
          {"term", sv.term},            {"commit", sv.commit},
          {"applied", sv.applied},      {"last_index", sv.last_index},
          {"token_first", HexToken(sv.token_first)}, {"token_last", HexToken(sv.token_last)},
          {"log_bytes", sv.log_bytes},  {"log_entry_bytes", sv.log_entry_bytes},
          {"data_bytes", sv.data_bytes},
          {"max_lag", sv.max_lag},      {"replicas", reps}};
}

namespace {

const std::vector<std::string> kShardHeader = {"SHARD", "RANGE",   "LEADER",   "TERM",
                                               "COMMIT", "APPLIED", "REPLICAS", "LAG",
                                               "LOG",   "DATA"};

std::vector<std::string> ShardCells(const server::ShardView& sv) {
  return {std::to_string(sv.shard),
          HexToken(sv.token_first) + "-" + HexToken(sv.token_last),
          sv.leader == 0 ? "none" : std::to_string(sv.leader),
          std::to_string(sv.term),
          std::to_string(sv.commit),
          std::to_string(sv.applied),
          Ids(sv.replicas, true),
          Lag(sv),
          Bytes(sv.log_bytes),
          Bytes(sv.data_bytes)};
}

void PrintRows(const GlobalOptions& g, const std::vector<std::string>& header,
               const std::vector<std::vector<std::string>>& rows, Streams& s) {
  if (g.format == OutputFormat::kTable) {
    s.out << RenderTable(header, rows);
    return;
  }
  for (const auto& r : rows) {
    std::string line;
    for (const auto& cell : r) line += (line.empty() ? "" : ", ") + cell;
    s.out << line << "\n";
  }
}

}  // namespace

std::string ShardTable(const server::ClusterView& v) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& sv : v.shards) rows.push_back(ShardCells(sv));
  return RenderTable(kShardHeader, rows);
}

int RunMemberList(client::Client& c, const GlobalOptions& g, Streams& s) {
  auto answers = Gather(c, g, /*cluster=*/true);
  ClusterView v = server::BuildClusterView(answers);
  if (v.members.empty()) {
    ReportUnreachable(answers, s);
    return kExitUnavailable;
  }
  if (g.format == OutputFormat::kJson) {
    s.out << json::parse(server::ClusterViewJson(v))["members"].dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : v.members) {
    rows.push_back({std::to_string(m.node), "node-" + std::to_string(m.node),
                    m.client_address.empty() ? "-" : m.client_address,
                    m.admin_address.empty() ? "-" : m.admin_address,
                    m.state + (m.decommissioning ? " (decommissioning)" : ""),
                    m.version.empty() ? "-" : m.version,
                    m.reachable ? std::to_string(m.uptime_ms / 1000) + "s" : "unreachable"});
  }
  PrintRows(g, {"ID", "NAME", "CLIENT ADDR", "ADMIN ADDR", "STATE", "VERSION", "UPTIME"}, rows, s);
  return kExitOk;
}

int RunEndpointStatus(client::Client& c, const GlobalOptions& g, bool cluster, Streams& s) {
  auto answers = Gather(c, g, cluster);
  if (g.format == OutputFormat::kJson) {
    json out = json::array();
    for (const auto& a : answers) {
      json j = {{"endpoint", a.endpoint}, {"reachable", a.status.has_value()}};
      if (!a.status) {
        j["error"] = a.error;
      } else {
        const auto& st = *a.status;
        int led = 0;
        for (const auto& gs : st.groups()) led += gs.role() == "leader" ? 1 : 0;
        j.update({{"node_id", st.node_id()}, {"version", st.version()},
                  {"admin_address", st.admin_address()}, {"uptime_ms", st.uptime_ms()},
                  {"shards", st.groups_size()}, {"leaders", led},
                  {"storage_used_bytes", st.storage_used_bytes()},
                  {"storage_quota_bytes", st.storage_quota_bytes()},
                  {"storage_free_bytes", st.storage_free_bytes()},
                  {"alarms", std::vector<std::string>(st.alarms().begin(), st.alarms().end())},
                  {"decommissioning", st.decommissioning()}});
      }
      out.push_back(j);
    }
    s.out << out.dump(2) << "\n";
    return ReportUnreachable(answers, s);
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : answers) {
    if (!a.status) {
      rows.push_back({a.endpoint, "-", "-", "-", "-", "-", "-", "unreachable"});
      continue;
    }
    const auto& st = *a.status;
    int led = 0;
    for (const auto& gs : st.groups()) led += gs.role() == "leader" ? 1 : 0;
    std::string alarms;
    for (const auto& al : st.alarms()) alarms += (alarms.empty() ? "" : ",") + al;
    rows.push_back({a.endpoint, std::to_string(st.node_id()), st.version(),
                    std::to_string(st.groups_size()), std::to_string(led),
                    Bytes(st.storage_used_bytes()) +
                        (st.storage_quota_bytes() ? " of " + Bytes(st.storage_quota_bytes()) : ""),
                    Bytes(st.storage_free_bytes()), alarms.empty() ? "-" : alarms});
  }
  PrintRows(g, {"ENDPOINT", "ID", "VERSION", "SHARDS", "LEADERS", "DB SIZE", "DISK FREE", "ALARMS"},
            rows, s);
  return ReportUnreachable(answers, s);
}

int RunEndpointHealth(client::Client& c, const GlobalOptions& g, bool cluster, Streams& s) {
  // Healthy = every shard answers a linearizable read sent through this endpoint: a real
  // ReadIndex round (a heartbeat quorum of the shard's leader), not just "the port is open".
  auto answers = Gather(c, g, cluster);
  json out = json::array();
  int unhealthy = 0;
  for (const auto& a : answers) {
    json j = {{"endpoint", a.endpoint}};
    if (!a.status) {
      j.update({{"health", false}, {"error", a.error}});
      out.push_back(j);
      ++unhealthy;
      continue;
    }
    auto cfg = ring::RingConfig::Decode(a.status->ring_config());
    Result<ring::HashRing> r = cfg.ok() ? ring::HashRing::Create(*cfg) : Result<ring::HashRing>(cfg.status());
    if (!r.ok()) {
      j.update({{"health", false}, {"error", "no ring in the node's status"}});
      out.push_back(j);
      ++unhealthy;
      continue;
    }
    // One probe key per shard (never written: the read only proves the quorum round).
    std::map<uint64_t, std::string> keys;
    for (int i = 0; keys.size() < r->num_shards() && i < 1000000; ++i) {
      std::string k = "\xff__kvctl_health/" + std::to_string(i);
      keys.try_emplace(r->ShardForKey(k).value(), k);
    }
    client::CallOptions co;
    co.via_endpoint = a.endpoint;
    co.timeout = g.command_timeout;
    std::vector<std::string> failed;
    double total_ms = 0, max_ms = 0;
    const auto start_all = std::chrono::steady_clock::now();
    for (const auto& [shard, key] : keys) {
      const auto start = std::chrono::steady_clock::now();
      auto got = c.Get(key, co);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      max_ms = std::max(max_ms, ms);
      if (!got.ok()) failed.push_back("shard " + std::to_string(shard) + ": " +
                                      std::string(got.status().message()));
    }
    total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                         start_all).count();
    j.update({{"health", failed.empty()}, {"shards", keys.size()},
              {"took_ms", total_ms}, {"slowest_shard_ms", max_ms}});
    if (!failed.empty()) {
      j["error"] = failed.front();
      j["failed_shards"] = failed.size();
      ++unhealthy;
    }
    out.push_back(j);
  }
  if (g.format == OutputFormat::kJson) {
    s.out << out.dump(2) << "\n";
  } else if (g.format == OutputFormat::kTable) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& j : out) {
      char took[32] = "-";
      if (j.contains("took_ms")) std::snprintf(took, sizeof(took), "%.1fms", j["took_ms"].get<double>());
      rows.push_back({j["endpoint"], j["health"].get<bool>() ? "true" : "false", took,
                      j.contains("error") ? j["error"].get<std::string>() : ""});
    }
    s.out << RenderTable({"ENDPOINT", "HEALTH", "TOOK", "ERROR"}, rows);
  } else {
    for (const auto& j : out) {
      if (j["health"].get<bool>()) {
        char line[256];
        std::snprintf(line, sizeof(line),
                      "%s is healthy: %zu shards answered a linearizable read in %.1fms "
                      "(slowest %.1fms)\n",
                      j["endpoint"].get<std::string>().c_str(), j["shards"].get<size_t>(),
                      j["took_ms"].get<double>(), j["slowest_shard_ms"].get<double>());
        s.out << line;
      } else {
        s.out << j["endpoint"].get<std::string>()
              << " is unhealthy: " << j["error"].get<std::string>() << "\n";
      }
    }
  }
  if (unhealthy == 0) return kExitOk;
  s.err << "Error: " << unhealthy << " of " << out.size()
        << " endpoints are unhealthy. Try: kvctl shard list -w table\n";
  return kExitUnavailable;
}

int RunShardList(client::Client& c, const GlobalOptions& g, std::optional<uint64_t> only,
                 Streams& s) {
  auto answers = Gather(c, g, /*cluster=*/true);
  ClusterView v = server::BuildClusterView(answers);
  std::vector<const server::ShardView*> shards;
  for (const auto& sv : v.shards) {
    if (!only || sv.shard == *only) shards.push_back(&sv);
  }
  if (shards.empty()) {
    ReportUnreachable(answers, s);
    if (only) {
      s.err << "Error: shard " << *only << " is not known to any reachable node (the ring has "
            << v.num_shards << " shards). Try: kvctl shard list\n";
      return v.num_shards > 0 ? kExitNotFound : kExitUnavailable;
    }
    return kExitUnavailable;
  }
  if (g.format == OutputFormat::kJson) {
    json arr = json::array();
    for (const auto* sv : shards) arr.push_back(ShardJson(*sv));
    s.out << (only ? arr[0] : arr).dump(2) << "\n";
  } else if (only && g.format == OutputFormat::kSimple) {
    const auto& sv = *shards[0];
    s.out << "shard:      " << sv.shard << "\n"
          << "range:      " << HexToken(sv.token_first) << " .. " << HexToken(sv.token_last)
          << "\n"
          << "leader:     " << (sv.leader ? "node " + std::to_string(sv.leader) : "none known")
          << "\nterm:       " << sv.term << "\ncommit:     " << sv.commit
          << "\napplied:    " << sv.applied << "\nlog:        " << Bytes(sv.log_entry_bytes)
          << " in entries, " << Bytes(sv.log_bytes) << " on disk"
          << "\ndata:       " << Bytes(sv.data_bytes) << "\nreplicas:\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : sv.replicas) {
      rows.push_back({std::to_string(r.node), r.role, r.voter ? "voter" : "learner",
                      r.applied ? std::to_string(r.applied) : "-",
                      r.lag ? std::to_string(*r.lag) + " entries" : "unknown"});
    }
    s.out << RenderTable({"NODE", "ROLE", "KIND", "APPLIED", "TRAILS LEADER BY"}, rows);
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto* sv : shards) rows.push_back(ShardCells(*sv));
    PrintRows(g, kShardHeader, rows, s);
  }
  ReportUnreachable(answers, s);
  for (const auto* sv : shards) {
    if (sv->leader == 0) {
      s.err << "warning: shard " << sv->shard << " has no known leader (replicas "
            << Ids(sv->replicas, false) << ")\n";
    }
  }
  return kExitOk;
}

int RunShardTransferLeader(client::Client& c, const GlobalOptions& g, uint64_t shard,
                           uint64_t to, Streams& s) {
  auto r = client::TransferLeader(c, GroupId(shard), NodeId(to), g.command_timeout);
  if (!r.ok()) {
    s.err << "Error: cannot move shard " << shard << "'s leadership to node " << to << ": "
          << r.status().message() << ". Try: kvctl shard status " << shard
          << " (the target must be a caught-up voter)\n";
    return ExitCodeFor(r.status());
  }
  if (g.format == OutputFormat::kJson) {
    s.out << json{{"shard_id", shard}, {"to", to}, {"message", *r}}.dump(2) << "\n";
  } else {
    s.out << *r << "\n";
  }
  return kExitOk;
}

int RunAlarmList(client::Client& c, const GlobalOptions& g, Streams& s) {
  auto answers = Gather(c, g, /*cluster=*/true);
  json out = json::array();
  for (const auto& a : answers) {
    if (!a.status) continue;
    for (const auto& al : a.status->alarms()) {
      out.push_back({{"node_id", a.status->node_id()}, {"alarm", al},
                     {"storage_used_bytes", a.status->storage_used_bytes()},
                     {"storage_quota_bytes", a.status->storage_quota_bytes()},
                     {"storage_free_bytes", a.status->storage_free_bytes()}});
    }
  }
  if (g.format == OutputFormat::kJson) {
    s.out << out.dump(2) << "\n";
  } else {
    for (const auto& a : out) {
      s.out << "memberID:" << a["node_id"].get<uint64_t>() << ", alarm:"
            << a["alarm"].get<std::string>() << " (used "
            << Bytes(a["storage_used_bytes"].get<uint64_t>()) << ", free "
            << Bytes(a["storage_free_bytes"].get<uint64_t>()) << ")\n";
    }
  }
  return ReportUnreachable(answers, s);
}

int RunAlarmDisarm(client::Client& c, const GlobalOptions& g, Streams& s) {
  auto answers = Gather(c, g, /*cluster=*/true);
  int failures = 0;
  json out = json::array();
  for (const auto& a : answers) {
    if (!a.status || a.status->alarms_size() == 0) continue;
    auto r = client::DisarmAlarms(c, a.endpoint, g.command_timeout);
    if (!r.ok()) {
      ++failures;
      s.err << "Error: " << a.endpoint << ": " << r.status().message() << "\n";
      continue;
    }
    out.push_back({{"node_id", a.status->node_id()}, {"message", *r}});
    if (g.format != OutputFormat::kJson) s.out << *r << "\n";
  }
  if (g.format == OutputFormat::kJson) s.out << out.dump(2) << "\n";
  else if (out.empty() && failures == 0) s.out << "no alarms\n";
  int unreachable = ReportUnreachable(answers, s);
  return failures > 0 ? kExitError : unreachable;
}

int RunCompact(client::Client& c, const GlobalOptions& g, const CompactArgs& a, Streams& s) {
  auto answers = Gather(c, g, a.cluster);
  // The storage compaction answers when done, minutes later on a big node: a client whose
  // attempts may last that long (the default client gives up on an attempt after 2 s).
  client::ClientOptions slow;
  slow.endpoints = g.endpoints;
  slow.dial_timeout = g.dial_timeout;
  slow.lazy_connect = true;
  slow.request_timeout = a.storage_timeout;
  slow.attempt_timeout = a.storage_timeout;
  auto slow_client = client::Client::Connect(slow);
  if (!slow_client.ok()) {
    s.err << "Error: " << slow_client.status().message() << "\n";
    return kExitUsage;
  }
  int failed = 0, done = 0;
  json nodes = json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& ans : answers) {
    if (!ans.status) continue;
    // 1. Every shard's Raft log on this node, compacted to its applied index.
    int node_done = 0, node_failed = 0;
    for (const auto& gs : ans.status->groups()) {
      auto r = client::TriggerSnapshot(c, ans.endpoint, GroupId(gs.group_id()), g.command_timeout);
      if (r.ok()) {
        ++node_done;
      } else {
        ++node_failed;
        s.err << "Error: " << ans.endpoint << " shard " << gs.group_id() << ": "
              << r.status().message() << "\n";
      }
    }
    done += node_done;
    failed += node_failed;
    json j = {{"node_id", ans.status->node_id()},
              {"endpoint", ans.endpoint},
              {"logs_compacted", node_done},
              {"logs_failed", node_failed}};
    std::vector<std::string> row = {std::to_string(ans.status->node_id()), ans.endpoint,
                                    std::to_string(node_done) + "/" +
                                        std::to_string(ans.status->groups_size()),
                                    "-", "-", "-"};
    // 2. Its storage (RocksDB CompactRange), which frees the space of the entries just deleted
    // and of overwritten values. One node at a time: it reads and rewrites every file.
    if (!a.logs_only) {
      auto r = client::CompactStorage(**slow_client, ans.endpoint, a.storage_timeout);
      if (r.ok()) {
        j["storage_bytes_before"] = r->storage_bytes_before();
        j["storage_bytes_after"] = r->storage_bytes_after();
        j["storage_took_ms"] = r->took_ms();
        row[3] = Bytes(r->storage_bytes_before());
        row[4] = Bytes(r->storage_bytes_after());
        row[5] = std::to_string(r->took_ms()) + " ms";
      } else {
        ++failed;
        j["storage_error"] = std::string(r.status().message());
        row[3] = "error";
        s.err << "Error: " << ans.endpoint << " storage compaction: " << r.status().message()
              << (r.status().code() == StatusCode::kDeadlineExceeded
                      ? ". Try: a longer --storage-timeout (the node goes on compacting)"
                      : "")
              << "\n";
      }
    }
    nodes.push_back(std::move(j));
    rows.push_back(std::move(row));
  }
  if (g.format == OutputFormat::kJson) {
    s.out << json{{"compacted", done}, {"failed", failed}, {"nodes", nodes}}.dump(2) << "\n";
  } else if (g.format == OutputFormat::kTable) {
    s.out << RenderTable({"NODE", "ENDPOINT", "RAFT LOGS", "STORAGE BEFORE", "STORAGE AFTER", "TOOK"},
                         rows);
  } else {
    s.out << "compacted the Raft logs of " << done << " shard replicas on " << rows.size()
          << " nodes" << (failed ? " (" + std::to_string(failed) + " failed)" : "") << "\n";
    for (const auto& row : rows) {
      if (row[3] == "-" || row[3] == "error") continue;
      s.out << "node " << row[0] << ": storage " << row[3] << " -> " << row[4] << " (SST files) in "
            << row[5] << "\n";
    }
  }
  if (failed > 0) return kExitError;
  return ReportUnreachable(answers, s);
}

int RunNodeStatus(client::Client& c, const GlobalOptions& g, std::optional<uint64_t> only,
                  Streams& s) {
  auto answers = Gather(c, g, /*cluster=*/true);
  ClusterView v = server::BuildClusterView(answers);
  std::vector<const server::MemberInfo*> members;
  for (const auto& m : v.members) {
    if (!only || m.node == *only) members.push_back(&m);
  }
  if (members.empty()) {
    ReportUnreachable(answers, s);
    if (only) {
      s.err << "Error: node " << *only << " is not a member known to the endpoints. Try: "
            << "kvctl member list\n";
      return kExitNotFound;
    }
    return kExitUnavailable;
  }
  if (g.format == OutputFormat::kJson) {
    json all = json::parse(server::ClusterViewJson(v))["members"];
    json arr = json::array();
    for (const auto& m : all) {
      if (!only || m["node_id"].get<uint64_t>() == *only) arr.push_back(m);
    }
    s.out << (only ? arr[0] : arr).dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto* m : members) {
    std::string state = m->state;
    if (m->decommissioning) {
      state += m->replicas == 0 ? " (decommissioned: drained)"
                                : " (decommissioning: " + std::to_string(m->replicas) +
                                      " replicas left to move)";
    }
    std::string alarms;
    for (const auto& a : m->alarms) alarms += (alarms.empty() ? "" : ",") + a;
    rows.push_back({std::to_string(m->node), m->client_address.empty() ? "-" : m->client_address,
                    state, m->reachable ? "yes" : "no", std::to_string(m->replicas),
                    std::to_string(m->leaders), alarms.empty() ? "-" : alarms});
  }
  PrintRows(g, {"NODE", "ADDRESS", "STATE", "REACHABLE", "REPLICAS", "LEADERS", "ALARMS"}, rows,
            s);
  return kExitOk;
}

}  // namespace ringkv::kvctl
