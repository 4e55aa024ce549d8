// Bad input on the transport's listening port. Each case must close just that connection with a
// WARNING naming the remote address, and the transport must keep serving a good peer after it.
#include <gtest/gtest.h>

#include "common/coding.h"
#include "net/handshake.h"
#include "net/transport.h"
#include "net_test_util.h"
#include "testutil/status_matchers.h"
#include "transport_test_node.h"

namespace ringkv::net {
namespace {

using testing::MakeMsg;
using testing::RawSocket;
using testing::TestNode;
using testing::WaitFor;
using testing::WarningCapture;

class TransportBadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(a_.Start());
    ASSERT_OK(good_.Start());
    good_.t().SetPeer(NodeId(1), a_.address());
  }

  // Opens a raw connection to node 1 and returns it with its "127.0.0.1:port" for log matching.
  RawSocket Dial(std::string* remote) {
    RawSocket s = RawSocket::Connect(a_.port());
    EXPECT_TRUE(s.valid());
    *remote = "127.0.0.1:" + std::to_string(s.local_port());
    return s;
  }

  static std::string Handshake(uint64_t cluster, uint64_t node,
                               uint32_t version = kProtocolVersion) {
    auto hs = MakeHandshake(cluster, NodeId(node), 1, "127.0.0.1:1");
    hs.set_protocol_version(version);
    return hs.SerializeAsString();
  }

  // Handshakes as node `node` and checks the reply is ok.
  void HandshakeOk(RawSocket& s, uint64_t node) {
    ASSERT_TRUE(s.WriteFrame(Handshake(testing::kClusterId, node)));
    auto reply = s.ReadFrame();
    ASSERT_TRUE(reply.has_value());
    transportpb::HandshakeReply r;
    ASSERT_TRUE(r.ParseFromString(*reply));
    EXPECT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.node_id(), 1u);
  }

  // The connection was closed by node 1, a WARNING with all `parts` was logged, and node 1 still
  // receives from the good peer.
  void ExpectClosedLoggedAndStillServing(RawSocket& s, const std::vector<std::string>& parts) {
    EXPECT_TRUE(s.WaitForClose());
    EXPECT_TRUE(WaitFor([&] { return log_.Has(parts); })) << "log:\n" << log_.Dump();
    const uint64_t index = next_index_++;
    ASSERT_TRUE(good_.t().Send(MakeMsg(2, 1, 1, index)));
    EXPECT_TRUE(WaitFor([&] { return a_.Got(1, index); }));
  }

  WarningCapture log_;
  TestNode a_{1};
  TestNode good_{2};
  uint64_t next_index_ = 1;
};

TEST_F(TransportBadInputTest, GarbageBytes) {
  std::string remote;
  RawSocket s = Dial(&remote);
  ASSERT_TRUE(s.WriteAll("GET / HTTP/1.1\r\nHost: example\r\n\r\n"));
  ExpectClosedLoggedAndStillServing(s, {remote, "not a RingKV frame", "HTTP"});
}

TEST_F(TransportBadInputTest, FrameOverMaximum) {
  std::string remote;
  RawSocket s = Dial(&remote);
  std::string header;
  PutFixed32BE(&header, static_cast<uint32_t>(kDefaultPeerMaxFrameSize + 1));
  PutFixed32BE(&header, 0);
  ASSERT_TRUE(s.WriteAll(header));
  ExpectClosedLoggedAndStillServing(s, {remote, "ResourceExhausted", "exceeds the maximum"});
}

TEST_F(TransportBadInputTest, ChecksumMismatch) {
  std::string remote;
  RawSocket s = Dial(&remote);
  std::string f = EncodeFrame(Handshake(testing::kClusterId, 5));
  f.back() ^= 0x20;
  ASSERT_TRUE(s.WriteAll(f));
  ExpectClosedLoggedAndStillServing(s, {remote, "Corruption", "checksum"});
}

TEST_F(TransportBadInputTest, TruncatedFrameThenClose) {
  std::string remote;
  RawSocket s = Dial(&remote);
  HandshakeOk(s, 5);
  std::string f = EncodeFrame(std::string(100, 'x'));
  ASSERT_TRUE(s.WriteAll(f.substr(0, 50)));
  s.ShutdownWrite();
  ExpectClosedLoggedAndStillServing(s, {remote, "truncated"});
}

TEST_F(TransportBadInputTest, EmptyMessageTypeIsUnknown) {
  std::string remote;
  RawSocket s = Dial(&remote);
  HandshakeOk(s, 5);
  ASSERT_TRUE(s.WriteFrame(transportpb::PeerMessage().SerializeAsString()));
  ExpectClosedLoggedAndStillServing(s, {remote, "unknown message type"});
}

TEST_F(TransportBadInputTest, UnknownFutureMessageTypeIsUnknown) {
  std::string remote;
  RawSocket s = Dial(&remote);
  HandshakeOk(s, 5);
  // Field 15 (length-delimited) is not a PeerMessage body this version knows.
  std::string payload =
      "\x7a\x03"
      "abc";
  ASSERT_TRUE(s.WriteFrame(payload));
  ExpectClosedLoggedAndStillServing(s, {remote, "unknown message type"});
}

TEST_F(TransportBadInputTest, MalformedPeerMessage) {
  std::string remote;
  RawSocket s = Dial(&remote);
  HandshakeOk(s, 5);
  ASSERT_TRUE(s.WriteFrame("\xff\xff\xff"));
  ExpectClosedLoggedAndStillServing(s, {remote, "malformed PeerMessage"});
}

TEST_F(TransportBadInputTest, WrongClusterIdIsRefusedWithBothIds) {
  std::string remote;
  RawSocket s = Dial(&remote);
  ASSERT_TRUE(s.WriteFrame(Handshake(/*cluster=*/999, 5)));
  auto reply = s.ReadFrame();
  ASSERT_TRUE(reply.has_value());
  transportpb::HandshakeReply r;
  ASSERT_TRUE(r.ParseFromString(*reply));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("cluster id mismatch"), std::string::npos) << r.error();
  ExpectClosedLoggedAndStillServing(
      s, {remote, "cluster id mismatch", "local " + std::to_string(testing::kClusterId),
          "remote 999"});
}

TEST_F(TransportBadInputTest, WrongProtocolVersionIsRefused) {
  std::string remote;
  RawSocket s = Dial(&remote);
  ASSERT_TRUE(s.WriteFrame(Handshake(testing::kClusterId, 5, kProtocolVersion + 1)));
  ExpectClosedLoggedAndStillServing(s, {remote, "protocol version mismatch"});
}

TEST_F(TransportBadInputTest, HandshakeWithoutNodeIdIsRefused) {
  std::string remote;
  RawSocket s = Dial(&remote);
  ASSERT_TRUE(s.WriteFrame(Handshake(testing::kClusterId, 0)));
  ExpectClosedLoggedAndStillServing(s, {remote, "without a node id"});
}

TEST_F(TransportBadInputTest, MessagesBeforeHandshakeAreRefused) {
  std::string remote;
  RawSocket s = Dial(&remote);
  transportpb::PeerMessage pm;
  *pm.mutable_raft_batch()->add_messages() = MakeMsg(5, 1, 1, 1);
  ASSERT_TRUE(s.WriteFrame(pm.SerializeAsString()));  // not a valid Handshake
  ExpectClosedLoggedAndStillServing(s, {remote, "refused peer handshake"});
  for (const auto& r : a_.received()) EXPECT_NE(r.from, NodeId(5));
}

TEST_F(TransportBadInputTest, TransportOfOtherClusterIsRefusedAndReportedUnreachable) {
  TestNode stranger(3, 0, /*cluster_id=*/12345);
  ASSERT_OK(stranger.Start());
  stranger.t().SetPeer(NodeId(1), a_.address());
  ASSERT_TRUE(WaitFor([&] {
    return log_.Has({"cluster id mismatch", "local 7", "remote 12345"}) &&
           stranger.unreachable_count(NodeId(1)) > 0;
  })) << log_.Dump();
  EXPECT_FALSE(stranger.t().GetPeerStats(NodeId(1)).connected);
  // The refusing side logs on its end, the refused side on its own.
  EXPECT_TRUE(WaitFor([&] {
    return log_.Has({"refused our handshake", "local cluster 12345"});
  })) << log_.Dump();
  ASSERT_TRUE(good_.t().Send(MakeMsg(2, 1, 1, 77)));
  EXPECT_TRUE(WaitFor([&] { return a_.Got(1, 77); }));
}

}  // namespace
}  // namespace ringkv::net
