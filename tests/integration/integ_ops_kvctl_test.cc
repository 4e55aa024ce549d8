// kvctl's operator commands against one real 3-node, 32-shard cluster, each checked in `-w json`
// against what the cluster itself reports: member list, endpoint status, endpoint health
// --cluster, shard list, shard status, shard transfer-leader (the leadership moves), alarm
// list / disarm (a NOSPACE alarm raised by a quota: disarm clears it only when no longer due),
// and cluster status — also with
// quorum lost, when its shard table must still show what the surviving node knows.
// Skipped when kvctl was not built.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "integration/kvctl_run.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

using nlohmann::json;
constexpr int kShards = 32;

class OpsKvctlTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    // TestCluster keeps its dir only when the test running at its destruction failed; the
    // suite's cluster outlives its tests, so say it here.
    if (any_failed_) ::setenv("RINGKV_KEEP_TEST_DIRS", "1", 1);
    delete cluster_;
    cluster_ = nullptr;
  }
  // The shared cluster's node logs go with the first failing test (the cluster is not
  // destroyed then).
  void TearDown() override {
    if (!HasFailure() || cluster_ == nullptr || any_failed_) return;
    any_failed_ = true;
    for (int id = 1; id <= cluster_->size(); ++id) {
      std::cerr << "===== node " << id << " log (last 60 lines; full: "
                << cluster_->process(id).log_path() << ") =====\n"
                << cluster_->process(id).LogTail(60) << "\n";
    }
  }
  void SetUp() override {
    if (KvctlBinary().empty() || !std::filesystem::exists(KvctlBinary())) {
      GTEST_SKIP() << "kvctl was not built";
    }
    if (cluster_ == nullptr) cluster_ = new TestCluster();
    // One cluster for every test here; a test that stops nodes leaves them to be started again.
    ASSERT_OK(cluster_->StartAll());
    ASSERT_TRUE(cluster_->WaitForLeader(30s).ok());
    // Every node answers (a node just started may not have opened its client port yet).
    ASSERT_TRUE(WaitUntil(
        [&] {
          for (int id = 1; id <= cluster_->size(); ++id) {
            if (!cluster_->NodeStatus(id).ok()) return false;
          }
          return true;
        },
        20s, 100ms));
  }

  // kvctl against every node.
  static KvctlRun Kvctl(const std::string& args) { return RunKvctl(cluster_->endpoints(), args); }
  // `args -w json`, which must exit 0 and print JSON.
  static json KvctlJson(const std::string& args) {
    KvctlRun r = Kvctl(args + " -w json");
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.err << r.out;
    json j = r.Json();
    EXPECT_FALSE(j.is_discarded()) << args << ": not JSON:\n" << r.out;
    return j;
  }
  // Waits until every shard has a leader and the map stays the same for 1.5 s: longer than a
  // placement round (1 s), whose leader balancing moves leaderships to each shard's preferred
  // node once the cluster is 3 s old.
  static std::map<uint64_t, int> StableLeaders() {
    std::map<uint64_t, int> leaders;
    auto since = std::chrono::steady_clock::now();
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto a = cluster_->Leaders();
          bool all = a.size() == kShards;
          for (const auto& [g, l] : a) all = all && l != 0;
          if (!all || a != leaders) {
            leaders = a;
            since = std::chrono::steady_clock::now();
            return false;
          }
          return std::chrono::steady_clock::now() - since > 1500ms;
        },
        20s, 100ms));
    return leaders;
  }

  static inline TestCluster* cluster_ = nullptr;
  static inline bool any_failed_ = false;
};

TEST_F(OpsKvctlTest, MemberListAndEndpointsMatchTheCluster) {
  json members = KvctlJson("member list");
  ASSERT_TRUE(members.is_array()) << members.dump();
  std::set<int> ids;
  int leaders = 0;
  for (const auto& m : members) {
    const int id = m["node_id"].get<int>();
    ids.insert(id);
    EXPECT_EQ(m["client_address"], cluster_->client_address(id)) << m.dump();
    EXPECT_EQ(m["admin_address"], cluster_->admin_address(id)) << m.dump();
    EXPECT_EQ(m["state"], "alive") << m.dump();
    EXPECT_TRUE(m["reachable"].get<bool>()) << m.dump();
    EXPECT_EQ(m["replicas"], kShards) << m.dump();
    EXPECT_FALSE(m["version"].get<std::string>().empty()) << m.dump();
    leaders += m["leaders"].get<int>();
  }
  EXPECT_EQ(ids, (std::set<int>{1, 2, 3}));
  EXPECT_EQ(leaders, kShards);

  json status = KvctlJson("endpoint status");
  ASSERT_EQ(status.size(), 3u) << status.dump();
  for (const auto& e : status) {
    const int id = e["node_id"].get<int>();
    EXPECT_EQ(e["endpoint"], cluster_->client_address(id)) << e.dump();
    EXPECT_EQ(e["shards"], kShards) << e.dump();
    EXPECT_GT(e["storage_used_bytes"].get<uint64_t>(), 0u) << e.dump();
    EXPECT_TRUE(e["alarms"].empty()) << e.dump();
  }

  // --cluster: given one endpoint, every member answers a quorum round of every shard.
  KvctlRun health = RunKvctl(cluster_->client_address(2), "endpoint health --cluster -w json");
  ASSERT_EQ(health.exit_code, 0) << health.err << health.out;
  json h = health.Json();
  ASSERT_EQ(h.size(), 3u) << health.out;
  std::set<std::string> endpoints;
  for (const auto& e : h) {
    endpoints.insert(e["endpoint"].get<std::string>());
    EXPECT_TRUE(e["health"].get<bool>()) << e.dump();
    EXPECT_EQ(e["shards"], kShards) << e.dump();
    EXPECT_GT(e["took_ms"].get<double>(), 0) << e.dump();
  }
  EXPECT_EQ(endpoints, (std::set<std::string>{cluster_->client_address(1),
                                              cluster_->client_address(2),
                                              cluster_->client_address(3)}));
}

TEST_F(OpsKvctlTest, ShardListAndStatusMatchTheCluster) {
  const auto leaders = StableLeaders();
  json list = KvctlJson("shard list");
  ASSERT_EQ(list.size(), static_cast<size_t>(kShards)) << list.dump();
  std::map<uint64_t, int> reported;
  for (const auto& s : list) reported[s["shard_id"].get<uint64_t>()] = s["leader"].get<int>();
  EXPECT_EQ(reported, leaders);

  const uint64_t shard = 7;
  const int leader = leaders.at(shard);
  auto truth = cluster_->Group(leader, shard);
  ASSERT_TRUE(truth.ok()) << truth.status();
  json s = KvctlJson("shard status " + std::to_string(shard));
  EXPECT_EQ(s["shard_id"], shard);
  EXPECT_EQ(s["leader"], leader) << s.dump();
  EXPECT_GE(s["term"].get<uint64_t>(), truth->term()) << s.dump();
  EXPECT_GE(s["commit"].get<uint64_t>(), truth->commit()) << s.dump();
  std::set<uint64_t> replicas, voters(truth->voters().begin(), truth->voters().end());
  for (const auto& r : s["replicas"]) {
    replicas.insert(r["node_id"].get<uint64_t>());
    EXPECT_EQ(r["role"], r["node_id"] == leader ? "leader" : "follower") << s.dump();
  }
  EXPECT_EQ(replicas, voters) << s.dump();
  EXPECT_EQ(voters, (std::set<uint64_t>{1, 2, 3}));
  EXPECT_NE(s["token_first"], s["token_last"]) << s.dump();
  // A shard nobody has: exit 3 (not found).
  EXPECT_EQ(Kvctl("shard status 999").exit_code, 3);
}

TEST_F(OpsKvctlTest, TransferLeaderMovesTheLeadership) {
  const auto leaders = StableLeaders();
  const uint64_t shard = 11;
  const int from = leaders.at(shard);
  const int to = from % 3 + 1;
  auto before = cluster_->Group(from, shard);
  ASSERT_TRUE(before.ok()) << before.status();
  const uint64_t term_before = before->term();
  json r = KvctlJson("shard transfer-leader " + std::to_string(shard) + " " + std::to_string(to));
  EXPECT_EQ(r["shard_id"], shard) << r.dump();
  EXPECT_EQ(r["to"], to) << r.dump();
  // Node `to` logs "group G: leader is now node <to> (term T)" with a term above the one before
  // the transfer once it leads. (Polling the leader could miss a move that did not last; the
  // log cannot.)
  const std::regex became("group " + std::to_string(shard) + ": leader is now node " +
                          std::to_string(to) + R"( \(term (\d+)\))");
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::string log = cluster_->process(to).ReadLog();
        for (std::sregex_iterator it(log.begin(), log.end(), became), end; it != end; ++it) {
          if (std::stoull((*it)[1].str()) > term_before) return true;
        }
        return false;
      },
      10s, 50ms))
      << "shard " << shard << " (led by node " << from << " in term " << term_before
      << ") never led by node " << to << "; now led by node " << cluster_->LeaderOf(shard);
  // The move sticks: placement's leader balancing (a round every second) does not hand the
  // leadership back to the shard's preferred node for a while (it once did within a second).
  // Node `to` would log "group G: raft <id> [term T] starting leadership transfer to ...".
  const std::regex handed_back("group " + std::to_string(shard) +
                               R"(: raft \S+ \[term (\d+)\] starting leadership transfer)");
  const auto watch_until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < watch_until) {
    const std::string log = cluster_->process(to).ReadLog();
    for (std::sregex_iterator it(log.begin(), log.end(), handed_back), end; it != end; ++it) {
      ASSERT_LE(std::stoull((*it)[1].str()), term_before)
          << "node " << to << " handed shard " << shard << "'s leadership away right after the "
          << "transfer: " << (*it)[0].str();
    }
    std::this_thread::sleep_for(100ms);  // observing for 3 s, not waiting for a condition
  }
  // Not a replica of the shard: refused, saying so, nothing moves.
  KvctlRun bad = Kvctl("shard transfer-leader " + std::to_string(shard) + " 9");
  EXPECT_NE(bad.exit_code, 0) << bad.out;
  EXPECT_FALSE(bad.err.empty());
}

TEST_F(OpsKvctlTest, AlarmListAndDisarm) {
  EXPECT_EQ(KvctlJson("alarm list"), json::array());
  // Node 3 with a 64 MiB quota, measured every 200 ms; a sparse ballast file in its data
  // directory (the guard counts file sizes) moves its usage where the test wants it.
  constexpr uint64_t kQuota = uint64_t{64} << 20;
  ASSERT_TRUE(cluster_->Stop(3).has_value());
  ASSERT_OK(cluster_->Start(3, {"--storage_quota_bytes=" + std::to_string(kQuota),
                                "--space_check_interval_ms=200"}));
  ASSERT_TRUE(cluster_->WaitForLeader(30s).ok());
  const std::filesystem::path ballast = cluster_->data_dir(3) + "/ballast";
  { std::ofstream f(ballast); }
  std::filesystem::resize_file(ballast, kQuota + (uint64_t{6} << 20));  // over the quota
  json alarms;
  ASSERT_TRUE(WaitUntil(
      [&] {
        KvctlRun r = Kvctl("alarm list -w json");
        alarms = r.Json();
        return r.exit_code == 0 && alarms.is_array() && alarms.size() == 1;
      },
      15s, 200ms))
      << alarms.dump();
  EXPECT_EQ(alarms[0]["node_id"], 3) << alarms.dump();
  EXPECT_EQ(alarms[0]["alarm"], "NOSPACE") << alarms.dump();
  EXPECT_EQ(alarms[0]["storage_quota_bytes"], kQuota) << alarms.dump();
  KvctlRun text = Kvctl("alarm list");
  EXPECT_NE(text.out.find("memberID:3, alarm:NOSPACE"), std::string::npos) << text.out;
  // Writes are refused with exit 7 while it stands (once gossip has brought the alarm to the
  // shard leaders; until then a put is accepted).
  KvctlRun refused;
  EXPECT_TRUE(WaitUntil(
      [&] {
        refused = Kvctl("put during-alarm v");
        return refused.exit_code == 7;
      },
      10s, 100ms))
      << refused.exit_code << ": " << refused.err << refused.out;
  EXPECT_NE(refused.err.find("NO_SPACE"), std::string::npos) << refused.err;

  // A disarm while the quota is still exceeded: raised again at once, and said so.
  json again = KvctlJson("alarm disarm");
  ASSERT_TRUE(again.is_array()) << again.dump();
  std::string message3;
  for (const auto& d : again) {
    if (d["node_id"] == 3) message3 = d["message"].get<std::string>();
  }
  EXPECT_NE(message3.find("still due and was raised again"), std::string::npos) << again.dump();
  EXPECT_EQ(KvctlJson("alarm list").size(), 1u);

  // Usage back under the quota but above the low watermark (90 %): the alarm stays raised (it
  // clears itself only below the watermark) until an operator disarms it. The alarm's own
  // usage figure shows the node measured again.
  std::filesystem::resize_file(ballast, kQuota - (uint64_t{4} << 20));
  ASSERT_TRUE(WaitUntil(
      [&] {
        alarms = Kvctl("alarm list -w json").Json();
        return alarms.is_array() && alarms.size() == 1 &&
               alarms[0]["storage_used_bytes"].get<uint64_t>() < kQuota;
      },
      10s, 100ms))
      << alarms.dump();
  json disarm = KvctlJson("alarm disarm");
  message3.clear();
  for (const auto& d : disarm) {
    if (d["node_id"] == 3) message3 = d["message"].get<std::string>();
  }
  EXPECT_EQ(message3, "NOSPACE on node 3 disarmed") << disarm.dump();
  EXPECT_EQ(KvctlJson("alarm list"), json::array());
  // It stays cleared over the next measurements (every 200 ms), and writes go on.
  const auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(KvctlJson("alarm list"), json::array());
  }
  KvctlRun put = Kvctl("put after-disarm v");
  EXPECT_EQ(put.exit_code, 0) << put.err;

  // Back to a normal node 3 for the tests after this one.
  std::filesystem::remove(ballast);
  ASSERT_TRUE(cluster_->Stop(3).has_value());
  ASSERT_OK(cluster_->Start(3));
  ASSERT_TRUE(cluster_->WaitForLeader(30s).ok());
}

// Last: it stops two nodes (SetUp starts them again for any later test).
TEST_F(OpsKvctlTest, ClusterStatusShowsShardsAlsoWithQuorumLost) {
  StableLeaders();
  json st = KvctlJson("cluster status");
  ASSERT_EQ(st["shards"].size(), static_cast<size_t>(kShards)) << st.dump();
  for (const auto& s : st["shards"]) {
    for (const char* f : {"group_id", "leader", "term", "commit", "applied", "max_lag",
                          "token_first", "token_last", "replicas"}) {
      ASSERT_TRUE(s.contains(f)) << f << " missing: " << s.dump();
    }
    EXPECT_NE(s["leader"], 0) << s.dump();
    EXPECT_GE(s["commit"].get<uint64_t>(), s["applied"].get<uint64_t>()) << s.dump();
    ASSERT_EQ(s["replicas"].size(), 3u) << s.dump();
    int lead = 0;
    for (const auto& r : s["replicas"]) {
      lead += r["role"] == "leader" ? 1 : 0;
      EXPECT_TRUE(r["lag"].is_number()) << s.dump();
    }
    EXPECT_EQ(lead, 1) << s.dump();
  }

  // Quorum lost: nodes 2 and 3 gone. Node 1 still tells what it knows of every shard.
  cluster_->Kill(2);
  cluster_->Kill(3);
  KvctlRun lost = Kvctl("cluster status -w json");
  EXPECT_NE(lost.exit_code, 0) << "two endpoints are down";
  json j = lost.Json();
  ASSERT_FALSE(j.is_discarded()) << lost.out;
  ASSERT_EQ(j["shards"].size(), static_cast<size_t>(kShards)) << lost.out.substr(0, 3000);
  for (const auto& s : j["shards"]) {
    EXPECT_GT(s["term"].get<uint64_t>(), 0u) << s.dump();
    EXPECT_GT(s["commit"].get<uint64_t>(), 0u) << s.dump();
    EXPECT_TRUE(s.contains("token_first") && s.contains("token_last")) << s.dump();
    bool node1 = false;
    for (const auto& r : s["replicas"]) node1 = node1 || r["node_id"] == 1;
    EXPECT_TRUE(node1) << s.dump();
  }
  int errors = 0;
  for (const auto& n : j["nodes"]) errors += n.contains("error") ? 1 : 0;
  EXPECT_EQ(errors, 2) << j["nodes"].dump();
  // The table too: a row per shard, not an empty SHARDS section.
  KvctlRun table = Kvctl("cluster status -w table");
  const size_t shards_at = table.out.find("SHARDS");
  ASSERT_NE(shards_at, std::string::npos) << table.out;
  int rows = 0;
  for (size_t at = table.out.find("\n| ", shards_at); at != std::string::npos;
       at = table.out.find("\n| ", at + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, kShards + 1) << table.out;  // the header and one row per shard
}

}  // namespace
}  // namespace ringkv::integration
