#include "net/frame_client.h"

#include <glog/logging.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <mutex>

#include "net/connector.h"
#include "net/address.h"
#include "net/handshake.h"
#include "net/tls_handshake.h"
#include "proto/transport.pb.h"

namespace ringkv::net {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// Shared with the handlers, so a handler that runs late finds live state, never a dangling
// FrameClient.
struct FrameClient::Core : std::enable_shared_from_this<Core> {
  Core(asio::any_io_executor ex, FrameClientOptions opts, FrameHandler frame,
       DisconnectHandler disconnect)
      : strand(std::move(ex)),
        options(std::move(opts)),
        timer(strand),
        on_frame(std::move(frame)),
        on_disconnect(std::move(disconnect)) {}

  // Runs `done` at most once, outside the lock.
  void FinishConnect(const Status& st) {
    ConnectCallback done;
    {
      std::lock_guard<std::mutex> l(mu);
      done = std::move(connect_done);
      connect_done = nullptr;
    }
    timer.cancel();
    if (done) done(st);
  }

  void OnDialed(Status st, tcp::socket socket) {
    if (!st.ok()) return FinishConnect(st);
    if (options.tls == nullptr) return OnStream(Stream(std::move(socket)));
    auto hp = ParseHostPort(options.address);
    const std::string host = hp.ok() ? hp->host : "";
    auto self = shared_from_this();
    AsyncTlsConnect(std::move(socket), options.tls, host, /*require_node_certificate=*/false,
                    options.connect_timeout, [self](Status st, std::optional<Stream> stream) {
                      if (!st.ok()) {
                        return self->FinishConnect(Status(
                            st.code(), "TLS to " + self->options.address + ": " +
                                           std::string(st.message())));
                      }
                      self->OnStream(std::move(*stream));
                    });
  }

  void OnStream(Stream stream) {
    auto c = Connection::Create(std::move(stream), options.connection, "server " + options.address);
    {
      std::lock_guard<std::mutex> l(mu);
      if (closed) return FinishConnect(Status::Unavailable("client closed"));
      conn = c;
    }
    auto self = shared_from_this();
    c->Start([self](const std::shared_ptr<Connection>& c, std::string p) { self->OnFrame(c, p); },
             [self](const std::shared_ptr<Connection>&, const Status& why) { self->OnClose(why); });
    auto hs = MakeHandshake(options.cluster_id, options.node_id, /*incarnation=*/0, "");
    c->Send(hs.SerializeAsString()).IgnoreError();  // a failure closes the connection
  }

  void OnFrame(const std::shared_ptr<Connection>& c, std::string& payload) {
    if (handshaken) {
      FrameHandler cb;
      {
        std::lock_guard<std::mutex> l(mu);
        if (closed) return;
        cb = on_frame;
      }
      if (cb) cb(std::move(payload));
      return;
    }
    transportpb::HandshakeReply reply;
    if (!reply.ParseFromString(payload)) {
      c->Close(Status::InvalidArgument("malformed handshake reply"));
      return;
    }
    if (!reply.ok()) {
      Status st = Status::FailedPrecondition("server " + options.address +
                                             " refused the handshake: " + reply.error());
      FinishConnect(st);
      c->Close(st);
      return;
    }
    server_node_id.store(reply.node_id());
    handshaken = true;
    connected.store(true);
    FinishConnect(Status::OK());
  }

  void OnClose(const Status& why) {
    const bool was_connected = connected.exchange(false);
    if (!handshaken) {
      FinishConnect(Status::Unavailable("connection closed during handshake: " + why.ToString()));
      return;
    }
    DisconnectHandler cb;
    {
      std::lock_guard<std::mutex> l(mu);
      if (closed) return;
      cb = std::move(on_disconnect);
      on_disconnect = nullptr;
    }
    if (was_connected && cb) cb(why);
  }

  asio::strand<asio::any_io_executor> strand;
  const FrameClientOptions options;
  asio::steady_timer timer;  // connect + handshake deadline; strand only
  bool handshaken = false;   // strand only
  std::atomic<bool> connected{false};
  std::atomic<uint64_t> server_node_id{0};

  // State below is protected by mu.
  std::mutex mu;
  FrameHandler on_frame;
  DisconnectHandler on_disconnect;
  ConnectCallback connect_done;
  std::shared_ptr<Connection> conn;
  bool closed = false;
  bool connect_called = false;
};

FrameClient::FrameClient(FrameClientOptions options, FrameHandler on_frame,
                         DisconnectHandler on_disconnect)
    : own_thread_(std::make_unique<IoThread>("ringkv-frame-cli")) {
  core_ = std::make_shared<Core>(own_thread_->io().get_executor(), std::move(options),
                                 std::move(on_frame), std::move(on_disconnect));
  own_thread_->Start();
}

FrameClient::FrameClient(asio::io_context& io, FrameClientOptions options, FrameHandler on_frame,
                         DisconnectHandler on_disconnect)
    : core_(std::make_shared<Core>(io.get_executor(), std::move(options), std::move(on_frame),
                                   std::move(on_disconnect))) {}

FrameClient::~FrameClient() {
  Close();
  if (own_thread_) own_thread_->Stop();
}

void FrameClient::AsyncConnect(ConnectCallback done) {
  {
    std::lock_guard<std::mutex> l(core_->mu);
    CHECK(!core_->connect_called) << "FrameClient::AsyncConnect called twice";
    core_->connect_called = true;
    core_->connect_done = std::move(done);
  }
  auto core = core_;
  asio::post(core->strand, [core] {
    core->timer.expires_after(core->options.connect_timeout);
    core->timer.async_wait([core](const error_code& ec) {
      if (ec || core->handshaken) return;
      const Status st =
          Status::DeadlineExceeded("connect to " + core->options.address + " timed out");
      core->FinishConnect(st);
      std::shared_ptr<Connection> c;
      {
        std::lock_guard<std::mutex> l(core->mu);
        c = core->conn;
      }
      if (c) c->Close(st);
    });
    net::AsyncConnect(core->strand, core->options.address, core->options.local_host,
                      core->options.connect_timeout, [core](Status st, tcp::socket s) {
                        core->OnDialed(std::move(st), std::move(s));
                      });
  });
}

Status FrameClient::Connect() {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  AsyncConnect([promise](const Status& st) { promise->set_value(st); });
  return future.get();
}

Status FrameClient::Send(std::string_view payload) {
  std::shared_ptr<Connection> c;
  {
    std::lock_guard<std::mutex> l(core_->mu);
    c = core_->conn;
  }
  if (!c || !core_->connected.load()) {
    return Status::Unavailable("not connected to " + core_->options.address);
  }
  return c->Send(payload);
}

void FrameClient::Close() {
  std::shared_ptr<Connection> c;
  {
    std::lock_guard<std::mutex> l(core_->mu);
    if (core_->closed) return;
    core_->closed = true;
    core_->on_frame = nullptr;
    core_->on_disconnect = nullptr;
    c = std::move(core_->conn);
  }
  core_->connected.store(false);
  if (c) c->Close(Status::OK());
  // A pending connect completes with Unavailable.
  auto core = core_;
  asio::post(core->strand, [core] { core->FinishConnect(Status::Unavailable("client closed")); });
}

bool FrameClient::connected() const { return core_->connected.load(); }

NodeId FrameClient::server_node_id() const { return NodeId(core_->server_node_id.load()); }

}  // namespace ringkv::net
