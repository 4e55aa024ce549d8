// AdmissionController: each bound sheds with its own reason, an empty node or connection always
// takes one request, tickets give their reservation back exactly once, the adaptive limit
// follows latency, and retry_after grows with the queue and with the shed pressure.
#include "server/admission.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace ringkv::server {
namespace {

using namespace std::chrono_literals;
using Clock = AdmissionController::Clock;
using Ticket = AdmissionController::Ticket;

// Static bounds only, unless a test turns the adaptive limit on.
AdmissionOptions StaticOptions() {
  AdmissionOptions o;
  o.max_node_requests = 8;
  o.max_node_bytes = 1000;
  o.max_connection_requests = 4;
  o.max_connection_bytes = 600;
  o.target_latency = 0ms;
  return o;
}

class AdmissionTest : public ::testing::Test {
 protected:
  // Admits and keeps the ticket; fails the test if shed.
  void Admit(AdmissionController& c, const std::shared_ptr<AdmissionController::Account>& a,
             size_t bytes) {
    auto d = c.TryAdmit(a, bytes, now_);
    ASSERT_TRUE(d.admitted()) << d.reason;
    tickets_.push_back(std::move(d.ticket));
  }

  Clock::time_point now_ = Clock::now();
  std::vector<std::unique_ptr<Ticket>> tickets_;
};

TEST_F(AdmissionTest, ConnectionRequestBoundShedsWithReasonAndRetryAfter) {
  auto c = AdmissionController::Create(StaticOptions());
  auto a = c->NewAccount();
  for (int i = 0; i < 4; ++i) Admit(*c, a, 10);
  auto d = c->TryAdmit(a, 10, now_);
  ASSERT_FALSE(d.admitted());
  EXPECT_NE(d.reason.find("too many requests"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("--admission_max_connection_requests=4"), std::string::npos) << d.reason;
  EXPECT_GE(d.retry_after_ms, c->options().min_retry_after_ms);
  EXPECT_LE(d.retry_after_ms, c->options().max_retry_after_ms);
  // Another connection still gets in: the bound is per connection.
  auto b = c->NewAccount();
  Admit(*c, b, 10);
  EXPECT_EQ(a->in_flight_requests(), 4u);
  EXPECT_EQ(b->in_flight_requests(), 1u);
}

TEST_F(AdmissionTest, ConnectionByteBound) {
  auto c = AdmissionController::Create(StaticOptions());
  auto a = c->NewAccount();
  Admit(*c, a, 500);
  auto d = c->TryAdmit(a, 101, now_);
  ASSERT_FALSE(d.admitted());
  EXPECT_NE(d.reason.find("--admission_max_connection_bytes=600"), std::string::npos) << d.reason;
  Admit(*c, a, 100);  // exactly at the bound is fine
  EXPECT_EQ(a->in_flight_bytes(), 600u);
}

TEST_F(AdmissionTest, NodeBoundsSpanConnections) {
  auto c = AdmissionController::Create(StaticOptions());
  std::vector<std::shared_ptr<AdmissionController::Account>> conns;
  for (int i = 0; i < 4; ++i) conns.push_back(c->NewAccount());
  for (int i = 0; i < 8; ++i) Admit(*c, conns[i % 4], 10);
  auto d = c->TryAdmit(conns[0], 10, now_);
  ASSERT_FALSE(d.admitted());
  EXPECT_NE(d.reason.find("--admission_max_node_requests=8"), std::string::npos) << d.reason;
  // A fresh connection is shed too: the node is full.
  EXPECT_FALSE(c->TryAdmit(c->NewAccount(), 10, now_).admitted());
}

TEST_F(AdmissionTest, NodeByteBound) {
  auto c = AdmissionController::Create(StaticOptions());
  auto a = c->NewAccount(), b = c->NewAccount();
  Admit(*c, a, 500);
  Admit(*c, b, 450);
  auto d = c->TryAdmit(b, 100, now_);
  ASSERT_FALSE(d.admitted());
  EXPECT_NE(d.reason.find("--admission_max_node_bytes=1000"), std::string::npos) << d.reason;
}

TEST_F(AdmissionTest, EmptyNodeTakesOneRequestOfAnySize) {
  auto c = AdmissionController::Create(StaticOptions());
  auto a = c->NewAccount();
  Admit(*c, a, 5000);  // over both byte bounds, but nothing else is in flight
  EXPECT_FALSE(c->TryAdmit(a, 1, now_).admitted());
  tickets_.clear();  // released by destruction
  EXPECT_TRUE(c->TryAdmit(a, 1, now_).admitted());
}

TEST_F(AdmissionTest, TicketReleasesOnceAndCountsStats) {
  auto c = AdmissionController::Create(StaticOptions());
  auto a = c->NewAccount();
  auto d = c->TryAdmit(a, 100, now_);
  ASSERT_TRUE(d.admitted());
  AdmissionStats s = c->Stats(now_);
  EXPECT_EQ(s.in_flight_requests, 1u);
  EXPECT_EQ(s.in_flight_bytes, 100u);
  EXPECT_EQ(s.admitted_total, 1u);
  d.ticket->Release(now_ + 5ms);
  d.ticket->Release(now_ + 6ms);  // second release is a no-op
  Ticket moved(std::move(*d.ticket));
  d.ticket.reset();  // destroying both copies must not release again
  s = c->Stats(now_ + 7ms);
  EXPECT_EQ(s.in_flight_requests, 0u);
  EXPECT_EQ(s.in_flight_bytes, 0u);
  EXPECT_EQ(a->in_flight_requests(), 0u);
  for (int i = 0; i < 4; ++i) Admit(*c, a, 1);
  EXPECT_FALSE(c->TryAdmit(a, 1, now_).admitted());
  EXPECT_EQ(c->Stats(now_).shed_total, 1u);
}

TEST_F(AdmissionTest, TicketOutlivesTheLastOtherReference) {
  std::unique_ptr<Ticket> t;
  {
    auto c = AdmissionController::Create(StaticOptions());
    auto d = c->TryAdmit(c->NewAccount(), 10, now_);
    ASSERT_TRUE(d.admitted());
    t = std::move(d.ticket);
  }
  t.reset();  // the ticket kept the controller alive; releasing it is safe
}

// Offers `demand` requests at once, `rounds` times; the admitted ones are answered `latency`
// later, and the next round starts a window (or the latency, if longer) after this one.
void Drive(AdmissionController& c, const std::shared_ptr<AdmissionController::Account>& a,
           Clock::time_point* now, int rounds, int demand, std::chrono::milliseconds latency) {
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::unique_ptr<Ticket>> admitted;
    for (int i = 0; i < demand; ++i) {
      auto d = c.TryAdmit(a, 1, *now);
      if (d.admitted()) admitted.push_back(std::move(d.ticket));
    }
    for (auto& t : admitted) t->Release(*now + latency);
    *now += std::max<Clock::duration>(latency, c.options().window);
  }
}

TEST_F(AdmissionTest, AdaptiveLimitShrinksWhenLatencyIsOverTarget) {
  AdmissionOptions o;
  o.target_latency = 100ms;
  o.min_node_requests = 10;
  o.initial_node_requests = 200;
  o.max_node_requests = 1000;
  o.max_connection_requests = 100000;
  auto c = AdmissionController::Create(o);
  auto a = c->NewAccount();
  EXPECT_EQ(c->Stats(now_).limit, 200u);
  Drive(*c, a, &now_, 30, 1000, 400ms);  // answers take 4x the target
  EXPECT_EQ(c->Stats(now_).limit, 10u) << "the limit stops at its floor";
}

TEST_F(AdmissionTest, AdaptiveLimitGrowsOnlyUnderDemand) {
  AdmissionOptions o;
  o.target_latency = 100ms;
  o.min_node_requests = 10;
  o.initial_node_requests = 20;
  o.max_node_requests = 500;
  o.max_connection_requests = 100000;
  auto c = AdmissionController::Create(o);
  auto a = c->NewAccount();
  // Fast answers but little demand: nothing to grow for.
  Drive(*c, a, &now_, 20, 5, 10ms);
  EXPECT_EQ(c->Stats(now_).limit, 20u);
  // Fast answers and demand over the limit: it grows, up to the hard bound.
  Drive(*c, a, &now_, 60, 1000, 10ms);
  EXPECT_EQ(c->Stats(now_).limit, 500u);
}

TEST_F(AdmissionTest, RetryAfterFollowsQueueAndShedPressure) {
  AdmissionOptions o = StaticOptions();
  o.max_node_requests = 100;
  o.max_connection_requests = 100;
  o.max_node_bytes = o.max_connection_bytes = 1 << 20;
  o.min_retry_after_ms = 1;
  o.max_retry_after_ms = 100000;
  auto c = AdmissionController::Create(o);
  auto a = c->NewAccount();
  // 100 answered per 100-ms window: 1,000 per second.
  Drive(*c, a, &now_, 30, 100, 1ms);
  EXPECT_NEAR(c->Stats(now_).completions_per_s, 1000, 20);
  // Nothing in flight: the floor.
  EXPECT_EQ(c->RetryAfterMs(now_), 1u);
  // 100 in flight at 1,000/s drain in about 100 ms.
  std::vector<std::unique_ptr<Ticket>> held;
  for (int i = 0; i < 100; ++i) held.push_back(c->TryAdmit(a, 1, now_).ticket);
  const uint32_t calm = c->RetryAfterMs(now_);
  EXPECT_NEAR(calm, 101, 5);
  // Many sheds per answer: clients are told to stay away longer.
  for (int w = 0; w < 10; ++w) {
    for (int i = 0; i < 1000; ++i) EXPECT_FALSE(c->TryAdmit(a, 1, now_).admitted());
    for (int i = 0; i < 100; ++i) {
      held[static_cast<size_t>(i)]->Release(now_);
      held[static_cast<size_t>(i)] = c->TryAdmit(a, 1, now_).ticket;
    }
    now_ += o.window;
  }
  const uint32_t pressed = c->RetryAfterMs(now_);
  EXPECT_GT(pressed, 5 * calm) << "calm " << calm << " pressed " << pressed;
  EXPECT_LE(pressed, 12 * calm) << "calm " << calm << " pressed " << pressed;
}

TEST_F(AdmissionTest, ShedsARequestWhoseTimeoutIsShorterThanTheLatencyNow) {
  AdmissionOptions o = StaticOptions();
  o.max_node_requests = o.max_connection_requests = 100;
  o.max_node_bytes = o.max_connection_bytes = 1 << 20;
  auto c = AdmissionController::Create(o);
  auto a = c->NewAccount();
  Drive(*c, a, &now_, 10, 4, 300ms);  // answers take 300 ms
  EXPECT_NEAR(c->Stats(now_).latency_ms, 300, 1);
  Admit(*c, a, 1);  // something in flight (an idle node takes anything)
  auto d = c->TryAdmit(a, 1, now_, 200ms);
  ASSERT_FALSE(d.admitted());
  EXPECT_NE(d.reason.find("more than this one's timeout of 200 ms"), std::string::npos) << d.reason;
  EXPECT_TRUE(c->TryAdmit(a, 1, now_, 1000ms).admitted());
  EXPECT_TRUE(c->TryAdmit(a, 1, now_).admitted()) << "no timeout given: no such check";
  // No answers for two seconds: the estimate is stale and sheds nothing.
  now_ += 2s;
  EXPECT_TRUE(c->TryAdmit(a, 1, now_, 200ms).admitted()) << "a stale estimate must not shed";
}

TEST_F(AdmissionTest, CountsLatenciesInBuckets) {
  auto c = AdmissionController::Create(StaticOptions());
  auto a = c->NewAccount();
  for (auto latency : {0ms, 1ms, 2ms, 4ms, 1000ms, 100000ms}) {
    auto d = c->TryAdmit(a, 1, now_);
    ASSERT_TRUE(d.admitted());
    d.ticket->Release(now_ + latency);
  }
  AdmissionStats s = c->Stats(now_);
  EXPECT_EQ(s.latency_counts[0], 2u);  // <= 1 ms
  EXPECT_EQ(s.latency_counts[1], 1u);  // <= 2 ms
  EXPECT_EQ(s.latency_counts[3], 1u);  // <= 5 ms
  size_t one_s = 0;
  while (kLatencyBucketsMs[one_s] != 1000) ++one_s;
  EXPECT_EQ(s.latency_counts[one_s], 1u);
  EXPECT_EQ(s.latency_counts[kLatencyBuckets - 1], 1u);  // beyond the last bound
}

TEST_F(AdmissionTest, RetryAfterIsCappedWhenTheNodeStalls) {
  AdmissionOptions o = StaticOptions();
  auto c = AdmissionController::Create(o);
  auto a = c->NewAccount();
  Drive(*c, a, &now_, 5, 4, 1ms);
  Admit(*c, a, 1);
  now_ += 100 * o.window;  // nothing completes for a long while: the rate decays to ~0
  EXPECT_EQ(c->RetryAfterMs(now_), o.max_retry_after_ms);
}

TEST_F(AdmissionTest, RetryAfterHasAHintBeforeTheFirstCompletion) {
  // A flood's first window closes before any request of it completed: the rates are 0 (not
  // "no sample"), and the hint was 0/0 -> "retry after 0 ms" (integ_overload_test saw it).
  AdmissionOptions o = StaticOptions();
  o.target_latency = 500ms;
  auto c = AdmissionController::Create(o);
  auto a = c->NewAccount();
  Admit(*c, a, 1);
  now_ += 2 * o.window;  // a whole window closes (the controller's clock started after now_)
  const uint32_t hint = c->RetryAfterMs(now_);
  EXPECT_GE(hint, o.min_retry_after_ms);
  EXPECT_LE(hint, o.max_retry_after_ms);
  EXPECT_EQ(hint, 500u);
  // A request shed then (the connection's bound of 4) carries that hint.
  for (int i = 0; i < 3; ++i) Admit(*c, a, 1);
  auto shed = c->TryAdmit(a, 1, now_);
  ASSERT_FALSE(shed.admitted());
  EXPECT_EQ(shed.retry_after_ms, 500u);
}

}  // namespace
}  // namespace ringkv::server
