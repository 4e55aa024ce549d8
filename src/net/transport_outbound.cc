// Transport, sending side: dialing peers, the client half of the handshake, losing a connection,
// and redialing with exponential backoff and jitter. Everything here runs on the transport
// thread.
#include <glog/logging.h>

#include <algorithm>

#include "net/connector.h"
#include "net/address.h"
#include "net/handshake.h"
#include "net/tls_handshake.h"
#include "net/transport.h"
#include "net/transport_internal.h"

namespace ringkv::net {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

void Transport::Dial(const std::shared_ptr<Peer>& peer) {
  std::string address;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ || peer->removed) return;
    address = peer->address;
  }
  const uint64_t attempt = ++peer->attempt;
  AsyncConnect(io_thread_.io().get_executor(), address, bind_host_, options_.connect_timeout,
               [this, peer, attempt](Status st, tcp::socket socket) {
                 OnDialed(peer, attempt, std::move(st), std::move(socket));
               });
}

void Transport::OnDialed(const std::shared_ptr<Peer>& peer, uint64_t attempt, Status status,
                         tcp::socket socket) {
  if (stopping_ || attempt != peer->attempt) return;  // retired attempt; socket closes itself
  if (!status.ok()) {
    OnOutboundFailed(peer, attempt, status);
    return;
  }
  if (options_.tls_client == nullptr) {
    OnDialedStream(peer, attempt, Stream(std::move(socket)));
    return;
  }
  std::string host;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto hp = ParseHostPort(peer->address);
    if (hp.ok()) host = hp->host;
  }
  AsyncTlsConnect(std::move(socket), options_.tls_client->Current(), host,
                  /*require_node_certificate=*/true, options_.handshake_timeout,
                  [this, peer, attempt](Status st, std::optional<Stream> stream) {
                    if (stopping_ || attempt != peer->attempt) return;
                    if (!st.ok()) {
                      OnOutboundFailed(peer, attempt,
                                       Status(st.code(), "TLS: " + std::string(st.message())));
                      return;
                    }
                    OnDialedStream(peer, attempt, std::move(*stream));
                  });
}

void Transport::OnDialedStream(const std::shared_ptr<Peer>& peer, uint64_t attempt,
                               Stream stream) {
  auto conn = Connection::Create(std::move(stream), ConnOptions(),
                                 "peer " + std::to_string(peer->id.value()) + " outbound");
  conn->set_peer_node_id(peer->id);
  peer->conn = conn;
  conn->Start(
      [this, peer, attempt](const std::shared_ptr<Connection>& c, std::string payload) {
        OnOutboundFrame(peer, attempt, c, payload);
      },
      [this, peer, attempt](const std::shared_ptr<Connection>&, const Status& why) {
        OnOutboundFailed(peer, attempt, why);
      });
  auto hs = MakeHandshake(options_.cluster_id, options_.node_id, options_.incarnation,
                          advertised_address_);
  conn->Send(hs.SerializeAsString()).IgnoreError();  // a failure closes the connection
  peer->handshake_timer.expires_after(options_.handshake_timeout);
  peer->handshake_timer.async_wait([peer, attempt, conn](const error_code& ec) {
    if (ec || attempt != peer->attempt || peer->connected) return;
    conn->Close(Status::DeadlineExceeded("no handshake reply in time"));
  });
}

void Transport::OnOutboundFrame(const std::shared_ptr<Peer>& peer, uint64_t attempt,
                                const std::shared_ptr<Connection>& conn,
                                const std::string& payload) {
  if (stopping_ || attempt != peer->attempt) return;
  if (peer->connected) {
    // This direction only sends; the peer talks to us over its own outbound connection.
    conn->Close(Status::InvalidArgument("unexpected frame on an outbound connection"));
    return;
  }
  transportpb::HandshakeReply reply;
  if (!reply.ParseFromString(payload)) {
    conn->Close(Status::InvalidArgument("malformed handshake reply"));
    return;
  }
  if (!reply.ok()) {
    conn->Close(Status::FailedPrecondition(
        "peer " + std::to_string(peer->id.value()) + " refused our handshake (local cluster " +
        std::to_string(options_.cluster_id) + ", remote cluster " +
        std::to_string(reply.cluster_id()) + "): " + reply.error()));
    return;
  }
  if (reply.node_id() != peer->id.value()) {
    conn->Close(Status::FailedPrecondition("dialed node " + std::to_string(peer->id.value()) +
                                           " but node " + std::to_string(reply.node_id()) +
                                           " answered"));
    return;
  }
  peer->handshake_timer.cancel();
  peer->connected = true;
  peer->accepts_probes = reply.accepts_probes();
  peer->failures = 0;
  if (peer->reported_down) {
    LOG(INFO) << "net: node " << options_.node_id << " reconnected to peer " << peer->id << " at "
              << conn->remote_address();
  } else {
    VLOG(1) << "net: node " << options_.node_id << " connected to peer " << peer->id << " at "
            << conn->remote_address();
  }
  peer->reported_down = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    stats_[peer->id].connected = true;
    peer->stats_conn = conn;
  }
  Flush(peer);
}

void Transport::OnOutboundFailed(const std::shared_ptr<Peer>& peer, uint64_t attempt,
                                 const Status& why) {
  if (stopping_ || attempt != peer->attempt || peer->failed_attempt == attempt) return;
  peer->failed_attempt = attempt;
  peer->handshake_timer.cancel();
  const bool was_connected = peer->connected;
  peer->connected = false;
  if (auto conn = std::move(peer->conn)) conn->Close(why);
  {
    std::lock_guard<std::mutex> l(mu_);
    PeerStats& s = stats_[peer->id];
    s.connected = false;
    ++s.connect_failures;
    peer->stats_conn.reset();
    // Raft traffic queued for an unreachable peer is stale by the time it would arrive.
    s.dropped_messages += peer->pending.size();
    peer->pending.clear();
    peer->pending_bytes = 0;
  }
  if (was_connected) {
    LOG(INFO) << "net: node " << options_.node_id << " lost connection to peer " << peer->id << ": "
              << why;
  } else if (!peer->reported_down) {
    LOG(INFO) << "net: node " << options_.node_id << " cannot reach peer " << peer->id << ": "
              << why << " (retrying with backoff)";
  }
  peer->reported_down = true;
  if (handlers_.on_unreachable) handlers_.on_unreachable(peer->id);
  ScheduleRedial(peer);
}

void Transport::ScheduleRedial(const std::shared_ptr<Peer>& peer) {
  // Exponential backoff: min * 2^failures, capped; jittered uniformly into [d/2, d] so peers
  // that lost each other at the same moment do not redial in lockstep.
  const int64_t min_ms = std::max<int64_t>(1, options_.backoff_min.count());
  const int64_t max_ms = std::max<int64_t>(min_ms, options_.backoff_max.count());
  int64_t delay = min_ms << std::min(peer->failures, 20);
  delay = std::min(delay, max_ms);
  delay = delay / 2 + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(delay / 2 + 1)));
  ++peer->failures;
  const uint64_t attempt = peer->attempt;
  peer->redial_timer.expires_after(std::chrono::milliseconds(delay));
  peer->redial_timer.async_wait([this, peer, attempt](const error_code& ec) {
    if (ec || stopping_ || attempt != peer->attempt) return;
    Dial(peer);
  });
}

}  // namespace ringkv::net
