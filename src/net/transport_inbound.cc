// Transport, receiving side: the accept loop, the handshake of accepted connections, and the
// dispatch of PeerMessages to the handlers. Everything here runs on the transport thread.
#include <glog/logging.h>

#include <boost/asio/post.hpp>

#include "net/handshake.h"
#include "net/tls_handshake.h"
#include "net/transport.h"
#include "net/transport_internal.h"

namespace ringkv::net {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

void Transport::DoAccept() {
  if (stopping_) return;
  acceptor_->async_accept(io_thread_.io(), [this](const error_code& ec, tcp::socket socket) {
    if (stopping_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // E.g. EMFILE: keep serving the connections we have and try again.
      LOG(WARNING) << "net: node " << options_.node_id << " accept failed: " << ec.message();
    } else {
      OnAccepted(std::move(socket));
    }
    DoAccept();
  });
}

void Transport::OnAccepted(tcp::socket socket) {
  if (options_.tls_server == nullptr) {
    OnAcceptedStream(Stream(std::move(socket)));
    return;
  }
  const std::string remote = RemoteAddress(socket);
  TlsAcceptPolicy policy;
  policy.require_node_certificate = true;
  policy.timeout = options_.handshake_timeout;
  AsyncTlsAccept(std::move(socket), options_.tls_server->Current(), policy,
                 [this, remote](Status st, std::optional<Stream> stream) {
                   if (stopping_) return;
                   if (!st.ok()) {
                     if (st.IsUnavailable()) {  // hung up before the handshake: not refused
                       VLOG(1) << "net: TLS peer " << remote << " went away: " << st;
                       return;
                     }
                     tls_refused_.fetch_add(1);
                     LOG(WARNING) << "net: node " << options_.node_id
                                  << " refused TLS peer connection from " << remote << ": "
                                  << st.message();
                     return;
                   }
                   OnAcceptedStream(std::move(*stream));
                 });
}

void Transport::OnAcceptedStream(Stream stream) {
  auto conn = Connection::Create(std::move(stream), ConnOptions(), "peer-inbound");
  auto in = std::make_shared<Inbound>(conn, io_thread_.io().get_executor());
  inbound_.emplace(conn->id(), in);
  Inbound* raw = in.get();  // valid while inbound_ holds it, i.e. until the close handler
  conn->Start([this, raw](const std::shared_ptr<Connection>&,
                          std::string payload) { OnInboundFrame(*raw, std::move(payload)); },
              [this](const std::shared_ptr<Connection>& c, const Status&) {
                auto it = inbound_.find(c->id());
                if (it == inbound_.end()) return;
                it->second->handshake_timer.cancel();
                inbound_.erase(it);
              });
  in->handshake_timer.expires_after(options_.handshake_timeout);
  in->handshake_timer.async_wait([conn](const error_code& ec) {
    if (ec) return;
    conn->Close(Status::DeadlineExceeded("no handshake received in time"));
  });
}

void Transport::OnInboundFrame(Inbound& in, std::string payload) {
  if (in.from == kNoNode) {
    HandleInboundHandshake(in, payload);
    return;
  }
  transportpb::PeerMessage msg;
  if (!msg.ParseFromString(payload)) {
    in.conn->Close(Status::InvalidArgument("malformed PeerMessage from node " +
                                           std::to_string(in.from.value())));
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (blocked_.count(in.from) > 0) {  // test partition: as if it never arrived
      ++stats_[in.from].blocked_received;
      return;
    }
  }
  switch (msg.body_case()) {
    case transportpb::PeerMessage::kRaftBatch: {
      auto* batch = msg.mutable_raft_batch();
      std::vector<raftpb::Message> messages;
      messages.reserve(batch->messages_size());
      for (auto& m : *batch->mutable_messages()) messages.push_back(std::move(m));
      {
        std::lock_guard<std::mutex> l(mu_);
        PeerStats& s = stats_[in.from];
        s.received_messages += messages.size();
        s.received_bytes += payload.size();
      }
      handlers_.on_raft(in.from, std::move(messages));
      return;
    }
    case transportpb::PeerMessage::kSnapshotChunk: {
      {
        std::lock_guard<std::mutex> l(mu_);
        stats_[in.from].received_bytes += payload.size();
      }
      if (handlers_.on_snapshot) {
        handlers_.on_snapshot(in.from, std::move(*msg.mutable_snapshot_chunk()));
      }
      return;
    }
    case transportpb::PeerMessage::kProbe:
      OnProbe(in.from, msg.probe());
      return;
    case transportpb::PeerMessage::BODY_NOT_SET:
      break;
  }
  in.conn->Close(
      Status::InvalidArgument("unknown message type from node " + std::to_string(in.from.value())));
}

void Transport::HandleInboundHandshake(Inbound& in, const std::string& payload) {
  transportpb::Handshake hs;
  if (!hs.ParseFromString(payload)) {
    in.conn->Close(Status::InvalidArgument("malformed handshake"));
    return;
  }
  HandshakePolicy policy;
  policy.local_cluster_id = options_.cluster_id;
  policy.require_node_id = true;
  Status st = CheckHandshake(hs, policy);
  if (st.ok() && hs.node_id() == options_.node_id.value()) {
    st = Status::FailedPrecondition("peer claims our own node id " + std::to_string(hs.node_id()));
  }
  if (st.ok() && handlers_.on_peer_handshake) {
    st = handlers_.on_peer_handshake(NodeId(hs.node_id()), hs.incarnation(),
                                     in.conn->remote_address());
  }
  transportpb::HandshakeReply reply;
  reply.set_node_id(options_.node_id.value());
  reply.set_protocol_version(kProtocolVersion);
  reply.set_cluster_id(options_.cluster_id);
  in.handshake_timer.cancel();
  if (!st.ok()) {
    reply.set_ok(false);
    reply.set_error(std::string(st.message()));
    // Best effort: the refusal is informative only; the close below is what matters.
    in.conn->Send(reply.SerializeAsString()).IgnoreError();
    // Logged here, not by the close: the remote may hang up first, and the refusal must show.
    LOG(WARNING) << "net: node " << options_.node_id << " refused peer handshake from "
                 << in.conn->remote_address() << ": " << st.message();
    in.conn->CloseAfterFlush(Status::OK());
    return;
  }
  in.from = NodeId(hs.node_id());
  in.conn->set_peer_node_id(in.from);
  reply.set_ok(true);
  reply.set_accepts_probes(true);
  in.conn->Send(reply.SerializeAsString()).IgnoreError();  // a failure closes the connection
  VLOG(1) << "net: node " << options_.node_id << " accepted peer " << in.from << " from "
          << in.conn->remote_address() << " (advertised " << hs.advertised_address()
          << ", incarnation " << hs.incarnation() << ")";
}

}  // namespace ringkv::net
