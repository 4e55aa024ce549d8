#include "server/cluster_view.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ring/ring_config.h"

namespace ringkv::server {
namespace {

kvpb::NodeStatus Node(uint64_t id, const std::string& addr) {
  kvpb::NodeStatus st;
  st.set_node_id(id);
  st.set_client_address(addr);
  ring::RingConfig rc;
  rc.num_shards = 2;
  rc.replication_factor = 3;
  st.set_ring_config(rc.Encode());
  for (uint64_t m = 1; m <= 3; ++m) {
    st.add_member_ids(m);
    st.add_member_client_addresses("127.0.0.1:700" + std::to_string(m));
    st.add_member_states(m == 3 ? "dead" : "alive");
  }
  return st;
}

kvpb::GroupStatus* Group(kvpb::NodeStatus* st, uint64_t g, const std::string& role, uint64_t term,
                         uint64_t leader, uint64_t last, uint64_t applied) {
  auto* gs = st->add_groups();
  gs->set_group_id(g);
  gs->set_role(role);
  gs->set_term(term);
  gs->set_leader(leader);
  gs->set_last_index(last);
  gs->set_commit(applied);
  gs->set_applied(applied);
  for (uint64_t v = 1; v <= 3; ++v) gs->add_voters(v);
  return gs;
}

TEST(ClusterViewTest, MergesLeaderReportsLagAndUnreachableMembers) {
  kvpb::NodeStatus n1 = Node(1, "127.0.0.1:7001");
  kvpb::NodeStatus n2 = Node(2, "127.0.0.1:7002");
  // Shard 1: node 1 leads at term 5 and knows node 3's match; node 2 trails by 10.
  auto* g = Group(&n1, 1, "leader", 5, 1, 100, 100);
  for (uint64_t m : {1, 2, 3}) g->add_members(m);
  for (uint64_t m : {100, 95, 40}) g->add_match(m);
  Group(&n2, 1, "follower", 5, 1, 95, 90);
  // Shard 2: nobody leads (node 2 is a candidate at a higher term than node 1's stale view).
  Group(&n1, 2, "follower", 3, 3, 50, 50);
  Group(&n2, 2, "candidate", 4, 0, 50, 50);

  std::vector<NodeAnswer> answers(3);
  answers[0].endpoint = "127.0.0.1:7001";
  answers[0].status = n1;
  answers[1].endpoint = "127.0.0.1:7002";
  answers[1].status = n2;
  answers[2].endpoint = "127.0.0.1:7003";
  answers[2].error = "connection refused";
  ClusterView v = BuildClusterView(answers);

  ASSERT_EQ(v.members.size(), 3u);
  EXPECT_TRUE(v.members[0].reachable);
  EXPECT_FALSE(v.members[2].reachable);
  EXPECT_EQ(v.members[2].error, "connection refused");
  EXPECT_EQ(v.members[2].state, "dead");
  EXPECT_EQ(v.num_shards, 2u);

  ASSERT_EQ(v.shards.size(), 2u);
  const ShardView& s1 = v.shards[0];
  EXPECT_EQ(s1.leader, 1u);
  EXPECT_TRUE(s1.leader_reported);
  ASSERT_EQ(s1.replicas.size(), 3u);
  EXPECT_EQ(*s1.replicas[1].lag, 10u);  // its own report: applied 90 of 100
  EXPECT_EQ(*s1.replicas[2].lag, 60u);  // the leader's match: 40 of 100
  EXPECT_EQ(s1.max_lag, 60u);
  EXPECT_EQ(s1.token_first, 0u);
  const ShardView& s2 = v.shards[1];
  EXPECT_EQ(s2.leader, 0u);  // the highest term's report knows no leader
  EXPECT_EQ(s2.term, 4u);
  EXPECT_EQ(v.leaderless, 1);
  EXPECT_EQ(s2.token_last, ~uint64_t{0});
  EXPECT_EQ(v.members[0].leaders, 1);

  auto j = nlohmann::json::parse(ClusterViewJson(v));
  EXPECT_EQ(j["shards"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["shards"][1]["range_fraction_end"].get<double>(), 1.0);
  EXPECT_EQ(j["members"][2]["reachable"], false);
}

TEST(ClusterViewTest, NoAnswersGiveEmptyView) {
  std::vector<NodeAnswer> answers(1);
  answers[0].endpoint = "127.0.0.1:1";
  answers[0].error = "refused";
  ClusterView v = BuildClusterView(answers);
  EXPECT_TRUE(v.members.empty());
  EXPECT_TRUE(v.shards.empty());
}

}  // namespace
}  // namespace ringkv::server
