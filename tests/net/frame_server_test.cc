// FrameServer + FrameClient: handshake rules of the client port, request/reply from another
// thread, limits (frame size, outgoing queue), disconnect reporting, connect failures.
#include "net/frame_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/coding.h"
#include "net/frame_client.h"
#include "net/handshake.h"
#include "net_test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::net {
namespace {

using testing::RawSocket;
using testing::WaitFor;
using testing::WarningCapture;

constexpr uint64_t kCluster = 7;

// A server that answers every frame "echo:<payload>" from a separate worker thread, the way the
// RPC layer answers after the store did its work.
class EchoServer {
 public:
  explicit EchoServer(FrameServerOptions o = {}) {
    o.cluster_id = kCluster;
    o.node_id = NodeId(1);
    server_ = std::make_unique<FrameServer>(
        o,
        [this](std::shared_ptr<Connection> c, std::string payload) {
          std::lock_guard<std::mutex> l(mu_);
          last_conn_ = c;
          work_.emplace_back(std::move(c), std::move(payload));
          cv_.notify_one();
        },
        [this](const std::shared_ptr<Connection>&, const Status&) { ++closed_; });
    worker_ = std::thread([this] {
      std::unique_lock<std::mutex> l(mu_);
      while (true) {
        cv_.wait(l, [&] { return stop_ || !work_.empty(); });
        if (stop_) return;
        auto [c, p] = std::move(work_.front());
        work_.pop_front();
        l.unlock();
        c->Send("echo:" + p).IgnoreError();  // a closed client is not an error here
        l.lock();
      }
    });
  }
  ~EchoServer() {
    server_->Stop();
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      cv_.notify_one();
    }
    worker_.join();
  }
  FrameServer& s() { return *server_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  int closed() const { return closed_.load(); }
  std::shared_ptr<Connection> last_conn() {
    std::lock_guard<std::mutex> l(mu_);
    return last_conn_;
  }

 private:
  std::unique_ptr<FrameServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::shared_ptr<Connection>, std::string>> work_;
  std::shared_ptr<Connection> last_conn_;
  bool stop_ = false;
  std::thread worker_;
  std::atomic<int> closed_{0};
};

// Collects what a FrameClient delivers.
struct Inbox {
  std::mutex mu;
  std::vector<std::string> frames;
  std::vector<Status> disconnects;
  FrameClient::FrameHandler frame_handler() {
    return [this](std::string p) {
      std::lock_guard<std::mutex> l(mu);
      frames.push_back(std::move(p));
    };
  }
  FrameClient::DisconnectHandler disconnect_handler() {
    return [this](const Status& s) {
      std::lock_guard<std::mutex> l(mu);
      disconnects.push_back(s);
    };
  }
  size_t frame_count() {
    std::lock_guard<std::mutex> l(mu);
    return frames.size();
  }
  size_t disconnect_count() {
    std::lock_guard<std::mutex> l(mu);
    return disconnects.size();
  }
};

FrameClientOptions ClientOptions(const std::string& address, uint64_t cluster = 0) {
  FrameClientOptions o;
  o.address = address;
  o.cluster_id = cluster;
  return o;
}

TEST(FrameServerTest, RequestsAreAnsweredInOrderFromAnotherThread) {
  EchoServer server;
  ASSERT_OK(server.s().Start());
  Inbox inbox;
  FrameClient client(ClientOptions(server.address(), kCluster), inbox.frame_handler(),
                     inbox.disconnect_handler());
  ASSERT_OK(client.Connect());
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.server_node_id(), NodeId(1));
  for (int i = 0; i < 300; ++i) ASSERT_OK(client.Send("req" + std::to_string(i)));
  ASSERT_TRUE(WaitFor([&] { return inbox.frame_count() == 300; })) << inbox.frame_count();
  std::lock_guard<std::mutex> l(inbox.mu);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(inbox.frames[i], "echo:req" + std::to_string(i));
  EXPECT_EQ(server.s().connection_count(), 1u);
}

TEST(FrameServerTest, ClusterIdZeroMeansAnyCluster) {
  EchoServer server;
  ASSERT_OK(server.s().Start());
  Inbox inbox;
  FrameClient client(ClientOptions(server.address(), 0), inbox.frame_handler(),
                     inbox.disconnect_handler());
  ASSERT_OK(client.Connect());
  ASSERT_OK(client.Send("x"));
  ASSERT_TRUE(WaitFor([&] { return inbox.frame_count() == 1; }));
}

TEST(FrameServerTest, WrongClusterIdIsRefusedAndLogged) {
  WarningCapture log;
  EchoServer server;
  ASSERT_OK(server.s().Start());
  Inbox inbox;
  FrameClient client(ClientOptions(server.address(), 8), inbox.frame_handler(),
                     inbox.disconnect_handler());
  Status st = client.Connect();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st;
  EXPECT_NE(st.message().find("cluster id mismatch"), std::string_view::npos) << st;
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.Send("x").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(WaitFor([&] {
    return log.Has({"refused client handshake", "local 7", "remote 8"});
  })) << log.Dump();
  EXPECT_TRUE(WaitFor([&] { return server.s().connection_count() == 0; }));
  // The server keeps serving others.
  FrameClient good(ClientOptions(server.address(), kCluster), inbox.frame_handler(),
                   inbox.disconnect_handler());
  ASSERT_OK(good.Connect());
}

TEST(FrameServerTest, FramesBeforeHandshakeCompletesAreNotDelivered) {
  EchoServer server;
  ASSERT_OK(server.s().Start());
  RawSocket s = RawSocket::Connect(server.s().port());
  ASSERT_TRUE(s.valid());
  ASSERT_TRUE(s.WriteFrame("not a handshake \xff\xff"));
  EXPECT_TRUE(s.WaitForClose());
  EXPECT_EQ(server.last_conn(), nullptr);
}

TEST(FrameServerTest, OversizedClientFrameClosesConnection) {
  WarningCapture log;
  FrameServerOptions o;
  o.connection.max_frame_size = 1024;
  EchoServer server(o);
  ASSERT_OK(server.s().Start());
  Inbox inbox;
  FrameClientOptions co = ClientOptions(server.address());
  co.connection.max_frame_size = 1 << 20;  // the client itself would allow it
  FrameClient client(co, inbox.frame_handler(), inbox.disconnect_handler());
  ASSERT_OK(client.Connect());
  ASSERT_OK(client.Send(std::string(2048, 'z')));
  ASSERT_TRUE(WaitFor([&] { return inbox.disconnect_count() == 1; }));
  EXPECT_TRUE(log.Has({"exceeds the maximum of 1024"})) << log.Dump();
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.Send("x").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(WaitFor([&] { return server.closed() == 1; }));
}

TEST(FrameServerTest, OversizedClientFrameGoesToTheOversizedHandlerAndTheConnectionLives) {
  FrameServerOptions o;
  o.connection.max_frame_size = 1024;
  EchoServer server(o);
  std::mutex mu;
  std::vector<std::pair<uint64_t, std::string>> oversized;
  server.s().set_oversized_handler(
      [&](std::shared_ptr<Connection> c, uint64_t length, std::string prefix) {
        {
          std::lock_guard<std::mutex> l(mu);
          oversized.emplace_back(length, prefix);
        }
        c->Send("too large:" + std::to_string(length)).IgnoreError();
      });
  ASSERT_OK(server.s().Start());
  Inbox inbox;
  FrameClientOptions co = ClientOptions(server.address());
  co.connection.max_frame_size = 1 << 20;  // the client itself would allow it
  FrameClient client(co, inbox.frame_handler(), inbox.disconnect_handler());
  ASSERT_OK(client.Connect());
  ASSERT_OK(client.Send("id7" + std::string(200000, 'z')));
  ASSERT_OK(client.Send("small"));
  ASSERT_TRUE(WaitFor([&] { return inbox.frame_count() == 2; }));
  {
    std::lock_guard<std::mutex> l(inbox.mu);
    EXPECT_EQ(inbox.frames[0], "too large:200003");
    EXPECT_EQ(inbox.frames[1], "echo:small");
  }
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(oversized.size(), 1u);
  EXPECT_EQ(oversized[0].second.substr(0, 3), "id7");
  EXPECT_EQ(oversized[0].second.size(), FrameDecoder::kOversizedPrefixBytes);
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(server.closed(), 0);
}

TEST(FrameServerTest, ClientRejectsOwnOversizedPayload) {
  EchoServer server;
  ASSERT_OK(server.s().Start());
  Inbox inbox;
  FrameClient client(ClientOptions(server.address()), inbox.frame_handler(),
                     inbox.disconnect_handler());
  ASSERT_OK(client.Connect());
  EXPECT_EQ(client.Send(std::string(kDefaultClientMaxFrameSize + 1, 'q')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(client.connected());
}

TEST(FrameServerTest, SlowClientFillsOnlyItsOwnQueue) {
  FrameServerOptions o;
  o.connection.max_queued_bytes = 1 << 20;
  EchoServer server(o);
  ASSERT_OK(server.s().Start());
  // A raw client that handshakes, sends one request, then never reads.
  RawSocket slow = RawSocket::Connect(server.s().port());
  int small = 4096;
  ::setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  ASSERT_TRUE(slow.WriteFrame(MakeHandshake(0, NodeId(0), 0, "").SerializeAsString()));
  ASSERT_TRUE(slow.ReadFrame().has_value());
  ASSERT_TRUE(slow.WriteFrame("hello"));
  ASSERT_TRUE(WaitFor([&] { return server.last_conn() != nullptr; }));
  auto slow_conn = server.last_conn();
  Status st;
  ASSERT_TRUE(WaitFor([&] {
    st = slow_conn->Send(std::string(64 * 1024, 'b'));
    return !st.ok();
  }));
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st;
  // Another client is served normally meanwhile.
  Inbox inbox;
  FrameClient fast(ClientOptions(server.address()), inbox.frame_handler(),
                   inbox.disconnect_handler());
  ASSERT_OK(fast.Connect());
  ASSERT_OK(fast.Send("ping"));
  ASSERT_TRUE(WaitFor([&] { return inbox.frame_count() == 1; }));
}

TEST(FrameServerTest, ServerStopIsReportedAsDisconnect) {
  auto server = std::make_unique<EchoServer>();
  ASSERT_OK(server->s().Start());
  Inbox inbox;
  FrameClient client(ClientOptions(server->address()), inbox.frame_handler(),
                     inbox.disconnect_handler());
  ASSERT_OK(client.Connect());
  server.reset();
  ASSERT_TRUE(WaitFor([&] { return inbox.disconnect_count() == 1; }));
  EXPECT_FALSE(client.connected());
}

TEST(FrameServerTest, LocalCloseIsNotReportedAsDisconnect) {
  EchoServer server;
  ASSERT_OK(server.s().Start());
  Inbox inbox;
  FrameClient client(ClientOptions(server.address()), inbox.frame_handler(),
                     inbox.disconnect_handler());
  ASSERT_OK(client.Connect());
  client.Close();
  EXPECT_FALSE(client.connected());
  EXPECT_TRUE(WaitFor([&] { return server.s().connection_count() == 0; }));
  EXPECT_EQ(inbox.disconnect_count(), 0u);
}

TEST(FrameServerTest, ConnectToClosedPortFails) {
  Inbox inbox;
  FrameClient client(ClientOptions("127.0.0.1:" + std::to_string(testing::UnusedPort())),
                     inbox.frame_handler(), inbox.disconnect_handler());
  Status st = client.Connect();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st;
}

TEST(FrameServerTest, ConnectTimesOutWhenServerNeverAnswersHandshake) {
  testing::RawListener silent;  // accepts (kernel backlog) but never speaks
  Inbox inbox;
  FrameClientOptions o = ClientOptions("127.0.0.1:" + std::to_string(silent.port()));
  o.connect_timeout = std::chrono::milliseconds(100);
  FrameClient client(o, inbox.frame_handler(), inbox.disconnect_handler());
  Status st = client.Connect();
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded) << st;
}

TEST(FrameServerTest, BadAddressIsInvalidArgument) {
  Inbox inbox;
  FrameClient client(ClientOptions("no-port"), inbox.frame_handler(), inbox.disconnect_handler());
  EXPECT_EQ(client.Connect().code(), StatusCode::kInvalidArgument);
}

TEST(FrameServerTest, ClientOnCallerIoContext) {
  EchoServer server;
  ASSERT_OK(server.s().Start());
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread t1([&] { io.run(); });
  std::thread t2([&] { io.run(); });  // several threads: the client uses a strand
  {
    Inbox inbox;
    FrameClient client(io, ClientOptions(server.address()), inbox.frame_handler(),
                       inbox.disconnect_handler());
    ASSERT_OK(client.Connect());
    for (int i = 0; i < 100; ++i) ASSERT_OK(client.Send(std::to_string(i)));
    ASSERT_TRUE(WaitFor([&] { return inbox.frame_count() == 100; }));
    std::lock_guard<std::mutex> l(inbox.mu);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(inbox.frames[i], "echo:" + std::to_string(i));
  }
  guard.reset();
  io.stop();
  t1.join();
  t2.join();
}

TEST(FrameServerTest, MaxConnectionsIsEnforced) {
  WarningCapture log;
  FrameServerOptions o;
  o.max_connections = 1;
  EchoServer server(o);
  ASSERT_OK(server.s().Start());
  Inbox inbox;
  FrameClient first(ClientOptions(server.address()), inbox.frame_handler(),
                    inbox.disconnect_handler());
  ASSERT_OK(first.Connect());
  FrameClient second(ClientOptions(server.address()), inbox.frame_handler(),
                     inbox.disconnect_handler());
  EXPECT_FALSE(second.Connect().ok());
  EXPECT_TRUE(log.Has({"refusing connection", "max 1"})) << log.Dump();
  ASSERT_OK(first.Send("still here"));
  ASSERT_TRUE(WaitFor([&] { return inbox.frame_count() == 1; }));
}

}  // namespace
}  // namespace ringkv::net
