// A node that was down while the leader compacted its log cannot be caught up from the log: on
// restart it must receive a snapshot, install it and converge with the others.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

TEST(SnapshotTest, NodeDownWhileLogCompactedGetsSnapshotAndConverges) {
  TestCluster cluster;
  ASSERT_OK(cluster.StartAll());
  auto leader_r = cluster.WaitForLeader();
  ASSERT_TRUE(leader_r.ok()) << leader_r.status().ToString();
  const int leader = *leader_r;
  const int down = leader % cluster.size() + 1;  // leads fewer groups than `leader`
  client::Client& c = cluster.client();

  // Expected final contents; nullopt = deleted.
  std::map<std::string, std::optional<std::string>> expected;
  for (int i = 0; i < 20; ++i) {
    const std::string k = "pre/" + std::to_string(i);
    ASSERT_OK(c.Put(k, "old" + std::to_string(i)));
    expected[k] = "old" + std::to_string(i);
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto kv = cluster.LocalGet(down, "pre/19");
        return kv.ok() && kv->has_value();
      },
      10s));

  cluster.Kill(down);
  for (int i = 0; i < 300; ++i) {
    const std::string k = "snap/" + std::to_string(i);
    auto r = c.Put(k, std::string(100, static_cast<char>('a' + i % 26)));
    ASSERT_TRUE(r.ok()) << k << ": " << r.status().ToString();
    expected[k] = std::string(100, static_cast<char>('a' + i % 26));
  }
  for (int i = 0; i < 20; i += 2) {
    const std::string k = "pre/" + std::to_string(i);
    auto r = c.Put(k, "new" + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    expected[k] = "new" + std::to_string(i);
  }
  for (int i = 1; i < 20; i += 4) {
    const std::string k = "pre/" + std::to_string(i);
    auto r = c.Delete(k);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    expected[k] = std::nullopt;
  }

  // Compact every live node's logs (all groups) up to the applied index.
  for (int id = 1; id <= cluster.size(); ++id) {
    if (id == down) continue;
    ringkv::Status m = cluster.CompactLogs(id);
    ASSERT_TRUE(m.ok()) << m.ToString();
  }

  ASSERT_OK(cluster.Start(down));
  // Some leader streams a snapshot to the restarted node.
  const std::string to_node = "to node " + std::to_string(down);
  EXPECT_TRUE(WaitUntil(
      [&] {
        for (int id = 1; id <= cluster.size(); ++id) {
          if (id != down && cluster.LogHasLine(id, {"streaming snapshot", to_node})) return true;
        }
        return false;
      },
      20s))
      << "no node logged a snapshot sent to node " << down;

  auto now_leader = cluster.WaitForLeader();
  ASSERT_TRUE(now_leader.ok()) << now_leader.status().ToString();
  ringkv::Status caught_up = cluster.WaitCaughtUp(down);
  EXPECT_TRUE(caught_up.ok()) << caught_up.ToString();

  // The restarted node's own state equals the expected contents, key by key.
  int wrong = 0;
  for (const auto& [key, value] : expected) {
    auto kv = cluster.LocalGet(down, key);
    const bool ok = kv.ok() && kv->has_value() == value.has_value() &&
                    (!value.has_value() || (*kv)->value() == *value);
    if (!ok && ++wrong <= 5) {
      ADD_FAILURE() << "node " << down << " key " << key << ": got "
                    << (kv.ok() ? (kv->has_value() ? (*kv)->value() : "<absent>")
                                : kv.status().ToString())
                    << ", want " << value.value_or("<absent>");
    }
  }
  EXPECT_EQ(wrong, 0);

  // And it keeps following: a new write reaches it through the log.
  ASSERT_OK(c.Put("post/1", "x"));
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto kv = cluster.LocalGet(down, "post/1");
        return kv.ok() && kv->has_value() && (*kv)->value() == "x";
      },
      10s));
}

}  // namespace
}  // namespace ringkv::integration
