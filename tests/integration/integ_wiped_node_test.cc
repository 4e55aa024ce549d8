// A node restarted under its old id with a wiped data directory has lost its votes and log;
// trusting it could elect two leaders in one term. Peers remember every node's data-dir
// incarnation and must refuse it, while the rest of the cluster keeps serving.
#include <gtest/gtest.h>

#include <filesystem>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

TEST(WipedNodeTest, NodeWithWipedDataDirIsRefusedByPeers) {
  TestCluster cluster;
  ASSERT_OK(cluster.StartAll());
  ASSERT_TRUE(cluster.WaitForLeader().ok());
  client::Client& c = cluster.client();
  ASSERT_OK(c.Put("before", "1"));

  ASSERT_TRUE(cluster.Stop(3).has_value());
  std::filesystem::remove_all(cluster.data_dir(3));
  ASSERT_OK(cluster.Start(3));

  // Nodes 1 and 2 recognize the new incarnation under the old id and refuse it.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return cluster.LogHasLine(1, {"refusing node 3", "data directory changed"}) ||
               cluster.LogHasLine(2, {"refusing node 3", "data directory changed"});
      },
      20s))
      << "no peer refused the wiped node";
  // The two remaining nodes still form a majority of every group.
  ASSERT_OK(c.Put("after", "2"));
  auto got = c.Get("before");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "1");
}

}  // namespace
}  // namespace ringkv::integration
