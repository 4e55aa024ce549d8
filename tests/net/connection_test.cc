// Connection unit tests over a loopback socket pair: the bounded outgoing queue, ordering,
// flush-then-close, and the contract of Send on a closed connection.
#include "net/connection.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>

#include "net_test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using testing::RawSocket;
using testing::WaitFor;

// A Connection over one end of a loopback pair; the other end is a RawSocket the test drives.
class ConnectionTest : public ::testing::Test {
 protected:
  std::shared_ptr<Connection> Make(const ConnectionOptions& o) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    raw_ = RawSocket::Connect(acceptor.local_endpoint().port());
    EXPECT_TRUE(raw_.valid());
    tcp::socket s(io_);
    acceptor.accept(s);
    auto c = Connection::Create(std::move(s), o, "test");
    c->Start(
        [this](const std::shared_ptr<Connection>&, std::string p) {
          std::lock_guard<std::mutex> l(mu_);
          frames_.push_back(std::move(p));
        },
        [this](const std::shared_ptr<Connection>&, const Status& why) {
          std::lock_guard<std::mutex> l(mu_);
          close_reason_ = why;
          closed_ = true;
        });
    return c;
  }
  // Runs the io_context on a thread until the test ends.
  void RunIo() {
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  bool closed() {
    std::lock_guard<std::mutex> l(mu_);
    return closed_;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  RawSocket raw_;
  std::mutex mu_;
  std::vector<std::string> frames_;
  Status close_reason_;
  bool closed_ = false;
};

TEST_F(ConnectionTest, QueueIsBoundedByFrameCount) {
  ConnectionOptions o;
  o.max_queued_frames = 3;
  auto c = Make(o);
  // The io_context does not run yet, so nothing drains: the bound is exact.
  ASSERT_OK(c->Send("a"));
  ASSERT_OK(c->Send("b"));
  ASSERT_OK(c->Send("c"));
  EXPECT_EQ(c->Send("d").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(c->queued_bytes(), 3 * (kFrameHeaderSize + 1));
  RunIo();
  for (const char* want : {"a", "b", "c"}) {
    auto got = raw_.ReadFrame();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, want);
  }
  ASSERT_TRUE(WaitFor([&] { return c->queued_bytes() == 0; }));
  ASSERT_OK(c->Send("e"));  // room again after the write completed
  EXPECT_EQ(raw_.ReadFrame(), std::optional<std::string>("e"));
}

TEST_F(ConnectionTest, QueueIsBoundedByBytesButAlwaysTakesOneFrame) {
  ConnectionOptions o;
  o.max_queued_bytes = 100;
  auto c = Make(o);
  ASSERT_OK(c->Send(std::string(500, 'x')));  // larger than the byte bound, but queue was empty
  EXPECT_EQ(c->Send("y").code(), StatusCode::kResourceExhausted);
  RunIo();
  EXPECT_EQ(raw_.ReadFrame(), std::optional<std::string>(std::string(500, 'x')));
}

TEST_F(ConnectionTest, OversizedPayloadIsInvalidArgument) {
  ConnectionOptions o;
  o.max_frame_size = 10;
  auto c = Make(o);
  EXPECT_EQ(c->Send(std::string(11, 'x')).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(c->Send(std::string(10, 'x')));
}

TEST_F(ConnectionTest, FramesAreReadInOrder) {
  auto c = Make(ConnectionOptions{});
  RunIo();
  std::string stream;
  for (int i = 0; i < 100; ++i) stream += EncodeFrame("f" + std::to_string(i));
  ASSERT_TRUE(raw_.WriteAll(stream));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> l(mu_);
    return frames_.size() == 100;
  }));
  std::lock_guard<std::mutex> l(mu_);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(frames_[i], "f" + std::to_string(i));
}

TEST_F(ConnectionTest, CloseAfterFlushDeliversQueuedFramesFirst) {
  auto c = Make(ConnectionOptions{});
  ASSERT_OK(c->Send("last words"));
  c->CloseAfterFlush(Status::OK());
  EXPECT_EQ(c->Send("more").code(), StatusCode::kUnavailable);
  RunIo();
  EXPECT_EQ(raw_.ReadFrame(), std::optional<std::string>("last words"));
  EXPECT_TRUE(raw_.WaitForClose());
  ASSERT_TRUE(WaitFor([&] { return closed(); }));
  EXPECT_TRUE(c->closed());
}

TEST_F(ConnectionTest, RemoteCloseRunsCloseHandlerOnceAndSendFails) {
  auto c = Make(ConnectionOptions{});
  RunIo();
  raw_.Close();
  ASSERT_TRUE(WaitFor([&] { return closed(); }));
  EXPECT_EQ(close_reason_.code(), StatusCode::kUnavailable) << close_reason_;
  EXPECT_EQ(c->Send("x").code(), StatusCode::kUnavailable);
  c->Close(Status::OK());  // idempotent
}

TEST_F(ConnectionTest, StalledWriteTimesOut) {
  ConnectionOptions o;
  o.write_timeout = std::chrono::milliseconds(50);
  o.max_queued_bytes = size_t{64} << 20;
  o.max_queued_frames = 100000;
  auto c = Make(o);
  RunIo();
  // The raw side never reads: keep queueing until the socket buffers fill and a write stalls.
  std::string chunk(256 * 1024, 'z');
  ASSERT_TRUE(WaitFor([&] {
    c->Send(chunk).IgnoreError();  // ResourceExhausted is fine; we wait for the close
    return closed();
  }));
  EXPECT_EQ(close_reason_.code(), StatusCode::kDeadlineExceeded) << close_reason_;
}

}  // namespace
}  // namespace ringkv::net
