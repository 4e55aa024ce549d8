#include "server/remote_status.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>

#include "net/frame_client.h"

namespace ringkv::server {
namespace {

// One fetch: the client, its deadline and the once-only completion. Kept alive by the
// callbacks that reference it; Finish breaks the cycle.
struct Fetch : std::enable_shared_from_this<Fetch> {
  Fetch(boost::asio::io_context& io, std::function<void(Result<kvpb::NodeStatus>)> d)
      : io(io), timer(io), done(std::move(d)) {}

  void Finish(Result<kvpb::NodeStatus> r) {
    std::function<void(Result<kvpb::NodeStatus>)> cb;
    std::unique_ptr<net::FrameClient> c;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!done) return;
      cb = std::move(done);
      done = nullptr;
      c = std::move(client);
    }
    timer.cancel();
    // Closing the client from its own callback is allowed; destroy it off that stack.
    auto holder = std::make_shared<std::unique_ptr<net::FrameClient>>(std::move(c));
    boost::asio::post(io, [holder] { holder->reset(); });
    cb(std::move(r));
  }

  boost::asio::io_context& io;
  boost::asio::steady_timer timer;
  std::mutex mu;
  std::function<void(Result<kvpb::NodeStatus>)> done;  // guarded by mu
  std::unique_ptr<net::FrameClient> client;             // guarded by mu
};

}  // namespace

void FetchNodeStatus(boost::asio::io_context& io, const std::string& address, uint64_t cluster_id,
                     std::chrono::milliseconds timeout, std::shared_ptr<net::TlsContext> tls,
                     std::function<void(Result<kvpb::NodeStatus>)> done) {
  auto f = std::make_shared<Fetch>(io, std::move(done));
  net::FrameClientOptions o;
  o.address = address;
  o.cluster_id = cluster_id;
  o.connect_timeout = timeout;
  o.tls = std::move(tls);
  std::weak_ptr<Fetch> weak = f;
  auto client = std::make_unique<net::FrameClient>(
      io, o,
      [weak, address](std::string payload) {
        auto f = weak.lock();
        if (!f) return;
        kvpb::Response resp;
        if (!resp.ParseFromString(payload) || !resp.has_status()) {
          std::string why = resp.has_error() ? resp.error().message() : "not a status answer";
          return f->Finish(Status::Unavailable(address + ": " + why));
        }
        f->Finish(std::move(*resp.mutable_status()));
      },
      [weak, address](const Status& why) {
        if (auto f = weak.lock()) {
          f->Finish(Status::Unavailable(address + " closed the connection: " + why.ToString()));
        }
      });
  net::FrameClient* raw = client.get();
  {
    std::lock_guard<std::mutex> lock(f->mu);
    f->client = std::move(client);
  }
  f->timer.expires_after(timeout);
  f->timer.async_wait([f, address](const boost::system::error_code& ec) {
    if (!ec) f->Finish(Status::DeadlineExceeded(address + " did not answer in time"));
  });
  raw->AsyncConnect([weak, raw](const Status& s) {
    auto f = weak.lock();
    if (!f) return;
    if (!s.ok()) return f->Finish(s);
    kvpb::Request req;
    req.set_request_id(1);
    req.mutable_status();
    bool live;
    {
      std::lock_guard<std::mutex> lock(f->mu);
      live = f->client.get() == raw;
    }
    // The client is destroyed only by a handler posted to this same single-threaded io, so it
    // is still there. A failed send shows up as a disconnect or the deadline.
    if (live) raw->Send(req.SerializeAsString()).IgnoreError();
  });
}

}  // namespace ringkv::server
