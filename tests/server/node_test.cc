// An in-process three-node cluster (server::Node objects on loopback ports from the OS) driven
// through the client library: the whole write/read path without process management. The
// real-process tests (kill -9, restarts) live in tests/integration/.
#include "server/node.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "ringkv/client.h"
#include "store/store.h"
#include "testutil/ports.h"
#include "testutil/status_matchers.h"

namespace ringkv::server {
namespace {

using client::Client;
using client::ClientOptions;
using client::Expect;

class NodeClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ringkv_node_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    // Ports are picked before any node binds them, so another test process may take one in
    // between (seen in CI with ctest -j2): such a start is retried on fresh ports. Any other
    // start failure fails the test.
    Status started;
    for (int attempt = 0; attempt < 3; ++attempt) {
      started = StartCluster();
      if (started.ok() || started.ToString().find("Address already in use") == std::string::npos) {
        break;
      }
      StopCluster();
    }
    ASSERT_OK(started);
    ClientOptions co;
    co.endpoints = endpoints_;
    auto c = Client::Connect(co);
    ASSERT_OK(c);
    client_ = std::move(c).value();
    WaitForLeader();
  }

  void TearDown() override { StopCluster(); }

  Status StartCluster() {
    std::map<NodeId, std::string> peers, clients;
    for (uint64_t i = 1; i <= 3; ++i) {
      peers[NodeId(i)] = "127.0.0.1:" + std::to_string(ringkv::testing::PickFreePort());
      clients[NodeId(i)] = "127.0.0.1:" + std::to_string(ringkv::testing::PickFreePort());
    }
    for (uint64_t i = 1; i <= 3; ++i) {
      NodeOptions o;
      o.node_id = NodeId(i);
      o.data_dir = (dir_ / std::to_string(i)).string();
      o.listen_peer = peers[NodeId(i)];
      o.listen_client = clients[NodeId(i)];
      o.initial_peers = peers;
      o.initial_clients = clients;
      o.replica.max_key_bytes = 64;
      o.replica.max_value_bytes = 1024;
      options_.push_back(o);
      nodes_.push_back(std::make_unique<Node>(o));
      Status s = nodes_.back()->Start();
      if (!s.ok()) return s;
      endpoints_.push_back(clients[NodeId(i)]);
    }
    return Status::OK();
  }

  void StopCluster() {
    client_.reset();
    for (auto& n : nodes_) n->Stop();
    nodes_.clear();
    options_.clear();
    endpoints_.clear();
    std::filesystem::remove_all(dir_);
  }

  // Every node knows a leader for each of its groups.
  void WaitForLeader() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (auto& n : nodes_) all = all && n->store()->AllGroupsHaveLeader();
      if (all) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
    }
    FAIL() << "no leader within 10 s";
  }

  std::filesystem::path dir_;
  std::vector<NodeOptions> options_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::string> endpoints_;
  std::unique_ptr<Client> client_;
};

TEST_F(NodeClusterTest, PutGetDeleteRoundTrip) {
  Result<uint64_t> v = client_->Put("k1", "v1");
  ASSERT_OK(v);
  EXPECT_GT(*v, 0u);
  auto got = client_->Get("k1");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "v1");
  EXPECT_EQ((*got)->version, *v);
  auto del = client_->Delete("k1");
  ASSERT_OK(del);
  EXPECT_TRUE(*del);
  got = client_->Get("k1");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
}

TEST_F(NodeClusterTest, CompareAndSwapAndAppend) {
  ASSERT_OK(client_->Put("c", "a"));
  auto cas = client_->CompareAndSwap("c", Expect::Value("a"), "b");
  ASSERT_OK(cas);
  EXPECT_TRUE(cas->succeeded);
  auto bad = client_->CompareAndSwap("c", Expect::Value("a"), "z");
  // A failed compare is a definite failure that reports the current value.
  if (bad.ok()) {
    EXPECT_FALSE(bad->succeeded);
    ASSERT_TRUE(bad->current.has_value());
    EXPECT_EQ(bad->current->value, "b");
  } else {
    EXPECT_EQ(bad.status().code(), StatusCode::kFailedPrecondition) << bad.status();
  }
  auto app = client_->Append("list", "1,");
  ASSERT_OK(app);
  app = client_->Append("list", "2,");
  ASSERT_OK(app);
  EXPECT_EQ(app->value, "1,2,");
}

TEST_F(NodeClusterTest, ScanInKeyOrder) {
  for (const char* k : {"b", "a", "d", "c"}) ASSERT_OK(client_->Put(k, std::string("v") + k));
  auto scan = client_->Scan("a", "d", client::ScanOptions{});
  ASSERT_OK(scan);
  ASSERT_EQ(scan->kvs.size(), 3u);
  EXPECT_EQ(scan->kvs[0].key, "a");
  EXPECT_EQ(scan->kvs[2].key, "c");
}

TEST_F(NodeClusterTest, OversizedKeyAndValueAreRejected) {
  auto r = client_->Put(std::string(65, 'k'), "v");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  r = client_->Put("k", std::string(2000, 'v'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  auto got = client_->Get("k");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
}

TEST_F(NodeClusterTest, ManyConcurrentWrites) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (client_->Put("t" + std::to_string(t) + "-" + std::to_string(i), "x").ok()) ++ok;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  auto scan = client_->Scan("t", "u", client::ScanOptions{});
  ASSERT_OK(scan);
  EXPECT_EQ(scan->kvs.size(), static_cast<size_t>(kThreads * kPerThread));
}

// Issue 10: one client, hundreds of appends in flight on its sessions, attempts cut short at
// 15 ms so retries overtake later writes of the same session. Every append applies at most once;
// one acknowledged appears exactly once, one that failed definitely never appears.
TEST_F(NodeClusterTest, ManyWritesInFlightWithRetriesApplyExactlyOnce) {
  ClientOptions co;
  co.endpoints = endpoints_;
  co.attempt_timeout = std::chrono::milliseconds(15);
  co.request_timeout = std::chrono::milliseconds(20000);
  co.initial_backoff = std::chrono::milliseconds(1);
  co.max_backoff = std::chrono::milliseconds(20);
  auto c = Client::Connect(co);
  ASSERT_OK(c);
  constexpr int kWrites = 300, kKeys = 3;
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, StatusCode> outcome;
  for (int i = 0; i < kWrites; ++i) {
    (*c)->AppendAsync("m" + std::to_string(i % kKeys), std::to_string(i) + ",", {},
                      [&, i](Result<client::AppendResult> r) {
                        std::lock_guard<std::mutex> l(mu);
                        outcome[i] = r.status().code();
                        cv.notify_all();
                      });
  }
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(60),
                            [&] { return outcome.size() == static_cast<size_t>(kWrites); }));
  }
  std::map<int, int> seen;
  for (int k = 0; k < kKeys; ++k) {
    auto got = client_->Get("m" + std::to_string(k));
    ASSERT_OK(got);
    ASSERT_TRUE(got->has_value());
    std::stringstream ss((*got)->value);
    for (std::string e; std::getline(ss, e, ',');) ++seen[std::stoi(e)];
  }
  int ok = 0;
  for (const auto& [i, code] : outcome) {
    if (code == StatusCode::kOk) ++ok;
    if (code == StatusCode::kOk) {
      EXPECT_EQ(seen[i], 1) << "acknowledged append " << i;
    } else if (code == StatusCode::kDeadlineExceeded) {
      EXPECT_LE(seen[i], 1) << "append " << i << " of unknown outcome";
    } else {
      EXPECT_EQ(seen[i], 0) << "append " << i << " failed definitely (" << StatusCodeName(code)
                            << ") but took effect";
    }
  }
  EXPECT_GT(ok, 0);
}

// Clients given the same seed (kvbench runs twice with --seed 1) must not share a session: the
// second client's write was answered with the first one's cached result and never applied.
TEST_F(NodeClusterTest, ClientsWithTheSameSeedBothWrite) {
  ClientOptions co;
  co.endpoints = endpoints_;
  co.seed = 1;
  for (const char* key : {"first", "second"}) {
    auto c = Client::Connect(co);
    ASSERT_OK(c);
    ASSERT_OK((*c)->Put(key, "v"));
  }
  for (const char* key : {"first", "second"}) {
    auto got = client_->Get(key);
    ASSERT_OK(got);
    EXPECT_TRUE(got->has_value()) << key;
  }
}

}  // namespace
}  // namespace ringkv::server

namespace ringkv::server {
namespace {

TEST_F(NodeClusterTest, RestartKeepsReplicasAndData) {
  ASSERT_OK(client_->Put("durable", "yes"));
  client_.reset();
  for (auto& n : nodes_) n->Stop();
  // Same data dirs: every node must reopen its replicas and find the data again.
  std::vector<std::unique_ptr<Node>> restarted;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    restarted.push_back(std::make_unique<Node>(options_[i]));
    ASSERT_OK(restarted.back()->Start());
  }
  nodes_.swap(restarted);
  restarted.clear();
  WaitForLeader();
  ClientOptions co;
  co.endpoints = endpoints_;
  auto c = Client::Connect(co);
  ASSERT_OK(c);
  client_ = std::move(c).value();
  auto got = client_->Get("durable");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "yes");
}

}  // namespace
}  // namespace ringkv::server
