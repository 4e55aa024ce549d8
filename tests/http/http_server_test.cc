#include "http/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/stream_writer.h"

namespace ringkv::http {
namespace {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using asio::ip::tcp;

// A blocking HTTP/1.1 client on one keep-alive connection.
class TestClient {
 public:
  explicit TestClient(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  bhttp::response<bhttp::string_body> Call(bhttp::verb verb, const std::string& target,
                                           std::string body = "") {
    bhttp::request<bhttp::string_body> req(verb, target, 11);
    req.set(bhttp::field::host, "localhost");
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(socket_, req);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(verb == bhttp::verb::head);  // a HEAD answer has a length but no body
    bhttp::read(socket_, buffer_, parser);
    return parser.release();
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions o = {}) {
    server_ = std::make_unique<HttpServer>(o);
    Router& r = server_->router();
    r.Get("/echo", [](const HttpRequest& req) {
      std::string out = req.path;
      for (const auto& [k, v] : req.query) out += "|" + k + "=" + v;
      return HttpResponse::Text(200, out);
    });
    r.Handle("POST", "/body", [](const HttpRequest& req, Responder done) {
      done(HttpResponse::Json(201, "{\"len\":" + std::to_string(req.body.size()) + "}"));
    });
    r.Handle("GET", "/later", [this](const HttpRequest&, Responder done) {
      // Answered from another thread, as a handler waiting on the store does.
      workers_.emplace_back([done] {
        done(HttpResponse::Text(200, "from another thread"));
        done(HttpResponse::Text(500, "ignored: second answer"));
      });
    });
    r.Handle("GET", "/never", [](const HttpRequest&, Responder) {});
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    for (auto& t : workers_) t.join();
    if (server_) server_->Stop();
  }

  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> workers_;
};

TEST_F(HttpServerTest, RoutesQueryAndKeepAlive) {
  StartServer();
  TestClient c(server_->port());
  auto r = c.Call(bhttp::verb::get, "/echo?verbose&exclude=a%2Cb&x=1");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "/echo|exclude=a,b|verbose=|x=1");
  // Same connection again.
  r = c.Call(bhttp::verb::post, "/body", std::string(1000, 'x'));
  EXPECT_EQ(r.result_int(), 201);
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  EXPECT_EQ(r.body(), "{\"len\":1000}");
  r = c.Call(bhttp::verb::head, "/echo");
  EXPECT_EQ(r.result_int(), 200);
}

TEST_F(HttpServerTest, UnknownPathListsKnownOnesAndWrongMethodIs405) {
  StartServer();
  TestClient c(server_->port());
  auto r = c.Call(bhttp::verb::get, "/nope");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_NE(r.body().find("/echo"), std::string::npos) << r.body();
  r = c.Call(bhttp::verb::delete_, "/echo");
  EXPECT_EQ(r.result_int(), 405);
}

TEST_F(HttpServerTest, AnswerFromAnotherThreadOnce) {
  StartServer();
  TestClient c(server_->port());
  auto r = c.Call(bhttp::verb::get, "/later");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "from another thread");
  r = c.Call(bhttp::verb::get, "/echo");  // the ignored second answer did not desync
  EXPECT_EQ(r.body(), "/echo");
}

TEST_F(HttpServerTest, HandlerTimeoutIs503) {
  HttpServerOptions o;
  o.handler_timeout = std::chrono::milliseconds(100);
  StartServer(o);
  TestClient c(server_->port());
  auto r = c.Call(bhttp::verb::get, "/never");
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_NE(r.body().find("did not answer"), std::string::npos);
}

TEST_F(HttpServerTest, BodyOverLimitIs413) {
  HttpServerOptions o;
  o.max_body_bytes = 100;
  StartServer(o);
  TestClient c(server_->port());
  auto r = c.Call(bhttp::verb::post, "/body", std::string(101, 'x'));
  EXPECT_EQ(r.result_int(), 413);
}

TEST_F(HttpServerTest, GarbageIs400AndServerKeepsServing) {
  StartServer();
  {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    asio::write(s, asio::buffer(std::string("\x00\x01\x02 not http\r\n\r\n", 18)));
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buf, res);
    EXPECT_EQ(res.result_int(), 400);
  }
  TestClient c(server_->port());
  EXPECT_EQ(c.Call(bhttp::verb::get, "/echo").result_int(), 200);
}

// A streamed answer: chunks written from any thread arrive in order, Close ends the body; a
// peer that goes away closes the writer (OnClose runs, later writes fail); the writer refuses
// what would exceed its buffer.
TEST(HttpServerStreamTest, ChunksInOrderThenCloseAndPeerGoneClosesTheWriter) {
  HttpServerOptions o;
  o.max_stream_buffer_bytes = 64;
  HttpServer server(o);
  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<StreamWriter> held;
  bool held_closed = false;
  std::thread writer_thread;
  server.router().Handle("GET", "/stream", [&](const HttpRequest&, Responder done) {
    done(HttpResponse::Stream("text/event-stream", [&](std::shared_ptr<StreamWriter> w) {
      EXPECT_TRUE(w->Write("a"));
      EXPECT_FALSE(w->Write(std::string(65, 'x')));  // over the buffer: refused, not queued
      writer_thread = std::thread([w] {
        EXPECT_TRUE(w->Write("bc"));
        w->Close();
        EXPECT_FALSE(w->Write("late"));
      });
    }));
  });
  server.router().Handle("GET", "/hold", [&](const HttpRequest&, Responder done) {
    done(HttpResponse::Stream("text/event-stream", [&](std::shared_ptr<StreamWriter> w) {
      w->OnClose([&] {
        std::lock_guard<std::mutex> l(mu);
        held_closed = true;
        cv.notify_all();
      });
      w->Write("hello\n");
      std::lock_guard<std::mutex> l(mu);
      held = w;
    }));
  });
  ASSERT_TRUE(server.Start().ok());
  {
    TestClient c(server.port());
    auto r = c.Call(bhttp::verb::get, "/stream");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r[bhttp::field::content_type], "text/event-stream");
    EXPECT_EQ(r.body(), "abc");
  }
  writer_thread.join();
  {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    const std::string req = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";
    asio::write(s, asio::buffer(req));
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::empty_body> head;
    bhttp::read_header(s, buf, head);
    EXPECT_EQ(head.get().result_int(), 200);
    EXPECT_TRUE(head.chunked());
  }  // the client goes away
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return held_closed; }));
  ASSERT_NE(held, nullptr);
  EXPECT_TRUE(held->closed());
  EXPECT_FALSE(held->Write("after"));
  l.unlock();
  server.Stop();
}

TEST(HttpServerStartTest, BadAddressIsAnError) {
  HttpServerOptions o;
  o.listen_address = "not-an-ip:80";
  HttpServer s(o);
  Status st = s.Start();
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace ringkv::http
