// docs/deploy.md's upgrade procedure on a real 3-node, 32-shard cluster under a write load:
// restart one node at a time (SIGTERM, start again with its data), waiting for its /readyz
// before the next. Writes go on through every step (the client retries), and no acknowledged
// write is lost.
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "integration/http_get.h"
#include "integration/multiraft_checks.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

bool Ready(TestCluster& c, int id) {
  auto r = HttpGet(c.admin_port(id), "/readyz", 2s);
  return r.ok() && r->status == 200;
}

TEST(RollingRestartTest, EachNodeInTurnUnderWritesLosesNothing) {
  TestCluster cluster;
  ASSERT_OK(cluster.StartAll());
  ASSERT_TRUE(cluster.WaitForLeader(30s).ok());
  for (int id = 1; id <= 3; ++id) {
    ASSERT_TRUE(WaitUntil([&] { return Ready(cluster, id); }, 20s)) << "node " << id;
  }
  WriteLoad load(cluster.client(), "rolling", 2);
  ASSERT_TRUE(WaitUntil([&] { return load.acked() >= 50; }, 10s)) << "load not running";

  for (int id = 1; id <= 3; ++id) {
    SCOPED_TRACE("restarting node " + std::to_string(id));
    const int acked_before = load.acked();
    // Graceful stop: kvd hands its leaderships over and exits 0.
    EXPECT_EQ(cluster.Stop(id, 20s), 0);
    // Writes go on while it is down.
    EXPECT_TRUE(WaitUntil([&] { return load.acked() >= acked_before + 30; }, 15s))
        << "writes stalled with node " << id << " down: " << load.acked() - acked_before
        << " acknowledged, " << load.failed() << " failed so far";
    ASSERT_OK(cluster.Start(id));
    ASSERT_TRUE(WaitUntil([&] { return Ready(cluster, id); }, 30s))
        << [&] {
             auto v = HttpGet(cluster.admin_port(id), "/readyz?verbose");
             return v.ok() ? v->body : v.status().ToString();
           }();
    const int acked_ready = load.acked();
    EXPECT_TRUE(WaitUntil([&] { return load.acked() >= acked_ready + 30; }, 15s))
        << "writes stalled after node " << id << " came back";
  }
  load.Stop();
  std::cout << "[ metric ] rolling restart of 3 nodes: " << load.acked() << " writes acknowledged, "
            << load.failed() << " failed (timed out or refused, after the client's retries)\n";
  // Every write before, during and after is there, read through the restarted cluster.
  EXPECT_EQ(ReadBackAll(cluster.client(), load.acked_writes()), "");
  // A handful of writes may fail while a leadership moves; most must succeed.
  EXPECT_LT(load.failed(), load.acked() / 10);
}

}  // namespace
}  // namespace ringkv::integration
