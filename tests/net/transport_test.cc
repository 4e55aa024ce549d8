// Transport tests on 127.0.0.1: delivery between real transports, batching of all groups into
// one frame, bounded queues, reconnect, isolation from a stalled peer, the test block hook, a
// transport on a shared io_context.
#include "net/transport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "net/handshake.h"
#include "net_test_util.h"
#include "testutil/status_matchers.h"
#include "transport_test_node.h"

namespace ringkv::net {
namespace {

using testing::MakeMsg;
using testing::RawListener;
using testing::RawSocket;
using testing::TestNode;
using testing::WaitFor;

// Accepts the transport's dial on a raw socket and checks its handshake; returns the socket.
RawSocket AcceptPeerHandshake(RawListener& l, uint64_t expect_from) {
  RawSocket s = l.Accept();
  EXPECT_TRUE(s.valid());
  auto payload = s.ReadFrame();
  EXPECT_TRUE(payload.has_value());
  transportpb::Handshake hs;
  EXPECT_TRUE(payload && hs.ParseFromString(*payload));
  EXPECT_EQ(hs.node_id(), expect_from);
  EXPECT_EQ(hs.cluster_id(), testing::kClusterId);
  EXPECT_EQ(hs.protocol_version(), kProtocolVersion);
  return s;
}

std::string OkReply(uint64_t node) {
  transportpb::HandshakeReply r;
  r.set_ok(true);
  r.set_node_id(node);
  r.set_protocol_version(kProtocolVersion);
  r.set_cluster_id(testing::kClusterId);
  return r.SerializeAsString();
}

TEST(TransportTest, TwoNodesExchangeMessagesInOrder) {
  TestNode a(1), b(2);
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  a.t().SetPeer(NodeId(2), b.address());
  b.t().SetPeer(NodeId(1), a.address());
  constexpr int kN = 500;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, /*group=*/i % 7 + 1, /*index=*/i)));
    ASSERT_TRUE(b.t().Send(MakeMsg(2, 1, i % 5 + 1, i, /*payload=*/100)));
  }
  ASSERT_TRUE(WaitFor([&] { return b.received_count() == kN && a.received_count() == kN; }))
      << b.received_count() << " " << a.received_count();
  auto at_b = b.received();
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(at_b[i].from, NodeId(1));
    EXPECT_EQ(at_b[i].msg.index(), static_cast<uint64_t>(i));  // FIFO per peer
    EXPECT_EQ(at_b[i].msg.group_id(), static_cast<uint64_t>(i % 7 + 1));
  }
  auto at_a = a.received();
  EXPECT_EQ(at_a[kN - 1].msg.entries(0).data(), std::string(100, 'p'));
  PeerStats s = a.t().GetPeerStats(NodeId(2));
  EXPECT_EQ(s.sent_messages, static_cast<uint64_t>(kN));
  EXPECT_EQ(s.dropped_messages, 0u);
  EXPECT_GT(s.sent_bytes, 0u);
  EXPECT_EQ(s.received_messages, static_cast<uint64_t>(kN));
  EXPECT_TRUE(s.connected);
}

// kvd runs its transport on the store loop's io_context (SharedIo): no thread of its own,
// callbacks on the loop's thread, Stop through the owner's run_sync while the loop runs.
TEST(TransportTest, RunsOnASharedIoContext) {
  boost::asio::io_context loop;
  auto work = boost::asio::make_work_guard(loop);
  std::thread loop_thread([&] { loop.run(); });
  const std::thread::id loop_id = loop_thread.get_id();
  SharedIo shared{&loop, [&](const std::function<void()>& fn) {
                    if (std::this_thread::get_id() == loop_id || loop.stopped()) return fn();
                    std::promise<void> done;
                    boost::asio::post(loop, [&] {
                      fn();
                      done.set_value();
                    });
                    done.get_future().wait();
                  }};
  std::atomic<int> off_loop_callbacks{0};
  {
    TransportOptions o;
    o.io = shared;
    TestNode a(1, 0, testing::kClusterId, o), b(2, 0, testing::kClusterId, o);
    b.OnRaftForTesting([&] {
      if (std::this_thread::get_id() != loop_id) ++off_loop_callbacks;
    });
    ASSERT_OK(a.Start());
    ASSERT_OK(b.Start());
    a.t().SetPeer(NodeId(2), b.address());
    b.t().SetPeer(NodeId(1), a.address());
    constexpr int kN = 200;
    for (int i = 0; i < kN; ++i) ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, i % 3 + 1, i)));
    ASSERT_TRUE(WaitFor([&] { return b.received_count() == kN; })) << b.received_count();
    auto at_b = b.received();
    for (int i = 0; i < kN; ++i) EXPECT_EQ(at_b[i].msg.index(), static_cast<uint64_t>(i));
    // Both stop (through run_sync) while the loop still runs; the loop outlives them.
  }
  EXPECT_EQ(off_loop_callbacks.load(), 0);
  work.reset();
  loop.stop();
  loop_thread.join();
}

TEST(TransportTest, ThreeNodesAllToAll) {
  std::vector<std::unique_ptr<TestNode>> nodes;
  for (uint64_t id = 1; id <= 3; ++id) {
    nodes.push_back(std::make_unique<TestNode>(id));
    ASSERT_OK(nodes.back()->Start());
  }
  for (auto& from : nodes) {
    for (auto& to : nodes) {
      if (from != to) from->t().SetPeer(to->id(), to->address());
    }
  }
  for (auto& from : nodes) {
    for (auto& to : nodes) {
      if (from == to) continue;
      for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(from->t().Send(MakeMsg(from->id().value(), to->id().value(), 1, i)));
      }
    }
  }
  for (auto& n : nodes) {
    ASSERT_TRUE(WaitFor([&] { return n->received_count() == 20; })) << n->received_count();
    size_t from_each[4] = {0, 0, 0, 0};
    for (const auto& r : n->received()) ++from_each[r.from.value()];
    EXPECT_EQ(from_each[n->id().value()], 0u);
    for (uint64_t id = 1; id <= 3; ++id) {
      if (id == n->id().value()) continue;
      EXPECT_EQ(from_each[id], 10u) << "node " << id;
    }
  }
}

// Everything queued for one peer while its handshake is pending leaves as a single RaftBatch
// frame, whatever the groups.
TEST(TransportTest, BatchesAllGroupsToOnePeerIntoOneFrame) {
  TestNode a(1);
  ASSERT_OK(a.Start());
  RawListener fake_peer;
  a.t().SetPeer(NodeId(2), "127.0.0.1:" + std::to_string(fake_peer.port()));
  RawSocket s = AcceptPeerHandshake(fake_peer, 1);
  // The transport waits for our reply: these queue up.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, /*group=*/i, i)));
  ASSERT_TRUE(s.WriteFrame(OkReply(2)));
  auto frame = s.ReadFrame();
  ASSERT_TRUE(frame.has_value());
  transportpb::PeerMessage pm;
  ASSERT_TRUE(pm.ParseFromString(*frame));
  ASSERT_EQ(pm.body_case(), transportpb::PeerMessage::kRaftBatch);
  ASSERT_EQ(pm.raft_batch().messages_size(), 100);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(pm.raft_batch().messages(i).group_id(), uint64_t(i));
}

// A loop turn's messages to one peer (SendAll) leave as one frame, in order, even when the
// connection is up and the transport thread could flush between two single Sends.
TEST(TransportTest, SendAllQueuesATurnsMessagesAsOneFrame) {
  TestNode a(1);
  ASSERT_OK(a.Start());
  RawListener fake_peer;
  a.t().SetPeer(NodeId(2), "127.0.0.1:" + std::to_string(fake_peer.port()));
  RawSocket s = AcceptPeerHandshake(fake_peer, 1);
  ASSERT_TRUE(s.WriteFrame(OkReply(2)));
  ASSERT_TRUE(WaitFor([&] { return a.t().GetPeerStats(NodeId(2)).connected; }));
  std::vector<raftpb::Message> turn;
  for (int i = 0; i < 50; ++i) turn.push_back(MakeMsg(1, 2, /*group=*/i, i));
  ASSERT_EQ(a.t().SendAll(NodeId(2), std::move(turn)), 50u);
  auto frame = s.ReadFrame();
  ASSERT_TRUE(frame.has_value());
  transportpb::PeerMessage pm;
  ASSERT_TRUE(pm.ParseFromString(*frame));
  ASSERT_EQ(pm.body_case(), transportpb::PeerMessage::kRaftBatch);
  ASSERT_EQ(pm.raft_batch().messages_size(), 50);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(pm.raft_batch().messages(i).group_id(), uint64_t(i));
}

TEST(TransportTest, LargeBacklogIsSplitIntoBoundedBatches) {
  TransportOptions o;
  o.max_batch_bytes = 10 * 1024;
  TestNode a(1, 0, testing::kClusterId, o);
  ASSERT_OK(a.Start());
  RawListener fake_peer;
  a.t().SetPeer(NodeId(2), "127.0.0.1:" + std::to_string(fake_peer.port()));
  RawSocket s = AcceptPeerHandshake(fake_peer, 1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, 1, i, /*payload=*/4096)));
  ASSERT_TRUE(s.WriteFrame(OkReply(2)));
  int messages = 0, frames = 0;
  while (messages < 10) {
    auto frame = s.ReadFrame();
    ASSERT_TRUE(frame.has_value());
    transportpb::PeerMessage pm;
    ASSERT_TRUE(pm.ParseFromString(*frame));
    ASSERT_LE(pm.ByteSizeLong(), 10u * 1024 + 64);  // batch cap plus envelope overhead
    ASSERT_LE(pm.raft_batch().messages_size(), 2);  // a third ~4 KiB message would pass 10 KiB
    messages += pm.raft_batch().messages_size();
    ++frames;
  }
  EXPECT_EQ(messages, 10);
  EXPECT_EQ(frames, 5);
}

TEST(TransportTest, SnapshotChunksArriveInOrderWithMessages) {
  TestNode a(1), b(2);
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  a.t().SetPeer(NodeId(2), b.address());
  ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, 9, 1)));
  for (uint64_t seq = 0; seq < 3; ++seq) {
    transportpb::SnapshotChunk c;
    c.set_group_id(9);
    c.set_snapshot_index(100);
    c.set_snapshot_term(3);
    c.set_seq(seq);
    c.set_data("chunk" + std::to_string(seq));
    c.set_last(seq == 2);
    ASSERT_TRUE(a.t().SendSnapshotChunk(NodeId(2), c));
  }
  ASSERT_TRUE(WaitFor([&] { return b.chunks().size() == 3 && b.received_count() == 1; }));
  auto chunks = b.chunks();
  for (uint64_t seq = 0; seq < 3; ++seq) {
    EXPECT_EQ(chunks[seq].seq(), seq);
    EXPECT_EQ(chunks[seq].data(), "chunk" + std::to_string(seq));
  }
  EXPECT_TRUE(chunks[2].last());
}

TEST(TransportTest, UnknownPeerIsDroppedAndCounted) {
  TestNode a(1);
  ASSERT_OK(a.Start());
  EXPECT_FALSE(a.t().Send(MakeMsg(1, 42, 1, 1)));
  EXPECT_EQ(a.t().GetPeerStats(NodeId(42)).dropped_messages, 1u);
}

TEST(TransportTest, BoundedQueueDropsWhenPeerIsDownAndSendNeverBlocks) {
  TransportOptions o;
  o.max_pending_messages = 100;
  TestNode a(1, 0, testing::kClusterId, o);
  ASSERT_OK(a.Start());
  a.t().SetPeer(NodeId(2), "127.0.0.1:" + std::to_string(testing::UnusedPort()));
  int accepted = 0, refused = 0;
  for (int i = 0; i < 10000; ++i) {
    (a.t().Send(MakeMsg(1, 2, 1, i, /*payload_bytes=*/16)) ? accepted : refused)++;
  }
  EXPECT_GT(refused, 0);
  EXPECT_LE(accepted, 10000 - refused);
  ASSERT_TRUE(WaitFor([&] { return a.unreachable_count(NodeId(2)) >= 2; }))
      << "redials with backoff report each failure";
  PeerStats s = a.t().GetPeerStats(NodeId(2));
  EXPECT_FALSE(s.connected);
  EXPECT_GE(s.connect_failures, 2u);
  EXPECT_EQ(s.sent_messages, 0u);
  // Every message was either refused at Send or discarded when a dial failed.
  ASSERT_TRUE(WaitFor([&] { return a.t().GetPeerStats(NodeId(2)).dropped_messages == 10000; }))
      << a.t().GetPeerStats(NodeId(2)).dropped_messages;
}

TEST(TransportTest, FullQueueStillTakesMessagesWithoutEntries) {
  // Appends fill the queue; heartbeats and votes still get in (issue #10: they are never shed).
  TransportOptions o;
  o.max_pending_messages = 10;
  TestNode a(1, 0, testing::kClusterId, o);
  ASSERT_OK(a.Start());
  // A peer that accepts the connection (the kernel's backlog does) but never answers the
  // handshake: messages wait in the queue, which fills.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  a.t().SetPeer(NodeId(2), "127.0.0.1:" + std::to_string(silent.local_endpoint().port()));
  int refused_appends = 0;
  for (int i = 0; i < 100; ++i) {
    if (!a.t().Send(MakeMsg(1, 2, 1, i, /*payload_bytes=*/16))) ++refused_appends;
  }
  EXPECT_GT(refused_appends, 0);
  for (auto type : {raftpb::MSG_HEARTBEAT, raftpb::MSG_VOTE, raftpb::MSG_PRE_VOTE_RESP}) {
    raftpb::Message m = MakeMsg(1, 2, 1, 1000);
    m.set_type(type);
    EXPECT_TRUE(a.t().Send(m)) << raftpb::MessageType_Name(type);
  }
}

TEST(TransportTest, ReconnectsAfterPeerRestartsOnSamePort) {
  TestNode a(1);
  ASSERT_OK(a.Start());
  auto b = std::make_unique<TestNode>(2);
  ASSERT_OK(b->Start());
  const uint16_t b_port = b->port();
  a.t().SetPeer(NodeId(2), b->address());
  ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, 1, 1)));
  ASSERT_TRUE(WaitFor([&] { return b->received_count() == 1; }));

  b.reset();  // peer process dies
  ASSERT_TRUE(WaitFor([&] { return a.unreachable_count(NodeId(2)) >= 1; }));
  EXPECT_FALSE(a.t().GetPeerStats(NodeId(2)).connected);

  b = std::make_unique<TestNode>(2, b_port);  // restarts on the same port
  ASSERT_OK(b->Start());
  // Keep sending (as Raft would retransmit) until one arrives over the redialed connection.
  uint64_t index = 100;
  ASSERT_TRUE(WaitFor([&] {
    a.t().Send(MakeMsg(1, 2, 1, index++));
    return b->received_count() > 0;
  }));
  EXPECT_TRUE(a.t().GetPeerStats(NodeId(2)).connected);
  EXPECT_GE(b->received()[0].msg.index(), 100u);
}

TEST(TransportTest, StalledPeerDoesNotDelayHealthyPeer) {
  TransportOptions o;
  o.max_connection_queued_bytes = 4 << 20;
  TestNode a(1, 0, testing::kClusterId, o);
  TestNode healthy(3);
  ASSERT_OK(a.Start());
  ASSERT_OK(healthy.Start());
  RawListener stalled_listener;
  stalled_listener.SetSmallReceiveBuffer();
  a.t().SetPeer(NodeId(2), "127.0.0.1:" + std::to_string(stalled_listener.port()));
  RawSocket stalled = AcceptPeerHandshake(stalled_listener, 1);
  ASSERT_TRUE(stalled.WriteFrame(OkReply(2)));
  ASSERT_TRUE(WaitFor([&] { return a.t().GetPeerStats(NodeId(2)).connected; }));
  a.t().SetPeer(NodeId(3), healthy.address());

  // Flood the stalled peer (it never reads) until the transport starts dropping for it.
  uint64_t i = 0;
  ASSERT_TRUE(WaitFor([&] {
    for (int k = 0; k < 16; ++k) a.t().Send(MakeMsg(1, 2, 1, i++, 64 * 1024));
    return a.t().GetPeerStats(NodeId(2)).dropped_messages > 0;
  }));
  // The healthy peer still gets everything.
  for (int k = 0; k < 200; ++k) ASSERT_TRUE(a.t().Send(MakeMsg(1, 3, 2, k)));
  ASSERT_TRUE(WaitFor([&] { return healthy.received_count() == 200; })) << healthy.received_count();
  EXPECT_EQ(a.t().GetPeerStats(NodeId(3)).dropped_messages, 0u);
  // What the stalled peer has not taken is visible for pacing; the healthy one drains.
  EXPECT_GT(a.t().GetPeerStats(NodeId(2)).queued_bytes, 1u << 20);
  EXPECT_TRUE(WaitFor([&] { return a.t().GetPeerStats(NodeId(3)).queued_bytes == 0; }));
}

TEST(TransportTest, BlockedForTestingDropsBothDirections) {
  TestNode a(1), b(2);
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  a.t().SetPeer(NodeId(2), b.address());
  b.t().SetPeer(NodeId(1), a.address());
  ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, 1, 1)));
  ASSERT_TRUE(WaitFor([&] { return b.received_count() == 1; }));

  a.t().SetBlockedForTesting(NodeId(2), true);
  EXPECT_FALSE(a.t().Send(MakeMsg(1, 2, 1, 2)));  // outgoing: refused at Send
  ASSERT_TRUE(b.t().Send(MakeMsg(2, 1, 1, 3)));   // incoming: discarded on arrival at a
  ASSERT_TRUE(WaitFor([&] { return a.t().GetPeerStats(NodeId(2)).blocked_received == 1; }));
  EXPECT_EQ(a.received_count(), 0u);

  a.t().SetBlockedForTesting(NodeId(2), false);
  ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, 1, 4)));
  ASSERT_TRUE(b.t().Send(MakeMsg(2, 1, 1, 5)));
  ASSERT_TRUE(WaitFor([&] { return a.received_count() == 1 && b.received_count() == 2; }));
  EXPECT_EQ(a.received()[0].msg.index(), 5u);
  EXPECT_FALSE(b.Got(1, 2));
  EXPECT_TRUE(b.Got(1, 4));
}

TEST(TransportTest, RemovePeerStopsDelivery) {
  TestNode a(1), b(2);
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  a.t().SetPeer(NodeId(2), b.address());
  ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, 1, 1)));
  ASSERT_TRUE(WaitFor([&] { return b.received_count() == 1; }));
  a.t().RemovePeer(NodeId(2));
  EXPECT_FALSE(a.t().Send(MakeMsg(1, 2, 1, 2)));
  a.t().SetPeer(NodeId(2), b.address());  // and back
  ASSERT_TRUE(WaitFor([&] {
    a.t().Send(MakeMsg(1, 2, 1, 3));
    return b.Got(1, 3);
  }));
}

TEST(TransportTest, OutgoingConnectionsBindToAdvertisedHost) {
  // 127.0.0.2 is loopback on Linux; the peer must see our connection coming from it.
  TransportOptions o;
  TestNode b(2);
  ASSERT_OK(b.Start());
  RawListener l;
  o.advertised_address = "127.0.0.2:1";
  TestNode a(1, 0, testing::kClusterId, o);
  ASSERT_OK(a.Start());
  a.t().SetPeer(NodeId(2), "127.0.0.1:" + std::to_string(l.port()));
  RawSocket s = l.Accept();
  ASSERT_TRUE(s.valid());
  sockaddr_in peer{};
  socklen_t n = sizeof(peer);
  ASSERT_EQ(::getpeername(s.fd(), reinterpret_cast<sockaddr*>(&peer), &n), 0);
  char ip[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
  EXPECT_STREQ(ip, "127.0.0.2");
  auto hs_payload = s.ReadFrame();
  ASSERT_TRUE(hs_payload.has_value());
  transportpb::Handshake hs;
  ASSERT_TRUE(hs.ParseFromString(*hs_payload));
  EXPECT_EQ(hs.advertised_address(), "127.0.0.2:1");
}

TEST(TransportTest, RoundTripProbesMeasureEachPeer) {
  TransportOptions probing;
  probing.probe_interval = std::chrono::milliseconds(20);
  TestNode a(1, 0, testing::kClusterId, probing), b(2, 0, testing::kClusterId, probing);
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  a.t().SetPeer(NodeId(2), b.address());
  b.t().SetPeer(NodeId(1), a.address());
  ASSERT_TRUE(WaitFor([&] { return a.round_trips().size() >= 3 && b.round_trips().size() >= 3; }));
  for (const auto& [peer, rtt] : a.round_trips()) {
    EXPECT_EQ(peer, NodeId(2));
    EXPECT_LT(rtt, std::chrono::seconds(5));  // a sanity bound, not a timing assertion
  }
  PeerStats s = a.t().GetPeerStats(NodeId(2));
  EXPECT_GE(s.probes_sent, s.probes_answered);
  EXPECT_GE(s.probes_answered, 3u);
  EXPECT_GT(s.last_round_trip_us, 0u);
  // Probes are not Raft traffic.
  EXPECT_EQ(s.received_messages, 0u);
  EXPECT_EQ(b.received_count(), 0u);
  auto all = a.t().AllPeerStats();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].first, NodeId(2));
}

TEST(TransportTest, NoProbesToAPeerThatDoesNotAcceptThem) {
  // Peer 2 is of an older version: its handshake reply does not say it accepts probes, and an
  // unknown PeerMessage body would make it close the connection. Peer 3 is current.
  TransportOptions probing;
  probing.probe_interval = std::chrono::milliseconds(10);
  TestNode a(1, 0, testing::kClusterId, probing), c(3, 0, testing::kClusterId, probing);
  ASSERT_OK(a.Start());
  ASSERT_OK(c.Start());
  RawListener old_peer;
  a.t().SetPeer(NodeId(2), "127.0.0.1:" + std::to_string(old_peer.port()));
  RawSocket s = AcceptPeerHandshake(old_peer, 1);
  ASSERT_TRUE(s.WriteFrame(OkReply(2)));
  ASSERT_TRUE(WaitFor([&] { return a.t().GetPeerStats(NodeId(2)).connected; }));
  a.t().SetPeer(NodeId(3), c.address());
  c.t().SetPeer(NodeId(1), a.address());
  // Probe rounds go on (peer 3 answers them) while peer 2 is connected...
  ASSERT_TRUE(WaitFor([&] { return a.round_trips().size() >= 3; }));
  EXPECT_EQ(a.t().GetPeerStats(NodeId(2)).probes_sent, 0u);
  // ...and the first frame peer 2 gets is Raft traffic.
  ASSERT_TRUE(a.t().Send(MakeMsg(1, 2, 1, 1)));
  auto frame = s.ReadFrame();
  ASSERT_TRUE(frame.has_value());
  transportpb::PeerMessage m;
  ASSERT_TRUE(m.ParseFromString(*frame));
  EXPECT_TRUE(m.has_raft_batch());
}

}  // namespace
}  // namespace ringkv::net
