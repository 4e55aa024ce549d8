// Issue 14's observability on one real 3-node, 32-shard cluster (kvd processes), started with
// every slow-operation threshold at 0 ms and --metrics=extensive:
// - metric values, not only their format: N writes raise ringkv_requests_total{type="put"} by
//   at least N over the nodes; the WAL fsync, apply and group-commit batch histograms count
//   something; per-shard log and data bytes are exported (extensive);
// - slow fdatasync / apply / request warnings reach the log, and a request id sent in a client
//   frame is the one the slow-request line names;
// - the start is quiet: a bounded number of INFO lines per node, and Raft's own lines name
//   their shard ("group G: raft ...").
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "integration/http_get.h"
#include "integration/raw_socket.h"
#include "integration/test_cluster.h"
#include "net/handshake.h"
#include "proto/kv.pb.h"
#include "proto/transport.pb.h"
#include "testutil/prometheus_text.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

// Lines of a glog text log that are INFO ("I<date> ...").
std::vector<std::string> InfoLines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > 1 && line[0] == 'I' && line[1] >= '0' && line[1] <= '9') {
      out.push_back(line);
    }
  }
  return out;
}

class OpsLogsMetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestClusterOptions o;
    o.extra_flags = {"--metrics=extensive", "--slow_sync_ms=0", "--slow_apply_ms=0",
                     "--slow_request_ms=0"};
    cluster_ = new TestCluster(o);
    if (!cluster_->StartAll().ok()) return;
    // "Started": every node ready (/readyz), then the leaders as placement balances them
    // (the same leader map for 5 s: longer than --stability_delay_ms, 3 s, after which
    // placement starts moving leaderships, plus a placement round). The logs up to here are
    // the start's.
    if (!cluster_->WaitForLeader(30s).ok()) return;
    for (int id = 1; id <= 3; ++id) {
      if (!WaitUntil(
              [&] {
                auto r = HttpGet(cluster_->admin_port(id), "/readyz");
                return r.ok() && r->status == 200;
              },
              20s)) {
        return;
      }
    }
    for (int id = 1; id <= 3; ++id) ready_logs_[id] = cluster_->process(id).ReadLog();
    auto last = cluster_->Leaders();
    auto since = std::chrono::steady_clock::now();
    WaitUntil(
        [&] {
          auto now = cluster_->Leaders();
          if (now != last) {
            last = now;
            since = std::chrono::steady_clock::now();
          }
          return std::chrono::steady_clock::now() - since > 5s;
        },
        30s, 100ms);
    for (const auto& [g, l] : last) ++leaders_per_node_[l];
    for (int id = 1; id <= 3; ++id) settled_logs_[id] = cluster_->process(id).ReadLog();
    started_ = true;
  }
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
  void SetUp() override { ASSERT_TRUE(started_) << "the cluster did not start"; }

  static testutil::PromParseResult Scrape(int id) {
    auto a = HttpGet(cluster_->admin_port(id), "/metrics");
    EXPECT_TRUE(a.ok()) << a.status();
    if (!a.ok()) return {};
    auto p = testutil::ParsePrometheusText(a->body);
    EXPECT_TRUE(p.ok()) << p.error;
    return p;
  }
  // The sum over every sample of `name` whose labels include `match`, on every node.
  static double ClusterSum(const std::string& family, const std::string& name,
                           const std::map<std::string, std::string>& match = {}) {
    double sum = 0;
    for (int id = 1; id <= 3; ++id) {
      auto p = Scrape(id);
      auto it = p.families.find(family);
      if (it == p.families.end()) continue;
      for (const auto& s : it->second.samples) {
        if (s.name != name) continue;
        bool all = true;
        for (const auto& [k, v] : match) {
          auto l = s.labels.find(k);
          all = all && l != s.labels.end() && l->second == v;
        }
        if (all) sum += s.value;
      }
    }
    return sum;
  }

  static inline TestCluster* cluster_ = nullptr;
  static inline bool any_failed_ = false;
  static inline bool started_ = false;
  static inline std::map<int, std::string> ready_logs_, settled_logs_;
  static inline std::map<int, int> leaders_per_node_;  // once settled
};

TEST_F(OpsLogsMetricsTest, MetricValuesFollowTheWrites) {
  constexpr int kWrites = 60;
  const double puts_before = ClusterSum("ringkv_requests_total", "ringkv_requests_total",
                                        {{"type", "put"}, {"code", "ok"}});
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_OK(cluster_->client().Put("metric/" + std::to_string(i), std::string(200, 'm')));
  }
  const double puts_after = ClusterSum("ringkv_requests_total", "ringkv_requests_total",
                                       {{"type", "put"}, {"code", "ok"}});
  EXPECT_GE(puts_after - puts_before, kWrites);
  // The other types are counted apart: the puts did not raise the gets.
  const double gets = ClusterSum("ringkv_requests_total", "ringkv_requests_total",
                                 {{"type", "get"}});
  auto kv = cluster_->client().Get("metric/7");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_GE(ClusterSum("ringkv_requests_total", "ringkv_requests_total", {{"type", "get"}}),
            gets + 1);
  EXPECT_GE(ClusterSum("ringkv_request_duration_seconds", "ringkv_request_duration_seconds_count",
                       {{"type", "put"}}),
            kWrites);

  // Every node wrote and applied (followers too), so each one's histograms count something.
  for (int id = 1; id <= 3; ++id) {
    auto p = Scrape(id);
    SCOPED_TRACE("node " + std::to_string(id));
    for (const char* h : {"ringkv_wal_fsync_duration_seconds", "ringkv_apply_duration_seconds",
                          "ringkv_group_commit_batch_groups", "ringkv_group_commit_batch_bytes"}) {
      EXPECT_GT(p.Value(h, std::string(h) + "_count").value_or(0), 0) << h;
      EXPECT_GT(p.Value(h, std::string(h) + "_sum").value_or(0), 0) << h;
    }
    EXPECT_GT(p.Value("ringkv_group_commit_writes_total", "ringkv_group_commit_writes_total")
                  .value_or(0),
              0);
    EXPECT_GE(p.Value("ringkv_proposals_applied_total", "ringkv_proposals_applied_total")
                  .value_or(0),
              kWrites);
    // --metrics=extensive: one series per shard, 32 of them, for log and data bytes.
    for (const char* f : {"ringkv_shard_log_bytes", "ringkv_shard_data_bytes"}) {
      auto it = p.families.find(f);
      ASSERT_NE(it, p.families.end()) << f << " missing with --metrics=extensive";
      std::set<std::string> shards;
      double total = 0;
      for (const auto& s : it->second.samples) {
        shards.insert(s.labels.count("shard") ? s.labels.at("shard") : "");
        total += s.value;
      }
      EXPECT_EQ(shards.size(), 32u) << f;
      EXPECT_GT(total, 0) << f;
    }
  }
}

TEST_F(OpsLogsMetricsTest, SlowOperationsAreLoggedWithTheRequestId) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(cluster_->client().Put("slow/" + std::to_string(i), "v"));
  }
  // Thresholds of 0 ms: a Raft log write and an apply round of 1 ms or more are logged.
  bool sync = false, apply = false;
  EXPECT_TRUE(WaitUntil(
      [&] {
        for (int id = 1; id <= 3; ++id) {
          sync = sync || cluster_->LogHasLine(id, {"slow fdatasync: a Raft log write of"});
          apply = apply || cluster_->LogHasLine(id, {"slow apply: ", "groups took"});
        }
        if (!(sync && apply)) (void)cluster_->client().Put("slow/more", "v");
        return sync && apply;
      },
      20s, 50ms))
      << "slow fdatasync logged: " << sync << ", slow apply logged: " << apply;

  // A request with an id of ours, on a raw connection to node 1: the slow-request line (at most
  // one a second per node) names "<our address>#<id>".
  RawSocket s = RawSocket::Connect(cluster_->client_port(1));
  ASSERT_TRUE(s.valid());
  ASSERT_TRUE(s.WriteFrame(
      net::MakeHandshake(cluster_->cluster_id(), NodeId(0), 1, "127.0.0.1:1").SerializeAsString()));
  ASSERT_TRUE(s.ReadFrame().has_value()) << "no handshake reply";
  uint64_t id = 7700000;
  std::string logged;
  EXPECT_TRUE(WaitUntil(
      [&] {
        kvpb::Request req;
        req.set_request_id(++id);
        req.set_timeout_ms(5000);
        req.mutable_get()->set_key("slow/1");
        req.set_consistency(kvpb::SERIALIZABLE);
        if (!s.WriteFrame(req.SerializeAsString())) return false;
        auto reply = s.ReadFrame();
        kvpb::Response resp;
        if (!reply || !resp.ParseFromString(*reply) || resp.request_id() != id) return false;
        // Any of our ids so far may be the one that got its line.
        for (uint64_t k = 7700001; k <= id; ++k) {
          const std::string tag = s.local_address() + "#" + std::to_string(k) + ":";
          if (cluster_->LogHasLine(1, {"slow request ", tag, "get took"})) {
            logged = tag;
            return true;
          }
        }
        return false;
      },
      15s, 100ms))
      << "no slow-request line names a request id of ours (last id " << id << ")";
}

TEST_F(OpsLogsMetricsTest, StartIsQuietAndRaftLinesNameTheirShard) {
  const std::regex raft_line(R"(\] (.*)raft \d+ \[term \d+\])");
  int raft_lines = 0;
  for (int id = 1; id <= 3; ++id) {
    SCOPED_TRACE("node " + std::to_string(id));
    const auto ready = InfoLines(ready_logs_[id]);
    const auto settled = InfoLines(settled_logs_[id]);
    std::cout << "[ metric ] node " << id << ": " << ready.size()
              << " INFO lines until ready, " << settled.size()
              << " once placement balanced the leaders (" << leaders_per_node_[id] << " led)\n";
    // Until ready: the configuration, storage, ports, gossip joins, "every shard has a leader"
    // (one line per node and per state change, not one per shard).
    EXPECT_LT(ready.size(), 40u) << ready_logs_[id];
    // Balancing moves about two thirds of the 32 leaderships once: each move is a shard's state
    // change (three lines: transfer, unknown, new leader; about 80 in all here), never Raft's
    // chatter per message.
    EXPECT_LT(settled.size(), 120u) << settled_logs_[id];
    for (const auto& line : settled) {
      std::smatch m;
      if (std::regex_search(line, m, raft_line)) {
        ++raft_lines;
        EXPECT_TRUE(std::regex_match(m[1].str(), std::regex(R"(group \d+: )")))
            << "a Raft line without its shard: " << line;
      }
    }
  }
  std::cout << "[ metric ] " << raft_lines << " Raft lines in the three start logs\n";
}

}  // namespace
}  // namespace ringkv::integration
