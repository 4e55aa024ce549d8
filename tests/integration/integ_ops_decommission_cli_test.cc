// `kvctl node decommission` and `kvctl node status` as an operator meets them, on a real 4-node,
// 8-shard, R = 3 cluster (issue 14, "what a new user tripped over"):
// - a decommission is started once: a second one says the drain is already under way, with the
//   replicas left to move; `--wait` prints that count as it falls and ends when the node left;
//   a decommission of a node that left says so (exit 4);
// - the node that left answers clients "left the cluster" (not WRONG_SHARD);
// - with 3 nodes left for R = 3, the pre-flight refuses (exit 4) and says why; with --force
//   the drain cannot progress, and --wait names the stall (exit 5); `node status` shows it.
// Skipped when kvctl was not built.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "integration/kvctl_run.h"
#include "integration/multiraft_checks.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

using nlohmann::json;
constexpr int kShards = 8;
constexpr int kReplication = 3;

TEST(OpsDecommissionCliTest, PreflightProgressStallAndALeftNode) {
  if (KvctlBinary().empty() || !std::filesystem::exists(KvctlBinary())) {
    GTEST_SKIP() << "kvctl was not built";
  }
  TestClusterOptions o;
  o.nodes = 4;
  o.extra_flags = {"--shards=" + std::to_string(kShards),
                   "--replication=" + std::to_string(kReplication),
                   "--dead_node_timeout_ms=3000", "--stability_delay_ms=1000",
                   "--gossip_probe_interval_ms=200"};
  TestCluster cluster(o);
  ASSERT_OK(cluster.StartAll());
  ASSERT_TRUE(cluster.WaitForLeader(40s).ok());
  std::string why;
  ASSERT_TRUE(WaitUntil(
      [&] {
        why = ShardMapView::Take(cluster).Unhealthy(kShards, kReplication, {1, 2, 3, 4});
        return why.empty();
      },
      20s, 100ms))
      << why;
  for (int i = 0; i < 40; ++i) ASSERT_OK(cluster.client().Put("k" + std::to_string(i), "v"));
  auto kvctl = [&](const std::string& args) { return RunKvctl(cluster.endpoints(), args); };

  // Start the drain of node 4; a second request finds it under way.
  KvctlRun first = kvctl("node decommission 4 -w json");
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  EXPECT_EQ(first.Json()["node_id"], 4) << first.out;
  KvctlRun second = kvctl("node decommission 4 -w json");
  ASSERT_EQ(second.exit_code, 0) << second.err << second.out;
  const std::string again = second.Json()["message"].get<std::string>();
  EXPECT_NE(again.find("node 4 is already decommissioning"), std::string::npos) << again;
  EXPECT_NE(again.find("replicas left to move"), std::string::npos) << again;

  // --wait: the count as it falls, then done. kvctl names a stall after 30 s without progress.
  KvctlRun wait = kvctl("node decommission 4 --wait --stall-after 30s");
  ASSERT_EQ(wait.exit_code, 0) << wait.err << wait.out;
  EXPECT_NE(wait.out.find("node 4: "), std::string::npos) << wait.out;
  EXPECT_NE(wait.out.find(" replicas left to move (state "), std::string::npos) << wait.out;
  EXPECT_NE(wait.out.find("node 4 is drained and has left the cluster"), std::string::npos)
      << wait.out;
  ASSERT_EQ(ShardMapView::Take(cluster).Unhealthy(kShards, kReplication, {1, 2, 3}), "");

  KvctlRun status = kvctl("node status 4 -w json");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  json s4 = status.Json();
  EXPECT_EQ(s4["node_id"], 4) << status.out;
  EXPECT_EQ(s4["state"], "left") << status.out;
  EXPECT_EQ(s4["replicas"], 0) << status.out;
  KvctlRun left = kvctl("node decommission 4");
  EXPECT_EQ(left.exit_code, 4) << left.out;
  EXPECT_NE(left.err.find("node 4 has already left the cluster"), std::string::npos) << left.err;

  // The node that left keeps running until stopped and tells a client that asks it directly
  // that it left (it marks itself so once its gossip leave went out, up to 2 s after the
  // others see it as left).
  ASSERT_TRUE(cluster.Running(4));
  KvctlRun get;
  EXPECT_TRUE(WaitUntil(
      [&] {
        get = RunKvctl(cluster.client_address(4), "get k1");
        return get.err.find("left the cluster") != std::string::npos;
      },
      10s, 200ms))
      << get.exit_code << ": " << get.err << get.out;
  EXPECT_NE(get.exit_code, 0) << get.out;
  EXPECT_EQ(get.err.find("WRONG_SHARD"), std::string::npos) << get.err;
  auto local = cluster.LocalGet(4, "k1");
  ASSERT_FALSE(local.ok());
  EXPECT_NE(local.status().message().find("node 4 left the cluster (decommissioned)"),
            std::string::npos)
      << local.status();
  // The data is all there.
  for (int i = 0; i < 40; ++i) {
    auto kv = cluster.client().Get("k" + std::to_string(i));
    ASSERT_TRUE(kv.ok() && kv->has_value()) << i;
  }

  // Three nodes left for R = 3: refused, saying why.
  KvctlRun refused = kvctl("node decommission 3");
  EXPECT_EQ(refused.exit_code, 4) << refused.out;
  EXPECT_NE(refused.err.find("would leave 2 nodes for replication factor 3"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  KvctlRun st3 = kvctl("node status 3 -w json");
  EXPECT_EQ(st3.Json()["decommissioning"], false) << st3.out;

  // --force: the drain starts, has nowhere to go, and --wait names the stall.
  KvctlRun stall = kvctl("node decommission 3 --force --wait --stall-after 2s");
  EXPECT_EQ(stall.exit_code, 5) << stall.err << stall.out;
  EXPECT_NE(stall.out.find("node 3: " + std::to_string(kShards) + " replicas left to move"),
            std::string::npos)
      << stall.out;
  EXPECT_NE(stall.err.find("the drain of node 3 stalled: " + std::to_string(kShards) +
                           " replicas left, no progress for 2 s"),
            std::string::npos)
      << stall.err;
  KvctlRun table = kvctl("node status 3");
  EXPECT_NE(table.out.find("decommissioning: " + std::to_string(kShards) +
                           " replicas left to move"),
            std::string::npos)
      << table.out;
  // Nothing was taken from the shards: still three voters each, and writes go on.
  EXPECT_EQ(ShardMapView::Take(cluster).Unhealthy(kShards, kReplication, {1, 2, 3}), "");
  EXPECT_OK(cluster.client().Put("after-stall", "v"));
}

}  // namespace
}  // namespace ringkv::integration
