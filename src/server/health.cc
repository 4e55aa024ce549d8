#include "server/health.h"

#include <algorithm>

namespace ringkv::server {

std::vector<CheckResult> RunReadinessChecks(const ReadinessInputs& in) {
  std::vector<CheckResult> out;
  out.push_back({"loop", in.status_answered,
                 in.status_answered ? "the store's event loop answers"
                                    : "the store's event loop did not answer in time"});
  out.push_back({"storage", in.storage_error.empty(),
                 in.storage_error.empty() ? "writable" : in.storage_error});
  out.push_back({"gossip", in.gossip_joined, in.gossip_detail});

  // Every local replica has a known leader or is catching up (an empty replica waiting for
  // its snapshot, or a learner).
  CheckResult leaders{"leaders", true, ""};
  if (!in.status_answered) {
    leaders.ok = false;
    leaders.detail = "unknown (no status from the loop)";
  } else {
    std::vector<uint64_t> leaderless;
    for (const auto& g : in.status.groups()) {
      bool catching_up = g.voters_size() == 0 ||
                         std::find(g.learners().begin(), g.learners().end(),
                                   in.status.node_id()) != g.learners().end();
      if (g.leader() == 0 && !catching_up) leaderless.push_back(g.group_id());
    }
    if (!leaderless.empty()) {
      leaders.ok = false;
      leaders.detail = std::to_string(leaderless.size()) + " of " +
                       std::to_string(in.status.groups_size()) + " local shards have no leader:";
      for (size_t i = 0; i < leaderless.size() && i < 8; ++i) {
        leaders.detail += " " + std::to_string(leaderless[i]);
      }
      if (leaderless.size() > 8) leaders.detail += " ...";
    } else {
      leaders.detail = std::to_string(in.status.groups_size()) + " local shards have a leader";
    }
  }
  out.push_back(leaders);

  bool nospace = std::find(in.alarms.begin(), in.alarms.end(), "NOSPACE") != in.alarms.end();
  out.push_back({"alarms", !nospace,
                 nospace ? "NOSPACE alarm: writes are rejected until space is freed "
                           "(kvctl alarm list)"
                         : "none"});
  out.push_back({"shutdown", !in.draining,
                 in.draining ? "shutting down (draining)" : "not shutting down"});
  return out;
}

HealthReport FormatHealth(const std::vector<CheckResult>& checks, bool verbose,
                          const std::vector<std::string>& exclude, const std::string& what) {
  HealthReport r;
  for (const auto& e : exclude) {
    bool known = std::any_of(checks.begin(), checks.end(),
                             [&](const CheckResult& c) { return c.name == e; });
    if (!known) {
      r.http_status = 400;
      r.body = "unknown check '" + e + "' in exclude; checks:";
      for (const auto& c : checks) r.body += " " + c.name;
      r.body += "\n";
      return r;
    }
  }
  bool all_ok = true;
  std::string lines;
  for (const auto& c : checks) {
    if (std::find(exclude.begin(), exclude.end(), c.name) != exclude.end()) {
      lines += "[-]" + c.name + " excluded\n";
      continue;
    }
    all_ok = all_ok && c.ok;
    lines += (c.ok ? "[+]" : "[-]") + c.name + (c.ok ? " ok" : " failed: " + c.detail) + "\n";
  }
  if (all_ok) {
    r.http_status = 200;
    r.body = verbose ? lines + what + " check passed\n" : "ok\n";
  } else {
    r.http_status = 503;
    r.body = lines + what + " check failed\n";
  }
  return r;
}

}  // namespace ringkv::server
