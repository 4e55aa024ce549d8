#include "net/frame_server.h"

#include <glog/logging.h>

#include <boost/asio/post.hpp>

#include "net/address.h"
#include "net/listener.h"
#include "net/handshake.h"
#include "net/tls_handshake.h"

namespace ringkv::net {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// One accepted connection; server thread only.
struct FrameServer::Session {
  Session(std::shared_ptr<Connection> c, const asio::any_io_executor& ex)
      : conn(std::move(c)), handshake_timer(ex) {}
  std::shared_ptr<Connection> conn;
  asio::steady_timer handshake_timer;  // cancelled by a valid handshake
  bool handshaken = false;
};

FrameServer::FrameServer(FrameServerOptions options, FrameHandler on_frame, CloseHandler on_close)
    : options_(std::move(options)),
      on_frame_(std::move(on_frame)),
      on_close_(std::move(on_close)),
      io_thread_("ringkv-frame-srv", options_.io) {
  CHECK(on_frame_) << "FrameServer needs a frame handler";
}

FrameServer::~FrameServer() { Stop(); }

Status FrameServer::Start() {
  CHECK(!started_) << "FrameServer::Start called twice";
  auto hp = OpenListener(io_thread_.io(), options_.listen_address, &acceptor_);
  if (!hp.ok()) return hp.status();
  port_ = hp->port;
  started_ = true;
  io_thread_.Start();
  asio::post(io_thread_.io(), [this] { DoAccept(); });
  LOG(INFO) << "net: frame server of node " << options_.node_id << " listening on "
            << FormatHostPort(hp->host, port_)
            << (options_.tls == nullptr
                    ? " (plain TCP)"
                    : " (TLS, client certificates " +
                          std::string(ClientCertAuthName(options_.tls->options().client_auth)) +
                          ")");
  return Status::OK();
}

void FrameServer::Stop() {
  if (!started_) return;
  started_ = false;
  io_thread_.RunSync([this] {
    stopping_ = true;
    error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    auto sessions = sessions_;  // close handlers erase from sessions_
    for (auto& [id, s] : sessions) {
      s->handshake_timer.cancel();
      s->conn->Close(Status::OK());
    }
    sessions_.clear();
  });
  io_thread_.Stop();
}

void FrameServer::DoAccept() {
  if (stopping_) return;
  acceptor_->async_accept(io_thread_.io(), [this](const error_code& ec, tcp::socket socket) {
    if (stopping_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      LOG(WARNING) << "net: frame server accept failed: " << ec.message();
    } else {
      OnAccepted(std::move(socket));
    }
    DoAccept();
  });
}

void FrameServer::OnAccepted(tcp::socket socket) {
  if (sessions_.size() + tls_handshakes_ >= options_.max_connections) {
    LOG(WARNING) << "net: frame server refusing connection from " << RemoteAddress(socket)
                 << ": already " << sessions_.size() + tls_handshakes_ << " connections (max "
                 << options_.max_connections << ")";
    error_code ignored;
    socket.close(ignored);
    return;
  }
  if (options_.tls == nullptr) {
    OnStream(Stream(std::move(socket)));
    return;
  }
  ++tls_handshakes_;
  const std::string remote = RemoteAddress(socket);
  TlsAcceptPolicy policy;
  policy.timeout = options_.handshake_timeout;
  AsyncTlsAccept(std::move(socket), options_.tls->Current(), policy,
                 [this, remote](Status st, std::optional<Stream> stream) {
                   --tls_handshakes_;
                   if (stopping_) return;
                   if (!st.ok()) {
                     // A remote that hangs up before the handshake (a port probe, a health
                     // check) is not refused, just gone.
                     if (st.IsUnavailable()) {
                       VLOG(1) << "net: TLS client " << remote << " went away: " << st;
                       return;
                     }
                     ++tls_refused_;
                     LOG(WARNING) << "net: node " << options_.node_id
                                  << " refused TLS client connection from " << remote << ": "
                                  << st.message();
                     return;
                   }
                   OnStream(std::move(*stream));
                 });
}

void FrameServer::OnStream(Stream stream) {
  auto conn = Connection::Create(std::move(stream), options_.connection, "client");
  auto session = std::make_shared<Session>(conn, io_thread_.io().get_executor());
  sessions_.emplace(conn->id(), session);
  connection_count_.store(sessions_.size());
  Session* raw = session.get();  // valid until the close handler erases it
  Connection::OversizedHandler on_oversized;  // enabled by the handshake (OnHandshake)
  if (on_oversized_) {
    on_oversized = [this](const std::shared_ptr<Connection>& c, uint64_t length,
                          std::string prefix) { on_oversized_(c, length, std::move(prefix)); };
  }
  conn->Start([this, raw](const std::shared_ptr<Connection>& c,
                          std::string payload) { OnFrame(*raw, c, std::move(payload)); },
              [this](const std::shared_ptr<Connection>& c, const Status& why) {
                auto it = sessions_.find(c->id());
                if (it == sessions_.end()) return;
                const bool handshaken = it->second->handshaken;
                it->second->handshake_timer.cancel();
                sessions_.erase(it);
                connection_count_.store(sessions_.size());
                if (handshaken && on_close_ && !stopping_) on_close_(c, why);
              },
              std::move(on_oversized));
  session->handshake_timer.expires_after(options_.handshake_timeout);
  session->handshake_timer.async_wait([conn](const error_code& ec) {
    if (ec) return;
    conn->Close(Status::DeadlineExceeded("no handshake received in time"));
  });
}

void FrameServer::OnFrame(Session& s, const std::shared_ptr<Connection>& conn,
                          std::string payload) {
  if (!s.handshaken) {
    OnHandshake(s, conn, payload);
    return;
  }
  on_frame_(conn, std::move(payload));
}

void FrameServer::OnHandshake(Session& s, const std::shared_ptr<Connection>& conn,
                              const std::string& payload) {
  transportpb::Handshake hs;
  if (!hs.ParseFromString(payload)) {
    conn->Close(Status::InvalidArgument("malformed handshake"));
    return;
  }
  HandshakePolicy policy;
  policy.local_cluster_id = options_.cluster_id;
  policy.allow_any_cluster = true;
  const Status st = CheckHandshake(hs, policy);
  s.handshake_timer.cancel();
  transportpb::HandshakeReply reply;
  reply.set_node_id(options_.node_id.value());
  reply.set_protocol_version(kProtocolVersion);
  reply.set_cluster_id(options_.cluster_id);
  reply.set_ok(st.ok());
  if (!st.ok()) {
    reply.set_error(std::string(st.message()));
    // Best effort: the refusal is informative only; the close is what matters.
    conn->Send(reply.SerializeAsString()).IgnoreError();
    // Logged here, not by the close: the client may hang up first, and the refusal must show.
    LOG(WARNING) << "net: node " << options_.node_id << " refused client handshake from "
                 << conn->remote_address() << ": " << st.message();
    conn->CloseAfterFlush(Status::OK());
    return;
  }
  s.handshaken = true;
  conn->AcceptOversizedFrames();
  conn->set_peer_node_id(NodeId(hs.node_id()));
  conn->Send(reply.SerializeAsString()).IgnoreError();  // a failure closes the connection
}

}  // namespace ringkv::net
