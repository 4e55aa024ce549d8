// Failures of real kvd processes: SIGKILL of the leader (a new one is elected and writes go on),
// SIGKILL of a follower under a write load and its restart (it catches up), and SIGKILL of the
// whole cluster (every acknowledged write survives the restart).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

using Clock = std::chrono::steady_clock;

// Writers putting unique keys ("<prefix>/<writer>/<n>") until stopped, remembering which writes
// were acknowledged. A write with an unknown outcome is neither acked nor retried.
class WriteLoad {
 public:
  WriteLoad(client::Client& c, std::string prefix, int writers) : c_(c), prefix_(prefix) {
    for (int w = 0; w < writers; ++w) threads_.emplace_back([this, w] { Run(w); });
  }
  ~WriteLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int acked() const { return acked_count_.load(); }
  int failed() const { return failed_count_.load(); }
  // key -> value of every acknowledged write. REQUIRES: Stop() returned.
  const std::map<std::string, std::string>& acked_writes() const { return acked_; }

 private:
  void Run(int w) {
    client::CallOptions co;
    co.timeout = 3s;
    for (int n = 0; !stop_; ++n) {
      const std::string key = prefix_ + "/" + std::to_string(w) + "/" + std::to_string(n);
      const std::string value = "v" + std::to_string(n) + "-" + key;
      auto r = c_.Put(key, value, co);
      if (r.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        acked_[key] = value;
        ++acked_count_;
      } else {
        ++failed_count_;
      }
    }
  }

  client::Client& c_;
  const std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acked_count_{0};
  std::atomic<int> failed_count_{0};
  std::mutex mu_;
  std::map<std::string, std::string> acked_;
  std::vector<std::thread> threads_;
};

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(cluster_.StartAll());
    auto leader = cluster_.WaitForLeader();
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
    leader_ = *leader;
  }

  // The running node leading the fewest groups (a follower almost everywhere).
  int LeastLeadingNode() {
    std::map<int, int> count;
    for (int id = 1; id <= cluster_.size(); ++id) count[id] = 0;
    for (const auto& [group, leader] : cluster_.Leaders()) ++count[leader];
    int best = 1;
    for (const auto& [id, n] : count) {
      if (id != 0 && n < count[best]) best = id;
    }
    return best;
  }

  TestCluster cluster_;
  int leader_ = 0;
};

TEST_F(FailoverTest, KillingTheLeaderElectsANewOneAndWritesContinue) {
  client::Client& c = cluster_.client();
  ASSERT_OK(c.Put("before", "1"));
  // Kill the leader of the group the next write goes to.
  auto group = cluster_.GroupOf("after");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  leader_ = cluster_.LeaderOf(*group);
  ASSERT_NE(leader_, 0);

  const auto killed_at = Clock::now();
  cluster_.Kill(leader_);
  client::CallOptions co;
  co.timeout = 15s;
  auto r = c.Put("after", "2", co);
  const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::cout << "[ metric ] write gap after SIGKILL of leader " << leader_ << ": " << gap.count()
            << " ms\n";
  EXPECT_LT(gap, 5s) << "writes resumed only after " << gap.count() << " ms";

  EXPECT_NE(cluster_.LeaderOf(*group), leader_);
  // Every group that node led has a new leader, and writes to all of them work.
  auto next = cluster_.WaitForLeader(10s, /*exclude=*/leader_);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  for (int i = 0; i < 64; ++i) {
    auto w = c.Put("spread/" + std::to_string(i), "x", co);
    ASSERT_TRUE(w.ok()) << "spread/" << i << ": " << w.status().ToString();
  }

  auto before = c.Get("before");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE(before->has_value());
  EXPECT_EQ((*before)->value, "1");

  // The old leader comes back as a follower with the same data and catches up.
  ASSERT_OK(cluster_.Start(leader_));
  ringkv::Status caught_up = cluster_.WaitCaughtUp(leader_);
  EXPECT_TRUE(caught_up.ok()) << caught_up.ToString();
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto kv = cluster_.LocalGet(leader_, "after");
        return kv.ok() && kv->has_value() && (*kv)->value() == "2";
      },
      10s));
}

TEST_F(FailoverTest, FollowerKilledUnderLoadCatchesUpAfterRestart) {
  const int follower = LeastLeadingNode();
  WriteLoad load(cluster_.client(), "load", 4);
  ASSERT_TRUE(WaitUntil([&] { return load.acked() >= 50; }, 20s)) << load.acked();

  cluster_.Kill(follower);
  const int at_kill = load.acked();
  ASSERT_TRUE(WaitUntil([&] { return load.acked() >= at_kill + 200; }, 30s))
      << "writes stalled with one follower down: " << load.acked() - at_kill;

  ASSERT_OK(cluster_.Start(follower));
  const int at_restart = load.acked();
  ASSERT_TRUE(WaitUntil([&] { return load.acked() >= at_restart + 100; }, 30s));
  load.Stop();
  std::cout << "[ metric ] acked " << load.acked() << " writes, " << load.failed()
            << " failed/unknown\n";

  auto leader = cluster_.WaitForLeader();
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  ringkv::Status caught_up = cluster_.WaitCaughtUp(follower);
  EXPECT_TRUE(caught_up.ok()) << caught_up.ToString();

  // The follower's own state machine holds every acknowledged write.
  int mismatches = 0;
  for (const auto& [key, value] : load.acked_writes()) {
    auto kv = cluster_.LocalGet(follower, key);
    if (!kv.ok() || !kv->has_value() || (*kv)->value() != value) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "node " << follower << " key " << key << ": "
                      << (kv.ok() ? (kv->has_value() ? (*kv)->value() : "<absent>")
                                  : kv.status().ToString());
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_F(FailoverTest, FullClusterRestartKeepsEveryAcknowledgedWrite) {
  WriteLoad load(cluster_.client(), "durable", 4);
  ASSERT_TRUE(WaitUntil([&] { return load.acked() >= 300; }, 30s)) << load.acked();
  // Power cut for every process while writes are in flight.
  cluster_.KillAll();
  load.Stop();
  ASSERT_GE(load.acked(), 300);

  ASSERT_OK(cluster_.StartAll());
  auto leader = cluster_.WaitForLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();

  int lost = 0;
  for (const auto& [key, value] : load.acked_writes()) {
    auto kv = cluster_.client().Get(key);
    if (!kv.ok() || !kv->has_value() || (*kv)->value != value) {
      if (++lost <= 5) {
        ADD_FAILURE() << "acknowledged write lost: " << key << " -> "
                      << (kv.ok() ? (kv->has_value() ? (*kv)->value : "<absent>")
                                  : kv.status().ToString());
      }
    }
  }
  EXPECT_EQ(lost, 0) << "of " << load.acked_writes().size() << " acknowledged writes";
  EXPECT_OK(cluster_.client().Put("after-restart", "ok"));
}

}  // namespace
}  // namespace ringkv::integration
