// The admin HTTP port on real kvd processes: /livez, /readyz (verbose, exclude), /health,
// /version, /metrics (every line through a strict text-format parser), /status (the merged
// cluster view) and the status page — and that all of it keeps answering when quorum is lost.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "integration/http_get.h"
#include "integration/test_cluster.h"
#include "ringkv/version.h"
#include "testutil/prometheus_text.h"

namespace ringkv::integration {
namespace {

using nlohmann::json;

HttpAnswer Get(TestCluster& c, int id, const std::string& target) {
  auto r = HttpGet(c.admin_port(id), target);
  EXPECT_TRUE(r.ok()) << target << ": " << r.status();
  return r.ok() ? *r : HttpAnswer{};
}

testutil::PromParseResult Scrape(TestCluster& c, int id) {
  HttpAnswer a = Get(c, id, "/metrics");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "text/plain; version=0.0.4; charset=utf-8");
  auto p = testutil::ParsePrometheusText(a.body);
  EXPECT_TRUE(p.ok()) << p.error;
  return p;
}

TEST(AdminHttpTest, HealthMetricsStatusWithAndWithoutQuorum) {
  TestCluster c;
  ASSERT_TRUE(c.StartAll().ok());
  ASSERT_TRUE(c.WaitForLeader().ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.client().Put("key" + std::to_string(i), "value").ok());
  }

  EXPECT_EQ(Get(c, 1, "/livez").body, "ok\n");
  // Readiness: every check passes once gossip has joined (it may trail the leaders a little).
  ASSERT_TRUE(WaitUntil([&] { return Get(c, 1, "/readyz").status == 200; }, 10s))
      << Get(c, 1, "/readyz?verbose").body;
  HttpAnswer verbose = Get(c, 1, "/readyz?verbose");
  for (const char* check : {"loop", "storage", "gossip", "leaders", "alarms", "shutdown"}) {
    EXPECT_NE(verbose.body.find(std::string("[+]") + check + " ok"), std::string::npos)
        << verbose.body;
  }
  EXPECT_NE(verbose.body.find("readyz check passed"), std::string::npos);
  EXPECT_EQ(Get(c, 1, "/readyz?exclude=nosuchcheck").status, 400);
  EXPECT_NE(Get(c, 1, "/readyz?verbose&exclude=alarms").body.find("[-]alarms excluded"),
            std::string::npos);
  EXPECT_EQ(Get(c, 1, "/health").status, 200);
  EXPECT_EQ(Get(c, 1, "/nosuchpath").status, 404);

  json version = json::parse(Get(c, 2, "/version").body);
  EXPECT_EQ(version["server_version"], RINGKV_VERSION_STRING);
  EXPECT_EQ(version["node_id"], 2);

  // Metrics: strict format, and values that match the cluster.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto p = Scrape(c, 1);
        return p.Value("ringkv_gossip_members", "ringkv_gossip_members", {{"state", "alive"}}) ==
               3;
      },
      10s));
  auto p = Scrape(c, 1);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.Value("ringkv_build_info", "ringkv_build_info", {{"version", RINGKV_VERSION_STRING}}), 1);
  EXPECT_EQ(p.Value("ringkv_shards", "ringkv_shards"), 32);
  EXPECT_EQ(p.Value("ringkv_has_leader", "ringkv_has_leader"), 1);
  EXPECT_GT(*p.Value("ringkv_proposals_applied_total", "ringkv_proposals_applied_total"), 0);
  EXPECT_EQ(p.Value("ringkv_alarm_active", "ringkv_alarm_active", {{"alarm", "NOSPACE"}}), 0);
  // Proposals: none pending once the writes are answered; the failure counters exist.
  EXPECT_EQ(p.Value("ringkv_proposals_pending", "ringkv_proposals_pending"), 0);
  EXPECT_TRUE(p.Value("ringkv_proposals_failed_total", "ringkv_proposals_failed_total",
                      {{"reason", "timeout"}})
                  .has_value());
  EXPECT_GT(*p.Value("ringkv_raft_log_entry_bytes", "ringkv_raft_log_entry_bytes"), 0);
  // Peers, as a shard's leader sees them (it replicates to both others; a follower talks only
  // to its leaders, so its counters for the other follower may stay at zero): traffic both
  // ways, connected, and probe round trips (one a second per peer).
  auto lead = c.WaitForLeader();
  ASSERT_TRUE(lead.ok());
  for (int peer_id = 1; peer_id <= 3; ++peer_id) {
    if (peer_id == *lead) continue;
    const std::string peer = std::to_string(peer_id);
    std::string last;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto q = Scrape(c, *lead);
          auto v = [&](const std::string& family, const std::string& suffix = "") {
            return q.Value(family, family + suffix, {{"peer", peer}});
          };
          const double sent = v("ringkv_peer_sent_bytes_total").value_or(0);
          const double received = v("ringkv_peer_received_bytes_total").value_or(0);
          const double connected = v("ringkv_peer_connected").value_or(0);
          const double trips = v("ringkv_peer_round_trip_time_seconds", "_count").value_or(0);
          last = "sent " + std::to_string(sent) + ", received " + std::to_string(received) +
                 ", connected " + std::to_string(connected) + ", round trips " +
                 std::to_string(trips);
          return sent > 0 && received > 0 && connected == 1 && trips > 0 &&
                 v("ringkv_peer_sent_failures_total").has_value();
        },
        10s))
        << "node " << *lead << " on peer " << peer << ": " << last;
  }

  // The merged cluster view from any node.
  json st = json::parse(Get(c, 3, "/status").body);
  ASSERT_EQ(st["members"].size(), 3u) << st.dump(2);
  for (const auto& m : st["members"]) {
    EXPECT_TRUE(m["reachable"].get<bool>()) << m.dump();
    EXPECT_FALSE(m["admin_address"].get<std::string>().empty()) << m.dump();
  }
  ASSERT_EQ(st["shards"].size(), 32u);
  double covered = 0;
  for (const auto& s : st["shards"]) {
    EXPECT_NE(s["leader"].get<uint64_t>(), 0u) << s.dump();
    EXPECT_EQ(s["replicas"].size(), 3u) << s.dump();
    covered += s["range_fraction_end"].get<double>() - s["range_fraction_start"].get<double>();
  }
  EXPECT_NEAR(covered, 1.0, 1e-9);  // the ranges cover the ring
  EXPECT_EQ(st["leaderless_shards"], 0);
  HttpAnswer page = Get(c, 1, "/");
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<svg id=\"ring\""), std::string::npos);

  // Quorum lost: two of three nodes gone. Node 1's admin port still answers everything.
  c.Kill(2);
  c.Kill(3);
  ASSERT_TRUE(WaitUntil([&] { return Get(c, 1, "/readyz").status == 503; }, 15s));
  EXPECT_EQ(Get(c, 1, "/livez").status, 200);  // liveness never fails for a missing leader
  HttpAnswer failed = Get(c, 1, "/readyz?verbose");
  EXPECT_NE(failed.body.find("[-]leaders failed"), std::string::npos) << failed.body;
  EXPECT_NE(failed.body.find("readyz check failed"), std::string::npos);
  ASSERT_TRUE(WaitUntil(
      [&] { return Scrape(c, 1).Value("ringkv_has_leader", "ringkv_has_leader") == 0; }, 15s));
  auto lost = Scrape(c, 1);
  EXPECT_GT(*lost.Value("ringkv_shards_leaderless", "ringkv_shards_leaderless"), 0);
  json alone = json::parse(Get(c, 1, "/status").body);
  int unreachable = 0;
  for (const auto& m : alone["members"]) unreachable += m["reachable"].get<bool>() ? 0 : 1;
  EXPECT_EQ(unreachable, 2) << alone["members"].dump(2);
  EXPECT_EQ(alone["shards"].size(), 32u);  // the shard table is there when it is needed
}

}  // namespace
}  // namespace ringkv::integration
