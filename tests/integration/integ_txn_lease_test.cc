// Transactions and leases against real kvd processes:
//   - a transaction runs atomically on its shard (client library and `kvctl txn` from stdin); one
//     whose keys span shards is refused naming the shards; a hash tag keeps keys together;
//   - a lease's keys are gone within TTL plus one election timeout (plus the time to commit the
//     revoke), never before the TTL — also across a SIGKILL of the shard leader, whose successor
//     extends every lease; keep-alives keep keys; revoke deletes them;
//   - `kvctl lock` and `kvctl elect`: one holder at a time, the next one proceeds when the
//     holder lets go (or dies).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "integration/kvctl_run.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The longest election timeout of kvd's defaults (2 * 15 ticks of 10 ms): what a new leader
// extends every lease by, and the longest a leader change can leave a lease unwatched.
constexpr milliseconds kElectionTimeout{300};

int64_t Ms(Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

class TxnLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestClusterOptions o;
    o.extra_flags = {"--shards=8"};
    cluster_ = std::make_unique<TestCluster>(o);
    ASSERT_OK(cluster_->StartAll());
    auto leader = cluster_->WaitForLeader();
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  }

  bool HaveKvctl() const {
    return !KvctlBinary().empty() && std::filesystem::exists(KvctlBinary());
  }

  // Two keys that live on different shards.
  std::pair<std::string, std::string> KeysOnTwoShards() {
    for (int i = 1; i < 100; ++i) {
      auto a = cluster_->GroupOf("a");
      auto b = cluster_->GroupOf("b" + std::to_string(i));
      if (a.ok() && b.ok() && *a != *b) return {"a", "b" + std::to_string(i)};
    }
    ADD_FAILURE() << "no two keys on different shards";
    return {};
  }

  // The slowest of a few puts now: what committing one entry (a revoke) takes on this machine
  // at this moment, so the expiry bound accounts for the load the suite runs under.
  milliseconds CommitLatency(const std::string& key) {
    milliseconds worst{0};
    for (int i = 0; i < 3; ++i) {
      const auto t = Clock::now();
      EXPECT_OK(cluster_->client().Put(key, "probe"));
      worst = std::max(worst, std::chrono::duration_cast<milliseconds>(Clock::now() - t));
    }
    return worst;
  }

  // Polls the key until it is gone; returns when that was first seen (or nullopt).
  std::optional<Clock::time_point> WaitGone(const std::string& key, milliseconds timeout) {
    std::optional<Clock::time_point> gone;
    WaitUntil(
        [&] {
          auto r = cluster_->client().Get(key);
          if (r.ok() && !r->has_value()) gone = Clock::now();
          return gone.has_value();
        },
        timeout, milliseconds(10));
    return gone;
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(TxnLeaseTest, TransactionsAreAtomicOnOneShard) {
  client::Client& c = cluster_->client();
  // A hash tag puts both keys on one shard.
  client::Txn create;
  create.compare = {client::Compare::Absent("{acct}/alice"), client::Compare::Absent("{acct}/bob")};
  create.success = {client::TxnOp::Put("{acct}/alice", "100"), client::TxnOp::Put("{acct}/bob", "0")};
  auto r = c.Commit(create);
  ASSERT_OK(r);
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(*cluster_->GroupOf("{acct}/alice"), *cluster_->GroupOf("{acct}/bob"));

  // A transfer guarded by alice's value; the second run finds it changed and reads instead.
  client::Txn transfer;
  transfer.compare = {client::Compare::Value("{acct}/alice", client::Compare::Op::kEqual, "100")};
  transfer.success = {client::TxnOp::Put("{acct}/alice", "70"), client::TxnOp::Put("{acct}/bob", "30"),
                      client::TxnOp::Get("{acct}/bob")};
  transfer.failure = {client::TxnOp::Get("{acct}/alice")};
  r = c.Commit(transfer);
  ASSERT_OK(r);
  ASSERT_TRUE(r->succeeded);
  ASSERT_EQ(r->results.size(), 3u);
  EXPECT_EQ(r->results[2].kv->value, "30");
  EXPECT_EQ(r->results[2].kv->version, r->version);
  auto alice = c.Get("{acct}/alice");
  auto bob = c.Get("{acct}/bob");
  ASSERT_OK(alice);
  ASSERT_OK(bob);
  EXPECT_EQ((*alice)->version, (*bob)->version) << "one transaction, one version";
  r = c.Commit(transfer);
  ASSERT_OK(r);
  EXPECT_FALSE(r->succeeded);
  EXPECT_EQ(r->results[0].kv->value, "70");

  // Keys on two shards: refused, naming both shards, and nothing written.
  auto [k1, k2] = KeysOnTwoShards();
  client::Txn spread;
  spread.success = {client::TxnOp::Put(k1, "x"), client::TxnOp::Put(k2, "y")};
  r = c.Commit(spread);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  const std::string msg(r.status().message());
  EXPECT_NE(msg.find("spans shards " + std::to_string(std::min(*cluster_->GroupOf(k1),
                                                                  *cluster_->GroupOf(k2)))),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("hash tag"), std::string::npos) << msg;
  auto none = c.Get(k1);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(TxnLeaseTest, KvctlTxnReadsTheTransactionFromStdin) {
  if (!HaveKvctl()) GTEST_SKIP() << "kvctl was not built";
  ASSERT_OK(cluster_->client().Put("{cfg}/mode", "old"));
  const std::string input = cluster_->dir() + "/txn.txt";
  std::ofstream(input) << "value(\"{cfg}/mode\") = \"old\"\n\n"
                          "put {cfg}/mode \"new value\"\nget {cfg}/mode\n\n"
                          "get {cfg}/mode\n";
  const std::string kvctl = KvctlBinary() + " --endpoints=" + cluster_->endpoints();
  ShellRun r = RunShell(kvctl + " txn < " + input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "SUCCESS\n\nOK\n\n{cfg}/mode\nnew value\n");
  // Again: the compare fails, the failure branch runs, and kvctl still exits 0 (as etcdctl).
  r = RunShell(kvctl + " txn -w json < " + input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("\"succeeded\":false"), std::string::npos) << r.out;
  // A malformed compare is a usage error.
  std::ofstream(input) << "bogus(\"k\") = \"1\"\n\n\n";
  r = RunShell(kvctl + " txn < " + input + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(TxnLeaseTest, LeaseExpiresAfterItsTtlAndNotBefore) {
  client::Client& c = cluster_->client();
  const std::string key = "{lease1}/k";
  const milliseconds commit = CommitLatency(key);
  const milliseconds ttl{2000};
  const auto granted_send = Clock::now();
  auto lease = c.LeaseGrant(ttl, key);
  ASSERT_OK(lease);
  const auto granted_ack = Clock::now();
  client::CallOptions with_lease;
  with_lease.lease = lease->id;
  ASSERT_OK(c.Put(key, "v", with_lease));
  auto info = c.LeaseTimeToLive(lease->id, /*keys=*/true);
  ASSERT_OK(info);
  EXPECT_EQ(info->granted_ttl, ttl);
  EXPECT_EQ(info->keys, std::vector<std::string>{key});

  auto gone = WaitGone(key, ttl + 10s);
  ASSERT_TRUE(gone.has_value()) << "the key outlived its lease";
  // Never before the TTL: the leader starts the clock when it applies the grant, after we sent it.
  EXPECT_GE(Ms(*gone - granted_send), ttl.count());
  // Within the TTL plus the revoke's commit (measured now) and the leader's tick; one election
  // timeout of slack (the bound) covers scheduling on a loaded machine.
  const milliseconds bound = ttl + kElectionTimeout + 2 * commit + milliseconds(20);
  EXPECT_LE(Ms(*gone - granted_ack), bound.count())
      << "expired " << Ms(*gone - granted_ack) << " ms after the grant (commit latency "
      << commit.count() << " ms)";
  std::cout << "[ metric ] lease TTL " << ttl.count() << " ms: key gone "
            << Ms(*gone - granted_ack) << " ms after the grant was acknowledged\n";
  EXPECT_TRUE(c.LeaseKeepAlive(lease->id).status().IsNotFound());
}

TEST_F(TxnLeaseTest, KeepAliveRevokeAndShardChecks) {
  client::Client& c = cluster_->client();
  auto lease = c.LeaseGrant(milliseconds(1500), "{svc}/");
  ASSERT_OK(lease);
  client::CallOptions with_lease;
  with_lease.lease = lease->id;
  ASSERT_OK(c.Put("{svc}/a", "1", with_lease));
  ASSERT_OK(c.Put("{svc}/b", "2", with_lease));
  // Kept alive for three TTLs.
  const auto until = Clock::now() + milliseconds(4500);
  while (Clock::now() < until) {
    ASSERT_OK(c.LeaseKeepAlive(lease->id));
    auto a = c.Get("{svc}/a");
    ASSERT_OK(a);
    ASSERT_TRUE(a->has_value()) << "key expired while kept alive";
    std::this_thread::sleep_for(milliseconds(300));  // the keep-alive period under test
  }
  // A key on another shard cannot take the lease; an unknown lease is not found.
  std::string other;
  for (int i = 0; other.empty() && i < 100; ++i) {
    if (*cluster_->GroupOf("x" + std::to_string(i)) != *cluster_->GroupOf("{svc}/a")) {
      other = "x" + std::to_string(i);
    }
  }
  auto wrong = c.Put(other, "v", with_lease);
  EXPECT_TRUE(wrong.status().IsInvalidArgument()) << wrong.status();
  EXPECT_NE(wrong.status().message().find("lives on shard"), std::string::npos) << wrong.status();
  client::CallOptions bogus;
  bogus.lease = lease->id + 1;
  EXPECT_TRUE(c.Put("{svc}/c", "v", bogus).status().IsNotFound());

  auto revoked = c.LeaseRevoke(lease->id);
  ASSERT_OK(revoked);
  EXPECT_EQ(*revoked, 2u);
  auto a = c.Get("{svc}/a");
  ASSERT_OK(a);
  EXPECT_FALSE(a->has_value());
  EXPECT_TRUE(c.LeaseRevoke(lease->id).status().IsNotFound());
}

TEST_F(TxnLeaseTest, ALeaderChangeNeverExpiresALeaseEarly) {
  client::Client& c = cluster_->client();
  const std::string key = "{lease2}/k";
  const milliseconds ttl{3000};
  auto lease = c.LeaseGrant(ttl, key);
  ASSERT_OK(lease);
  client::CallOptions with_lease;
  with_lease.lease = lease->id;
  ASSERT_OK(c.Put(key, "v", with_lease));
  auto group = cluster_->GroupOf(key);
  ASSERT_OK(group);
  const int leader = cluster_->LeaderOf(*group);
  ASSERT_NE(leader, 0);
  // The last keep-alive, then the leader dies.
  const auto last_keepalive_send = Clock::now();
  ASSERT_OK(c.LeaseKeepAlive(lease->id));
  cluster_->Kill(leader);
  const auto killed = Clock::now();

  // Every new leader restarts the lease at its full TTL plus one election timeout, and there
  // may be two: when the election goes to the survivor the ring does not prefer, the store's
  // leader balancing transfers the group a stability delay (3 s) later, and the lease starts
  // over there. So the key's end is bounded from the last leader change seen (seen after it
  // happened: measuring from it only loosens the bound).
  std::optional<Clock::time_point> gone;
  int leader_seen = 0;
  Clock::time_point leader_seen_at = killed;
  WaitUntil(
      [&] {
        const int now_leader = cluster_->LeaderOf(*group);
        if (now_leader != 0 && now_leader != leader_seen) {
          leader_seen = now_leader;
          leader_seen_at = Clock::now();
        }
        auto r = cluster_->client().Get(key);
        if (r.ok() && !r->has_value()) gone = Clock::now();
        return gone.has_value();
      },
      ttl + 15s, milliseconds(10));
  ASSERT_TRUE(gone.has_value()) << "the key outlived its lease";
  EXPECT_GE(Ms(*gone - last_keepalive_send), ttl.count())
      << "a leader change expired the lease early";
  // The last successor restarts the full TTL plus one election timeout once elected.
  std::cout << "[ metric ] lease TTL " << ttl.count() << " ms across a leader kill: key gone "
            << Ms(*gone - killed) << " ms after the kill, " << Ms(*gone - leader_seen_at)
            << " ms after leader " << leader_seen << " was seen\n";
  EXPECT_LE(Ms(*gone - leader_seen_at), (ttl + 10 * kElectionTimeout).count());
}

TEST_F(TxnLeaseTest, KvctlLockAndElectHandOverWhenTheHolderLetsGo) {
  if (!HaveKvctl()) GTEST_SKIP() << "kvctl was not built";
  const std::string ep = "--endpoints=" + cluster_->endpoints();
  KvdProcess first(KvctlBinary(), {ep, "lock", "job", "--ttl=2s"}, cluster_->dir() + "/lock1.log");
  ASSERT_OK(first.Start());
  ASSERT_TRUE(WaitUntil([&] { return first.ReadLog().find("{job}/") != std::string::npos; }, 15s))
      << first.ReadLog();
  KvdProcess second(KvctlBinary(), {ep, "lock", "job", "--ttl=2s"}, cluster_->dir() + "/lock2.log");
  ASSERT_OK(second.Start());
  // The second waits while the first holds the lock (it has written its key: wait for that).
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto keys = cluster_->client().Scan("{job}/", "{job}0");
        return keys.ok() && keys->kvs.size() == 2;
      },
      15s));
  EXPECT_EQ(second.ReadLog().find("{job}/"), std::string::npos) << second.ReadLog();
  // Killed without releasing: its lease expires and the second proceeds.
  first.Kill();
  ASSERT_TRUE(WaitUntil([&] { return second.ReadLog().find("{job}/") != std::string::npos; }, 15s))
      << second.ReadLog();
  EXPECT_EQ(second.Stop(), 130);

  KvdProcess listener(KvctlBinary(), {ep, "elect", "--listen", "boss"},
                      cluster_->dir() + "/listen.log");
  KvdProcess p1(KvctlBinary(), {ep, "elect", "boss", "p1"}, cluster_->dir() + "/p1.log");
  ASSERT_OK(p1.Start());
  ASSERT_TRUE(WaitUntil([&] { return p1.ReadLog().find("p1") != std::string::npos; }, 15s));
  ASSERT_OK(listener.Start());
  KvdProcess p2(KvctlBinary(), {ep, "elect", "boss", "p2"}, cluster_->dir() + "/p2.log");
  ASSERT_OK(p2.Start());
  ASSERT_TRUE(WaitUntil([&] { return listener.ReadLog().find("p1") != std::string::npos; }, 15s))
      << listener.ReadLog();
  // p1 resigns (Ctrl-C revokes its lease at once): p2 leads, the listener says so.
  EXPECT_EQ(p1.Stop(), 130);
  ASSERT_TRUE(WaitUntil([&] { return p2.ReadLog().find("p2") != std::string::npos; }, 15s))
      << p2.ReadLog();
  ASSERT_TRUE(WaitUntil([&] { return listener.ReadLog().find("p2") != std::string::npos; }, 15s))
      << listener.ReadLog();
  EXPECT_EQ(p2.Stop(), 130);
  EXPECT_EQ(listener.Stop(), 130);
}

}  // namespace
}  // namespace ringkv::integration
