// The client library against a scripted fake server (tests/client/fake_server.h): leader hints,
// retries with backoff, exactly-once sessions on write retries, dropped connections, and the
// definite / unknown-outcome distinction of the final Status.
#include "ring/ring_config.h"
#include "ringkv/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "client/admin.h"
#include "client/fake_server.h"
#include "testutil/status_matchers.h"

namespace ringkv::client {
namespace {

using std::chrono::milliseconds;
using testing::FakeServer;
using testing::MemoryStore;

ClientOptions Options(std::vector<std::string> endpoints) {
  ClientOptions o;
  o.endpoints = std::move(endpoints);
  o.initial_backoff = milliseconds(1);
  o.max_backoff = milliseconds(20);
  o.seed = static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed()) + 1;
  return o;
}

std::unique_ptr<Client> MustConnect(ClientOptions o) {
  auto c = Client::Connect(std::move(o));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(c).value() : nullptr;
}

// An address nothing listens on: bind a port from the OS, then close it.
std::string DeadAddress() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();
  return "127.0.0.1:" + std::to_string(port);
}

TEST(ClientTest, PutGetDeleteCasAppendScanAgainstMemoryStore) {
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int) { return store->Handle(r); });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);

  auto v1 = c->Put("a", std::string("x\0y", 3));
  ASSERT_OK(v1);
  auto got = c->Get("a");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, std::string("x\0y", 3));
  EXPECT_EQ((*got)->version, *v1);

  auto missing = c->Get("nope");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  auto cas_bad = c->CompareAndSwap("a", Expect::Value("other"), "z");
  ASSERT_OK(cas_bad);
  EXPECT_FALSE(cas_bad->succeeded);
  ASSERT_TRUE(cas_bad->current.has_value());
  EXPECT_EQ(cas_bad->current->version, *v1);
  auto cas_ok = c->CompareAndSwap("a", Expect::Version(*v1), "z");
  ASSERT_OK(cas_ok);
  EXPECT_TRUE(cas_ok->succeeded);
  EXPECT_GT(cas_ok->version, *v1);
  auto cas_absent = c->CompareAndSwap("b", Expect::Absent(), "b0");
  ASSERT_OK(cas_absent);
  EXPECT_TRUE(cas_absent->succeeded);

  auto app = c->Append("b", "1");
  ASSERT_OK(app);
  EXPECT_EQ(app->value, "b01");

  auto scan = c->Scan("a", "", ScanOptions{1, false});
  ASSERT_OK(scan);
  ASSERT_EQ(scan->kvs.size(), 1u);
  EXPECT_EQ(scan->kvs[0].key, "a");
  EXPECT_TRUE(scan->more);

  auto del = c->Delete("a");
  ASSERT_OK(del);
  EXPECT_TRUE(*del);
  auto del2 = c->Delete("a");
  ASSERT_OK(del2);
  EXPECT_FALSE(*del2);
}

// Two fake nodes: a leader serving a memory store, and a follower that redirects every request
// to it with NOT_LEADER.
struct LeaderAndFollower {
  LeaderAndFollower() {
    follower.Start();
    leader.Start();
    follower.SetHandler([addr = leader.address()](const kvpb::Request&, int) {
      return FakeServer::Error(kvpb::NOT_LEADER, true, addr, 0, 2);
    });
    leader.SetHandler([store = store](const kvpb::Request& r, int) { return store->Handle(r); });
  }
  FakeServer follower{1}, leader{2};
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
};

TEST(ClientTest, FollowsNotLeaderHintAndCachesLeader) {
  LeaderAndFollower nodes;
  FakeServer& follower = nodes.follower;
  FakeServer& leader = nodes.leader;

  auto c = MustConnect(Options({follower.address()}));
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->Put("k", "v1"));
  EXPECT_EQ(follower.request_count(), 1);
  EXPECT_EQ(leader.request_count(), 1);
  // The leader is cached: later calls go straight there.
  ASSERT_OK(c->Put("k", "v2"));
  ASSERT_OK(c->Get("k"));
  EXPECT_EQ(follower.request_count(), 1);
  EXPECT_EQ(leader.request_count(), 3);
  const auto eps = c->Endpoints();
  EXPECT_EQ(eps.size(), 2u);
  // The redirected write kept its session.
  EXPECT_EQ(follower.requests()[0].client_id(), leader.requests()[0].client_id());
  EXPECT_EQ(follower.requests()[0].sequence(), leader.requests()[0].sequence());
}

TEST(ClientTest, ViaEndpointSendsTheFirstAttemptThereAndFollowsItsRedirect) {
  LeaderAndFollower nodes;
  FakeServer& follower = nodes.follower;
  FakeServer& leader = nodes.leader;

  auto c = MustConnect(Options({leader.address(), follower.address()}));
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->Put("k", "v1"));  // caches the leader
  const int leader_before = leader.request_count();
  ASSERT_EQ(follower.request_count(), 0);

  // Each call with via_endpoint starts at the follower although the leader is cached, and
  // ends at the leader through the follower's redirect.
  CallOptions via;
  via.via_endpoint = follower.address();
  for (int i = 0; i < 3; ++i) {
    auto r = c->Get("k", via);
    ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->value, "v1");
  }
  ASSERT_OK(c->Put("k", "v2", via));
  EXPECT_EQ(follower.request_count(), 4);
  EXPECT_EQ(leader.request_count(), leader_before + 4);
  // Calls without it still go straight to the cached leader.
  ASSERT_OK(c->Get("k"));
  EXPECT_EQ(follower.request_count(), 4);
}

TEST(ClientTest, NoLeaderThenOkRetriesWithBackoff) {
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int n) {
    if (n < 3) return FakeServer::Error(kvpb::NO_LEADER, true, "", 2);
    return store->Handle(r);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->Put("k", "v"));
  EXPECT_EQ(server.request_count(), 4);
}

TEST(ClientTest, BusyThenOkAndBusyForeverIsResourceExhausted) {
  FakeServer server;
  server.Start();
  std::atomic<bool> always_busy{false};
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([&, store](const kvpb::Request& r, int n) {
    // A retry_after beyond the deadline ends the call at once with the definite answer (a
    // write still in flight at the deadline would rightly be "outcome unknown").
    if (always_busy) return FakeServer::Error(kvpb::BUSY, true, "", 10000);
    if (n < 2) return FakeServer::Error(kvpb::BUSY, true, "", 1);
    return store->Handle(r);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->Put("k", "v"));
  EXPECT_EQ(server.request_count(), 3);

  always_busy = true;
  CallOptions co;
  co.timeout = milliseconds(200);
  auto r = c->Put("k", "v", co);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status();
}

TEST(ClientTest, BusyRetriesWaitAtLeastRetryAfter) {
  // An overloaded node's retry_after_ms is a floor: no retry comes back sooner (issue #10).
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  server.SetHandler([&, store](const kvpb::Request& r, int n) {
    {
      std::lock_guard<std::mutex> l(mu);
      arrivals.push_back(std::chrono::steady_clock::now());
    }
    if (n < 3) return FakeServer::Error(kvpb::BUSY, true, "", 150);
    return store->Handle(r);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  CallOptions co;
  co.timeout = milliseconds(5000);
  ASSERT_OK(c->Put("k", "v", co));
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(arrivals.size(), 4u);
  for (size_t i = 1; i < arrivals.size(); ++i) {
    EXPECT_GE(arrivals[i] - arrivals[i - 1], milliseconds(150)) << "retry " << i << " came early";
  }
}

TEST(ClientTest, WriteRetriesAfterUnknownOutcomeReuseTheSession) {
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int n) {
    if (n == 0) return FakeServer::Error(kvpb::TIMEOUT, false);
    if (n == 1) return FakeServer::Error(kvpb::UNKNOWN_OUTCOME, false);
    if (n == 2) return FakeServer::Error(kvpb::INTERNAL, false);
    return store->Handle(r);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->Put("k", "v"));
  ASSERT_OK(c->Put("k", "w"));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 5u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NE(reqs[i].client_id(), 0u);
    EXPECT_EQ(reqs[i].client_id(), reqs[0].client_id()) << i;
    EXPECT_EQ(reqs[i].sequence(), reqs[0].sequence()) << i;
  }
  // The next write on the session takes the next sequence, and says the first one is done.
  EXPECT_EQ(reqs[4].client_id(), reqs[0].client_id());
  EXPECT_EQ(reqs[4].sequence(), reqs[0].sequence() + 1);
  EXPECT_EQ(reqs[0].first_incomplete(), reqs[0].sequence());
  EXPECT_EQ(reqs[4].first_incomplete(), reqs[4].sequence());
  EXPECT_GT(reqs[0].session_started_ms(), 0u);
}

TEST(ClientTest, WritesInFlightShareOneSessionAndSendTheLowestOneAwaited) {
  // The server holds every answer until 20 writes are in flight, then answers them all: each
  // attempt carries the lowest sequence its client still awaits (Raft thesis 6.3).
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int n) {
    if (n < 20) return FakeServer::Error(kvpb::BUSY, true, "", 50);  // definite: try again
    return store->Handle(r);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, ok = 0;
  for (int i = 0; i < 20; ++i) {
    c->PutAsync("k" + std::to_string(i), "v", {}, [&](Result<uint64_t> r) {
      std::lock_guard<std::mutex> l(mu);
      ++done;
      ok += r.ok() ? 1 : 0;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return done == 20; }));
  }
  EXPECT_EQ(ok, 20);
  const auto reqs = server.requests();
  std::set<uint64_t> sequences;
  for (const auto& r : reqs) {
    EXPECT_EQ(r.client_id(), reqs[0].client_id());
    EXPECT_GE(r.sequence(), r.first_incomplete());
    sequences.insert(r.sequence());
  }
  EXPECT_EQ(sequences.size(), 20u);
  // The first round went out before anything finished: all say 1.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(reqs[static_cast<size_t>(i)].first_incomplete(), 1u);
}

TEST(ClientTest, ClientsWithTheSameSeedNeverShareASession) {
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int) { return store->Handle(r); });
  ClientOptions o = Options({server.address()});
  o.seed = 1;
  auto a = MustConnect(o);
  auto b = MustConnect(o);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_OK(a->Put("k", "a"));
  ASSERT_OK(b->Put("k", "b"));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].client_id(), reqs[1].client_id());
}

kvpb::Response SessionExpired(uint64_t expired_through_ms) {
  kvpb::Response r = FakeServer::Error(kvpb::SESSION_EXPIRED, false).response;
  r.mutable_error()->set_expired_through_ms(expired_through_ms);
  return r;
}

TEST(ClientTest, SessionExpiredBeforeAnyUncertainAttemptRetriesAsANewWrite) {
  // The session was evicted and no attempt of this write can have applied: it has not
  // happened, so the client retries it under a new session that starts after the horizon.
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  const uint64_t horizon = 4102444800000;  // 2100-01-01: a server whose clock ran ahead
  server.SetHandler([store, horizon](const kvpb::Request& r, int n) {
    if (n == 0) return FakeServer::Reply{FakeServer::Act::kAnswer, SessionExpired(horizon)};
    return store->Handle(r);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->Put("k", "v"));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[1].client_id(), reqs[0].client_id());
  EXPECT_GT(reqs[1].session_started_ms(), horizon);
  // Later writes use the new session.
  ASSERT_OK(c->Put("k", "w"));
  EXPECT_EQ(server.requests()[2].client_id(), reqs[1].client_id());
}

TEST(ClientTest, SessionExpiredAfterAnUncertainAttemptIsAnUnknownOutcomeAtOnce) {
  FakeServer server;
  server.Start();
  server.SetHandler([](const kvpb::Request&, int n) {
    if (n == 0) return FakeServer::Error(kvpb::TIMEOUT, false);  // may have applied
    return FakeServer::Reply{FakeServer::Act::kAnswer, SessionExpired(0)};
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  CallOptions co;
  co.timeout = milliseconds(30000);  // not waited for: the answer cannot change
  auto r = c->Put("k", "v", co);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_NE(r.status().message().find("outcome unknown"), std::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find("SESSION_EXPIRED"), std::string_view::npos) << r.status();
  EXPECT_EQ(server.request_count(), 2);  // no retry after SESSION_EXPIRED
}

TEST(ClientTest, DroppedConnectionReconnectsAndRetriesWithSameSession) {
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int n) {
    if (n == 0) return FakeServer::Drop();
    return store->Handle(r);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  auto v = c->Append("k", "x");
  ASSERT_OK(v);
  EXPECT_EQ(v->value, "x");
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].client_id(), reqs[1].client_id());
  EXPECT_EQ(reqs[0].sequence(), reqs[1].sequence());
}

TEST(ClientTest, SilentServerAttemptTimesOutAndReadRetries) {
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int n) {
    if (n == 0) return FakeServer::Silent();
    return store->Handle(r);
  });
  auto o = Options({server.address()});
  o.attempt_timeout = milliseconds(50);
  auto c = MustConnect(o);
  ASSERT_NE(c, nullptr);
  auto g = c->Get("k");
  ASSERT_OK(g);
  EXPECT_FALSE(g->has_value());
  EXPECT_EQ(server.request_count(), 2);
}

TEST(ClientTest, IndefiniteWriteEndsAsDeadlineExceededOutcomeUnknown) {
  FakeServer server;
  server.Start();
  server.SetHandler(
      [](const kvpb::Request&, int) { return FakeServer::Error(kvpb::TIMEOUT, false); });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  CallOptions co;
  co.timeout = milliseconds(150);
  auto r = c->Put("k", "v", co);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("outcome unknown"), std::string_view::npos) << r.status();
}

TEST(ClientTest, UnknownThenDefiniteFailuresStillEndUnknownForWrites) {
  FakeServer server;
  server.Start();
  server.SetHandler([](const kvpb::Request&, int n) {
    if (n == 0) return FakeServer::Drop();
    return FakeServer::Error(kvpb::NO_LEADER, true, "", 5);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  CallOptions co;
  co.timeout = milliseconds(150);
  auto r = c->Put("k", "v", co);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status();
}

TEST(ClientTest, DefiniteFailuresEndUnavailableNamingAttempts) {
  FakeServer server;
  server.Start();
  // NO_LEADER with a retry_after past the deadline: the call ends after definite answers only.
  server.SetHandler([](const kvpb::Request&, int) {
    return FakeServer::Error(kvpb::NO_LEADER, true, "", 10000);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  CallOptions co;
  co.timeout = milliseconds(1000);
  auto r = c->Put("k", "v", co);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  EXPECT_NE(r.status().message().find("1 attempt over"), std::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find(server.address()), std::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find("NO_LEADER"), std::string_view::npos) << r.status();
}

TEST(ClientTest, InvalidArgumentIsFinalAfterOneAttempt) {
  FakeServer server;
  server.Start();
  server.SetHandler([](const kvpb::Request&, int) {
    return FakeServer::Error(kvpb::INVALID_ARGUMENT, true);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  auto r = c->Put("k", "v");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server.request_count(), 1);
}

TEST(ClientTest, RequestOverTheFrameMaximumFailsBeforeSending) {
  // Issue 10: the local send failure was retried as an unreachable endpoint for the whole
  // deadline and ended "cluster unavailable".
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int) { return store->Handle(r); });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  CallOptions co;
  co.timeout = milliseconds(30000);  // not waited for
  for (const size_t size : {kMaxRequestBytes + 1, size_t{100} << 20}) {
    auto r = c->Put("k", std::string(size, 'v'), co);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find("client frame maximum of " +
                                        std::to_string(kMaxRequestBytes)),
              std::string_view::npos)
        << r.status();
    EXPECT_NE(r.status().message().find("nothing was sent"), std::string_view::npos);
  }
  EXPECT_EQ(server.request_count(), 0);
  // A value that fits, less the envelope, goes through.
  EXPECT_OK(c->Put("k", std::string(kMaxRequestBytes - 1024, 'v'), co));
}

TEST(ClientTest, ConnectSkipsDeadEndpointAndFailsWhenAllDead) {
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int) { return store->Handle(r); });
  const std::string dead = DeadAddress();
  auto c = MustConnect(Options({dead, server.address()}));
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_OK(c->Put("k" + std::to_string(i), "v"));
  EXPECT_EQ(server.request_count(), 3);

  auto none = Client::Connect(Options({dead}));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(none.status().message().find(dead), std::string_view::npos) << none.status();

  auto bad = Client::Connect(Options({"no-port"}));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(ClientTest, ManyConcurrentAsyncWritesUseDistinctSessions) {
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int) { return store->Handle(r); });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  constexpr int kThreads = 4, kPerThread = 50;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, ok = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c->PutAsync("k" + std::to_string(t * kPerThread + i), "v", {}, [&](Result<uint64_t> r) {
          std::lock_guard<std::mutex> l(mu);
          ++done;
          if (r.ok()) ++ok;
          cv.notify_all();
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return done == kThreads * kPerThread; }));
  }
  EXPECT_EQ(ok, kThreads * kPerThread);
  std::set<std::pair<uint64_t, uint64_t>> sessions;
  for (const auto& r : server.requests()) sessions.insert({r.client_id(), r.sequence()});
  EXPECT_EQ(sessions.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(ClientTest, CallsBeyondTheConnectionQueueWaitForRoom) {
  // More calls at once than the connection's outgoing queue takes (1,024 frames / 16 MiB): the
  // rest wait in the channel and are sent as it drains, all to the one endpoint; none fails
  // (it used to end "unavailable" after being sent round the other endpoints; issue #10).
  FakeServer server;
  server.Start();
  auto store = std::make_shared<MemoryStore>();
  server.SetHandler([store](const kvpb::Request& r, int) { return store->Handle(r); });
  ClientOptions o = Options({server.address()});
  // One attempt per call, however slow the machine: the test is about the queue, and an
  // attempt that timed out would be sent again.
  o.attempt_timeout = std::chrono::seconds(60);
  auto c = MustConnect(o);
  ASSERT_NE(c, nullptr);
  constexpr int kCalls = 600;  // x 64 KiB = 37.5 MiB, over the 16 MiB queue
  const std::string value(64 << 10, 'v');
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::map<std::string, int> failures;
  CallOptions co;
  co.timeout = std::chrono::seconds(60);
  for (int i = 0; i < kCalls; ++i) {
    c->PutAsync("k" + std::to_string(i), value, co, [&](Result<uint64_t> r) {
      std::lock_guard<std::mutex> l(mu);
      ++done;
      if (!r.ok()) ++failures[r.status().ToString().substr(0, 120)];
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(60), [&] { return done == kCalls; }));
  EXPECT_TRUE(failures.empty()) << ::testing::PrintToString(failures);
  EXPECT_EQ(server.request_count(), kCalls) << "every call went out once";
}

// Issues `n` puts at once with deadline `timeout`; returns when all completed.
void PutsAtOnce(Client& c, int n, milliseconds timeout) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  CallOptions co;
  co.timeout = timeout;
  for (int i = 0; i < n; ++i) {
    c.PutAsync("w" + std::to_string(i), "v", co, [&](Result<uint64_t>) {
      std::lock_guard<std::mutex> l(mu);
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return done == n; }));
}

TEST(ClientTest, ChannelSendsAtMostItsWindowAndDropsWhatExpiredWaiting) {
  // A node that answers nothing: 256 requests (the initial window) go out; the others wait,
  // and when the first ones time out, theirs has run out too, so they are never sent.
  FakeServer server;
  server.Start();
  server.SetHandler([](const kvpb::Request&, int) { return FakeServer::Silent(); });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  PutsAtOnce(*c, 400, milliseconds(1000));
  EXPECT_EQ(server.request_count(), 256);
}

TEST(ClientTest, ACongestedLineSendsTheNewestCallsFirst) {
  // 300 calls at once: 256 (the window) go out, 44 wait. The node answers nothing until the
  // waiting calls have waited longer than the line's 100 ms, then everything: the window's
  // room goes to the newest calls first (adaptive LIFO), so what reaches the node has most of
  // its time left and the oldest, nearly spent calls are the ones left to expire (issue #10:
  // in arrival order, a third of the nodes' work went to attempts that timed out there).
  FakeServer server;
  server.Start();
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open = false;
  server.SetHandler([&](const kvpb::Request&, int n) {
    if (n == 0) {
      std::unique_lock<std::mutex> l(gate_mu);
      gate_cv.wait(l, [&] { return open; });
    }
    kvpb::Response ok;
    ok.mutable_put();
    return FakeServer::Ok(ok);
  });
  ClientOptions o = Options({server.address()});
  o.attempt_timeout = std::chrono::seconds(30);  // one attempt per call
  auto c = MustConnect(o);
  ASSERT_NE(c, nullptr);
  constexpr int kCalls = 300;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  CallOptions co;
  co.timeout = std::chrono::seconds(30);
  for (int i = 0; i < kCalls; ++i) {
    c->PutAsync("w" + std::to_string(i), "v", co, [&](Result<uint64_t>) {
      std::lock_guard<std::mutex> l(mu);
      ++done;
      cv.notify_all();
    });
  }
  // Not synchronization: the condition under test is that the waiting calls are older than
  // the line's LIFO threshold (100 ms) when room opens.
  std::this_thread::sleep_for(milliseconds(500));
  {
    std::lock_guard<std::mutex> l(gate_mu);
    open = true;
  }
  gate_cv.notify_all();
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return done == kCalls; }));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), static_cast<size_t>(kCalls));
  for (int i = 0; i < 256; ++i) EXPECT_EQ(reqs[i].put().key(), "w" + std::to_string(i));
  // The waiting ones went out newest first.
  for (int i = 256; i < kCalls; ++i) {
    EXPECT_EQ(reqs[i].put().key(), "w" + std::to_string(kCalls - 1 - (i - 256))) << i;
  }
}

TEST(ClientTest, BusyHalvesTheWindow) {
  FakeServer server;
  server.Start();
  server.SetHandler([](const kvpb::Request&, int n) {
    if (n == 0) return FakeServer::Error(kvpb::BUSY, true, "", 1);
    if (n == 1) {
      kvpb::Response ok;
      ok.mutable_put();
      return FakeServer::Ok(ok);
    }
    return FakeServer::Silent();
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Put("first", "v").ok());  // shed once, then the retry succeeds
  const int after_first = server.request_count();
  ASSERT_EQ(after_first, 2);
  PutsAtOnce(*c, 400, milliseconds(1000));
  // The window went from 256 to 128 at the BUSY answer (and the one success, with a single
  // request in flight, did not grow it: the window was not what held requests back).
  EXPECT_EQ(server.request_count() - after_first, 128);
}

TEST(ClientTest, DestroyingClientCompletesCallsInFlight) {
  FakeServer server;
  server.Start();
  server.SetHandler([](const kvpb::Request&, int) { return FakeServer::Silent(); });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  std::optional<Status> write_status, read_status;
  c->PutAsync("k", "v", {}, [&](Result<uint64_t> r) { write_status = r.status(); });
  c->GetAsync("k", {}, [&](Result<std::optional<KeyValue>> r) { read_status = r.status(); });
  ASSERT_TRUE(server.WaitForRequests(2, std::chrono::seconds(5)));
  c.reset();  // joins the I/O thread: callbacks ran before this returns
  ASSERT_TRUE(write_status.has_value());
  EXPECT_EQ(write_status->code(), StatusCode::kDeadlineExceeded) << *write_status;
  ASSERT_TRUE(read_status.has_value());
  EXPECT_EQ(read_status->code(), StatusCode::kUnavailable) << *read_status;
}

TEST(ClientTest, NodeStatusAsksTheGivenEndpoint) {
  FakeServer server(7);
  server.AnswerStatusWithHandler();
  server.Start();
  server.SetHandler([](const kvpb::Request& r, int) {
    if (!r.has_status()) return FakeServer::Error(kvpb::INVALID_ARGUMENT, true);
    kvpb::Response resp;
    auto* s = resp.mutable_status();
    s->set_node_id(7);
    auto* g = s->add_groups();
    g->set_group_id(1);
    g->set_role("leader");
    g->set_leader(7);
    return FakeServer::Ok(resp);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  auto st = NodeStatus(*c, server.address(), milliseconds(1000));
  ASSERT_OK(st);
  EXPECT_EQ(st->node_id(), 7u);
  ASSERT_EQ(st->groups_size(), 1);
  EXPECT_EQ(st->groups(0).role(), "leader");

  auto dead = NodeStatus(*c, DeadAddress(), milliseconds(1000));
  EXPECT_EQ(dead.status().code(), StatusCode::kUnavailable);
}

// Two shards; shard 1 skipped keys the user may not read up to "m" (scanned_through) and has
// more, shard 2 is done. The merged page must stop at "m": shard 1 may hold readable keys
// between "m" and "x" that it has not scanned yet.
TEST(ClientTest, ScanFanOutStopsWhereAFilteringShardStopped) {
  FakeServer server;
  server.AnswerStatusWithHandler();
  server.Start();
  ring::RingConfig ring;
  ring.num_shards = 2;
  ring.replication_factor = 1;
  server.SetHandler([&](const kvpb::Request& r, int) {
    kvpb::Response resp;
    if (r.has_status()) {
      resp.mutable_status()->set_node_id(1);
      resp.mutable_status()->set_ring_config(ring.Encode());
      return FakeServer::Ok(resp);
    }
    auto* scan = resp.mutable_scan();
    auto add = [&](const char* k) {
      auto* kv = scan->add_kvs();
      kv->set_key(k);
      kv->set_value("v");
    };
    if (r.group_id() == 1) {
      add("a1");
      scan->set_more(true);
      scan->set_scanned_through("m");
    } else {
      add("b");
      add("c");
      add("x");
    }
    return FakeServer::Ok(resp);
  });
  auto c = MustConnect(Options({server.address()}));
  ASSERT_NE(c, nullptr);
  auto page = c->Scan("", "", ScanOptions{10, false});
  ASSERT_OK(page.status());
  ASSERT_EQ(page->kvs.size(), 3u);
  EXPECT_EQ(page->kvs[0].key, "a1");
  EXPECT_EQ(page->kvs[2].key, "c");
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->continue_after, "m");
  // With a limit of 2 the limit cuts first.
  page = c->Scan("", "", ScanOptions{2, false});
  ASSERT_OK(page.status());
  ASSERT_EQ(page->kvs.size(), 2u);
  EXPECT_EQ(page->continue_after, "b");
}

}  // namespace
}  // namespace ringkv::client
