// Loopback tests of the UDP driver: real sockets on 127.0.0.1 (ports from the OS), short
// protocol intervals, every wait a condition with a deadline.
#include "gossip/gossip_driver.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gossip/codec.h"
#include "gossip/keyring.h"
#include "testutil/status_matchers.h"

namespace ringkv::gossip {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kDeadline(15000);

GossipDriverOptions FastOptions(uint64_t id, std::vector<std::string> join = {}) {
  GossipDriverOptions o;
  o.bind_host = "127.0.0.1";
  o.swim.cluster_id = "loopback-test";
  o.swim.self.id = NodeId(id);
  o.swim.self.name = "node-" + std::to_string(id);
  o.swim.self.peer_addr = "127.0.0.1:" + std::to_string(20000 + id);
  o.swim.self.client_addr = "127.0.0.1:" + std::to_string(30000 + id);
  o.swim.seed = id;
  o.swim.probe_interval_ms = 100;
  o.swim.probe_timeout_ms = 50;
  o.swim.gossip_interval_ms = 20;
  o.swim.push_pull_interval_ms = 1000;
  o.swim.join_retry_ms = 100;
  o.join = std::move(join);
  return o;
}

std::unique_ptr<GossipDriver> StartOrDie(GossipDriverOptions o) {
  Result<std::unique_ptr<GossipDriver>> d = GossipDriver::Start(std::move(o));
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? std::move(d).value() : nullptr;
}

// Predicate: the view holds `n` members, all in `state`.
auto AllIn(size_t n, MemberState state) {
  return [n, state](const std::vector<Member>& view) {
    if (view.size() != n) return false;
    for (const Member& m : view) {
      if (m.state != state) return false;
    }
    return true;
  };
}

auto StateOf(uint64_t id, MemberState state) {
  return [id, state](const std::vector<Member>& view) {
    for (const Member& m : view) {
      if (m.id == NodeId(id)) return m.state == state;
    }
    return false;
  };
}

TEST(GossipDriverTest, BindsAnOsPortAndAdvertisesIt) {
  auto d = StartOrDie(FastOptions(1));
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->port(), 0);
  EXPECT_EQ(d->gossip_addr(), "127.0.0.1:" + std::to_string(d->port()));
  EXPECT_EQ(d->id(), NodeId(1));
  std::optional<Member> self = d->Find(NodeId(1));
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(self->gossip_addr, d->gossip_addr());
}

TEST(GossipDriverTest, BindingABusyPortFails) {
  auto d = StartOrDie(FastOptions(1));
  ASSERT_NE(d, nullptr);
  GossipDriverOptions o = FastOptions(2);
  o.bind_port = d->port();
  Result<std::unique_ptr<GossipDriver>> second = GossipDriver::Start(o);
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIOError);
  o.bind_host = "not-an-ip";
  EXPECT_TRUE(GossipDriver::Start(o).status().IsInvalidArgument());
}

TEST(GossipDriverTest, ThreeDriversConvergeUpdateLeaveAndDetectCrash) {
  auto d1 = StartOrDie(FastOptions(1));
  ASSERT_NE(d1, nullptr);
  auto d2 = StartOrDie(FastOptions(2, {d1->gossip_addr()}));
  auto d3 = StartOrDie(FastOptions(3, {d1->gossip_addr()}));
  ASSERT_NE(d2, nullptr);
  ASSERT_NE(d3, nullptr);
  for (auto* d : {d1.get(), d2.get(), d3.get()}) {
    ASSERT_TRUE(d->WaitFor(AllIn(3, MemberState::kAlive), kDeadline)) << "node " << d->id();
  }
  std::optional<Member> m3 = d2->Find(NodeId(3));
  ASSERT_TRUE(m3.has_value());
  EXPECT_EQ(m3->gossip_addr, d3->gossip_addr());
  EXPECT_EQ(m3->peer_addr, "127.0.0.1:20003");
  EXPECT_EQ(m3->client_addr, "127.0.0.1:30003");

  // Hints and decommissioning reach the others.
  d2->SetMeta("leads:1,4");
  d2->SetDecommissioning(true);
  ASSERT_TRUE(d1->WaitFor(
      [](const std::vector<Member>& view) {
        for (const Member& m : view) {
          if (m.id == NodeId(2)) return m.meta == "leads:1,4" && m.decommissioning;
        }
        return false;
      },
      kDeadline));

  // A graceful leave is seen as left.
  ASSERT_OK(d3->Leave(kDeadline));
  d3->Stop();
  ASSERT_TRUE(d1->WaitFor(StateOf(3, MemberState::kLeft), kDeadline));
  ASSERT_TRUE(d2->WaitFor(StateOf(3, MemberState::kLeft), kDeadline));

  // A crash (stop without leaving) is detected as dead.
  d2->Stop();
  ASSERT_TRUE(d1->WaitFor(StateOf(2, MemberState::kDead), kDeadline));
  bool saw_dead = false, saw_left = false, saw_updated = false;
  for (const MemberEvent& e : d1->TakeEvents()) {
    saw_dead |= e.type == MemberEvent::Type::kDead && e.member.id == NodeId(2);
    saw_left |= e.type == MemberEvent::Type::kLeft && e.member.id == NodeId(3);
    saw_updated |= e.type == MemberEvent::Type::kUpdated && e.member.id == NodeId(2);
  }
  EXPECT_TRUE(saw_dead);
  EXPECT_TRUE(saw_left);
  EXPECT_TRUE(saw_updated);
  const GossipDriverStats st = d1->stats();
  EXPECT_GT(st.datagrams_sent, 0u);
  EXPECT_GT(st.datagrams_received, 0u);
  EXPECT_GT(st.swim.probes, 0u);
  EXPECT_EQ(st.decode_errors, 0u);
}

TEST(GossipDriverTest, MalformedAndForeignDatagramsAreCountedAndDropped) {
  auto d1 = StartOrDie(FastOptions(1));
  ASSERT_NE(d1, nullptr);
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sock(io, boost::asio::ip::udp::endpoint(
                                            boost::asio::ip::make_address("127.0.0.1"), 0));
  const boost::asio::ip::udp::endpoint target(boost::asio::ip::make_address("127.0.0.1"),
                                              d1->port());
  const std::vector<std::string> garbage = {"", "x", "\x01\x02\x03\x04garbage",
                                            std::string(2000, '\xff')};
  for (const auto& g : garbage) sock.send_to(boost::asio::buffer(g), target);
  gossippb::Envelope foreign;
  foreign.set_cluster_id("another-cluster");
  foreign.set_sender_id(9);
  foreign.mutable_ping()->set_seq_no(1);
  sock.send_to(boost::asio::buffer(*EncodeDatagram(foreign)), target);

  ASSERT_TRUE(d1->WaitForStats(
      [&](const GossipDriverStats& st) {
        return st.decode_errors >= garbage.size() && st.swim.dropped_cluster_mismatch >= 1;
      },
      kDeadline));
  // Still healthy: a new node can join.
  auto d2 = StartOrDie(FastOptions(2, {d1->gossip_addr()}));
  ASSERT_NE(d2, nullptr);
  ASSERT_TRUE(d1->WaitFor(AllIn(2, MemberState::kAlive), kDeadline));
  EXPECT_EQ(d1->stats().swim.dropped_cluster_mismatch, 1u);
}

TEST(GossipDriverTest, KeyRingKeepsOutsidersAndReplaysAndRotates) {
  const std::string k1 = Keyring::GenerateKey(), k2 = Keyring::GenerateKey();
  auto ring = [](const std::string& text) {
    return std::make_shared<const Keyring>(*Keyring::Parse(text));
  };
  GossipDriverOptions o1 = FastOptions(1);
  o1.keyring = ring(k1);
  auto d1 = StartOrDie(o1);
  ASSERT_NE(d1, nullptr);
  GossipDriverOptions o2 = FastOptions(2, {d1->gossip_addr()});
  o2.keyring = ring(k1);
  auto d2 = StartOrDie(o2);
  ASSERT_NE(d2, nullptr);
  ASSERT_TRUE(d1->WaitFor(AllIn(2, MemberState::kAlive), kDeadline));

  // An outsider without the key (plain), and one with another key, never get in.
  auto plain = StartOrDie(FastOptions(3, {d1->gossip_addr()}));
  GossipDriverOptions o4 = FastOptions(4, {d1->gossip_addr()});
  o4.keyring = ring(k2);
  auto wrong = StartOrDie(o4);
  ASSERT_TRUE(d1->WaitForStats(
      [](const GossipDriverStats& st) { return st.auth_failures >= 4; }, kDeadline));
  EXPECT_EQ(d1->Members().size(), 2u);
  EXPECT_EQ(plain->Members().size(), 1u);

  // A datagram sealed with the ring's key, sent twice: the copy is a replay.
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sock(io, boost::asio::ip::udp::endpoint(
                                            boost::asio::ip::make_address("127.0.0.1"), 0));
  const boost::asio::ip::udp::endpoint target(boost::asio::ip::make_address("127.0.0.1"),
                                              d1->port());
  gossippb::Envelope ping;
  ping.set_cluster_id("loopback-test");
  ping.set_sender_id(9);
  ping.mutable_ping()->set_seq_no(1);
  const std::string sealed = ring(k1)->Seal(*EncodeDatagram(ping), 9, 555);
  sock.send_to(boost::asio::buffer(sealed), target);
  sock.send_to(boost::asio::buffer(sealed), target);
  ASSERT_TRUE(d1->WaitForStats(
      [](const GossipDriverStats& st) { return st.replays_dropped >= 1; }, kDeadline));
  EXPECT_EQ(d1->stats().replays_dropped, 1u);

  // Rotation: install k2 on both, use it on both, remove k1: membership holds throughout and
  // the node with (only) k2 gets in at the end.
  d1->SetKeyring(ring(k1 + "\n" + k2));
  d2->SetKeyring(ring(k1 + "\n" + k2));
  d1->SetKeyring(ring(k2 + "\n" + k1));
  d2->SetKeyring(ring(k2 + "\n" + k1));
  d1->SetKeyring(ring(k2));
  d2->SetKeyring(ring(k2));
  EXPECT_TRUE(d1->WaitFor(StateOf(4, MemberState::kAlive), kDeadline));
  EXPECT_TRUE(d1->WaitFor(StateOf(2, MemberState::kAlive), kDeadline));
  EXPECT_TRUE(d2->WaitFor(StateOf(1, MemberState::kAlive), kDeadline));
}

TEST(GossipDriverTest, RunsOnACallersIoContext) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  {
    Result<std::unique_ptr<GossipDriver>> a = GossipDriver::Start(FastOptions(1), io);
    ASSERT_OK(a);
    Result<std::unique_ptr<GossipDriver>> b =
        GossipDriver::Start(FastOptions(2, {(*a)->gossip_addr()}), io);
    ASSERT_OK(b);
    EXPECT_TRUE((*a)->WaitFor(AllIn(2, MemberState::kAlive), kDeadline));
    EXPECT_TRUE((*b)->WaitFor(AllIn(2, MemberState::kAlive), kDeadline));
    (*a)->Stop();
    (*b)->Stop();
  }
  work.reset();
  runner.join();
}

}  // namespace
}  // namespace ringkv::gossip
