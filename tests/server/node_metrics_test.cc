#include "server/node_metrics.h"

#include <gtest/gtest.h>

#include "server/status_page.h"
#include "testutil/prometheus_text.h"

namespace ringkv::server {
namespace {

TEST(NodeMetricsTest, AggregatesPerNodeAndPerShardWhenExtensive) {
  kvpb::NodeStatus st;
  st.set_node_id(1);
  st.set_storage_used_bytes(1234);
  st.mutable_admission()->set_in_flight_requests(7);
  st.mutable_admission()->set_shed_total(42);
  st.mutable_admission()->set_retry_after_ms(250);
  for (uint64_t g = 1; g <= 3; ++g) {
    auto* gs = st.add_groups();
    gs->set_group_id(g);
    gs->set_role(g == 1 ? "leader" : "follower");
    gs->set_leader(g == 3 ? 0 : 1);
    gs->set_commit(10 * g);
    gs->set_applied(10 * g);
    gs->set_last_index(10 * g);
    gs->set_quiesced(g == 2);
    if (g == 1) {
      gs->add_members(1);
      gs->add_match(10);
      gs->add_members(2);
      gs->add_match(4);
    }
  }
  std::vector<gossip::Member> members(2);
  members[1].state = gossip::MemberState::kSuspect;

  for (bool extensive : {false, true}) {
    metrics::Registry r;
    auto h = r.AddCollector([&](metrics::Sink& out) {
      CollectStaticMetrics("0.1.0", {"NOSPACE"}, out);
      CollectNodeMetrics(st, members, extensive, out);
    });
    auto p = testutil::ParsePrometheusText(r.Render());
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.Value("ringkv_shards", "ringkv_shards"), 3);
    EXPECT_EQ(p.Value("ringkv_shards_led", "ringkv_shards_led"), 1);
    EXPECT_EQ(p.Value("ringkv_shards_leaderless", "ringkv_shards_leaderless"), 1);
    EXPECT_EQ(p.Value("ringkv_shards_quiesced", "ringkv_shards_quiesced"), 1);
    EXPECT_EQ(p.Value("ringkv_has_leader", "ringkv_has_leader"), 0);
    EXPECT_EQ(p.Value("ringkv_proposals_committed_total", "ringkv_proposals_committed_total"), 60);
    EXPECT_EQ(p.Value("ringkv_replica_lag_entries_max", "ringkv_replica_lag_entries_max"), 6);
    EXPECT_EQ(p.Value("ringkv_storage_used_bytes", "ringkv_storage_used_bytes"), 1234);
    EXPECT_EQ(p.Value("ringkv_admission_in_flight_requests",
                      "ringkv_admission_in_flight_requests"), 7);
    EXPECT_EQ(p.Value("ringkv_admission_shed_total", "ringkv_admission_shed_total"), 42);
    EXPECT_EQ(p.Value("ringkv_admission_retry_after_seconds",
                      "ringkv_admission_retry_after_seconds"), 0.25);
    EXPECT_EQ(p.Value("ringkv_gossip_members", "ringkv_gossip_members", {{"state", "suspect"}}), 1);
    EXPECT_EQ(p.Value("ringkv_alarm_active", "ringkv_alarm_active", {{"alarm", "NOSPACE"}}), 1);
    EXPECT_EQ(p.Value("ringkv_build_info", "ringkv_build_info", {{"version", "0.1.0"}}), 1);
    EXPECT_EQ(p.families.count("ringkv_shard_term") > 0, extensive);
    if (extensive) {
      EXPECT_EQ(p.Value("ringkv_shard_lag_entries", "ringkv_shard_lag_entries", {{"shard", "1"}}), 6);
    }
  }
}

TEST(StatusPageTest, SelfContainedWithTheElementsTheBrowserTestChecks) {
  std::string page = StatusPageHtml();
  for (const char* needle : {"<svg id=\"ring\"", "<table id=\"nodes\"", "<table id=\"shards\"",
                             "<pre id=\"checks\"", "fetch(\"/status\"", "setInterval(refresh"}) {
    EXPECT_NE(page.find(needle), std::string::npos) << needle;
  }
  // No external assets.
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::server
