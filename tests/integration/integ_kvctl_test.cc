// kvctl against a real 3-node cluster: put/get work, a missing key exits 3, a value over the
// frame maximum exits 7 before anything is sent, and
// `kvctl cluster status -w json` names each group's leader by the node id kvd was started with
// (the id tools/launch_cluster.sh kill/restart take); `kvctl compact` compacts the Raft logs
// and each node's storage. Skipped when kvctl was not built.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "integration/kvctl_run.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

class KvctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (KvctlBinary().empty() || !std::filesystem::exists(KvctlBinary())) {
      GTEST_SKIP() << "kvctl was not built";
    }
    ASSERT_OK(cluster_.StartAll());
    auto leader = cluster_.WaitForLeader();
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
    leader_ = *leader;
  }

  TestCluster cluster_;
  int leader_ = 0;
};

TEST_F(KvctlTest, PutGetAndMissingKey) {
  auto put = RunKvctl(cluster_.endpoints(), "put greeting hello");
  EXPECT_EQ(put.exit_code, 0) << put.out;
  auto get = RunKvctl(cluster_.endpoints(), "get greeting");
  EXPECT_EQ(get.exit_code, 0) << get.out;
  EXPECT_NE(get.out.find("hello"), std::string::npos) << get.out;
  // The write went through the cluster, not somewhere else.
  auto kv = cluster_.client().Get("greeting");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->value, "hello");

  auto missing = RunKvctl(cluster_.endpoints(), "get no-such-key");
  EXPECT_EQ(missing.exit_code, 3) << missing.out;
}

// Issue 10: a 100 MiB value from stdin was retried five times over 8 s and reported "cluster
// unavailable" (exit 5). Now kvctl stops reading past the frame maximum and exits 7
// ("rejected") at once, naming the limit; nothing is sent.
TEST_F(KvctlTest, ValueOverTheFrameMaximumFromStdinIsRejectedAtOnce) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("ringkv_kvctl_big_" + std::to_string(::getpid()));
  {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string mib(1 << 20, 'v');
    for (int i = 0; i < 100; ++i) ASSERT_EQ(std::fwrite(mib.data(), 1, mib.size(), f), mib.size());
    std::fclose(f);
  }
  auto put = RunKvctl(cluster_.endpoints(), "put big < " + file.string());
  std::filesystem::remove(file);
  EXPECT_EQ(put.exit_code, 7) << put.err;
  EXPECT_NE(put.err.find("client frame maximum of " + std::to_string(client::kMaxRequestBytes)),
            std::string::npos)
      << put.err;
  EXPECT_NE(put.err.find("kDefaultClientMaxFrameSize"), std::string::npos) << put.err;
  EXPECT_NE(put.err.find("nothing was sent"), std::string::npos) << put.err;
  auto kv = cluster_.client().Get("big");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_FALSE(kv->has_value());
}

TEST_F(KvctlTest, ClusterStatusJsonNamesEachGroupsLeaderByNodeId) {
  // Leaders stable first (every group led, and the same view twice), so kvctl's view cannot be
  // mid-election.
  std::map<uint64_t, int> leaders;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto a = cluster_.Leaders();
        for (const auto& [g, l] : a) {
          if (l == 0) return false;
        }
        leaders = cluster_.Leaders();
        return !a.empty() && a == leaders;
      },
      10s));
  auto st = RunKvctl(cluster_.endpoints(), "cluster status -w json");
  ASSERT_EQ(st.exit_code, 0) << st.out;
  nlohmann::json j = nlohmann::json::parse(st.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "not JSON:\n" << st.out;

  // {"groups": [{"group_id": G, "leader": NODE_ID, ...}], "nodes": [{"node_id": ..., ...}]}
  ASSERT_TRUE(j.contains("groups") && j["groups"].is_array()) << st.out;
  std::map<uint64_t, int> reported;
  for (const auto& g : j["groups"]) {
    ASSERT_TRUE(g.contains("group_id") && g.contains("leader")) << g.dump();
    reported[g["group_id"].get<uint64_t>()] = g["leader"].get<int>();
  }
  EXPECT_EQ(reported, leaders) << st.out.substr(0, 2000);

  ASSERT_TRUE(j.contains("nodes") && j["nodes"].is_array()) << st.out;
  std::set<int> ids;
  for (const auto& n : j["nodes"]) {
    if (n.contains("node_id")) ids.insert(n["node_id"].get<int>());
  }
  EXPECT_EQ(ids, (std::set<int>{1, 2, 3})) << st.out.substr(0, 2000);
}

// `kvctl compact`: every shard's Raft log on each endpoint, then each node's storage (RocksDB
// CompactRange), reported per node with the SST bytes before and after.
TEST_F(KvctlTest, CompactCompactsRaftLogsThenEachNodesStorage) {
  for (int i = 0; i < 50; ++i) {
    auto r = cluster_.client().Put("compact/" + std::to_string(i % 10), std::string(4096, 'c'));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto out = RunKvctl(cluster_.endpoints(), "compact -w json");
  ASSERT_EQ(out.exit_code, 0) << out.out;
  nlohmann::json j = nlohmann::json::parse(out.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "not JSON:\n" << out.out;
  EXPECT_EQ(j["failed"], 0) << out.out;
  EXPECT_GT(j["compacted"].get<int>(), 0) << out.out;
  ASSERT_TRUE(j["nodes"].is_array()) << out.out;
  std::set<int> ids;
  for (const auto& n : j["nodes"]) {
    ids.insert(n["node_id"].get<int>());
    ASSERT_TRUE(n.contains("storage_bytes_before") && n.contains("storage_bytes_after") &&
                n.contains("storage_took_ms"))
        << n.dump();
    EXPECT_FALSE(n.contains("storage_error")) << n.dump();
    EXPECT_GT(n["storage_bytes_after"].get<uint64_t>(), 0u) << n.dump();
  }
  EXPECT_EQ(ids, (std::set<int>{1, 2, 3})) << out.out;
  // The data is still there.
  auto kv = cluster_.client().Get("compact/3");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  ASSERT_TRUE(kv->has_value());
  // --logs-only skips the storage compaction.
  auto logs = RunKvctl(cluster_.endpoints(), "compact --logs-only -w json");
  ASSERT_EQ(logs.exit_code, 0) << logs.out;
  nlohmann::json l = nlohmann::json::parse(logs.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(l.is_discarded()) << logs.out;
  for (const auto& n : l["nodes"]) EXPECT_FALSE(n.contains("storage_bytes_before")) << n.dump();
}

}  // namespace
}  // namespace ringkv::integration
